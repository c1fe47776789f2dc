"""Reads (issue 18): the whole site collection, an unchanged collection's 304, and the home page, each beside a
plain baseline measured in the same run.

    .venv/bin/python bench/reads.py                       # SQLite and PostgreSQL (when reachable)
    .venv/bin/python bench/reads.py --backend sqlite --rounds 5

For each backend a fresh database gets the 7·20 seed (9,756 sites) and the app is served by a real HTTP server
in this process (Werkzeug's threaded server, as bench/map_render.py serves it); the client is `http.client` on a
kept-alive connection in a process of its own (in this one, client and server would take turns at the
interpreter's lock, 5 ms a turn):

(a) `GET /api/v1/sites?limit=all` with a bearer token, the whole body read by a client in another process, beside GeoPandas reading the same
    columns of the same rows from the same database (`read_postgis`) and calling `to_json()`; target: the API at
    most 0.5× GeoPandas;
(b) the same request with `If-None-Match` set to the answer's ETag: a 304 with no body;
(c) the home page (`GET /`, the command dashboard for today) p50, beside a bare Flask app (no extensions) served
    the same way returning a small page; target: p50 ≤ 60 ms. The board below the headline figures is kept per
    ledger version (`recovery.dashboard.board`): each page is also asked once more with it dropped first, as
    the first page after any change builds it.

Rounds alternate between the two sides of each pair; medians are printed, nothing is asserted. Beside the wall
times, the CPU time of this process for each side (the server's threads for the API): on a machine shared with
other work it moves less than the wall time.
"""

from __future__ import annotations

import argparse
import http.client
import json
import logging
import multiprocessing
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from map_render import _app, _serve, pg_database, seed_db  # noqa: E402

from recovery.dashboard.board import BOARDS  # noqa: E402

#: the columns of a site the API's features show, as a GeoPandas user would read them
GEOPANDAS_SQL = (
    "SELECT id, key, kind, name, address, status, track_status, subdistrict, priority, attributes, deadline, "
    "version, team_id, last_valid_at, capacity_pct, geom FROM site ORDER BY id"
)
WHOLE = "/api/v1/sites?limit=all"
TARGET_RATIO, TARGET_HOME_MS = 0.5, 60.0


def _token(url: str) -> str:
    """A commander with an API token in the database at `url`."""
    from sqlalchemy.orm import Session

    from recovery.auth.accounts import create_user, issue_token
    from recovery.db.engine import make_engine

    engine = make_engine(url)
    with Session(engine) as session:
        user = create_user(session, "bench_reads", "commander", "bench reads password")
        token = issue_token(session, user, "bench")
        session.commit()
    engine.dispose()
    return token


def _seed_pg() -> tuple[str, object]:
    from sqlalchemy.orm import Session

    from recovery.db.engine import make_engine
    from recovery.geodata import load_geodata
    from recovery.ledger.bulk import load_dataset
    from recovery.seeding import read_dataset

    url, admin = pg_database("bench_reads")
    engine = make_engine(url)
    with Session(engine) as session:
        load_dataset(session, load_geodata(ROOT / "geodata"), **read_dataset(ROOT / "seed" / "data"))
    engine.dispose()
    return url, admin


def _client_loop(base: str, headers: dict[str, str], pipe) -> None:
    """The HTTP client, in its own process (sharing the server's interpreter would make the two take turns
    at its lock): one kept-alive connection; each request received on `pipe` is answered with (seconds, status,
    body, size, headers); a body over 1 MB is sent back as its first bytes, or with `count` as the numbers of
    features it declares and holds (parsed after the clock stops)."""
    host, port = base.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=120)
    while (request := pipe.recv()) is not None:
        path, extra, count = request
        started = time.perf_counter()
        conn.request("GET", path, headers={**headers, **extra})
        response = conn.getresponse()
        body = response.read()
        elapsed = time.perf_counter() - started
        size = len(body)
        if count and response.status == 200:
            document = json.loads(body)
            body = (document["numberReturned"], len(document["features"]))
        elif size > 2**20:
            body = body[:200]
        pipe.send((elapsed, response.status, body, size, response.getheaders()))
    conn.close()


class Client:
    """An HTTP client process; `get` returns (seconds, status, body or its first bytes, size, headers) and
    leaves in `server_cpu` the CPU time this process (the server's threads) spent meanwhile."""

    def __init__(self, base: str, headers: dict[str, str]) -> None:
        context = multiprocessing.get_context("spawn")
        self.pipe, child = context.Pipe()
        self.process = context.Process(target=_client_loop, args=(base, headers, child), daemon=True)
        self.process.start()

    def get(self, path: str, count: bool = False, **headers: str):
        cpu = time.process_time()
        self.pipe.send((path, headers, count))
        elapsed, status, body, size, response_headers = self.pipe.recv()
        self.server_cpu = time.process_time() - cpu
        return elapsed, status, body, size, dict(response_headers)

    def close(self) -> None:
        self.pipe.send(None)
        self.process.join(timeout=10)


def geopandas_read(url: str) -> tuple[float, float, int, int]:
    """GeoPandas: read the rows, then `to_json()`; (seconds, CPU seconds, features, bytes)."""
    import geopandas as gpd
    from sqlalchemy import text

    from recovery.db.engine import make_engine

    engine = make_engine(url)
    with (
        engine.connect() as conn
    ):  # the connection is open before the clock starts, as the app's pool has one
        cpu, started = time.process_time(), time.perf_counter()
        frame = gpd.read_postgis(text(GEOPANDAS_SQL), conn, geom_col="geom", crs=4326)
        out = frame.to_json(default=str)  # PostgreSQL's timestamps are not JSON: written as text
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    engine.dispose()
    return elapsed, cpu, len(frame), len(out.encode())


def bare_flask():
    """The baseline of a page: Flask with no extensions, one small page."""
    from flask import Flask

    app = Flask("bare")

    @app.get("/")
    def page():
        return "<!doctype html><title>bare</title><p>一个小页面</p>"

    return app


def _median_ms(values: list[float]) -> float:
    return statistics.median(values) * 1000


def run(label: str, url: str, folder: Path, rounds: int, page_rounds: int) -> dict:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no access log line per request
    token = _token(url)
    app = _app(url, folder)
    server, base = _serve(app)
    bare_server, bare_base = _serve(bare_flask())
    api = Client(base, {"Authorization": f"Bearer {token}"})
    bare = Client(bare_base, {})
    try:
        # warm-up: the first answers build caches (the point tables, the account) and compile statements
        _, status, counts, _, headers = api.get(WHOLE, count=True)
        assert status == 200 and counts[0] == counts[1], counts
        geopandas_read(url)
        api_s, gpd_s, api_cpu, gpd_cpu = [], [], [], []
        for _ in range(rounds):
            elapsed, status, _, size, headers = api.get(WHOLE)
            assert status == 200 and size > 1_000_000
            api_s.append(elapsed)
            api_cpu.append(api.server_cpu)
            elapsed, cpu, features, gpd_bytes = geopandas_read(url)
            gpd_s.append(elapsed)
            gpd_cpu.append(cpu)
        tag = headers["ETag"]
        not_modified = []
        for _ in range(page_rounds):
            elapsed, status, body304, _, _ = api.get(WHOLE, **{"If-None-Match": tag})
            assert status == 304 and body304 == b""
            not_modified.append(elapsed)
        api.get("/")
        bare.get("/")
        home_s, bare_s, cold_s = [], [], []
        boards = app.extensions.setdefault("recovery.map_tables", {})
        for _ in range(page_rounds):
            elapsed, status, page, _, _ = api.get("/")
            assert status == 200 and b"chart burn" in page, page[:300]
            home_s.append(elapsed)
            boards.pop(BOARDS, None)  # the next page builds its board again, as after any change
            elapsed, status, _, _, _ = api.get("/")
            assert status == 200
            cold_s.append(elapsed)
            elapsed, status, _, _, _ = bare.get("/")
            assert status == 200
            bare_s.append(elapsed)
    finally:
        api.close()
        bare.close()
        server.shutdown()
        bare_server.shutdown()
        app.extensions["recovery.engine"].dispose()
    result = {
        "backend": label,
        "sites": counts[0],
        "api_bytes": size,
        "geopandas_features": features,
        "geopandas_bytes": gpd_bytes,
        "api_ms": _median_ms(api_s),
        "geopandas_ms": _median_ms(gpd_s),
        "api_cpu_ms": _median_ms(api_cpu),
        "geopandas_cpu_ms": _median_ms(gpd_cpu),
        "not_modified_ms": _median_ms(not_modified),
        "home_p50_ms": _median_ms(home_s),
        "home_p95_ms": sorted(home_s)[int(0.95 * (len(home_s) - 1))] * 1000,
        "bare_p50_ms": _median_ms(bare_s),
        "home_rebuilt_p50_ms": _median_ms(cold_s),
        "rounds": rounds,
        "page_rounds": page_rounds,
    }
    result["ratio"] = result["api_ms"] / result["geopandas_ms"]
    result["cpu_ratio"] = result["api_cpu_ms"] / result["geopandas_cpu_ms"]
    return result


def report(results: list[dict]) -> None:
    print(
        "\n| backend | whole collection via HTTP | GeoPandas read + to_json | ratio (target ≤ 0.5) | "
        "CPU: API server / GeoPandas | 304 | home page p50 (p95) | home, board rebuilt, p50 | "
        "bare Flask page p50 | home p50 target ≤ 60 ms |\n"
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"
    )
    for r in results:
        met = "met" if r["ratio"] <= TARGET_RATIO else "**missed**"
        home = "met" if r["home_p50_ms"] <= TARGET_HOME_MS else "**missed**"
        print(
            f"| {r['backend']} | {r['api_ms']:.0f} ms ({r['api_bytes'] / 2**20:.1f} MB, {r['sites']:,} sites) | "
            f"{r['geopandas_ms']:.0f} ms ({r['geopandas_bytes'] / 2**20:.1f} MB) | {r['ratio']:.2f}× {met} | "
            f"{r['api_cpu_ms']:.0f} / {r['geopandas_cpu_ms']:.0f} ms = {r['cpu_ratio']:.2f}× | "
            f"{r['not_modified_ms']:.1f} ms | {r['home_p50_ms']:.0f} ({r['home_p95_ms']:.0f}) ms | "
            f"{r['home_rebuilt_p50_ms']:.0f} ms | "
            f"{r['bare_p50_ms']:.1f} ms | {home} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--rounds", type=int, default=7, help="rounds of the whole collection and GeoPandas")
    parser.add_argument("--page-rounds", type=int, default=50, help="requests of the 304 and of each page")
    parser.add_argument("--json", type=Path, help="write the figures here too")
    options = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-reads-"))
    results = []
    if options.backend in ("sqlite", "both"):
        results.append(run("SQLite", seed_db(folder), folder, options.rounds, options.page_rounds))
        print(json.dumps(results[-1]), flush=True)
    if options.backend in ("postgresql", "both"):
        try:
            url, admin = _seed_pg()
        except Exception as exc:  # no PostgreSQL here: say so rather than fail the whole run
            print(f"PostgreSQL not run: {str(exc)[:200]}")
        else:
            from sqlalchemy import text

            try:
                results.append(run("PostgreSQL", url, folder, options.rounds, options.page_rounds))
                print(json.dumps(results[-1]), flush=True)
            finally:
                with admin.connect() as conn:
                    conn.execute(text("DROP DATABASE IF EXISTS bench_reads WITH (FORCE)"))
                admin.dispose()
    if options.json:
        options.json.write_text(json.dumps(results, indent=2))
    report(results)


if __name__ == "__main__":
    main()
