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
      item.append(el("strong", site.name));
      item.append(el("p", `${site.status_label} ← ${c.event.to_label || ""} · ${c.event.actor} · ${(c.event.valid_at || "").slice(0, 16).replace("T", " ")} · ${c.event.note || ""}`));
      for (const [decision, label] of [["apply", box.dataset.apply], ["dismiss", box.dataset.dismiss]]) {
        const button = el("button", label);
        button.type = "button";
        button.dataset.decision = decision;
        button.addEventListener("click", () => decide(c.event.id, decision));
        item.append(button);
      }
      box.append(item);
    }
  }
  load();
})();
