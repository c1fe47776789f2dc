// Disinfection check-in: a tap opens a confirmation (how far I am from the point, an optional photo); a confirmed
// check-in waits a few seconds with an undo before it is queued, and the phone remembers it for the day.
import { h, isoWithOffset, notice } from "./dom.js";
import { t } from "./i18n.js";
import { lastPosition, locate } from "./geo.js";
import { enqueue, items, kick } from "./outbox.js";
import { keepPhotos } from "./photos.js";

/** How long a confirmed check-in can still be undone before it is queued. */
export const UNDO_MS = 5000;
const held = new Map(); // site id → the check-in waiting out its undo window

/** Today's date in Asia/Shanghai (the server's day for "once per point per day"). */
export function today(date = new Date()) {
  return date.toLocaleDateString("en-CA", { timeZone: "Asia/Shanghai" });
}

export async function checkedInToday(siteId) {
  if (held.has(siteId)) return true;
  const day = today();
  return (await items()).some(
    (r) => r.kind === "check_in" && r.site_id === siteId && r.day === day && r.state !== "failed",
  );
}

/** Metres between two WGS-84 positions (haversine; enough to tell "at the point" from "elsewhere"). */
export function metresBetween(a, b) {
  const rad = Math.PI / 180;
  const dLat = (b.lat - a.lat) * rad;
  const dLon = (b.lon - a.lon) * rad;
  const s = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * 6371008.8 * Math.asin(Math.sqrt(s));
}

/** The point of a site's GeoJSON geometry (its first vertex for a line or an area). */
export function pointOf(geometry) {
  if (!geometry) return null;
  let c = geometry.coordinates;
  while (Array.isArray(c) && Array.isArray(c[0])) c = c[0];
  return Array.isArray(c) ? { lon: c[0], lat: c[1] } : null;
}

function distanceText(site, position) {
  const point = pointOf(site.geometry);
  if (!position) return t("distance_none");
  if (!point) return t("position_ok", { n: Math.round(position.accuracy ?? 0) });
  return t("distance_from_point", { n: Math.round(metresBetween(position, point)), acc: Math.round(position.accuracy ?? 0) });
}

/** Hold a confirmed check-in for UNDO_MS with an undo in the notice; then queue it. Resolves to true if queued. */
function holdWithUndo(site, body, photos, pressed, onDone) {
  return new Promise((resolve) => {
    let left = Math.round(UNDO_MS / 1000);
    const undo = h("button", { type: "button", class: "btn small secondary", id: "undo-check-in" }, t("undo"));
    const text = h("span", { id: "undo-text" }, t("check_in_in", { n: left, name: site.name }));
    notice([text, " ", undo], "ok", 0);
    const tick = setInterval(() => {
      left -= 1;
      if (left > 0) text.textContent = t("check_in_in", { n: left, name: site.name });
    }, 1000);
    const timer = setTimeout(async () => {
      clearInterval(tick);
      await enqueue({
        kind: "check_in",
        siteId: site.id,
        siteName: site.name,
        path: `/sites/${site.id}/check-in`,
        body,
        photos,
        summary: { text: t("check_in_event") },
        day: today(pressed),
      });
      held.delete(site.id);
      notice(navigator.onLine ? t("check_in_done_name", { name: site.name }) : t("saved_queued"), "ok");
      kick();
      onDone(true);
      resolve(true);
    }, UNDO_MS);
    held.set(site.id, timer);
    undo.addEventListener("click", () => {
      clearTimeout(timer);
      clearInterval(tick);
      held.delete(site.id);
      notice(t("check_in_undone"), "warn");
      onDone(false);
      resolve(false);
    });
  });
}

/**
 * The check-in control of a point, in the list and on its page: a button that opens a confirmation with the
 * distance from the point and an optional photo; disabled once checked in today. `site` is a feature's
 * properties with its `geometry` added.
 */
export async function checkInControl(site, { big = false } = {}) {
  const done = await checkedInToday(site.id);
  const box = h("div", { class: "checkin-box", dataset: { siteId: site.id } });
  const button = h(
    "button",
    { type: "button", class: `btn checkin${big ? " big" : " small"}`, disabled: done, "aria-expanded": "false", id: big ? "check-in" : null },
    done ? t("checked_in_today") : big ? t("check_in") : t("check_in_short"),
  );
  const finish = (queued) => {
    box.querySelector(".confirm")?.remove();
    button.hidden = false;
    button.disabled = queued;
    button.textContent = queued ? t("checked_in_today") : big ? t("check_in") : t("check_in_short");
    button.setAttribute("aria-expanded", "false");
    if (queued) box.closest("li")?.classList.add("is-done");
  };
  button.addEventListener("click", () => {
    button.hidden = true;
    button.setAttribute("aria-expanded", "true");
    let position = lastPosition();
    const where = h("p", { class: "distance", "data-role": "distance" }, position ? distanceText(site, position) : t("locating"));
    locate(4000).then((found) => {
      position = found || position;
      where.textContent = distanceText(site, position);
    });
    const count = h("span", { class: "muted" });
    const file = h("input", {
      type: "file",
      accept: "image/*",
      capture: "environment",
      class: "checkin-photo",
      onchange: (e) => (count.textContent = e.target.files.length ? t("photos_chosen", { n: e.target.files.length }) : ""),
    });
    const confirm = h(
      "div",
      { class: "confirm", role: "group", "aria-label": t("check_in_confirm_title", { name: site.name }) },
      h("p", { class: "confirm-title" }, t("check_in_confirm_title", { name: site.name })),
      where,
      h("label", { class: "field photo-pick" }, h("span", { class: "btn secondary small" }, t("photo_optional")), file, count),
      h(
        "div",
        { class: "actions" },
        h(
          "button",
          {
            type: "button",
            class: "btn",
            "data-action": "confirm-check-in",
            onclick: async (e) => {
              e.target.disabled = true;
              const pressed = new Date();
              const body = { valid_at: isoWithOffset(pressed) };
              if (position) body.position = position;
              const files = [...(file.files || [])];
              const photos = files.length ? await keepPhotos(site.id, files) : [];
              if (photos.length) body.photos = photos;
              confirm.hidden = true;
              button.hidden = false;
              button.disabled = true;
              button.textContent = t("check_in_pending");
              await holdWithUndo(site, body, photos, pressed, finish);
            },
          },
          t("check_in_confirm"),
        ),
        h("button", { type: "button", class: "btn secondary", onclick: () => finish(false) }, t("cancel")),
      ),
    );
    box.append(confirm);
  });
  box.prepend(button);
  return box;
}
