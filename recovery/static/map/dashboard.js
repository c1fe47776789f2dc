// The commander's queue of flagged changes on the dashboard: apply or dismiss each (an event in the ledger).
(function () {
  "use strict";
  const box = document.getElementById("conflict-list");
  if (!box) return;
  const csrf = document.getElementById("csrf").value;
  const el = (tag, text) => {
    const node = document.createElement(tag);
    if (text !== undefined) node.textContent = String(text);
    return node;
  };

  async function decide(eventId, decision) {
    const response = await fetch(`${box.dataset.url}/${eventId}`, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify({ decision }),
    });
    if (!response.ok) {
      const data = await response.json().catch(() => ({}));
      box.prepend(el("p", (data.error || {}).message || response.status));
    }
    load();
  }

  async function load() {
    const response = await fetch(box.dataset.url, { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (!response.ok) return;
    const data = await response.json();
    box.replaceChildren();
    if (!data.conflicts.length) box.append(el("p", box.dataset.none));
    for (const c of data.conflicts) {
      const item = el("div");
      item.className = "conflict";
      item.dataset.event = c.event.id;
      const site = c.site.properties;
      const minute = (iso) => (iso || "").slice(0, 16).replace("T", " ");
      const heading = el("strong", site.name);
      item.append(heading, el("span", ` ${site.subdistrict_label || ""}`));
      // what the site is now, what the held change says, who made it, when it happened and when it arrived
      const now = el("p", `${box.dataset.now}: ${site.status_label}`);
      now.className = "now";
      const change = el("p", `${box.dataset.change}: ${c.event.to_label || ""} · ${c.event.actor} · ${box.dataset.happened} ${minute(c.event.valid_at)} · ${box.dataset.recorded} ${minute(c.event.recorded_at)}`);
      change.className = "held";
      item.append(now, change);
      if (c.event.note) item.append(el("p", c.event.note));
      for (const [decision, label, hint] of [
        ["apply", box.dataset.apply, box.dataset.applyHint],
        ["dismiss", box.dataset.dismiss, box.dataset.dismissHint],
      ]) {
        const button = el("button", label);
        button.type = "button";
        button.dataset.decision = decision;
        button.title = hint;
        button.addEventListener("click", () => decide(c.event.id, decision));
        item.append(button);
      }
      const hints = el("p", `${box.dataset.apply}: ${box.dataset.applyHint} ${box.dataset.dismiss}: ${box.dataset.dismissHint}`);
      hints.className = "hint";
      item.append(hints);
      box.append(item);
    }
  }
  load();
})();
