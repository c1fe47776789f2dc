// One site: its state (with my unsent changes applied on top), history, photos, work items, and the update form.
import { NetworkError, getJSON } from "./api.js";
import { claim, h, isoWithOffset, mount, notice } from "./dom.js";
import { formatDistance, formatTime, t } from "./i18n.js";
import { lastPosition, locate } from "./geo.js";
import { OPEN_STATES, STUCK_STATES, enqueue, kick, localForSite, versionOf } from "./outbox.js";
import { keepPhotos } from "./photos.js";
import { checkInControl, pointOf } from "./checkin.js";
import { drawBase, loadBaseLayers } from "./report.js";

const cache = new Map(); // site id → {data, etag}: what this page last saw, for when the network drops

/**
 * Draw a site. What this page last saw of it is drawn at once (with my unsent changes on top), so a change the
 * user just saved shows as pending straight away, also with a slow network or none; then the server's copy is
 * asked for and drawn if it differs.
 */
export async function renderSite(view, siteId, app) {
  const current = claim(view);
  const before = cache.get(siteId);
  if (before) await draw(view, siteId, app, current);
  else mount(view, h("p", { class: "muted" }, t("loading")));
  let answer = null;
  try {
    answer = await getJSON(`/sites/${siteId}`);
  } catch (exc) {
    if (!(exc instanceof NetworkError)) throw exc;
  }
  if (!current()) return;
  if (answer && answer.ok) {
    const seen = cache.get(siteId);
    // the service worker's copy, offline, may be older than the one this page already has
    if (seen && answer.fromCache && versionOf(answer.etag) < versionOf(seen.etag)) return;
    cache.set(siteId, { data: answer.data, etag: answer.etag, fromCache: answer.fromCache });
    if (before && seen && seen.etag === answer.etag && Boolean(seen.fromCache) === answer.fromCache) return;
  } else if (answer && answer.status !== 404 && answer.status < 500 && !cache.has(siteId)) {
    mount(view, h("p", { class: "empty" }, answer.data?.error?.message || t("load_failed")));
    return;
  } else if (before) {
    return; // no answer: what was drawn from this page's copy stays
  }
  if (!cache.has(siteId)) {
    mount(view, h("p", { class: "empty" }, t("load_failed")), h("button", { class: "btn", onclick: () => renderSite(view, siteId, app) }, t("retry")));
    return;
  }
  await draw(view, siteId, app, current);
}

async function draw(view, siteId, app, current) {
  const seen = cache.get(siteId);
  const p = seen.data.properties;
  const local = await localForSite(siteId, versionOf(seen.etag));
  // a change stored but flagged (the site was closed before it) does not move the site on
  const expected = expectedState(p, local.filter((r) => r.kind === "event" && r.state !== "flagged"));
  // what my next change is based on: the version my own last sent change made, if this copy is older than that
  let etag = seen.etag;
  for (const r of local) if (versionOf(r.result_etag) > versionOf(etag)) etag = r.result_etag;
  const checkIn = p.check_in && p.may_change ? await checkInCard({ ...p, geometry: seen.data.geometry }) : null;
  if (!current()) return;
  const form = p.may_change && !p.check_in ? updateForm(p, etag, expected, view, app) : null;
  if (form) carryOver(view.querySelector("#update-form"), form, p.id);
  const relapse = !form && p.may_change && p.done && !p.check_in && !p.tracks.length ? relapseForm(p, view, app) : null;
  const team = p.team_id != null ? (app.config.teamNames || {})[String(p.team_id)] || `#${p.team_id}` : null;
  const mapBox = h("div", { id: "site-map", class: "map small", role: "region", "aria-label": t("site_map", { name: p.name }) });
  mount(
    view,
    h("a", { href: "#/", class: "back" }, `‹ ${t("back")}`),
    seen.fromCache ? h("p", { class: "cached" }, t("from_cache")) : null,
    h(
      "section",
      { class: "card head", id: "site-head", dataset: { version: p.version } },
      h("h1", { id: "site-name" }, p.name),
      h("p", { class: "site-meta" }, [p.kind_label, p.subdistrict_label, p.address].filter(Boolean).join(" · ")),
      h(
        "p",
        { class: "status-line" },
        h("span", { class: "label" }, t("status")),
        h("strong", { id: "site-status", class: `status-pill${p.done ? " done" : ""}` }, p.status_label),
        expected.label !== p.status_label ? h("span", { class: "badge pending", id: "expected-status" }, `→ ${expected.label} · ${t("pending_change")}`) : null,
        p.overdue ? h("span", { class: "badge overdue" }, t("overdue")) : null,
      ),
      p.tracks.length
        ? h(
            "ul",
            { class: "tracks" },
            p.tracks.map((tr) => h("li", {}, t("utility", { track: tr.label, status: trackLabel(app, p, expected.tracks[tr.key]) }))),
          )
        : null,
      h(
        "dl",
        { class: "facts" },
        h("dt", {}, t("deadline")),
        h("dd", { id: "site-deadline", class: p.overdue ? "overdue-text" : "" }, p.deadline ? `${p.deadline_text}${p.overdue ? ` · ${t("overdue")}` : ""}` : t("no_deadline")),
        h("dt", {}, t("team_label")),
        h("dd", { id: "site-team" }, team || t("no_team")),
      ),
      mapBox,
      navLinks(seen.data),
    ),
    checkIn,
    form,
    relapse,
    historyCard(p, local),
    p.photos && p.photos.length ? photosCard(p) : null,
    p.work_items && p.work_items.length ? workItemsCard(p.work_items) : null,
  );
  drawSiteMap(mapBox, seen.data);
}

/** A redraw (the server's copy arrived, a change was sent) keeps what the user was typing in the form. */
function carryOver(old, form, siteId) {
  if (!old || old.dataset.siteId !== String(siteId)) return;
  const status = old.querySelector("#new-status").value;
  if ([...form.querySelector("#new-status").options].some((o) => o.value === status)) form.querySelector("#new-status").value = status;
  form.querySelector("#note").value = old.querySelector("#note").value;
  for (const input of old.querySelectorAll("[data-measure]")) {
    const same = form.querySelector(`[data-measure="${input.dataset.measure}"]`);
    if (same) same.value = input.value;
  }
  const files = old.querySelector("#photos").files;
  if (files && files.length) {
    form.querySelector("#photos").files = files;
    form.querySelector("#photo-count").textContent = t("photos_chosen", { n: files.length });
  }
}

/** A utility's status by its label from the vocabulary (the page's config), e.g. 中断, 已恢复. */
function trackLabel(app, p, key) {
  if (!key) return "—";
  return ((app.config.trackStatuses || {})[p.kind] || {})[key] || key;
}

/**
 * What the site will be once my unsent changes apply: the next status a later change starts from.
 * The server lists the statuses after the current one in order; a pending change to S leaves those after S.
 */
export function expectedState(p, pendingEvents) {
  let label = p.status_label;
  let allowed = p.allowed_next.slice();
  const tracks = { ...p.track_status };
  for (const r of pendingEvents) {
    if (r.body.track) {
      tracks[r.body.track] = r.body.status;
      continue;
    }
    const index = allowed.findIndex((a) => a.status === r.body.status);
    if (index >= 0) {
      label = allowed[index].label;
      allowed = allowed.slice(index + 1);
    }
  }
  return { label, allowed, tracks };
}

async function checkInCard(site) {
  return h("section", { class: "card" }, await checkInControl(site, { big: true }));
}

/** The site on a small map of the zone's own geodata (no tile server), drawn once the page is mounted. */
function drawSiteMap(box, feature) {
  if (!window.L || !box.isConnected || !feature.geometry) return;
  const map = L.map(box, { attributionControl: false, zoomControl: true, dragging: true, scrollWheelZoom: false });
  const shape = L.geoJSON(feature.geometry, {
    style: { color: "#b3261e", weight: 5 },
    pointToLayer: (_f, latlng) => L.circleMarker(latlng, { radius: 9, color: "#fff", weight: 2, fillColor: "#b3261e", fillOpacity: 1 }),
  }).addTo(map);
  const bounds = shape.getBounds();
  if (feature.geometry.type === "Point") map.setView(bounds.getCenter(), 15);
  else map.fitBounds(bounds, { padding: [16, 16], maxZoom: 17 });
  loadBaseLayers().then((layers) => {
    if (layers) {
      drawBase(map, layers, { fit: false });
      shape.bringToFront();
    }
  });
}

/**
 * Hand-off to a navigation app: a geo: link (WGS-84, drawn from the site at once, offline too) and the AMap and
 * Baidu app links with the coordinates converted by the server to each app's system (GCJ-02, BD-09).
 */
function navLinks(feature) {
  const point = pointOf(feature.geometry);
  if (!point) return null;
  const name = encodeURIComponent(feature.properties.name);
  const geo = h("a", { class: "btn secondary small", id: "nav-geo", href: `geo:${point.lat},${point.lon}?q=${point.lat},${point.lon}(${name})` }, t("nav_geo"));
  const amap = h("a", { class: "btn secondary small", id: "nav-amap", hidden: true }, t("nav_amap"));
  const baidu = h("a", { class: "btn secondary small", id: "nav-baidu", hidden: true }, t("nav_baidu"));
  fetch(`/field/navigation/${feature.properties.id}.json`, { credentials: "same-origin" })
    .then((r) => (r.ok ? r.json() : null))
    .then((links) => {
      if (!links) return;
      geo.href = links.geo;
      amap.href = links.amap;
      amap.hidden = false;
      amap.dataset.coords = links.gcj02.join(",");
      baidu.href = links.baidu;
      baidu.hidden = false;
      baidu.dataset.coords = links.bd09.join(",");
    })
    .catch(() => null);
  return h("div", { class: "nav-links", role: "group", "aria-label": t("navigate") }, h("span", { class: "label" }, t("navigate")), geo, amap, baidu);
}

/**
 * A finished site that failed again: the worker reports it with a note (and photos); it is stored for a commander
 * to decide and the site stays finished until then.
 */
function relapseForm(p, view, app) {
  const count = h("span", { class: "muted" });
  const form = h(
    "form",
    {
      class: "card relapse",
      id: "relapse-form",
      onsubmit: async (e) => {
        e.preventDefault();
        const note = String(new FormData(form).get("note") || "").trim();
        if (!note) {
          notice(t("relapse_need_note"), "warn");
          form.querySelector("textarea").focus();
          return;
        }
        const pressed = new Date();
        form.querySelector("button[type=submit]").disabled = true;
        const files = [...(form.querySelector("input[type=file]").files || [])];
        const photos = files.length ? await keepPhotos(p.id, files) : [];
        const body = { note, valid_at: isoWithOffset(pressed), photos };
        const position = lastPosition();
        if (position) body.position = position;
        await enqueue({ kind: "relapse", siteId: p.id, siteName: p.name, path: `/sites/${p.id}/relapse`, body, photos, summary: { text: t("relapse_event") } });
        notice(navigator.onLine ? t("relapse_saved") : t("saved_queued"), "ok", 8000);
        kick();
        form.reset();
        renderSite(view, p.id, app);
      },
    },
    h("h2", {}, t("relapse_title")),
    h("p", { class: "muted" }, t("relapse_explain")),
    h("label", { class: "field" }, h("span", {}, t("relapse_note")), h("textarea", { name: "note", id: "relapse-note", rows: "3", maxlength: "2000", required: true })),
    h(
      "label",
      { class: "field photo-pick" },
      h("span", { class: "btn secondary" }, t("take_photos")),
      h("input", { type: "file", accept: "image/*", capture: "environment", multiple: true, onchange: (e) => (count.textContent = e.target.files.length ? t("photos_chosen", { n: e.target.files.length }) : "") }),
      count,
    ),
    h("button", { type: "submit", class: "btn big danger", id: "submit-relapse" }, t("relapse_submit")),
  );
  return form;
}

function updateForm(p, etag, expected, view, app) {
  const options = [];
  if (p.tracks.length) {
    for (const tr of p.tracks) {
      if (expected.tracks[tr.key] === "cut") options.push({ value: `restored|${tr.key}`, label: t("restore_track", { track: tr.label }) });
    }
  } else {
    for (const a of expected.allowed) options.push({ value: a.status, label: a.label });
  }
  if (!options.length) return null;
  const positionText = h("span", { id: "position-text", class: "muted" }, t("locating"));
  let position = lastPosition();
  const showPosition = () => {
    positionText.textContent = position ? t("position_ok", { n: Math.round(position.accuracy ?? 0) }) : t("position_none");
  };
  locate().then((found) => {
    position = found || position;
    showPosition();
  });
  const photoCount = h("span", { class: "muted", id: "photo-count" });
  const measureInputs = p.measures.map((m) =>
    h(
      "label",
      { class: "field" },
      h("span", {}, `${m.label} (${m.unit})`),
      h("input", { type: "number", name: `measure-${m.key}`, "data-measure": m.key, inputmode: "decimal", min: "0", step: "any" }),
    ),
  );
  const form = h(
    "form",
    {
      class: "card update",
      id: "update-form",
      dataset: { siteId: p.id },
      onsubmit: async (e) => {
        e.preventDefault();
        const pressed = new Date();
        const data = new FormData(form);
        const choice = data.get("status");
        if (!choice) {
          notice(t("choose_status"), "warn");
          return;
        }
        const [status, track] = String(choice).split("|");
        const measures = {};
        for (const input of form.querySelectorAll("[data-measure]")) {
          if (input.value !== "" && Number.isFinite(Number(input.value))) measures[input.dataset.measure] = Number(input.value);
        }
        const files = [...(form.querySelector("#photos").files || [])];
        const button = form.querySelector("button[type=submit]");
        button.disabled = true;
        const photos = files.length ? await keepPhotos(p.id, files) : [];
        const body = { status, note: String(data.get("note") || "").trim(), valid_at: isoWithOffset(pressed), measures, photos };
        if (track) body.track = track;
        if (position) body.position = position;
        const label = options.find((o) => o.value === choice).label;
        await enqueue({
          kind: "event",
          siteId: p.id,
          siteName: p.name,
          path: `/sites/${p.id}/events`,
          body,
          ifMatch: etag,
          photos,
          summary: {
            text: t("from_to", { from: expected.label, to: label }),
            to_label: label,
            measures: p.measures.filter((m) => m.key in measures).map((m) => `${m.label} ${measures[m.key]} ${m.unit}`),
          },
        });
        notice(navigator.onLine ? t("saved_change", { name: p.name, to: label }) : t("saved_queued"), "ok", 8000);
        kick();
        form.reset(); // sent off: the redrawn form starts empty, from the status this change leads to
        renderSite(view, p.id, app);
      },
    },
    h("h2", {}, t("update")),
    h(
      "label",
      { class: "field" },
      h("span", {}, t("new_status")),
      h(
        "select",
        { name: "status", id: "new-status", required: true },
        h("option", { value: "" }, "—"),
        options.map((o) => h("option", { value: o.value }, o.label)),
      ),
    ),
    measureInputs,
    h("label", { class: "field" }, h("span", {}, t("note")), h("textarea", { name: "note", id: "note", rows: "3", maxlength: "2000", placeholder: t("note_ph") })),
    h(
      "label",
      { class: "field photo-pick" },
      h("span", { class: "btn secondary" }, t("take_photos")),
      h("input", {
        type: "file",
        id: "photos",
        accept: "image/*",
        capture: "environment",
        multiple: true,
        onchange: (e) => (photoCount.textContent = e.target.files.length ? t("photos_chosen", { n: e.target.files.length }) : ""),
      }),
      photoCount,
    ),
    h("p", { class: "position" }, `${t("my_position")}: `, positionText),
    h("button", { type: "submit", class: "btn big", id: "save" }, t("save")),
  );
  if (position) showPosition();
  return form;
}

/** The server's history, below my own writes it does not show yet: unsent (pending) or just sent. */
function historyCard(p, local) {
  const rows = [];
  for (const r of local.slice().reverse()) {
    const unsent = [...OPEN_STATES, ...STUCK_STATES].includes(r.state);
    rows.push(
      h(
        "li",
        { class: `event ${unsent ? "pending" : "sent"} state-${r.state}`, dataset: { clientId: r.id } },
        h("span", { class: "when" }, formatTime(r.body.valid_at || r.created)),
        h("span", { class: "what" }, (r.summary && r.summary.text) || r.kind),
        h("span", { class: `badge ${unsent ? "pending" : "sent"}` }, t(`st_${r.state}`)),
        r.summary && r.summary.measures && r.summary.measures.length ? h("span", { class: "measures" }, r.summary.measures.join("，")) : null,
        r.photos && r.photos.length ? h("span", { class: "measures" }, t("photos_chosen", { n: r.photos.length })) : null,
        r.body.note ? h("span", { class: "note" }, r.body.note) : null,
      ),
    );
  }
  for (const e of (p.history || []).slice().reverse()) {
    const what = changeText(p, e);
    const measures = Object.entries(e.measures || {})
      .map(([k, v]) => {
        const m = p.measures.find((x) => x.key === k);
        return m ? `${m.label} ${v} ${m.unit}` : `${k} ${v}`;
      })
      .join("，");
    rows.push(
      h(
        "li",
        { class: `event${e.flag ? " flagged" : ""}`, dataset: { eventId: e.id } },
        h("span", { class: "when" }, formatTime(e.valid_at)),
        h("span", { class: "what" }, what),
        e.flag ? h("span", { class: "badge flag" }, t("flagged")) : null,
        h("span", { class: "who muted" }, e.actor),
        measures ? h("span", { class: "measures" }, measures) : null,
        e.distance_m != null ? h("span", { class: "measures distance" }, t("checked_in_from", { d: formatDistance(e.distance_m) })) : null,
        e.note ? h("span", { class: "note" }, e.note) : null,
      ),
    );
  }
  return h("section", { class: "card" }, h("h2", {}, t("history")), h("ul", { class: "history", id: "history" }, rows.length ? rows : h("li", { class: "muted" }, t("no_history"))));
}

function trackName(p, key) {
  const tr = p.tracks.find((x) => x.key === key);
  return tr ? tr.label : key;
}

/** Each photo with when it was taken in, who sent it and the change it belongs to (found in the history). */
function photosCard(p) {
  const byUpload = new Map();
  for (const e of p.history || []) for (const id of e.photos || []) byUpload.set(id, e);
  return h(
    "section",
    { class: "card" },
    h("h2", {}, t("photos")),
    h(
      "ul",
      { class: "thumbs", id: "site-photos" },
      p.photos.map((ph) => {
        const e = byUpload.get(ph.upload_id);
        const change = e ? changeText(p, e) : t("photo_unlinked");
        const when = formatTime(e ? e.valid_at : ph.created_at);
        const who = e ? e.actor : "";
        const alt = t("photo_alt", { site: p.name, change, when });
        return h(
          "li",
          { class: "photo" },
          h(
            "figure",
            {},
            h("a", { href: ph.url, target: "_blank" }, h("img", { src: ph.thumb_url, alt, loading: "lazy", width: "96", height: "96" })),
            h("figcaption", {}, h("span", { class: "when" }, when), who ? h("span", { class: "who" }, who) : null, h("span", { class: "what" }, change)),
          ),
        );
      }),
    ),
  );
}

function changeText(p, e) {
  if (e.action === "check_in") return t("check_in_event");
  if (e.action === "report") return `${t("report_event")} · ${e.to_label || ""}`;
  if (e.flag === "relapse") return t("relapse_event");
  if (e.to_status) return `${e.track ? `${trackName(p, e.track)} ` : ""}${t("from_to", { from: e.from_label || "—", to: e.to_label })}`;
  return t("note_event");
}

function workItemsCard(workItems) {
  return h(
    "section",
    { class: "card" },
    h("h2", {}, t("work_items")),
    h(
      "ul",
      { class: "work-items" },
      workItems.map((w) => h("li", {}, h("strong", {}, w.key), " ", w.title, " · ", w.status, w.resolve_due ? ` · ${t("deadline")} ${formatTime(w.resolve_due)}` : "")),
    ),
  );
}
