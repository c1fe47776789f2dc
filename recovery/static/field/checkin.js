// Disinfection check-in: one tap queues today's visit; the phone remembers it so a second tap is not offered.
import { h, isoWithOffset, notice } from "./dom.js";
import { t } from "./i18n.js";
import { lastPosition, locate } from "./geo.js";
import { enqueue, items, kick } from "./outbox.js";

/** Today's date in Asia/Shanghai (the server's day for "once per point per day"). */
export function today(date = new Date()) {
  return date.toLocaleDateString("en-CA", { timeZone: "Asia/Shanghai" });
}

export async function checkedInToday(siteId) {
  const day = today();
  return (await items()).some(
    (r) => r.kind === "check_in" && r.site_id === siteId && r.day === day && r.state !== "failed",
  );
}

export async function checkIn(site) {
  if (await checkedInToday(site.id)) {
    notice(t("already_checked_in"), "warn");
    return true;
  }
  const pressed = new Date();
  const position = lastPosition() || (await locate(3000));
  const body = { valid_at: isoWithOffset(pressed) };
  if (position) body.position = position;
  const record = await enqueue({
    kind: "check_in",
    siteId: site.id,
    siteName: site.name,
    path: `/sites/${site.id}/check-in`,
    body,
    summary: { text: t("check_in_event") },
    day: today(pressed),
  });
  notice(navigator.onLine ? t("check_in_done") : t("saved_queued"), "ok");
  kick();
  return Boolean(record);
}

/** The check-in button of a point, in the list and on its page: disabled once checked in today. */
export async function checkInButton(site, attrs = {}) {
  const done = await checkedInToday(site.id);
  return h(
    "button",
    {
      ...attrs,
      class: `btn checkin${attrs.class ? ` ${attrs.class}` : ""}`,
      disabled: done,
      onclick: async (e) => {
        e.target.disabled = true;
        if (await checkIn(site)) e.target.textContent = t("checked_in_today");
        else e.target.disabled = false;
      },
    },
    done ? t("checked_in_today") : t("check_in"),
  );
}
