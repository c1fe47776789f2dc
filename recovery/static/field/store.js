// IndexedDB: the outbox (queued writes), the photo blobs waiting to upload, and a few remembered values.
// Everything here survives closing the page; a write is stored here before any attempt to send it.
const DB_NAME = "recovery-field";
const DB_VERSION = 1;
let opening = null;

function open() {
  if (opening) return opening;
  opening = new Promise((resolve, reject) => {
    const request = indexedDB.open(DB_NAME, DB_VERSION);
    request.onupgradeneeded = () => {
      const db = request.result;
      if (!db.objectStoreNames.contains("outbox")) db.createObjectStore("outbox", { keyPath: "id" });
      if (!db.objectStoreNames.contains("photos")) db.createObjectStore("photos", { keyPath: "upload_id" });
      if (!db.objectStoreNames.contains("kv")) db.createObjectStore("kv", { keyPath: "k" });
    };
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  return opening;
}

function done(request) {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

async function tx(store, mode, fn) {
  const db = await open();
  return new Promise((resolve, reject) => {
    const transaction = db.transaction(store, mode);
    let result;
    Promise.resolve(fn(transaction.objectStore(store))).then((r) => (result = r), reject);
    transaction.oncomplete = () => resolve(result);
    transaction.onerror = () => reject(transaction.error);
    transaction.onabort = () => reject(transaction.error);
  });
}

export const get = (store, key) => tx(store, "readonly", (s) => done(s.get(key)));
export const all = (store) => tx(store, "readonly", (s) => done(s.getAll()));
export const put = (store, value) => tx(store, "readwrite", (s) => done(s.put(value)));
export const remove = (store, key) => tx(store, "readwrite", (s) => done(s.delete(key)));

export async function getValue(key, fallback = null) {
  const row = await get("kv", key);
  return row ? row.v : fallback;
}

export const setValue = (key, value) => put("kv", { k: key, v: value });

/** Read-modify-write of one record in a single transaction (so two tabs cannot interleave). */
export function update(store, key, change) {
  return tx(store, "readwrite", async (s) => {
    const current = await done(s.get(key));
    if (!current) return null;
    const next = { ...current, ...change(current) };
    await done(s.put(next));
    return next;
  });
}
