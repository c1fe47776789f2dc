// Work orders: the order page's steps (with photos and position), the board's bulk reminder, the new-order form.
// Every write goes to the JSON API with the session's CSRF token, the order's version (If-Match) and a fresh
// Idempotency-Key, so that a double tap or a retry records one step.
"use strict";

(function () {
  const strings = JSON.parse(document.getElementById("strings").textContent);
  const t = (key, params) =>
    (strings[key] || key).replace(/\{(\w+)\}/g, (_, name) => (params && name in params ? params[name] : `{${name}}`));
  const csrfField = document.getElementById("csrf");
  const csrf = csrfField ? csrfField.value : "";
  const newKey = () => (crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random()}`.replace(".", ""));

  async function send(url, { method = "POST", body, headers = {} } = {}) {
    const response = await fetch(url, {
      method,
      credentials: "same-origin",
      headers: { Accept: "application/json", "X-CSRFToken": csrf, ...headers },
      body,
    });
    let data = {};
    try {
      data = await response.json();
    } catch (e) {
      data = {};
    }
    if (!response.ok) {
      const message = (data.error && data.error.message) || t("failed", { status: response.status });
      throw new Error(message);
    }
    return data;
  }

  const postJSON = (url, payload, headers = {}) =>
    send(url, { body: JSON.stringify(payload), headers: { "Content-Type": "application/json", ...headers } });

  // -- the order page ------------------------------------------------------------------------------------------
  const item = document.getElementById("item");
  const mapBox = document.getElementById("wo-map");
  if (mapBox && window.L) {
    const sites = JSON.parse(mapBox.dataset.sites || "[]");
    const map = L.map(mapBox, { attributionControl: false, zoomControl: true });
    const bounds = [];
    sites.forEach((s) => {
      L.circleMarker([s.lat, s.lon], { radius: 8, color: "#b91c1c", weight: 2, fillOpacity: 0.6 })
        .bindTooltip(`${s.key} · ${s.kind} · ${s.status}`)
        .addTo(map);
      bounds.push([s.lat, s.lon]);
    });
    if (bounds.length === 1) map.setView(bounds[0], 16);
    else if (bounds.length) map.fitBounds(bounds, { padding: [20, 20] });
  }

  // -- a document attached to the order: the file is the body, its name in the address; the page reloads to list it
  const attach = document.getElementById("attach");
  if (attach) {
    attach.addEventListener("submit", async (event) => {
      event.preventDefault();
      const status = attach.querySelector(".attach-status");
      const file = attach.querySelector("input[name=file]").files[0];
      if (!file) {
        status.textContent = t("choose_file");
        return;
      }
      const button = attach.querySelector("button[type=submit]");
      button.disabled = true;
      status.textContent = t("uploading", { name: file.name });
      try {
        await send(`${attach.dataset.api}?name=${encodeURIComponent(file.name)}`, {
          body: file,
          headers: { "Content-Type": "application/octet-stream" },
        });
        window.location.reload();
      } catch (error) {
        status.textContent = error.message;
        button.disabled = false;
      }
    });
  }

  const act = document.getElementById("act");
  if (act && item) {
    const status = act.querySelector(".act-status");
    const show = () => {
      const action = (act.querySelector("input[name=action]:checked") || {}).value;
      act.querySelector(".when-until").hidden = !["request_extension", "approve_extension"].includes(action);
      act.querySelector(".when-transfer").hidden = action !== "transfer";
    };
    act.addEventListener("change", show);
    show();

    async function uploadPhotos(input) {
      const ids = [];
      for (const file of Array.from(input.files || [])) {
        const uploadId = `wo-${newKey()}`;
        status.textContent = t("uploading", { name: file.name });
        await send(input.dataset.upload, {
          body: file,
          headers: { "Upload-Id": uploadId, "Content-Type": file.type || "application/octet-stream" },
        });
        ids.push(uploadId);
      }
      return ids;
    }

    const position = () =>
      new Promise((resolve) => {
        if (!navigator.geolocation) return resolve(null);
        navigator.geolocation.getCurrentPosition(
          (p) => resolve({ lon: p.coords.longitude, lat: p.coords.latitude, accuracy: p.coords.accuracy }),
          () => resolve(null),
          { timeout: 8000 }
        );
      });

    act.addEventListener("submit", async (event) => {
      event.preventDefault();
      const form = new FormData(act);
      const action = form.get("action");
      if (["return", "close", "reopen", "transfer"].includes(action) && !window.confirm(t(`confirm_${action}`))) return;
      const button = act.querySelector("button[type=submit]");
      button.disabled = true;
      const payload = { action, note: form.get("note") || "" };
      if (form.get("until")) payload.until = form.get("until");
      if (form.get("to_unit")) payload.to_unit = form.get("to_unit");
      // one key per submission: a retry of this very submission replays, a new one is a new step
      const key = act.dataset.key || (act.dataset.key = newKey());
      try {
        const input = act.querySelector("input[name=photos]");
        if (input && input.files.length) payload.photos = await uploadPhotos(input);
        if (form.get("with_position")) {
          const where = await position();
          if (where) payload.position = where;
        }
        status.textContent = t("sending");
        await postJSON(`${item.dataset.api}/events`, payload, {
          "If-Match": `"${item.dataset.version}"`,
          "Idempotency-Key": key,
        });
        status.textContent = t("done");
        window.location.reload();
      } catch (error) {
        status.textContent = error.message;
        delete act.dataset.key;
        button.disabled = false;
      }
    });
  }

  // -- the board: a reminder (催办) or 销号 to every order picked that can take it, after a confirmation ------------
  const bulk = document.getElementById("bulk");
  if (bulk) {
    const status = bulk.querySelector(".bulk-status");
    // one key per order and action for the page's life: pressing again after a failure retries what failed and
    // replays what was done, so nothing is reminded or closed twice
    const keys = new Map();
    // each bulk action's question and its result
    const texts = {
      remind: { confirm: (n) => t("confirm_remind_n", { n }), done: (n) => t("bulk_done_remind", { n }) },
      close: { confirm: (n) => t("confirm_close_n", { n }), done: (n) => t("bulk_done_close", { n }) },
    };
    bulk.querySelectorAll("[data-bulk]").forEach((button) =>
      button.addEventListener("click", async () => {
        const action = button.dataset.bulk;
        const takes = (button.dataset.statuses || "").split(",");
        const picked = Array.from(document.querySelectorAll("input[name=pick]:checked"));
        const fit = picked.filter((box) => takes.includes(box.dataset.status));
        if (!fit.length) {
          status.textContent = picked.length ? t("bulk_none_fit") : t("pick_first");
          return;
        }
        const skipped = picked.length - fit.length;
        const question = texts[action].confirm(fit.length) + (skipped ? ` ${t("bulk_skipped", { n: skipped })}` : "");
        if (!window.confirm(question)) return;
        let done = 0;
        const failed = [];
        for (const box of fit) {
          const id = `${action}:${box.value}`;
          if (!keys.has(id)) keys.set(id, newKey());
          try {
            await postJSON(
              `${bulk.dataset.api}/${box.value}/events`,
              { action, note: "" },
              { "If-Match": `"${box.dataset.version}"`, "Idempotency-Key": keys.get(id) }
            );
            done += 1;
          } catch (error) {
            failed.push(error.message);
          }
        }
        status.textContent = texts[action].done(done) + (failed.length ? ` ${failed[0]}` : "");
        if (!failed.length) window.setTimeout(() => window.location.reload(), 800);
      })
    );
  }

  // -- a new order ---------------------------------------------------------------------------------------------
  const create = document.getElementById("new-order");
  if (create) {
    const status = create.querySelector(".act-status");
    create.addEventListener("submit", async (event) => {
      event.preventDefault();
      const form = new FormData(create);
      const milestones = String(form.get("milestones") || "")
        .split("\n")
        .map((line) => line.trim())
        .filter(Boolean)
        .map((line) => {
          const [due, ...title] = line.split(/\s+/);
          return { due, title: title.join(" ") };
        });
      const payload = {
        category: form.get("category"),
        title: form.get("title"),
        description: form.get("description") || "",
        unit: form.get("unit"),
        co_units: form.getAll("co_units"),
        severity: form.get("severity") || "general",
        site_ids: String(form.get("site_ids") || "")
          .split(/[,，\s]+/)
          .filter(Boolean)
          .map(Number),
        milestones,
      };
      const key = create.dataset.key || (create.dataset.key = newKey());
      try {
        status.textContent = t("sending");
        const made = await postJSON(create.dataset.api, payload, { "Idempotency-Key": key });
        window.location.assign(create.dataset.page.replace(/0$/, String(made.id)));
      } catch (error) {
        delete create.dataset.key;
        status.textContent = error.message;
      }
    });
  }
})();
