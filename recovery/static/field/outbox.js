// The outbox: every write is stored in IndexedDB first, then sent in order by one sender loop.
//
// A record keeps its own client id (`id`, also the first Idempotency-Key), the key in use (`key`; a new one only
// when the user resubmits after a conflict), the If-Match it was based on, the body and its photos. A retry after
// a network error reuses the same key, so the server stores it once. Writes to one site go strictly in order:
// a write made while an earlier one for that site was still queued `depends_on` it and is sent with the ETag the
// server returned for it, so only a real third party's change shows up as a conflict.
import { NetworkError, errorCode, errorMessage, getJSON, refreshCsrf, send } from "./api.js";
import { all, get, put, remove, update } from "./store.js";
import { uploadPhoto } from "./photos.js";
import { isoWithOffset } from "./dom.js";

export const OPEN_STATES = ["queued", "sending"];
export const STUCK_STATES = ["conflict", "failed"];
export const SENT_STATES = ["sent", "flagged"];
const RETRY_MS = 15000;
const KEEP_SENT_MS = 2 * 86400 * 1000;
let seqCounter = 0;
let running = null;
let authNeeded = false;
// the server asks this user for a new password first (their role was raised): nothing is sent until then
let passwordNeeded = false;
const listeners = new Set();

export function onChange(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

function changed(detail = {}) {
  for (const fn of listeners) {
    try {
      fn(detail);
    } catch (exc) {
      console.error(exc);
    }
  }
}

export const isAuthNeeded = () => authNeeded;
export const isPasswordNeeded = () => passwordNeeded;

export async function items() {
  const rows = await all("outbox");
  return rows.sort((a, b) => a.seq - b.seq);
}

export async function counts() {
  const rows = await items();
  const count = (states) => rows.filter((r) => states.includes(r.state)).length;
  return { pending: count(OPEN_STATES), conflict: count(["conflict"]), failed: count(["failed"]) };
}

/** Unsent writes for one site, oldest first (what the site will look like once they are applied). */
export async function openForSite(siteId) {
  return (await items()).filter((r) => r.site_id === siteId && [...OPEN_STATES, ...STUCK_STATES].includes(r.state));
}

/** The number in an ETag such as "7" (a site's version); NaN when there is none. */
export const versionOf = (etag) => (etag ? Number(String(etag).replace(/^W\//, "").replaceAll('"', "")) : NaN);

/**
 * This site's writes that a copy of it at `version` does not show yet, oldest first: the unsent ones, and the
 * ones sent since that copy was fetched (the server's answer to them carried a later version).
 */
export async function localForSite(siteId, version) {
  return (await items()).filter(
    (r) =>
      r.site_id === siteId &&
      ([...OPEN_STATES, ...STUCK_STATES].includes(r.state) || (SENT_STATES.includes(r.state) && versionOf(r.result_etag) > version)),
  );
}

/**
 * Queue a write. `kind` is "event", "check_in" or "site"; `ifMatch` is the ETag the user's screen was based on.
 * Returns the stored record; the caller need not wait for sending.
 */
export async function enqueue({ kind, siteId = null, siteName = "", path, body, ifMatch = null, photos = [], summary = {}, day = null }) {
  const id = crypto.randomUUID();
  let dependsOn = null;
  if (kind === "event" && siteId != null) {
    const earlier = await openForSite(siteId);
    const last = earlier.filter((r) => r.kind === "event").at(-1);
    if (last) dependsOn = last.id;
  }
  const record = {
    id,
    key: id,
    seq: Date.now() * 1000 + (seqCounter++ % 1000),
    created: new Date().toISOString(),
    kind,
    site_id: siteId,
    site_name: siteName,
    path,
    body,
    if_match: dependsOn ? null : ifMatch,
    depends_on: dependsOn,
    photos,
    summary,
    day,
    state: "queued",
    attempts: 0,
    error: null,
    server: null,
    result_etag: null,
  };
  await put("outbox", record);
  changed({ id });
  return record;
}

/** Discard a record (and its photos); writes that depended on it now depend on what it depended on. */
export async function discard(id) {
  const record = await get("outbox", id);
  if (!record) return;
  for (const other of await items()) {
    if (other.depends_on === id) {
      await update("outbox", other.id, () => ({ depends_on: record.depends_on, if_match: record.depends_on ? null : record.if_match }));
    }
  }
  for (const uploadId of record.photos || []) await remove("photos", uploadId);
  await remove("outbox", id);
  changed({ id });
}

/** After a conflict: send the same change on the server's current version, under a new key, as made now: the
 * user has seen the other change and chosen theirs, so it follows that change in the history and becomes the
 * site's current state (kept at its offline time, it would be filed before the change it answers). The time it
 * was first made stays in the outbox record (`made_at`). */
export async function resubmit(id) {
  const record = await get("outbox", id);
  if (!record || !record.server) return;
  await update("outbox", id, () => ({
    body: { ...record.body, valid_at: isoWithOffset(new Date()) },
    made_at: record.made_at || record.body.valid_at || record.created,
    key: crypto.randomUUID(),
    if_match: record.server.etag,
    depends_on: null,
    state: "queued",
    error: null,
    server: null,
  }));
  changed({ id });
  kick();
}

async function prune() {
  const cutoff = Date.now() - KEEP_SENT_MS;
  for (const r of await items()) {
    if (["sent", "flagged", "duplicate"].includes(r.state) && Date.parse(r.sent_at || r.created) < cutoff) await remove("outbox", r.id);
  }
}

/** Start sending now (if not already); safe to call often. */
export function kick() {
  if (!running) {
    running = drain().finally(() => {
      running = null;
    });
  }
  return running;
}

export function startSender() {
  window.addEventListener("online", () => kick());
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") kick();
  });
  setInterval(() => kick(), RETRY_MS);
  kick();
}

async function drain() {
  const work = async () => {
    await prune();
    const blocked = new Set();
    for (const snapshot of await items()) {
      if (!OPEN_STATES.includes(snapshot.state) && !STUCK_STATES.includes(snapshot.state)) continue;
      const siteKey = snapshot.site_id ?? `new:${snapshot.id}`;
      if (STUCK_STATES.includes(snapshot.state) || blocked.has(siteKey)) {
        blocked.add(siteKey);
        continue;
      }
      const outcome = await sendOne(snapshot);
      if (outcome === "stop") return;
      if (outcome === "blocked") blocked.add(siteKey);
    }
  };
  if (navigator.locks) return navigator.locks.request("recovery-outbox", work);
  return work();
}

async function sendOne(snapshot) {
  let record = snapshot;
  let ifMatch = record.if_match;
  if (record.depends_on) {
    const before = await get("outbox", record.depends_on);
    if (before && !["sent", "flagged"].includes(before.state)) return "blocked";
    ifMatch = before ? before.result_etag : record.if_match;
    record = await update("outbox", record.id, () => ({ if_match: ifMatch, depends_on: null }));
  }
  record = await update("outbox", record.id, (r) => ({ state: "sending", attempts: r.attempts + 1 }));
  changed({ id: record.id });
  try {
    for (const uploadId of record.photos || []) {
      const refused = await uploadPhoto(uploadId, (p) => changed({ id: record.id, progress: p }));
      if (refused) return settle(record, { status: refused.status, data: { error: { message: refused.error, code: refused.code } } });
    }
    const headers = { "Idempotency-Key": record.key };
    if (ifMatch) headers["If-Match"] = ifMatch;
    let answer = await send("POST", record.path, { json: record.body, headers });
    if (answer.status === 400 && errorCode(answer) === "csrf_failed" && (await refreshCsrf())) {
      answer = await send("POST", record.path, { json: record.body, headers });
    }
    return await settle(record, answer);
  } catch (exc) {
    if (exc instanceof NetworkError) {
      await update("outbox", record.id, () => ({ state: "queued" }));
      changed({ id: record.id });
      return "stop";
    }
    throw exc;
  }
}

async function settle(record, answer) {
  const { status } = answer;
  if (status === 200 || status === 201 || status === 202) {
    authNeeded = false;
    passwordNeeded = false;
    const site = answer.data && answer.data.site;
    await update("outbox", record.id, () => ({
      state: status === 202 ? "flagged" : "sent",
      sent_at: new Date().toISOString(),
      result_etag: answer.etag,
      result_site_id: site ? site.id : record.site_id,
      message: (answer.data && answer.data.message) || null,
      error: null,
    }));
    for (const uploadId of record.photos || []) await remove("photos", uploadId);
    changed({ id: record.id, sent: true, siteId: site ? site.id : record.site_id });
    return "sent";
  }
  if (status === 412 && record.site_id != null) {
    let server = null;
    try {
      const current = await getJSON(`/sites/${record.site_id}`);
      if (current.ok) server = { etag: current.etag, site: current.data };
    } catch {
      server = null;
    }
    if (!server) {
      await update("outbox", record.id, () => ({ state: "queued" }));
      return "stop";
    }
    await update("outbox", record.id, () => ({ state: "conflict", server, error: errorMessage(answer) }));
    changed({ id: record.id, conflict: true });
    return "blocked";
  }
  if (status === 403 && errorCode(answer) === "password_change_required") {
    // kept, not failed: once the new password is set, the same change goes through
    passwordNeeded = true;
    await update("outbox", record.id, () => ({ state: "queued", error: errorMessage(answer) }));
    changed({ id: record.id, auth: true });
    return "stop";
  }
  if (status === 401) {
    authNeeded = true;
    await update("outbox", record.id, () => ({ state: "queued" }));
    changed({ id: record.id, auth: true });
    return "stop";
  }
  if (status === 429 || status >= 500 || (status === 400 && errorCode(answer) === "csrf_failed")) {
    await update("outbox", record.id, () => ({ state: "queued", error: errorMessage(answer) }));
    changed({ id: record.id });
    return "stop";
  }
  return fail(record, errorMessage(answer), status, errorCode(answer));
}

async function fail(record, message, status, code = null) {
  if (record.kind === "check_in" && status === 400 && code === "invalid_input") {
    // the server already has today's check-in for this point (once per point per day): nothing is lost
    await update("outbox", record.id, () => ({ state: "duplicate", error: message, sent_at: new Date().toISOString() }));
    changed({ id: record.id, duplicate: true, failed: true });
    return "sent";
  }
  await update("outbox", record.id, () => ({ state: "failed", error: message, error_status: status, error_code: code }));
  changed({ id: record.id, failed: true });
  return "blocked";
}
