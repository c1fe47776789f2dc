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
  const t = (key, params) => (strings[key] ?? key).replace(/\{(\w+)\}/g, (m, name) => (params && name in params ? params[name] : m));
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

  // a cluster's ring: its share done on the sites' own scale (recovery/map/style.py RAMP), green only when all are
  function shareColour(done, count) {
    const ramp = cfg.ramp;
    if (done >= count) return ramp[ramp.length - 1];
    return ramp[Math.min(Math.floor((done / count) * (ramp.length - 1)), ramp.length - 2)];
  }

  function clusterMarker(c) {
    const size = Math.min(26 + Math.log10(c.count) * 12, 60);
    const late = c.overdue || 0;
    const badge = late ? `<span class="late-badge">${late}</span>` : "";
    const icon = L.divIcon({
      className: "",
      html: `<div class="cluster-ring${late ? " late" : ""}" style="width:${size}px;height:${size}px;border-color:${shareColour(c.done, c.count)}">${c.count}${badge}</div>`,
      iconSize: [size, size],
    });
    const title = t("cluster_title", { kind: cfg.kindLabels[c.kind], count: c.count, done: c.done, overdue: late });
    const marker = L.marker([c.lat, c.lon], { icon, title, alt: title, keyboard: true });
    marker.options.clusterCount = c.count;
    marker.on("click", () => map.setView([c.lat, c.lon], Math.min(map.getZoom() + 2, 19)));
    return marker;
  }

  // a site: filled by its status; an overdue one gets a red ring (points) or a red dashed outline (lines, areas)
  function pointStyle(fill, late, radius) {
    return late
      ? { radius: radius + 2, weight: 4, color: cfg.overdueColour, fillColor: fill, fillOpacity: 0.95 }
      : { radius, weight: 1, color: "#333", fillColor: fill, fillOpacity: 0.9 };
  }

  function siteLayer(feature) {
    const p = feature.properties;
    const fill = colour(p.kind, p.status);
    const layer = L.geoJSON(feature, {
      pointToLayer: (f, latlng) => L.circleMarker(latlng, pointStyle(fill, p.overdue, 7)),
      style: () => (p.overdue ? { color: cfg.overdueColour, weight: 5, dashArray: "8 5", fillColor: fill, fillOpacity: 0.5 } : { color: fill, weight: 5, fillColor: fill, fillOpacity: 0.5 }),
    });
    layer.on("click", (e) => openPopup(p.id, p.kind, p.status, e.latlng));
    return layer;
  }

  function draw(data) {
    for (const layer of Object.values(layers)) layer.clearLayers();
    for (const c of data.clusters) {
      if (!layers[c.kind]) continue;
      if (c.count === 1) {
        const marker = L.circleMarker([c.lat, c.lon], pointStyle(colour(c.kind, c.status), c.overdue > 0, 6));
        marker.options.clusterCount = 1;
        marker.on("click", (e) => openPopup(c.id, c.kind, c.status, e.latlng));
        layers[c.kind].addLayer(marker);
      } else {
        layers[c.kind].addLayer(clusterMarker(c));
      }
    }
    for (const f of data.features) if (layers[f.properties.kind]) layers[f.properties.kind].addLayer(siteLayer(f));
    const late = data.mode === "features" ? data.features.filter((f) => f.properties.overdue).length : data.clusters.reduce((n, c) => n + (c.overdue || 0), 0);
    document.body.dataset.drawnOverdue = String(late);
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
    return cfg.shading.find((step) => step.high === null || rate < step.high).colour;
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
    row(t("team"), site.team_id ? cfg.teamNames[site.team_id] ?? String(site.team_id) : t("no_team"));
    // the earliest due: the site's deadline (a day's deadline reads as that day) or an open work item's
    const dues = [
      ...(site.deadline ? [[Date.parse(site.deadline), site.deadline_text]] : []),
      ...(site.work_items || []).filter((w) => w.status !== "closed" && w.resolve_due).map((w) => [Date.parse(w.resolve_due), w.resolve_due.slice(0, 16).replace("T", " ")]),
    ].sort((a, b) => a[0] - b[0]);
    row(t("deadline"), dues.length ? dues[0][1] : t("none"));
    if (site.overdue) dl.lastChild.append(" ", el("span", t("overdue"), { class: "late-badge" }));
    box.append(dl);
    const photos = site.photos || [];
    if (photos.length) box.append(el("img", null, { src: photos[photos.length - 1].thumb_url, alt: "" }));
    // commanders and reporters read the desktop site page; field users the field app's page
    const link = el("a", t("open"), { href: cfg.sitePageUrl ? `${cfg.sitePageUrl}${id}` : `${cfg.fieldUrl}#/site/${id}` });
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
  const result = () => document.getElementById("command-result");

  async function post(url, body) {
    const response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": document.getElementById("csrf").value },
      body: JSON.stringify(body || {}),
    });
    const data = await response.json().catch(() => ({}));
    return { ok: response.ok, data, message: response.ok ? data.message : (data.error || {}).message || String(response.status) };
  }

  async function command(path, body) {
    const answer = await post(`${cfg.commandUrl}/${path}`, body);
    result().textContent = answer.message;
    // an issued order can be followed at once: its page (timeline, unit, deadlines)
    if (answer.ok && answer.data.url) result().append(" ", el("a", t("open_order"), { href: answer.data.url, class: "order-link" }));
    if (answer.ok) refresh(false);
    return answer;
  }

  function filterObject() {
    return Object.fromEntries(filterParams());
  }

  // --- an assignment: previewed (how many, which teams lose sites, which deadlines change), confirmed, undoable --
  const dialog = document.getElementById("assign-dialog");
  let undoUrl = null;

  function assignment(sites) {
    const team = document.getElementById("assign-team").value;
    if (!team) {
      result().textContent = t("choose_team");
      document.getElementById("assign-team").focus();
      return null;
    }
    const deadline = document.getElementById("assign-deadline").value || null;
    return { ...sites, team_id: +team, deadline, clear_deadlines: !deadline && document.getElementById("assign-clear").checked };
  }

  function showPreview(p) {
    const box = document.getElementById("assign-preview");
    box.replaceChildren();
    box.append(el("p", t("preview_count", { count: p.count.toLocaleString(), team: p.team.name })));
    if (p.already) box.append(el("p", t("preview_already", { count: p.already.toLocaleString() })));
    if (p.losing.length) {
      box.append(el("p", t("preview_losing")));
      const list = el("ul", null, { id: "assign-losing" });
      for (const team of p.losing) list.append(el("li", t("preview_losing_item", { team: team.name ?? t("no_team"), count: team.count.toLocaleString() })));
      box.append(list);
    }
    const line = p.clear_deadlines
      ? t("deadline_clear", { count: p.deadlines_changed.toLocaleString() })
      : p.deadline
        ? t("deadline_set", { day: p.deadline_text, count: p.deadlines_changed.toLocaleString(), kept: p.deadlines_kept.toLocaleString() })
        : t("deadline_keep");
    box.append(el("p", line, { id: "assign-deadlines" }));
    const past = document.getElementById("assign-past");
    const pastRow = document.getElementById("assign-past-row");
    const pastOk = document.getElementById("assign-past-ok");
    const confirm = document.getElementById("assign-confirm");
    past.hidden = pastRow.hidden = !p.past_deadline;
    past.textContent = p.past_deadline ? t("past_warning", { day: p.deadline_text }) : "";
    pastOk.checked = false;
    confirm.disabled = p.past_deadline;
    pastOk.onchange = () => (confirm.disabled = !pastOk.checked);
    confirm.textContent = t("confirm", { count: p.count.toLocaleString() });
  }

  async function prepare(sites) {
    const body = assignment(sites);
    if (!body) return;
    const answer = await post(`${cfg.commandUrl}/assign/preview`, body);
    if (!answer.ok) {
      result().textContent = answer.message;
      return;
    }
    result().textContent = "";
    showPreview(answer.data);
    document.getElementById("assign-confirm").onclick = async () => {
      dialog.close();
      const made = await command("assign", { ...body, expected_count: answer.data.count, confirm_past_deadline: answer.data.past_deadline });
      undoUrl = made.ok ? made.data.undo_url : null;
      document.getElementById("assign-done").hidden = !undoUrl;
      if (made.ok) {
        document.body.dataset.assignment = made.data.assignment;
        document.getElementById("assign-undo").focus();
      }
      if (made.ok && drawn) countSelection();
    };
    dialog.showModal();
    document.body.dataset.previewed = String(answer.data.count);
  }

  if (document.getElementById("assign-undo")) {
    document.getElementById("assign-undo").addEventListener("click", async () => {
      if (!undoUrl) return;
      const answer = await post(undoUrl);
      result().textContent = answer.message;
      if (answer.ok) {
        undoUrl = null;
        document.getElementById("assign-done").hidden = true;
        document.body.dataset.undone = answer.data.undoes;
        refresh(false);
      }
    });
    const clear = document.getElementById("assign-clear");
    const deadline = document.getElementById("assign-deadline");
    const sync = () => (clear.disabled = Boolean(deadline.value));
    deadline.addEventListener("input", sync);
    deadline.addEventListener("change", sync);
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
      if (drawn) prepare({ polygon: drawn, filter: filterObject() });
    });
  }

  if (document.getElementById("assign-selected")) {
    document.getElementById("assign-selected").addEventListener("click", () => {
      if (selected) prepare({ site_ids: [selected.id] });
      else result().textContent = t("choose_site");
    });
    document.getElementById("assign-filtered").addEventListener("click", () => prepare({ filter: filterObject() }));
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
  if (/^[0-9]+$/.test(params.get("site") || "")) focusSite(Number(params.get("site")));
})();
