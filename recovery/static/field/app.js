// The field app: boots from the cache when offline, routes by #hash, keeps the status bar and the sender going.
import { loadMe } from "./api.js";
import { h, mount } from "./dom.js";
import { t, translateShell } from "./i18n.js";
import { counts, isAuthNeeded, isPasswordNeeded, onChange, startSender } from "./outbox.js";
import { renderList } from "./list.js";
import { renderSite } from "./site.js";
import { renderReport } from "./report.js";
import { renderOutbox } from "./outboxview.js";

const view = document.getElementById("view");
export const app = { me: null, config: JSON.parse(document.getElementById("field-config").textContent) };
let currentRoute = null;

function route() {
  const hash = location.hash || "#/";
  const siteMatch = hash.match(/^#\/site\/(\d+)$/);
  for (const tab of document.querySelectorAll(".tabs a")) {
    const active = (tab.dataset.tab === "list" && (hash === "#/" || siteMatch)) || hash === `#/${tab.dataset.tab}`;
    if (active) tab.setAttribute("aria-current", "page");
    else tab.removeAttribute("aria-current");
  }
  if (hash !== currentRoute) window.scrollTo(0, 0); // a redraw of the same screen keeps the user's place
  currentRoute = hash;
  if (siteMatch) return renderSite(view, Number(siteMatch[1]), app);
  if (hash === "#/new") return renderReport(view, app);
  if (hash === "#/outbox") return renderOutbox(view, app);
  return renderList(view, app);
}

export function rerender() {
  if (currentRoute === (location.hash || "#/")) route();
}

async function updateStatus() {
  const online = navigator.onLine;
  const net = document.getElementById("net");
  net.textContent = online ? t("online") : t("offline");
  net.className = `net ${online ? "on" : "off"}`;
  document.body.classList.toggle("is-offline", !online);
  const c = await counts();
  const parts = [];
  if (c.pending) parts.push(h("span", { class: "count pending", "data-count": "pending" }, t("pending", { n: c.pending })));
  if (c.conflict) parts.push(h("span", { class: "count conflict", "data-count": "conflict" }, t("in_conflict", { n: c.conflict })));
  if (c.failed) parts.push(h("span", { class: "count failed", "data-count": "failed" }, t("failed_n", { n: c.failed })));
  if (!parts.length) parts.push(h("span", { class: "count ok", "data-count": "none" }, t("all_sent")));
  mount(document.getElementById("queue"), parts);
  const badge = document.querySelector('.tabs a[data-tab="outbox"]');
  badge.dataset.badge = c.pending + c.conflict + c.failed || "";
  if (isAuthNeeded()) showSignIn();
  else if (isPasswordNeeded()) showPasswordChange();
}

function showPasswordChange() {
  const el = document.getElementById("notice");
  el.className = "notice warn";
  el.hidden = false;
  mount(el, t("password_change_first"), " ", h("a", { href: document.body.dataset.password, class: "btn small" }, t("change_password")));
}

function showSignIn() {
  const el = document.getElementById("notice");
  el.className = "notice warn";
  el.hidden = false;
  mount(el, t("sign_in_again"), " ", h("a", { href: document.body.dataset.login, class: "btn small" }, t("sign_in")));
}

async function boot() {
  translateShell();
  window.addEventListener("hashchange", route);
  window.addEventListener("online", updateStatus);
  window.addEventListener("offline", updateStatus);
  onChange((detail) => {
    updateStatus();
    if (detail.sent || detail.conflict || detail.failed) rerender();
  });
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register(document.body.dataset.sw, { scope: "/field/" }).catch((exc) => console.warn("service worker", exc));
  }
  const { me, status } = await loadMe();
  app.me = me;
  if (status === 401) showSignIn();
  if (me) document.getElementById("who").textContent = me.display_name || me.username;
  await updateStatus();
  route();
  startSender();
  document.body.dataset.ready = "1";
}

boot();
