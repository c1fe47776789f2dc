// My sites: the server's order (overdue, main roads first, nearest), filtered here so filters work offline too.
import { NetworkError, getJSON } from "./api.js";
import { claim, h, mount } from "./dom.js";
import { formatDistance, t } from "./i18n.js";
import { lastPosition, locate } from "./geo.js";
import { items, OPEN_STATES, STUCK_STATES } from "./outbox.js";
import { checkInButton } from "./checkin.js";

const filters = { kind: "", status: "" };
let lastFeatures = null;
let lastPoints = [];

/**
 * Disinfection points are recurring (their one status is also their last), so `mine=1` leaves them out with the
 * finished sites; they are asked for separately and shown first, for the daily one-tap check-in.
 */
async function loadPoints(near) {
  try {
    const answer = await getJSON("/sites", { mine: 1, kind: "disinfection_point", include_done: 1, near });
    if (answer.ok) lastPoints = answer.data.features;
  } catch (exc) {
    if (!(exc instanceof NetworkError)) throw exc;
  }
  return lastPoints;
}

export async function renderList(view, app) {
  const current = claim(view);
  mount(view, h("p", { class: "muted" }, t("loading")));
  const position = lastPosition() || (await locate(4000));
  let answer = null;
  const near = position ? `${position.lon.toFixed(6)},${position.lat.toFixed(6)}` : undefined;
  const points = loadPoints(near);
  try {
    answer = await getJSON("/sites", { mine: 1, near });
  } catch (exc) {
    if (!(exc instanceof NetworkError)) throw exc;
  }
  if (!answer || !answer.ok) {
    if (!lastFeatures) {
      if (!current()) return;
      mount(view, h("p", { class: "empty" }, t("load_failed")), h("button", { class: "btn", onclick: () => renderList(view, app) }, t("retry")));
      return;
    }
  } else {
    lastFeatures = answer.data.features;
  }
  const outbox = await items();
  const pendingBySite = new Map();
  for (const r of outbox) {
    if (r.site_id != null && [...OPEN_STATES, ...STUCK_STATES].includes(r.state)) {
      pendingBySite.set(r.site_id, (pendingBySite.get(r.site_id) || 0) + 1);
    }
  }
  const list = h("ul", { class: "sites", id: "sites" });
  const seenIds = new Set(lastFeatures.map((f) => f.id));
  const pointRows = [];
  if (!filters.kind || filters.kind === "disinfection_point") {
    for (const f of await points) if (!seenIds.has(f.id)) pointRows.push(await row(f.properties, pendingBySite.get(f.properties.id) || 0));
  }
  const draw = async () => {
    const shown = lastFeatures.filter(
      (f) => (!filters.kind || f.properties.kind === filters.kind) && (!filters.status || f.properties.status === filters.status),
    );
    const rows = [];
    for (const f of shown) rows.push(await row(f.properties, pendingBySite.get(f.properties.id) || 0));
    mount(list, rows.length ? rows : h("li", { class: "empty" }, t("no_sites")));
  };
  const kinds = uniqueOptions([...lastFeatures, ...(await points)], "kind", "kind_label");
  const statuses = uniqueOptions(
    lastFeatures.filter((f) => !filters.kind || f.properties.kind === filters.kind),
    "status",
    "status_label",
  );
  const select = (name, label, options) =>
    h(
      "label",
      { class: "filter" },
      h("span", {}, label),
      h(
        "select",
        {
          id: `filter-${name}`,
          onchange: (e) => {
            filters[name] = e.target.value;
            if (name === "kind") filters.status = "";
            renderList(view, app);
          },
        },
        h("option", { value: "" }, t("all")),
        options.map(([value, text]) => h("option", { value, selected: filters[name] === value }, text)),
      ),
    );
  if (!current()) return;
  mount(
    view,
    answer && answer.fromCache ? h("p", { class: "cached" }, t("from_cache")) : null,
    h("div", { class: "filters" }, select("kind", t("filter_kind"), kinds), select("status", t("filter_status"), statuses)),
    pointRows.length ? h("section", { class: "points" }, h("h2", {}, t("points_today")), h("ul", { class: "sites", id: "points" }, pointRows)) : null,
    pointRows.length ? h("h2", {}, t("tab_sites")) : null,
    list,
  );
  await draw();
}

function uniqueOptions(features, key, labelKey) {
  const seen = new Map();
  for (const f of features) if (!seen.has(f.properties[key])) seen.set(f.properties[key], f.properties[labelKey]);
  return [...seen.entries()];
}

async function row(p, pending) {
  const meta = [p.kind_label, p.status_label, p.subdistrict_label, formatDistance(p.distance_m)].filter(Boolean);
  const badges = [];
  if (p.overdue) badges.push(h("span", { class: "badge overdue" }, t("overdue")));
  if (pending) badges.push(h("span", { class: "badge pending" }, t("pending_badge", { n: pending })));
  let action = null;
  if (p.check_in && p.may_change) action = await checkInButton(p);
  return h(
    "li",
    { class: `site${p.overdue ? " is-overdue" : ""}`, dataset: { siteId: p.id } },
    h(
      "a",
      { href: `#/site/${p.id}`, class: "site-link" },
      h("span", { class: "site-name" }, p.name),
      h("span", { class: "site-meta" }, meta.join(" · ")),
      badges.length ? h("span", { class: "badges" }, badges) : null,
    ),
    action,
  );
}
