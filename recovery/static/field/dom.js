// Building the page: elements and text nodes only. User text never goes through innerHTML.
import { t } from "./i18n.js";

/** h("button", {class: "big", onclick: fn}, "text", child…) → an element; strings become text nodes. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") el.addEventListener(name.slice(2), value);
    else if (name === "class") el.className = value;
    else if (name === "dataset") Object.assign(el.dataset, value);
    else if (name === "value") el.value = value;
    else if (value === true) el.setAttribute(name, "");
    else el.setAttribute(name, String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replace the contents of `el` with `children`. */
export function mount(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

const renders = new WeakMap();

/**
 * Start drawing into `el`; returns a function that says whether this is still the latest drawing of it.
 * A screen is drawn after awaiting the network or IndexedDB, so an older drawing (the list the user just left,
 * a site page from before a change was sent) can finish after a newer one: it must not replace it.
 */
export function claim(el) {
  const mine = (renders.get(el) || 0) + 1;
  renders.set(el, mine);
  return () => renders.get(el) === mine;
}

let noticeTimer = null;

/**
 * A short message pinned under the status bar (it stays in view however far the page is scrolled); `content` is
 * text or elements (a link to what was saved, an undo button); `kind` is "ok", "warn" or "error"; `ms` 0 keeps it.
 */
export function notice(content, kind = "ok", ms = 6000) {
  const el = document.getElementById("notice");
  mount(el, h("span", { class: "notice-text" }, content), h("button", { type: "button", class: "notice-close", "aria-label": t("close"), onclick: () => (el.hidden = true) }, "×"));
  el.className = `notice ${kind}`;
  el.hidden = false;
  clearTimeout(noticeTimer);
  if (ms) noticeTimer = setTimeout(() => (el.hidden = true), ms);
}

/** The moment as ISO 8601 with the phone's UTC offset, e.g. 2021-07-29T10:15:00.000+08:00. */
export function isoWithOffset(date = new Date()) {
  const pad = (n, w = 2) => String(Math.abs(n)).padStart(w, "0");
  const offset = -date.getTimezoneOffset();
  const sign = offset >= 0 ? "+" : "-";
  return (
    `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}` +
    `T${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}` +
    `${sign}${pad(Math.trunc(offset / 60))}:${pad(offset % 60)}`
  );
}
