// The phone's position from the browser (WGS-84, as every browser gives it), remembered for a few minutes.
let last = null;
const FRESH_MS = 5 * 60 * 1000;

export function lastPosition() {
  return last && Date.now() - last.at < FRESH_MS ? last.position : null;
}

/** Ask for the position; resolves to {lon, lat, crs: "wgs84", accuracy} or null (denied, unavailable, slow). */
export function locate(timeout = 10000) {
  if (!("geolocation" in navigator)) return Promise.resolve(lastPosition());
  return new Promise((resolve) => {
    navigator.geolocation.getCurrentPosition(
      (p) => {
        const position = {
          lon: p.coords.longitude,
          lat: p.coords.latitude,
          crs: "wgs84",
          accuracy: Number.isFinite(p.coords.accuracy) ? Math.round(p.coords.accuracy * 10) / 10 : undefined,
        };
        last = { position, at: Date.now() };
        resolve(position);
      },
      () => resolve(lastPosition()),
      { enableHighAccuracy: true, timeout, maximumAge: 60000 },
    );
  });
}
