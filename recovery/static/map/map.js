// The map's sites: fetched from /map/clusters for the view, the filters and the date, drawn into the per-kind
// layers that Folium made. User text is only ever set with textContent, never as HTML.
(function () {
  "use strict";
  const cfg = JSON.parse(document.getElementById("map-config").textContent);
  const map = window[cfg.map];
  const choropleth = window[cfg.choropleth];
  const layers = {};
  for (const [kind, name] of Object.entries(cfg.kindLayers)) layers[kind] = window[name];
  const form = document.getElementById("map-filters");
  const fields = ["date", "status", "subdistrict", "team", "q"];
  // the map's strings: recovery/web/jsmessages.py declares them, the catalogues translate them, the page carries them
  const strings = JSON.parse(document.getElementById("strings").textContent);
  const t = (key) => strings[key] ?? key;
  let lastKey = null;
  let lastVersion = null;
  let selected = null;

  // --- state in the URL ---------------------------------------------------------------------------------------
  const params = new URLSearchParams(location.search);
  for (const name of fields) if (params.get(name)) form.elements[name].value = params.get(name);
  form.elements.overdue.checked = params.get("overdue") === "1";
  if (params.has("kind")) {
    const shown = new Set(params.get("kind").split(",").filter(Boolean));
    for (const [kind, layer] of Object.entries(layers)) if (!shown.has(kind)) map.removeLayer(layer);
  }
  if (params.get("z") && params.get("lat") && params.get("lon")) {
    map.setView([+params.get("lat"), +params.get("lon")], +params.get("z"));
  }

  function visibleKinds() {
    return Object.keys(layers).filter((k) => map.hasLayer(layers[k]));
  }

  function filterParams() {
    const out = new URLSearchParams();
    for (const name of fields) if (form.elements[name].value) out.set(name, form.elements[name].value.trim());
    if (form.elements.overdue.checked) out.set("overdue", "1");
    const kinds = visibleKinds();
    if (kinds.length !== Object.keys(layers).length) out.set("kind", kinds.join(","));
    return out;
  }

  function keepInUrl() {
    const p = filterParams();
    const c = map.getCenter();
    p.set("z", map.getZoom());
    p.set("lat", c.lat.toFixed(5));
    p.set("lon", c.lng.toFixed(5));
    history.replaceState(null, "", `${location.pathname}?${p}`);
  }

  // --- drawing ------------------------------------------------------------------------------------------------
  function colour(kind, status) {
    return (cfg.colours[kind] || {})[status] || "#6b7b8c";
  }

  function clusterMarker(c) {
    const size = Math.min(22 + Math.log10(c.count) * 12, 60);
    const share = c.done / c.count;
    const ring = share >= 0.999 ? "#1a9850" : share >= 0.5 ? "#fdae31" : "#d7301f";
    const icon = L.divIcon({
      className: "",
      html: `<div class="cluster-icon" style="width:${size}px;height:${size}px;background:${ring}">${c.count}</div>`,
      iconSize: [size, size],
    });
    const marker = L.marker([c.lat, c.lon], { icon, title: `${cfg.kindLabels[c.kind]} ${c.count}` });
    marker.options.clusterCount = c.count;
    marker.on("click", () => map.setView([c.lat, c.lon], Math.min(map.getZoom() + 2, 19)));
    return marker;
  }

  function siteLayer(feature) {
    const p = feature.properties;
    const fill = colour(p.kind, p.status);
    const layer = L.geoJSON(feature, {
      pointToLayer: (f, latlng) => L.circleMarker(latlng, { radius: 7, weight: 1, color: "#333", fillColor: fill, fillOpacity: 0.9 }),
      style: () => ({ color: fill, weight: 5, fillColor: fill, fillOpacity: 0.5 }),
    });
    layer.on("click", (e) => openPopup(p.id, p.kind, p.status, e.latlng));
    return layer;
  }

  function draw(data) {
    for (const layer of Object.values(layers)) layer.clearLayers();
    for (const c of data.clusters) {
      if (!layers[c.kind]) continue;
      if (c.count === 1) {
        const marker = L.circleMarker([c.lat, c.lon], { radius: 6, weight: 1, color: "#333", fillColor: colour(c.kind, c.status), fillOpacity: 0.9 });
        marker.options.clusterCount = 1;
        marker.on("click", (e) => openPopup(c.id, c.kind, c.status, e.latlng));
        layers[c.kind].addLayer(marker);
      } else {
        layers[c.kind].addLayer(clusterMarker(c));
      }
    }
    for (const f of data.features) if (layers[f.properties.kind]) layers[f.properties.kind].addLayer(siteLayer(f));
    document.body.dataset.drawn = String(data.mode === "features" ? data.features.length : data.clusters.reduce((n, c) => n + c.count, 0));
  }

  function showCounts(data) {
    const s = data.summary;
    document.getElementById("count-total").textContent = s.total.toLocaleString();
    document.getElementById("count-done").textContent = s.done.toLocaleString();
    document.getElementById("count-overdue").textContent = s.overdue.toLocaleString();
    document.getElementById("count-in-view").textContent = data.in_view.toLocaleString();
    document.getElementById("as-of-label").textContent = form.elements.date.value ? `${form.elements.date.value} 24:00` : t("as_of_now");
    for (const row of document.querySelectorAll("table.bykind tr[data-kind]")) {
      const k = s.by_kind[row.dataset.kind];
      row.querySelector(".total").textContent = k.total;
      row.querySelector(".done").textContent = k.done;
      row.querySelector(".overdue").textContent = k.overdue;
    }
    if (choropleth) {
      choropleth.eachLayer((layer) => {
        const c = data.completion[layer.feature.properties.key];
        if (!c) return;
        layer.feature.properties.rate_text = c.rate === null ? "—" : `${c.rate.toFixed(2)}%`;
        layer.setStyle({ fillColor: rateColour(c.rate) });
      });
    }
    document.body.dataset.version = String(data.version);
  }

  function rateColour(rate) {
    if (rate === null) return "#cccccc";
    const steps = ["#fee5d9", "#fcbba1", "#fc9272", "#c7e9c0", "#74c476", "#238b45"];
    const bounds = [20, 40, 60, 80, 95];
    for (let i = 0; i < bounds.length; i++) if (rate < bounds[i]) return steps[i];
    return steps[steps.length - 1];
  }

  let pending = null;
  async function refresh(poll) {
    const kinds = visibleKinds();
    const p = filterParams();
    const b = map.getBounds();
    p.set("z", map.getZoom());
    p.set("bbox", [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map((v) => v.toFixed(6)).join(","));
    const key = p.toString();
    if (!poll) keepInUrl();
    if (pending) pending.abort();
    pending = new AbortController();
    document.body.dataset.loading = "1";
    try {
      const response = await fetch(`${cfg.dataUrl}?${key}`, { signal: pending.signal, credentials: "same-origin", headers: { Accept: "application/json" } });
      if (!response.ok) throw new Error(String(response.status));
      const data = await response.json();
      if (poll && key === lastKey && data.version === lastVersion) return;
      lastKey = key;
      lastVersion = data.version;
      if (!kinds.length) {
        data.clusters = [];
        data.features = [];
      }
      draw(data);
      showCounts(data);
    } catch (err) {
      if (err.name !== "AbortError") document.body.dataset.error = String(err.message);
    } finally {
      delete document.body.dataset.loading;
    }
  }

  // --- popups -------------------------------------------------------------------------------------------------
  function el(tag, text, attrs) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    return node;
  }

  async function openPopup(id, kind, status, latlng) {
    const box = el("div", null, { class: "site-popup" });
    const popup = L.popup({ maxWidth: 280 }).setLatLng(latlng).setContent(box).openOn(map);
    const response = await fetch(`${cfg.siteUrl}${id}`, { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (!response.ok) return;
    const site = (await response.json()).properties;
    box.append(el("h3", site.name));
    const dl = el("dl");
    const row = (label, value) => dl.append(el("dt", label), el("dd", value));
    row(t("kind"), site.kind_label);
    row(t("status"), (cfg.statusLabels[kind] || {})[status] || site.status_label);
    const history = site.history || [];
    const last = history[history.length - 1];
    row(t("updated"), last ? `${(last.valid_at || "").slice(0, 16).replace("T", " ")} · ${last.actor}` : t("none"));
    // the earliest due: the site's deadline (a day's deadline reads as that day) or an open work item's
    const dues = [
      ...(site.deadline ? [[Date.parse(site.deadline), site.deadline_text]] : []),
      ...(site.work_items || []).filter((w) => w.status !== "closed" && w.resolve_due).map((w) => [Date.parse(w.resolve_due), w.resolve_due.slice(0, 16).replace("T", " ")]),
    ].sort((a, b) => a[0] - b[0]);
    row(t("deadline"), dues.length ? dues[0][1] : t("none"));
    box.append(dl);
    const photos = site.photos || [];
    if (photos.length) box.append(el("img", null, { src: photos[photos.length - 1].thumb_url, alt: "" }));
    const link = el("a", t("open"), { href: `${cfg.fieldUrl}#/site/${id}` });
    const linkRow = el("p");
    linkRow.append(link);
    box.append(linkRow);
    if (document.getElementById("selected-site")) {
      const pick = el("button", t("select"), { type: "button", class: "select-site" });
      pick.addEventListener("click", () => {
        selected = { id, name: site.name };
        document.getElementById("selected-site").textContent = site.name;
      });
      box.append(pick);
    }
    popup.update();
  }

  // --- commanding -------------------------------------------------------------------------------------------
  async function command(path, body) {
    const out = document.getElementById("command-result");
    const response = await fetch(`${cfg.commandUrl}/${path}`, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": document.getElementById("csrf").value },
      body: JSON.stringify(body),
    });
    const data = await response.json();
    out.textContent = response.ok ? data.message : (data.error || {}).message || String(response.status);
    if (response.ok) refresh(false);
  }

  function filterObject() {
    return Object.fromEntries(filterParams());
  }

  // --- a selection drawn on the map: counted on the server with the filters and the date, then assigned --------
  let drawn = null;
  async function countSelection() {
    const out = document.getElementById("selection-count");
    const button = document.getElementById("assign-drawn");
    delete document.body.dataset.selected;
    button.disabled = true;
    if (!drawn) {
      out.textContent = "—";
      return;
    }
    const p = filterParams();
    p.set("polygon", JSON.stringify(drawn));
    out.textContent = "…";
    const response = await fetch(`${cfg.selectionUrl}?${p}`, { credentials: "same-origin", headers: { Accept: "application/json" } });
    const data = await response.json();
    if (!response.ok) {
      out.textContent = (data.error || {}).message || String(response.status);
      return;
    }
    out.textContent = data.count.toLocaleString();
    button.disabled = data.count === 0;
    document.body.dataset.selected = String(data.count);
  }

  if (document.getElementById("assign-drawn") && window.recoveryDraw) {
    window.recoveryDraw(map, t, async (polygon) => {
      drawn = polygon;
      await countSelection();
      if (drawn) {
        document.querySelector("section.command").scrollIntoView({ block: "nearest" });
        document.getElementById("assign-team").focus({ preventScroll: true });
      }
    });
    form.addEventListener("change", () => countSelection());
    document.getElementById("live").addEventListener("click", () => setTimeout(countSelection)); // after the date is cleared
    map.on("overlayadd overlayremove", () => countSelection());
    document.getElementById("assign-drawn").addEventListener("click", () => {
      if (!drawn) return;
      command("assign", {
        polygon: drawn,
        filter: filterObject(),
        team_id: +document.getElementById("assign-team").value,
        deadline: document.getElementById("assign-deadline").value || null,
      });
    });
  }

  if (document.getElementById("assign-selected")) {
    const deadline = () => document.getElementById("assign-deadline").value || null;
    const team = () => +document.getElementById("assign-team").value;
    document.getElementById("assign-selected").addEventListener("click", () => {
      if (selected) command("assign", { site_ids: [selected.id], team_id: team(), deadline: deadline() });
    });
    document.getElementById("assign-filtered").addEventListener("click", () => {
      command("assign", { filter: filterObject(), team_id: team(), deadline: deadline() });
    });
    document.getElementById("order-issue").addEventListener("click", () => {
      command("supervise", {
        site_id: selected ? selected.id : null,
        title: document.getElementById("order-title").value,
        responsible_unit: document.getElementById("order-unit").value,
        severity: document.getElementById("order-severity").value,
      });
    });
  }

  // --- events -------------------------------------------------------------------------------------------------
  form.addEventListener("change", () => refresh(false));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    refresh(false);
  });
  document.getElementById("live").addEventListener("click", () => {
    form.elements.date.value = "";
    refresh(false);
  });
  map.on("moveend", () => refresh(false));
  map.on("overlayadd overlayremove", (e) => {
    if (Object.values(layers).includes(e.layer)) refresh(false);
  });
  // field changes appear without reloading: poll the live map (a past day does not change)
  setInterval(() => {
    if (!form.elements.date.value && !document.hidden) refresh(true);
  }, cfg.pollSeconds * 1000);
  refresh(false);

  // --- one site's address: /map?site=ID centres the map on it and opens its card (the report's record lists
  // link here) --------------------------------------------------------------------------------------------------
  async function focusSite(id) {
    const response = await fetch(`${cfg.siteUrl}${id}`, { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (!response.ok) return;
    const feature = await response.json();
    const centre = L.geoJSON(feature).getBounds().getCenter();
    map.setView(centre, Math.max(map.getZoom(), 17));
    openPopup(id, feature.properties.kind, feature.properties.status, centre);
    document.body.dataset.focused = String(id);
  }
  if (/^[0-9]+$/.test(params.get("site") || "")) focusSite(params.get("site"));
})();
