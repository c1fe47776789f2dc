// My sites: the sites to act on first, in the server's order (overdue, main roads first, nearest), then today's
// disinfection check-ins as compact rows, the ones done today folded away. Filtered here so filters work offline.
import { NetworkError, getJSON } from "./api.js";
import { claim, h, mount } from "./dom.js";
import { formatDistance, t } from "./i18n.js";
import { lastPosition, locate } from "./geo.js";
import { items, OPEN_STATES, STUCK_STATES } from "./outbox.js";
import { checkInControl, checkedInToday } from "./checkin.js";

const filters = { kind: "", status: "" };
let lastFeatures = null;
let lastPoints = [];

/**
 * Disinfection points are recurring (their one status is also their last), so `mine=1` leaves them out with the
 * finished sites; they are asked for separately and listed after the work sites, for the daily check-in.
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
  const seenIds = new Set(lastFeatures.map((f) => f.id));
  const todo = [];
  const done = [];
  if (!filters.kind || filters.kind === "disinfection_point") {
    for (const f of await points) {
      if (seenIds.has(f.id)) continue;
      const r = await pointRow(f);
      (r.classList.contains("is-done") ? done : todo).push(r);
    }
  }
  const shown = lastFeatures.filter(
    (f) => (!filters.kind || f.properties.kind === filters.kind) && (!filters.status || f.properties.status === filters.status),
  );
  const rows = shown.map((f) => row(f.properties, pendingBySite.get(f.properties.id) || 0));
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
  const onlyPoints = filters.kind === "disinfection_point";
  if (!current()) return;
  mount(
    view,
    answer && answer.fromCache ? h("p", { class: "cached" }, t("from_cache")) : null,
    h("div", { class: "filters" }, select("kind", t("filter_kind"), kinds), select("status", t("filter_status"), statuses)),
    onlyPoints
      ? null
      : h(
          "section",
          { class: "work", "aria-labelledby": "work-title" },
          h("h2", { id: "work-title" }, t("tab_sites"), " ", h("span", { class: "count-badge" }, String(rows.length))),
          h("ul", { class: "sites", id: "sites" }, rows.length ? rows : h("li", { class: "empty" }, t("no_sites"))),
        ),
    todo.length || done.length
      ? h(
          "section",
          { class: "points", "aria-labelledby": "points-title" },
          h("h2", { id: "points-title" }, t("points_today"), " ", h("span", { class: "count-badge" }, t("points_left", { n: todo.length, total: todo.length + done.length }))),
          todo.length ? h("ul", { class: "point-list", id: "points" }, todo) : h("p", { class: "muted", id: "points-all-done" }, t("points_all_done")),
          done.length
            ? h(
                "details",
                { class: "points-done", id: "points-done" },
                h("summary", {}, t("points_done", { n: done.length })),
                h("ul", { class: "point-list" }, done),
              )
            : null,
        )
      : null,
  );
}

function uniqueOptions(features, key, labelKey) {
  const seen = new Map();
  for (const f of features) if (!seen.has(f.properties[key])) seen.set(f.properties[key], f.properties[labelKey]);
  return [...seen.entries()];
}

function row(p, pending) {
  const meta = [p.kind_label, p.status_label, p.subdistrict_label, formatDistance(p.distance_m)].filter(Boolean);
  const badges = [];
  if (p.overdue) badges.push(h("span", { class: "badge overdue" }, t("overdue")));
  else if (p.deadline_text) badges.push(h("span", { class: "badge due" }, `${t("deadline")} ${p.deadline_text}`));
  if (pending) badges.push(h("span", { class: "badge pending" }, t("pending_badge", { n: pending })));
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
  );
}

/** A disinfection point in one line: its name and distance, and the check-in (or "checked in today"). */
async function pointRow(f) {
  const p = f.properties;
  const done = await checkedInToday(p.id);
  const control = p.may_change ? await checkInControl({ ...p, geometry: f.geometry }) : null;
  return h(
    "li",
    { class: `point${done ? " is-done" : ""}`, dataset: { siteId: p.id } },
    h(
      "div",
      { class: "point-line" },
      h("a", { href: `#/site/${p.id}`, class: "point-name" }, p.name, p.distance_m != null ? h("span", { class: "muted" }, ` · ${formatDistance(p.distance_m)}`) : null),
      control,
    ),
  );
}
