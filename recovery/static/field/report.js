// Report a new site where I stand, or where I tap on a small map of the zone's own geodata (no tile server).
import { claim, h, isoWithOffset, mount, notice } from "./dom.js";
import { LANG, t } from "./i18n.js";
import { lastPosition, locate } from "./geo.js";
import { enqueue, kick } from "./outbox.js";
import { get } from "./store.js";

const ZONE_CENTER = [34.83, 113.56];
let baseLayers = null;

export async function loadBaseLayers() {
  if (baseLayers) return baseLayers;
  try {
    const response = await fetch(document.body.dataset.geodata, { credentials: "same-origin" });
    if (response.ok) baseLayers = await response.json();
  } catch {
    baseLayers = null;
  }
  return baseLayers;
}

export async function renderReport(view, app) {
  claim(view); // drawn at once: this only makes an older drawing still on its way (the list) give up
  const kinds = app.config.kinds;
  let where = "here";
  let position = lastPosition();
  let chosen = null;
  const positionText = h("span", { id: "report-position", class: "muted" }, position ? t("position_ok", { n: Math.round(position.accuracy ?? 0) }) : t("locating"));
  const chosenText = h("span", { id: "map-chosen", class: "muted" }, t("map_hint"));
  const attrBox = h("div", { id: "attributes" });
  const kindSelect = h(
    "select",
    { name: "kind", id: "kind", onchange: () => drawAttributes() },
    kinds.map((k) => h("option", { value: k.key }, k.label)),
  );
  const teams = app.config.teams || [];
  const teamSelect = teams.length
    ? h(
        "label",
        { class: "field" },
        h("span", {}, t("team_label")),
        h(
          "select",
          { name: "team", id: "team" },
          h("option", { value: "" }, t("team_mine")),
          teams.map((tm) => h("option", { value: tm.key }, tm.name)),
        ),
      )
    : null;
  const drawAttributes = () => {
    const kind = kinds.find((k) => k.key === kindSelect.value);
    mount(
      attrBox,
      kind.asks_priority
        ? h(
            "label",
            { class: "field" },
            h("span", {}, t("priority")),
            h(
              "select",
              { name: "priority", id: "priority" },
              [1, 2, 3].map((n) => h("option", { value: String(n), selected: n === 2 }, t(`priority_${n}`))),
            ),
          )
        : h("p", { class: "muted", id: "priority-rule" }, t("priority_by_road")),
      kind.attributes.map((a) =>
        h(
          "label",
          { class: "field" },
          h("span", {}, a.label),
          h(
            "select",
            { name: `attr-${a.key}`, id: `attr-${a.key}`, "data-attr": a.key, "data-label": a.label },
            h("option", { value: "" }, "—"),
            a.choices.map((c) => h("option", { value: c.key }, c.label)),
          ),
        ),
      ),
    );
  };
  const mapBox = h("div", { id: "map", class: "map", role: "application", "aria-label": t("where_map") });
  const radio = (value, label) =>
    h(
      "label",
      { class: "choice" },
      h("input", {
        type: "radio",
        name: "where",
        value,
        checked: where === value,
        onchange: () => {
          where = value;
        },
      }),
      h("span", {}, label),
    );
  const form = h(
    "form",
    {
      class: "card report",
      id: "report-form",
      onsubmit: async (e) => {
        e.preventDefault();
        const pressed = new Date();
        const data = new FormData(form);
        const name = String(data.get("name") || "").trim();
        if (!name) return notice(t("need_name"), "warn");
        const attributes = {};
        for (const select of attrBox.querySelectorAll("[data-attr]")) {
          if (!select.value) return notice(t("need_attr", { attr: select.dataset.label }), "warn");
          attributes[select.dataset.attr] = select.value;
        }
        const body = {
          kind: kindSelect.value,
          name,
          address: String(data.get("address") || "").trim(),
          attributes,
          note: String(data.get("note") || "").trim(),
          valid_at: isoWithOffset(pressed),
        };
        if (data.get("priority")) body.priority = Number(data.get("priority"));
        if (data.get("team")) body.team = String(data.get("team"));
        if (where === "map" && chosen) body.geometry = { type: "Point", coordinates: [round6(chosen.lng), round6(chosen.lat)] };
        else if (where === "here" && position) body.position = position;
        else return notice(t("need_where"), "warn");
        const button = form.querySelector("#submit-report");
        button.disabled = true;
        const record = await enqueue({ kind: "site", path: "/sites", body, siteName: name, summary: { text: `${t("type_site")} · ${name}` } });
        form.reset();
        drawAttributes();
        notice(navigator.onLine ? t("report_sending", { name }) : t("report_queued"), "ok", 0);
        await kick();
        // a send already under way when this was queued may have passed it: one more round sends it
        if ((await get("outbox", record.id))?.state === "queued" && navigator.onLine) await kick();
        await confirmReport(record.id, name);
        button.disabled = false;
      },
    },
    h("h1", {}, t("report_title")),
    h("label", { class: "field" }, h("span", {}, t("kind")), kindSelect),
    attrBox,
    h("label", { class: "field" }, h("span", {}, t("name")), h("input", { name: "name", id: "name", maxlength: "200", placeholder: t("name_ph"), required: true })),
    h("label", { class: "field" }, h("span", {}, t("address")), h("input", { name: "address", id: "address", maxlength: "300" })),
    teamSelect,
    h("fieldset", { class: "where" }, h("legend", {}, t("where")), radio("here", t("where_here")), h("p", { class: "position" }, positionText), radio("map", t("where_map")), mapBox, h("p", {}, chosenText)),
    h("label", { class: "field" }, h("span", {}, t("note")), h("textarea", { name: "note", id: "report-note", rows: "2", maxlength: "2000" })),
    h("button", { type: "submit", class: "btn big", id: "submit-report" }, t("submit_report")),
  );
  mount(view, form);
  drawAttributes();
  locate().then((found) => {
    position = found || position;
    positionText.textContent = position ? t("position_ok", { n: Math.round(position.accuracy ?? 0) }) : t("position_none");
    if (position && map) here.setLatLng([position.lat, position.lon]).addTo(map);
  });
  let map = null;
  let here = null;
  if (window.L) {
    map = L.map(mapBox, { attributionControl: false, zoomControl: true }).setView(ZONE_CENTER, 12);
    here = L.circleMarker(ZONE_CENTER, { radius: 8, color: "#1565c0", fillOpacity: 0.8 });
    if (position) here.setLatLng([position.lat, position.lon]).addTo(map);
    const marker = L.marker(ZONE_CENTER);
    map.on("click", (e) => {
      chosen = e.latlng;
      marker.setLatLng(e.latlng).addTo(map);
      chosenText.textContent = t("map_chosen", { lon: round6(e.latlng.lng), lat: round6(e.latlng.lat) });
      where = "map";
      form.querySelector('input[name=where][value="map"]').checked = true;
    });
    const layers = await loadBaseLayers();
    if (layers) drawBase(map, layers);
  }
}

/**
 * What became of a report once the sender has tried it: a link to the new site when the server stored it, else
 * where it waits (the outbox) or why it was refused. Shown pinned under the status bar, in view.
 */
async function confirmReport(id, name) {
  const record = await get("outbox", id);
  if (record && ["sent", "flagged"].includes(record.state) && record.result_site_id) {
    notice([t("report_done", { name }), " ", h("a", { href: `#/site/${record.result_site_id}`, id: "new-site-link" }, t("open_new_site"))], "ok", 15000);
  } else if (record && record.state === "failed") {
    notice([record.error || t("st_failed"), " ", h("a", { href: "#/outbox" }, t("tab_outbox"))], "error", 0);
  } else {
    notice([t("report_queued"), " ", h("a", { href: "#/outbox" }, t("tab_outbox"))], "ok", 15000);
  }
}

export function drawBase(map, layers, { fit = true } = {}) {
  const nameKey = LANG === "en" ? "name_en" : "name_zh";
  if (layers.subdistricts) {
    const subs = L.geoJSON(layers.subdistricts, {
      style: { color: "#12263a", weight: 2, fillColor: "#dfe8f1", fillOpacity: 0.35 },
      onEachFeature: (f, layer) => {
        const label = f.properties && (f.properties[nameKey] || f.properties.name_zh);
        if (label) layer.bindTooltip(h("span", {}, String(label)), { permanent: true, direction: "center", className: "area-label" });
      },
    }).addTo(map);
    if (fit) map.fitBounds(subs.getBounds(), { padding: [4, 4] });
  }
  if (layers.roads) L.geoJSON(layers.roads, { style: { color: "#8a5a00", weight: 2.5 }, interactive: false }).addTo(map);
  if (layers.rivers) L.geoJSON(layers.rivers, { style: { color: "#1976d2", weight: 3 }, interactive: false }).addTo(map);
}

function round6(x) {
  return Math.round(x * 1e6) / 1e6;
}

