"""Benchmark: the map page and its cluster responses, beside the plain Folium baseline (one marker per site).

    python bench/map_render.py [--skip-baseline-100k]

- ~10,000 sites: the 7·20 seed (9,756 sites) loaded into a fresh SQLite file; the /map page's bytes, its
  server build time (cold and warm), and the time until headless Chromium has drawn it.
- 100,000 sites: a copy of bench/.data/recovery_bench.sqlite3 (never the original); draw time and JS heap.
- 1,000,000 sites: the cluster endpoint's work on a 1M-row point table (synthetic positions in the zone; the
  table is what the endpoint caches per moment), response sizes and p95 over zooms and views.
Each beside Folium with one CircleMarker per site, in the same run. Prints figures and ratios; no assertions.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--enable-precise-memory-info",
    "--js-flags=--expose-gc",
]
BENCH_DB = ROOT / "bench" / ".data" / "recovery_bench.sqlite3"


def _serve(app):
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}"


def _app(url: str, folder: Path):
    from recovery import create_app

    return create_app(
        {"DATABASE_URL": url, "TESTING": True, "SECURE_COOKIES": False, "PHOTO_DIR": str(folder)}
    )


def _user(url: str) -> None:
    from sqlalchemy.orm import Session
    from werkzeug.security import generate_password_hash

    from recovery.db.engine import make_engine
    from recovery.models_accounts import User
    from recovery.timeutil import now

    engine = make_engine(url)
    with Session(engine) as session:
        if not session.query(User).filter_by(username="bench").first():
            session.add(
                User(
                    username="bench",
                    role="commander",
                    scope=[],
                    display_name="bench",
                    password_hash=generate_password_hash("bench-pass"),
                    created_at=now(),
                )
            )
            session.commit()
    engine.dispose()


def measure_page(browser, base: str, path: str) -> dict:
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    page.goto(f"{base}/login?next=/map/clusters%3Fz%3D1")  # land on something cheap, not the dashboard
    page.fill("#username", "bench")
    page.fill("#password", "bench-pass")
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")
    sizes: list[int] = []
    hosts: set[str] = set()

    def on_response(response):
        from urllib.parse import urlparse

        hosts.add(urlparse(response.url).hostname or "")
        with contextlib.suppress(Exception):  # redirects have no body
            sizes.append(len(response.body()))

    page.on("response", on_response)
    started = time.perf_counter()
    page.goto(f"{base}{path}")
    page.wait_for_function(
        "document.body.dataset.drawn !== undefined && !document.body.dataset.loading", timeout=120_000
    )
    drawn_s = time.perf_counter() - started
    page.wait_for_load_state("networkidle")
    heap = page.evaluate("performance.memory ? performance.memory.usedJSHeapSize : null")
    build_ms = page.get_attribute(".mapview", "data-build-ms")
    page.close()
    return {
        "bytes": sum(sizes),
        "drawn_s": drawn_s,
        "heap_mb": (heap or 0) / 2**20,
        "build_ms": build_ms,
        "hosts": sorted(hosts),
    }


def baseline(browser, rows, folder: Path, label: str, timeout_s: float) -> dict:
    """Plain Folium: one CircleMarker per site, Leaflet from the same vendored files."""
    import folium

    started = time.perf_counter()
    m = folium.Map(location=[34.80, 113.55], zoom_start=12, tiles=None)
    leaflet = ROOT / "recovery" / "static" / "vendor" / "leaflet"
    m.default_js = [("leaflet", (leaflet / "leaflet.js").as_uri())]
    m.default_css = [("leaflet_css", (leaflet / "leaflet.css").as_uri())]
    for site_id, x, y in rows:
        folium.CircleMarker([y, x], radius=4, popup=f"site {site_id}").add_to(m)
    html = m.get_root().render()
    build_s = time.perf_counter() - started
    path = folder / f"baseline-{label}.html"
    path.write_text(html, encoding="utf-8")
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    started = time.perf_counter()
    try:
        page.goto(path.as_uri(), timeout=timeout_s * 1000, wait_until="load")
        drawn_s = time.perf_counter() - started
        heap = page.evaluate("performance.memory ? performance.memory.usedJSHeapSize : null")
    except Exception:
        drawn_s, heap = float("nan"), None
    page.close()
    return {
        "bytes": len(html.encode()),
        "build_s": build_s,
        "drawn_s": drawn_s,
        "heap_mb": (heap or 0) / 2**20,
    }


def site_rows(url: str, limit: int | None = None):
    from sqlalchemy import text

    from recovery.db.engine import make_engine

    engine = make_engine(url)
    with engine.connect() as conn:
        sql = "SELECT id, (minx+maxx)/2, (miny+maxy)/2 FROM site ORDER BY id" + (
            f" LIMIT {limit}" if limit else ""
        )
        rows = conn.execute(text(sql)).all()
    engine.dispose()
    return rows


def seed_db(folder: Path) -> str:
    from sqlalchemy.orm import Session

    from recovery.db.engine import make_engine
    from recovery.db.migrate import upgrade
    from recovery.geodata import load_geodata
    from recovery.ledger.bulk import load_dataset
    from recovery.seeding import read_dataset

    url = f"sqlite:///{folder / 'seed.sqlite3'}"
    engine = make_engine(url)
    upgrade(engine)
    with Session(engine) as session:
        load_dataset(session, load_geodata(ROOT / "geodata"), **read_dataset(ROOT / "seed" / "data"))
    engine.dispose()
    return url


def clusters_1m() -> dict:
    """The cluster endpoint's work for 1,000,000 sites: filter, bin, summarise and serialise per request."""
    from recovery.map.points import KIND_KEYS, PointTable
    from recovery.map.query import MapFilter, clusters, in_box, select_rows, summary
    from recovery.timeutil import now

    n = 1_000_000
    rng = np.random.default_rng(720)
    table = PointTable(
        as_of=None,
        version=1,
        ids=np.arange(1, n + 1, dtype=np.int64),
        x=rng.uniform(113.46, 113.62, n),
        y=rng.uniform(34.74, 34.88, n),
        kind=rng.integers(0, len(KIND_KEYS), n).astype(np.int8),
        status=rng.integers(0, 5, n).astype(np.int16),
        done=rng.random(n) < 0.6,
        subdistrict=rng.integers(0, 5, n).astype(np.int8),
        team=rng.integers(-1, 30, n),
        deadline=np.full(n, np.nan),
        done_at=np.full(n, np.nan),
    )
    at = now()
    times, sizes = [], []
    views = [
        (10, None),
        (12, None),
        (13, (113.50, 34.78, 113.56, 34.83)),
        (14, (113.52, 34.80, 113.55, 34.82)),
        (15, (113.53, 34.80, 113.545, 34.81)),
    ]
    filters = [
        MapFilter(),
        MapFilter(kinds=("road_collapse",)),
        MapFilter(statuses=("open",), subdistrict="shifo"),
    ]
    for _ in range(4):
        for zoom, bbox in views:
            for flt in filters:
                started = time.perf_counter()
                rows = select_rows(table, flt, at)
                view = rows & in_box(table, bbox)
                body = json.dumps(
                    {"clusters": clusters(table, view, zoom), "summary": summary(table, rows, at)}
                )
                times.append(time.perf_counter() - started)
                sizes.append(len(body.encode()))
    return {
        "p95_ms": float(np.percentile(times, 95)) * 1000,
        "median_ms": statistics.median(times) * 1000,
        "max_kb": max(sizes) / 1024,
        "requests": len(times),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--skip-baseline-100k", action="store_true")
    options = parser.parse_args()
    from playwright.sync_api import sync_playwright

    folder = Path(tempfile.mkdtemp(prefix="bench-map-"))
    results = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        # ~10,000 sites: the seed
        url = seed_db(folder)
        _user(url)
        app = _app(url, folder)
        server, base = _serve(app)
        cold = measure_page(browser, base, "/map")
        warm = [measure_page(browser, base, "/map") for _ in range(3)]
        results["10k"] = {"cold": cold, "warm": warm[-1], "build_ms_warm": [w["build_ms"] for w in warm]}
        results["10k_baseline"] = baseline(browser, site_rows(url), folder, "10k", 120)
        print(json.dumps({k: results[k] for k in ("10k", "10k_baseline")}, default=str), flush=True)
        server.shutdown()
        app.extensions["recovery.engine"].dispose()
        # 100,000 sites: a copy of the bench database
        copy = folder / "bench100k.sqlite3"
        shutil.copyfile(BENCH_DB, copy)
        for suffix in ("-wal", "-shm"):
            if Path(f"{BENCH_DB}{suffix}").exists():
                shutil.copyfile(f"{BENCH_DB}{suffix}", f"{copy}{suffix}")
        url = f"sqlite:///{copy}"
        _user(url)
        app = _app(url, folder)
        server, base = _serve(app)
        results["100k"] = {
            "cold": measure_page(browser, base, "/map"),
            "warm": measure_page(browser, base, "/map"),
        }
        if not options.skip_baseline_100k:
            results["100k_baseline"] = baseline(browser, site_rows(url), folder, "100k", 300)
        server.shutdown()
        app.extensions["recovery.engine"].dispose()
        browser.close()
    results["1m_clusters"] = clusters_1m()
    shutil.rmtree(folder, ignore_errors=True)
    print(json.dumps(results, indent=2, default=str))
    r10, b10 = results["10k"]["warm"], results["10k_baseline"]
    print("\n| measure | ours | plain Folium | ratio |\n|---|---:|---:|---:|")
    print(
        f"| 10k: bytes transferred | {r10['bytes'] / 1024:.0f} KB | {b10['bytes'] / 1024:.0f} KB | "
        f"{b10['bytes'] / r10['bytes']:.0f}× smaller |"
    )
    print(
        f"| 10k: build (server) | {r10['build_ms']} ms | {b10['build_s'] * 1000:.0f} ms | "
        f"{b10['build_s'] * 1000 / float(r10['build_ms']):.0f}× faster |"
    )
    print(
        f"| 10k: drawn in Chromium | {r10['drawn_s']:.2f} s | {b10['drawn_s']:.2f} s | "
        f"{b10['drawn_s'] / r10['drawn_s']:.1f}× faster |"
    )
    r100 = results["100k"]["warm"]
    b100 = results.get("100k_baseline")
    if b100:
        print(
            f"| 100k: drawn in Chromium | {r100['drawn_s']:.2f} s | {b100['drawn_s']:.2f} s | "
            f"{b100['drawn_s'] / r100['drawn_s']:.1f}× faster |"
        )
        print(
            f"| 100k: JS heap | {r100['heap_mb']:.0f} MB | {b100['heap_mb']:.0f} MB | "
            f"{b100['heap_mb'] / max(r100['heap_mb'], 0.1):.1f}× smaller |"
        )
    else:
        print(f"| 100k: drawn in Chromium | {r100['drawn_s']:.2f} s | — | — |")
        print(f"| 100k: JS heap | {r100['heap_mb']:.0f} MB | — | — |")
    c = results["1m_clusters"]
    print(f"| 1M: cluster response p95 | {c['p95_ms']:.1f} ms | — | — |")
    print(f"| 1M: largest cluster response | {c['max_kb']:.0f} KB | — | — |")


if __name__ == "__main__":
    main()
