// The field app's strings: recovery/web/jsmessages.py declares them, the catalogues translate them, and the page
// (cached by the service worker with everything else of the shell) carries them in the request's language.
const table = JSON.parse(document.getElementById("strings").textContent);

export const LANG = document.documentElement.lang === "en" ? "en" : "zh-CN";

/** The string for `key` with `{name}` placeholders filled from `vars`; the key itself when unknown. */
export function t(key, vars = {}) {
  const text = table[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => (name in vars ? String(vars[name]) : `{${name}}`));
}

/** Fill every element marked data-t="key" in the static shell. */
export function translateShell(root = document) {
  for (const el of root.querySelectorAll("[data-t]")) el.textContent = t(el.dataset.t);
  document.title = t("app_title");
}

export function formatTime(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toLocaleString(LANG, {
    timeZone: "Asia/Shanghai",
    year: "numeric",
    month: "numeric",
    day: "numeric",
    hour: "2-digit",
    minute: "2-digit",
  });
}

export function formatDistance(metres) {
  if (metres == null) return "";
  return metres < 1000 ? t("distance_m", { n: Math.round(metres) }) : t("distance_km", { n: (metres / 1000).toFixed(1) });
}
