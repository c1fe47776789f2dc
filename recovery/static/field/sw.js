// The field app's service worker (scope /field/): the app shell from the cache, API reads network first.
//
// Writes are never handled here: the page keeps them in its IndexedDB outbox and sends them itself, so that
// nothing depends on a service worker being alive. Bump VERSION when the shell's files change.
const VERSION = "field-v8";
const SHELL_CACHE = `${VERSION}-shell`;
const DATA_CACHE = `${VERSION}-data`;
const SHELL = [
  "/static/field/app.js",
  "/static/field/api.js",
  "/static/field/checkin.js",
  "/static/field/dom.js",
  "/static/field/geo.js",
  "/static/field/i18n.js",
  "/static/field/list.js",
  "/static/field/outbox.js",
  "/static/field/outboxview.js",
  "/static/field/photos.js",
  "/static/field/report.js",
  "/static/field/site.js",
  "/static/field/store.js",
  "/static/field/field.css",
  "/static/field/icons/icon-192.png",
  "/static/field/icons/icon-512.png",
  "/static/vendor/leaflet/leaflet.js",
  "/static/vendor/leaflet/leaflet.css",
  "/static/vendor/leaflet/images/marker-icon.png",
  "/static/vendor/leaflet/images/marker-icon-2x.png",
  "/static/vendor/leaflet/images/marker-shadow.png",
  "/static/vendor/leaflet/images/layers.png",
  "/static/vendor/leaflet/images/layers-2x.png",
  "/field/manifest.webmanifest",
];
// pages that need the session: fetched one by one, so a signed-out install still succeeds
const SIGNED_IN = ["/field/", "/field/geodata.json"];
const API_TIMEOUT_MS = 8000;

self.addEventListener("install", (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(SHELL_CACHE);
      await cache.addAll(SHELL);
      for (const url of SIGNED_IN) {
        try {
          const response = await fetch(url, { credentials: "same-origin", redirect: "manual" });
          if (response.ok) await cache.put(url, response);
        } catch {
          // offline during install: the page will be cached on its next visit
        }
      }
      await self.skipWaiting();
    })(),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys()) if (!name.startsWith(VERSION)) await caches.delete(name);
      await self.clients.claim();
    })(),
  );
});

/** The cache key of an API read: `near` (the phone's position) changes all the time, so it is left out. */
function dataKey(url) {
  const key = new URL(url);
  key.searchParams.delete("near");
  key.searchParams.sort();
  return key.toString();
}

function marked(response) {
  const headers = new Headers(response.headers);
  headers.set("X-From-Cache", "1");
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
}

async function networkFirst(request, cacheName, key, timeoutMs) {
  const cache = await caches.open(cacheName);
  const network = fetch(request).then(async (response) => {
    if (response.ok && !response.redirected && response.type === "basic") await cache.put(key, response.clone());
    return response;
  });
  network.catch(() => {}); // answered from the cache meanwhile: a late failure is expected
  let timer;
  const timeout = new Promise((resolve) => {
    timer = setTimeout(resolve, timeoutMs, null);
  });
  try {
    // a weak signal: after a while answer from the cache, if it has something, and let the network finish
    const first = await Promise.race([network, timeout]);
    if (first) return first;
    const cached = await cache.match(key);
    return cached ? marked(cached) : await network;
  } catch (exc) {
    const cached = await cache.match(key);
    if (cached) return marked(cached);
    throw exc;
  } finally {
    clearTimeout(timer);
  }
}

async function staleWhileRevalidate(request) {
  const cache = await caches.open(SHELL_CACHE);
  const cached = await cache.match(request, { ignoreSearch: true });
  const network = fetch(request)
    .then(async (response) => {
      if (response.ok) await cache.put(request, response.clone());
      return response;
    })
    .catch(() => null);
  return cached || (await network) || Response.error();
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return; // writes go through the page's outbox
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === "navigate" && url.pathname.startsWith("/field/")) {
    // any /field/ address (with ?lang= or a #route) opens the one app shell
    event.respondWith(
      networkFirst(request, SHELL_CACHE, "/field/", API_TIMEOUT_MS).catch(async () => (await caches.match("/field/")) || Response.error()),
    );
    return;
  }
  if (url.pathname.startsWith("/field/navigation/")) {
    event.respondWith(networkFirst(request, DATA_CACHE, url.pathname, API_TIMEOUT_MS));
    return;
  }
  if (url.pathname === "/field/geodata.json") {
    event.respondWith(networkFirst(request, SHELL_CACHE, "/field/geodata.json", API_TIMEOUT_MS));
    return;
  }
  if (url.pathname.startsWith("/static/") || url.pathname === "/field/manifest.webmanifest") {
    event.respondWith(staleWhileRevalidate(request));
    return;
  }
  if (/^\/api\/v1\/sites\/\d+\/photos\//.test(url.pathname)) return; // upload progress: only the live answer will do
  if (url.pathname.startsWith("/api/v1/")) {
    event.respondWith(networkFirst(request, DATA_CACHE, dataKey(request.url), API_TIMEOUT_MS));
  }
});
