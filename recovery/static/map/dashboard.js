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

  // 采纳 may reopen a finished site: say what it will do and ask before doing it
  function confirmApply(item, c) {
    item.querySelector(".confirm")?.remove();
    const minute = (iso) => (iso || "").slice(0, 16).replace("T", " ");
    const fill = { site: c.site.properties.name, now: c.site.properties.status_label, to: c.event.to_label || "", happened: minute(c.event.valid_at) };
    const ask = el("div");
    ask.className = "confirm";
    ask.setAttribute("role", "group");
    // after every change the site has had, the held change becomes its state: a done site is reopened
    const reopens = Date.parse(c.event.valid_at) > Date.parse(c.site.properties.last_valid_at || 0);
    const text = el("p", (reopens ? box.dataset.confirmReopen : box.dataset.confirmPlace).replace(/\{(\w+)\}/g, (m, name) => fill[name] ?? m));
    text.id = `confirm-${c.event.id}`;
    ask.setAttribute("aria-labelledby", text.id);
    const yes = el("button", box.dataset.confirmYes);
    yes.type = "button";
    yes.className = "confirm-yes";
    yes.addEventListener("click", () => decide(c.event.id, "apply"));
    const no = el("button", box.dataset.cancel);
    no.type = "button";
    no.className = "confirm-no";
    no.addEventListener("click", () => ask.remove());
    ask.append(text, yes, no);
    item.append(ask);
    yes.focus();
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
      const change = el("p", `${c.event.flag === "relapse" ? box.dataset.relapse : box.dataset.change}: ${c.event.to_label || ""} · ${c.event.actor} · ${box.dataset.happened} ${minute(c.event.valid_at)} · ${box.dataset.recorded} ${minute(c.event.recorded_at)}`);
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
        button.addEventListener("click", () => (decision === "apply" ? confirmApply(item, c) : decide(c.event.id, decision)));
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
