"""Benchmark: the map page and its cluster responses, beside the plain Folium baseline (one marker per site).

    python bench/map_render.py [--skip-baseline-100k] [--baseline-limit 600] [--only-1m]

- ~10,000 sites: the 7·20 seed (9,756 sites) loaded into a fresh SQLite file; the /map page's bytes, its
  server build time (cold and warm), and the time until headless Chromium has drawn it.
- 100,000 sites: a copy of bench/.data/recovery_bench.sqlite3 (never the original); draw time and JS heap.
- 1,000,000 sites: a 1M-row point table (synthetic positions in the zone; the table is what the endpoint caches
  per moment and ledger version): the endpoint's work with the cells kept per zoom, beside the same work with a
  sort per request (the code before), on the same requests; then GET /map/clusters through the app on SQLite
  and on PostgreSQL with that table cached, each request also sent with the account and the ledger version
  read per request (as before). p50/p95, queries and response sizes over zooms, views and filters.
Each beside Folium with one CircleMarker per site, in the same run. Prints figures and ratios; no assertions.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
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
PG_ADMIN_URL = os.environ.get("RECOVERY_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


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


def table_1m():
    """A 1,000,000-row point table: synthetic positions in the zone, kinds, statuses, teams, deadlines."""
    from recovery.map.points import KIND_KEYS, PointTable

    n = 1_000_000
    rng = np.random.default_rng(720)
    deadline = np.where(rng.random(n) < 0.3, time.time() + rng.uniform(-30, 30, n) * 86400, np.nan)
    return PointTable(
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
        deadline=deadline,
        done_at=np.full(n, np.nan),
    )


VIEWS = [
    (10, None),
    (12, None),
    (13, (113.50, 34.78, 113.56, 34.83)),
    (14, (113.52, 34.80, 113.55, 34.82)),
    (15, (113.53, 34.80, 113.545, 34.81)),
]
FILTERS = [{}, {"kind": "road_collapse"}, {"status": "open", "subdistrict": "shifo"}, {"overdue": "1"}]


def _old_clusters(table, rows, zoom):
    """The baseline: the cluster code before cells were kept per zoom (a sort of the rows on every request)."""
    from recovery.map.points import KIND_KEYS, STATUS_KEYS
    from recovery.map.query import cell_degrees

    idx = np.flatnonzero(rows)
    if idx.size == 0:
        return []
    cell = cell_degrees(zoom)
    gx = np.floor((table.x[idx] + 180.0) / cell).astype(np.int64)
    gy = np.floor((table.y[idx] + 90.0) / cell).astype(np.int64)
    key = (table.kind[idx].astype(np.int64) << 44) | (gx << 22) | gy
    unique, first, inverse, counts = np.unique(
        key, return_index=True, return_inverse=True, return_counts=True
    )
    sum_x = np.bincount(inverse, weights=table.x[idx])
    sum_y = np.bincount(inverse, weights=table.y[idx])
    done = np.bincount(inverse, weights=table.done[idx].astype(float))
    out = []
    for i in range(len(unique)):
        row = idx[first[i]]
        item = {
            "kind": KIND_KEYS[int(table.kind[row])],
            "lon": round(float(sum_x[i] / counts[i]), 6),
            "lat": round(float(sum_y[i] / counts[i]), 6),
            "count": int(counts[i]),
            "done": int(done[i]),
        }
        if counts[i] == 1:
            item["id"] = int(table.ids[row])
            item["status"] = STATUS_KEYS[int(table.status[row])]
        out.append(item)
    return out


def _old_summary(table, rows, at):
    from recovery.map.points import KIND_KEYS

    overdue = table.overdue(at) & rows
    kinds, done, late = table.kind[rows], table.done[rows], overdue[rows]
    by_kind = {}
    for i, key in enumerate(KIND_KEYS):
        of_kind = kinds == i
        by_kind[key] = {
            "total": int(of_kind.sum()),
            "done": int((done & of_kind).sum()),
            "overdue": int((late & of_kind).sum()),
        }
    return {"total": int(rows.sum()), "done": int(done.sum()), "overdue": int(late.sum()), "by_kind": by_kind}


def clusters_1m_work(table, rounds: int = 4) -> dict:
    """The endpoint's work for 1,000,000 sites (filter, bin, summarise, serialise), now and as before, on the same
    requests. The cells of each zoom are numbered on first use; that first use is timed apart."""
    from recovery.map.query import cell_degrees, clusters, in_box, select_rows, summary
    from recovery.query.sites import parse_site_query
    from recovery.timeutil import now

    at = now()
    first_use = {}
    for zoom, _ in VIEWS:
        started = time.perf_counter()
        table.cells(zoom, cell_degrees(zoom))
        first_use[zoom] = (time.perf_counter() - started) * 1000
    out = {}
    for label, cluster_fn, summary_fn in (
        ("ours", clusters, summary),
        ("before", _old_clusters, _old_summary),
    ):
        times, sizes = [], []
        for _ in range(rounds):
            for zoom, bbox in VIEWS:
                for args in FILTERS:
                    started = time.perf_counter()
                    flt = parse_site_query(args)
                    rows = select_rows(table, flt, at)
                    view = rows & in_box(table, bbox)
                    body = json.dumps(
                        {"clusters": cluster_fn(table, view, zoom), "summary": summary_fn(table, rows, at)}
                    )
                    times.append(time.perf_counter() - started)
                    sizes.append(len(body.encode()))
        out[label] = _stats(times, sizes)
    out["cells_first_use_ms"] = first_use
    return out


def _stats(times: list[float], sizes: list[int]) -> dict:
    return {
        "p50_ms": statistics.median(times) * 1000,
        "p95_ms": float(np.percentile(times, 95)) * 1000,
        "max_kb": max(sizes) / 1024,
        "median_kb": statistics.median(sizes) / 1024,
        "requests": len(times),
    }


def clusters_1m_endpoint(url: str, table, folder: Path, rounds: int = 4) -> dict:
    """GET /map/clusters through the app (Flask's test client: session, policy, account, ledger version, JSON) on
    a database at `url`, with the 1M table in the app's per-version cache, as a live server would have it.

    Each request is sent twice in a row: as the app runs (the account and the ledger version kept a few seconds
    per process, so a warm request makes no round trip) and with both read from the database on every request
    (the code before: 2 queries, and a connection checkout, BEGIN and ROLLBACK around them)."""
    import re
    from collections import OrderedDict
    from dataclasses import replace
    from urllib.parse import urlencode

    from sqlalchemy import event
    from sqlalchemy.orm import Session

    import recovery.map.points as points
    from recovery.auth.accounts import account_cache
    from recovery.db.engine import make_engine

    _user(url)
    app = _app(url, folder)
    engine = make_engine(url)
    with Session(engine) as session:
        version = points.ledger_version(session, 0)
    engine.dispose()
    cache = app.extensions.setdefault("recovery.map_tables", OrderedDict())
    cache[("now", version)] = replace(table, version=version)
    app_engine = app.extensions["recovery.engine"]
    accounts = account_cache(app_engine)
    statements = [0]
    event.listen(
        app_engine,
        "before_cursor_execute",
        lambda *_: statements.__setitem__(0, statements[0] + 1),
    )
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page) or re.search(
        r'name="csrf_token" value="([^"]+)"', page
    )
    client.post("/login", data={"username": "bench", "password": "bench-pass", "csrf_token": token.group(1)})
    variants = {"ours": (points.VERSION_SECONDS, accounts.seconds), "before": (0.0, 0.0)}
    measured = {name: ([], [], []) for name in variants}
    try:
        for round_ in range(rounds + 1):
            for zoom, bbox in VIEWS:
                for args in FILTERS:
                    query = {"z": zoom, **args}
                    if bbox:
                        query["bbox"] = ",".join(str(v) for v in bbox)
                    for name, (version_s, account_s) in variants.items():
                        points.VERSION_SECONDS, accounts.seconds = version_s, account_s
                        statements[0] = 0
                        started = time.perf_counter()
                        response = client.get(
                            f"/map/clusters?{urlencode(query)}", headers={"Accept": "application/json"}
                        )
                        elapsed = time.perf_counter() - started
                        assert response.status_code == 200, response.get_data(as_text=True)[:300]
                        if round_:  # the first round numbers each zoom's cells once
                            times, sizes, queries = measured[name]
                            times.append(elapsed)
                            sizes.append(len(response.get_data()))
                            queries.append(statements[0])
    finally:
        points.VERSION_SECONDS, accounts.seconds = variants["ours"]
    app_engine.dispose()
    out = {}
    for name, (times, sizes, queries) in measured.items():
        out[name] = {**_stats(times, sizes), "queries_per_request": statistics.mean(queries)}
    return out


def pg_database(name: str) -> tuple[str, object]:
    """A fresh, migrated PostgreSQL database for the bench (dropped by the caller)."""
    from sqlalchemy import create_engine, text

    from recovery.db.engine import make_engine
    from recovery.db.migrate import upgrade

    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        conn.execute(text(f"CREATE DATABASE {name}"))
    url = admin.url.set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    return url, admin


def clusters_1m(folder: Path) -> dict:
    from sqlalchemy import text

    from recovery.db.engine import make_engine
    from recovery.db.migrate import upgrade

    table = table_1m()
    results = {"work": clusters_1m_work(table)}
    sqlite_url = f"sqlite:///{folder / 'empty.sqlite3'}"
    engine = make_engine(sqlite_url)
    upgrade(engine)
    engine.dispose()
    fresh = table_1m()
    results["endpoint_sqlite"] = clusters_1m_endpoint(sqlite_url, fresh, folder)
    try:
        pg_url, admin = pg_database("bench_map_clusters")
    except Exception as exc:  # no PostgreSQL here: say so rather than fail the whole run
        results["endpoint_postgresql"] = {"error": str(exc)[:200]}
        return results
    try:
        results["endpoint_postgresql"] = clusters_1m_endpoint(pg_url, table_1m(), folder)
    finally:
        with admin.connect() as conn:
            conn.execute(text("DROP DATABASE IF EXISTS bench_map_clusters WITH (FORCE)"))
        admin.dispose()
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--skip-baseline-100k", action="store_true")
    parser.add_argument("--only-1m", action="store_true", help="only the 1,000,000-site cluster responses")
    parser.add_argument(
        "--baseline-limit", type=float, default=600, help="seconds the 100k baseline may take"
    )
    options = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-map-"))
    if options.only_1m:
        results = {"1m_clusters": clusters_1m(folder)}
        shutil.rmtree(folder, ignore_errors=True)
        print(json.dumps(results, indent=2, default=str))
        print_1m(results["1m_clusters"])
        return
    from playwright.sync_api import sync_playwright

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
            results["100k_baseline"] = baseline(
                browser, site_rows(url), folder, "100k", options.baseline_limit
            )
        server.shutdown()
        app.extensions["recovery.engine"].dispose()
        browser.close()
    results["1m_clusters"] = clusters_1m(folder)
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
        drawn = b100["drawn_s"]
        if drawn != drawn:  # NaN: Chromium did not reach `load` within the limit
            print(
                f"| 100k: drawn in Chromium | {r100['drawn_s']:.2f} s | did not finish in "
                f"{options.baseline_limit:.0f} s (HTML built in {b100['build_s']:.0f} s, "
                f"{b100['bytes'] / 2**20:.0f} MB) | > {options.baseline_limit / r100['drawn_s']:.0f}× |"
            )
        else:
            print(
                f"| 100k: drawn in Chromium | {r100['drawn_s']:.2f} s | {drawn:.2f} s (HTML built in "
                f"{b100['build_s']:.0f} s, {b100['bytes'] / 2**20:.0f} MB) | {drawn / r100['drawn_s']:.1f}× faster |"
            )
            print(
                f"| 100k: JS heap | {r100['heap_mb']:.0f} MB | {b100['heap_mb']:.0f} MB | "
                f"{b100['heap_mb'] / max(r100['heap_mb'], 0.1):.1f}× smaller |"
            )
    else:
        print(f"| 100k: drawn in Chromium | {r100['drawn_s']:.2f} s | — | — |")
        print(f"| 100k: JS heap | {r100['heap_mb']:.0f} MB | — | — |")
    print_1m(results["1m_clusters"])


def print_1m(c: dict) -> None:
    ours, before = c["work"]["ours"], c["work"]["before"]
    print(
        "\n| 1M sites, cluster responses | p50 | p95 | queries per request | median size | largest |\n"
        "|---|---:|---:|---:|---:|---:|"
    )
    rows = [("work, cells kept per zoom (ours)", ours), ("work, sort per request (before)", before)]
    for key, label in (("endpoint_sqlite", "SQLite"), ("endpoint_postgresql", "PostgreSQL")):
        if "error" in c[key]:
            print(f"| endpoint, {label} | not run: {c[key]['error']} | | | | |")
            continue
        rows.append((f"endpoint, {label}, account and version kept (ours)", c[key]["ours"]))
        rows.append((f"endpoint, {label}, both read per request (before)", c[key]["before"]))
    for label, r in rows:
        queries = r.get("queries_per_request")
        print(
            f"| {label} | {r['p50_ms']:.1f} ms | {r['p95_ms']:.1f} ms | "
            f"{'' if queries is None else f'{queries:.1f}'} | {r['median_kb']:.0f} KB | {r['max_kb']:.0f} KB |"
        )
    print(
        f"work: p95 {before['p95_ms'] / ours['p95_ms']:.1f}× lower, p50 {before['p50_ms'] / ours['p50_ms']:.1f}× "
        f"lower than before; numbering a zoom's cells on first use: "
        + ", ".join(f"z{z} {ms:.0f} ms" for z, ms in c["work"]["cells_first_use_ms"].items())
    )
    for key, label in (("endpoint_sqlite", "SQLite"), ("endpoint_postgresql", "PostgreSQL")):
        if "error" not in c[key]:
            o, b = c[key]["ours"], c[key]["before"]
            print(
                f"endpoint, {label}: p95 {o['p95_ms']:.1f} ms vs {b['p95_ms']:.1f} ms before "
                f"({b['p95_ms'] / o['p95_ms']:.2f}×), p50 {o['p50_ms']:.1f} vs {b['p50_ms']:.1f} ms"
            )


if __name__ == "__main__":
    main()
