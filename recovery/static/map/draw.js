// Drawing a selection on the map: a rectangle (press and drag) or a polygon (click the corners; click the first
// corner, double-click or press 完成 to close it). Plain Leaflet API, pointer events, so mouse and touch both work.
// window.recoveryDraw(map, t, onDone): t(key) gives the buttons' titles (the map's strings); onDone receives a
// GeoJSON Polygon (longitude first), or null when cleared.
(function () {
  "use strict";
  const STYLE = { color: "#1f4e8c", weight: 2, dashArray: "6 4", fillColor: "#1f4e8c", fillOpacity: 0.08 };

  window.recoveryDraw = function (map, t, onDone) {
    const shapeLayer = L.featureGroup().addTo(map);
    let mode = null;
    let corners = [];
    let start = null;
    let preview = null;
    let buttons = {};
    const container = map.getContainer();

    function toGeoJSON(latlngs) {
      const ring = latlngs.map((p) => [+p.lng.toFixed(7), +p.lat.toFixed(7)]);
      ring.push(ring[0]);
      return { type: "Polygon", coordinates: [ring] };
    }

    function setMode(next) {
      mode = next;
      corners = [];
      start = null;
      if (preview) shapeLayer.removeLayer(preview);
      preview = null;
      const drawing = mode !== null;
      for (const [name, button] of Object.entries(buttons)) button.classList.toggle("active", name === mode);
      buttons.finish.hidden = mode !== "polygon";
      container.classList.toggle("drawing", drawing);
      for (const handler of [map.dragging, map.doubleClickZoom, map.boxZoom]) {
        if (handler) drawing ? handler.disable() : handler.enable();
      }
      document.body.dataset.drawMode = mode || "";
    }

    function finish(latlngs) {
      shapeLayer.clearLayers();
      preview = null;
      const drawn = L.polygon(latlngs, STYLE);
      shapeLayer.addLayer(drawn);
      setMode(null);
      onDone(toGeoJSON(latlngs));
    }

    function latlngOf(e) {
      return map.mouseEventToLatLng(e);
    }

    // Listening in the capture phase on the container keeps the markers and the map's own handlers out of a
    // drawing (a click on a cluster would otherwise zoom in).
    const inControl = (e) => e.target.closest && e.target.closest(".leaflet-control");

    // rectangle: press, drag, release
    container.addEventListener(
      "pointerdown",
      (e) => {
        if (mode !== "rectangle" || e.button > 0 || inControl(e)) return;
        e.preventDefault();
        e.stopPropagation();
        container.setPointerCapture(e.pointerId);
        start = latlngOf(e);
        shapeLayer.clearLayers();
        preview = L.rectangle(L.latLngBounds(start, start), STYLE);
        shapeLayer.addLayer(preview);
      },
      true,
    );
    container.addEventListener("pointermove", (e) => {
      if (mode === "rectangle" && start && preview) preview.setBounds(L.latLngBounds(start, latlngOf(e)));
      if (mode === "polygon" && corners.length && preview) preview.setLatLngs([...corners, latlngOf(e)]);
    });
    container.addEventListener(
      "pointerup",
      (e) => {
        if (mode !== "rectangle" || !start) return;
        e.stopPropagation();
        const end = latlngOf(e);
        const a = map.latLngToContainerPoint(start);
        const b = map.latLngToContainerPoint(end);
        if (Math.abs(a.x - b.x) < 4 || Math.abs(a.y - b.y) < 4) {
          setMode("rectangle"); // a click, not a drag: keep waiting for a rectangle
          return;
        }
        const bounds = L.latLngBounds(start, end);
        finish([bounds.getSouthWest(), bounds.getNorthWest(), bounds.getNorthEast(), bounds.getSouthEast()]);
      },
      true,
    );

    // polygon: a click per corner; a click on the first corner, a double-click or 完成 closes it
    container.addEventListener(
      "click",
      (e) => {
        if (!mode || inControl(e)) return;
        e.stopPropagation();
        if (mode !== "polygon") return;
        const at = latlngOf(e);
        const point = map.latLngToContainerPoint(at);
        if (corners.length >= 3 && map.latLngToContainerPoint(corners[0]).distanceTo(point) < 10) return finish(corners);
        const last = corners[corners.length - 1];
        if (last && map.latLngToContainerPoint(last).distanceTo(point) < 4) return; // the second click of a double-click
        corners.push(at);
        if (!preview) {
          preview = L.polyline(corners, STYLE);
          shapeLayer.addLayer(preview);
        }
        preview.setLatLngs(corners);
      },
      true,
    );
    container.addEventListener(
      "dblclick",
      (e) => {
        if (!mode || inControl(e)) return;
        e.stopPropagation();
        if (mode === "polygon" && corners.length >= 3) finish(corners);
      },
      true,
    );
    document.addEventListener("keydown", (e) => {
      if (e.key === "Escape" && mode) setMode(null);
    });

    const Control = L.Control.extend({
      options: { position: "topleft" },
      onAdd() {
        const bar = L.DomUtil.create("div", "leaflet-bar draw-bar");
        const make = (name, text, title, onClick) => {
          const button = L.DomUtil.create("a", `draw-${name}`, bar);
          button.href = "#";
          button.setAttribute("role", "button");
          button.title = title;
          button.setAttribute("aria-label", title);
          button.textContent = text;
          L.DomEvent.on(button, "click", (e) => {
            L.DomEvent.preventDefault(e);
            L.DomEvent.stopPropagation(e);
            onClick();
          });
          buttons[name] = button;
        };
        make("rectangle", "▭", t("draw_rectangle"), () => setMode(mode === "rectangle" ? null : "rectangle"));
        make("polygon", "⬠", t("draw_polygon"), () => setMode(mode === "polygon" ? null : "polygon"));
        make("finish", "✓", t("draw_finish"), () => corners.length >= 3 && finish(corners));
        make("clear", "✕", t("draw_clear"), () => {
          setMode(null);
          shapeLayer.clearLayers();
          onDone(null);
        });
        buttons.finish.hidden = true;
        L.DomEvent.disableClickPropagation(bar);
        return bar;
      },
    });
    map.addControl(new Control());
    return { clear: () => shapeLayer.clearLayers() };
  };
})();
