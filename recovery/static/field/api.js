// The JSON API as the field app uses it: the session cookie plus the CSRF token, and the page's language.
import { LANG } from "./i18n.js";
import { getValue, setValue } from "./store.js";

export const API = document.body.dataset.api || "/api/v1";
let csrfToken = null;

/** A network failure (no answer at all), as opposed to an HTTP error answer. */
export class NetworkError extends Error {}

export function apiUrl(path, params = {}) {
  const url = new URL(API + path, location.origin);
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") url.searchParams.set(k, v);
  if (LANG === "en") url.searchParams.set("lang", "en");
  return url.pathname + url.search;
}

/** GET JSON. Returns {ok, status, data, etag, fromCache}; throws NetworkError when nothing answered. */
export async function getJSON(path, params = {}) {
  let response;
  try {
    response = await fetch(apiUrl(path, params), { credentials: "same-origin", headers: { Accept: "application/json" } });
  } catch (exc) {
    throw new NetworkError(String(exc));
  }
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  return {
    ok: response.ok,
    status: response.status,
    data,
    etag: response.headers.get("ETag"),
    fromCache: response.headers.get("X-From-Cache") === "1",
  };
}

/** The signed-in user and the CSRF token; remembered so the app starts offline with the last known ones. */
export async function loadMe() {
  try {
    const answer = await getJSON("/me");
    if (answer.ok && answer.data) {
      csrfToken = answer.data.csrf_token;
      await setValue("me", answer.data);
      return { me: answer.data, status: answer.status };
    }
    if (answer.status === 401) return { me: null, status: 401 };
  } catch {
    // offline: fall through to what we remembered
  }
  const me = await getValue("me");
  if (me) csrfToken = me.csrf_token;
  return { me, status: 0 };
}

export async function refreshCsrf() {
  const { me } = await loadMe();
  return Boolean(me);
}

/**
 * Send a write. Returns {status, data, etag} for any HTTP answer; throws NetworkError when none came.
 * `headers` adds Idempotency-Key, If-Match, Content-Range…; the CSRF header is always added.
 */
export async function send(method, path, { json, body, headers = {} } = {}) {
  const all = { Accept: "application/json", ...headers };
  if (csrfToken) all["X-CSRFToken"] = csrfToken;
  if (json !== undefined) {
    all["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  }
  let response;
  try {
    response = await fetch(apiUrl(path), { method, credentials: "same-origin", headers: all, body });
  } catch (exc) {
    throw new NetworkError(String(exc));
  }
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  return { status: response.status, data, etag: response.headers.get("ETag") };
}

export function errorMessage(answer) {
  return (answer && answer.data && answer.data.error && answer.data.error.message) || `HTTP ${answer && answer.status}`;
}

export function errorCode(answer) {
  return answer && answer.data && answer.data.error && answer.data.error.code;
}
