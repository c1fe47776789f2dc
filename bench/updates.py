"""Status updates from 50 concurrent clients against the real server, beside a bare Flask app's plain insert.

For each row (a backend and gunicorn's workers x threads) the script makes a fresh database, created and
migrated here, and serves it twice with the same gunicorn configuration (`recovery.serving.gunicorn_options`):

- a **bare Flask app, with no extension**, whose `POST /bench/baseline` does BEGIN IMMEDIATE + INSERT + COMMIT
  of one row in a scratch table through `recovery.db.engine.make_engine` (the same database settings: WAL, the
  row's synchronous, busy_timeout, the writer queue) and nothing else: the machine's ceiling for a Flask write;
- the real server, `recovery serve`, taking status updates at `/api/v1/sites/<id>/events` with a bearer token,
  If-Match and a fresh Idempotency-Key, each client cycling its own enterprises through `partly_restarted` at
  changing capacities (allowed again and again).

Both are driven by the same two clients: 50 Python clients (threads in 5 processes) and wrk (a C client; a Lua
script posts the updates, keeping each site's version from the answers' ETag). It prints rates, p50/p95/p99,
errors, the ratio updates / bare insert per client, and the issue's targets as met/missed (updates ≥ 0.6x the
bare insert with p99 ≤ 100 ms at 50 clients; PostgreSQL with 4 workers ≥ 1.5x with 1); nothing is asserted.
`--rows history` times, in one process, updates to a site with 10 events and to one with 1,000.

    .venv/bin/python bench/updates.py                                  # every row (see ROWS)
    .venv/bin/python bench/updates.py --rows sqlite-1x8 --duration 5   # smoke test
    .venv/bin/python bench/updates.py --rows history                   # CPU per update against history

See bench/updates.md for the configuration and the figures measured.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import platform
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, create_engine, insert, select, text

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = BENCH_DIR.parent
DATA_DIR = BENCH_DIR / ".data"
RESULTS_DIR = BENCH_DIR / "results"
DEFAULT_PG_URL = os.environ.get(
    "RECOVERY_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/recovery_bench_updates"
)
TARGET_RATE, TARGET_P99_MS = 800.0, 100.0
#: the issue's targets: updates / bare insert, p99 at 50 clients, PostgreSQL 4 workers / 1 worker
TARGET_RATIO, TARGET_PG_SCALING = 0.6, 1.5

#: the scratch table of the baseline: one row per request, nothing else
scratch = MetaData()
BASELINE = Table(
    "bench_baseline",
    scratch,
    Column("id", Integer, primary_key=True),
    Column("client", String(64), nullable=False),
    Column("payload", String(2000), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)


# --- the server side: the bare app (the real one is `recovery serve`) -----------------------------------------


def make_bare_app():
    """A Flask app with no extension: `POST /bench/baseline` inserts one row (BEGIN IMMEDIATE on SQLite, the
    same engine settings as the app's), `GET /healthz` answers. Built in each gunicorn worker."""
    from flask import Flask, jsonify, request

    from recovery.db.engine import make_engine
    from recovery.timeutil import now

    engine = make_engine(
        os.environ["RECOVERY_DATABASE_URL"],
        synchronous=os.environ.get("RECOVERY_SQLITE_SYNCHRONOUS", "FULL"),
    )
    stmt = insert(BASELINE).returning(BASELINE.c.id)
    app = Flask("bare")

    @app.post("/bench/baseline")
    def bench_baseline():
        with engine.connect() as conn:
            conn.execution_options(sqlite_immediate=True)  # the writers' BEGIN IMMEDIATE (a no-op elsewhere)
            with conn.begin():
                row_id = conn.execute(
                    stmt,
                    {
                        "client": request.headers.get("Idempotency-Key", "")[:64],
                        "payload": request.get_data(as_text=True)[:2000],
                        "created_at": now(),
                    },
                ).scalar_one()
        return jsonify({"id": row_id}), 201

    @app.get("/healthz")
    def healthz():
        return jsonify({"status": "ok"})

    return app


def serve_bare(port: str, workers: str, threads: str) -> None:
    """Serve the bare app with `recovery serve`'s gunicorn options (`--serve-bare PORT WORKERS THREADS`)."""
    from recovery.serving import Server, WorkerModel, gunicorn_options

    class BareServer(Server):
        def load(self):
            return make_bare_app()

    BareServer(gunicorn_options("127.0.0.1", int(port), WorkerModel(int(workers), int(threads)))).run()


# --- preparing a fresh database -----------------------------------------------------------------------------


def fresh_database(backend: str, pg_url: str) -> str:
    if backend == "sqlite":
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        path = DATA_DIR / "updates.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return f"sqlite:///{path}"
    from sqlalchemy.engine import make_url

    url = make_url(pg_url)
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {url.database} WITH (FORCE)"))
        conn.execute(text(f"CREATE DATABASE {url.database}"))
    admin.dispose()
    return url.render_as_string(hide_password=False)


def prepare(url: str, sites: int) -> tuple[str, list[int]]:
    """Migrate, add a field user with a token, and `sites` enterprises in fengyang already `stopped`."""
    from sqlalchemy.orm import Session

    from recovery.auth.accounts import create_user, issue_token
    from recovery.db.engine import make_engine
    from recovery.db.migrate import upgrade
    from recovery.geodata import load_geodata
    from recovery.ledger.record import record_site_event
    from recovery.sites import draft_site, report_site
    from recovery.timeutil import now

    engine = make_engine(url, synchronous="NORMAL")
    upgrade(engine)
    scratch.create_all(engine)
    geodata = load_geodata(PROJECT_ROOT / "geodata")
    point = geodata.subdistrict("fengyang").geometry.representative_point()
    start = now() - timedelta(days=1)
    with Session(engine, expire_on_commit=False) as session:
        user = create_user(session, "bench_field", "field", "bench password", scope=["fengyang"])
        token = issue_token(session, user, "bench")
        ids = []
        for i in range(sites):
            draft = draft_site(
                "enterprise",
                f"压测企业{i:04d}",
                {"type": "Point", "coordinates": [point.x + (i % 100) * 1e-5, point.y + (i // 100) * 1e-5]},
                attributes={"industry": "机械", "above_size": i % 2 == 0, "employees": 100 + i},
            )
            site, _ = report_site(session, draft, geodata, actor="压测", valid_at=start)
            record_site_event(
                session,
                site.id,
                action="transition",
                to_status="stopped",
                actor="压测",
                valid_at=start + timedelta(hours=1),
            )
            ids.append(site.id)
        session.commit()
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    else:
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return token, ids


# --- the server process -------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Launched:
    """A server process in its own process group, up once GET /healthz answers; stopped with SIGTERM."""

    def __init__(self, command: list[str], url: str, env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.command = [part.replace("{port}", str(self.port)) for part in command]
        self.env = {
            **os.environ,
            "RECOVERY_DATABASE_URL": url,
            "RECOVERY_SECURE_COOKIES": "0",
            "RECOVERY_CLEANUP_INTERVAL_MINUTES": "0",
            **env,
        }
        self.log = log
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> Launched:
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                self.command, env=self.env, cwd=PROJECT_ROOT, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server exited; see {self.log}")
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
            try:
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    break
            except (OSError, http.client.HTTPException):
                time.sleep(0.2)
            finally:
                conn.close()
        else:
            raise RuntimeError(f"the server did not answer within 60 s; see {self.log}")
        time.sleep(2)  # every worker has imported the app by now (they start together)
        return self

    def __exit__(self, *exc) -> None:
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=30)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


def recovery_server(url: str, workers: int, threads: int, env: dict, log: Path) -> Launched:
    """The real server: the production command, `recovery serve`."""
    command = [str(Path(sys.executable).parent / "recovery"), "serve", "--port", "{port}",
               "--workers", str(workers), "--threads", str(threads)]  # fmt: skip
    return Launched(command, url, env, log)


def bare_server(url: str, workers: int, threads: int, env: dict, log: Path) -> Launched:
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--serve-bare",
        "{port}",
        str(workers),
        str(threads),
    ]
    return Launched(command, url, env, log)


# --- the load generator: a few processes, each with threads (the GIL would cap one process) -----------------


def client_thread(port, token, site_ids, mode, start_at, measure_from, stop_at, out, seed, known=None):
    """One client: post back to back on a kept-alive connection; record (start, latency, outcome)."""
    versions = {site_id: (known or {}).get(site_id, 2) for site_id in site_ids}
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    n = seed
    while time.time() < start_at:
        time.sleep(0.005)
    while True:
        began = time.time()
        if began >= stop_at:
            break
        site_id = site_ids[n % len(site_ids)]
        capacity = 5 + (n * 7) % 91
        body = json.dumps(
            {"status": "partly_restarted", "measures": {"capacity_pct": capacity}, "note": "复工"}
        )
        headers = {
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
            "If-Match": f'"{versions[site_id]}"',
            "Idempotency-Key": uuid.uuid4().hex,
        }
        path = f"/api/v1/sites/{site_id}/events" if mode == "updates" else "/bench/baseline"
        t0 = time.perf_counter()
        try:
            conn.request("POST", path, body=body.encode(), headers=headers)
            response = conn.getresponse()
            payload = response.read()
            outcome = response.status
            if mode == "updates" and outcome == 201:
                versions[site_id] = int(response.getheader("ETag").strip('"'))
            elif outcome == 412:  # should not happen: each site has one client; resynchronise and go on
                versions[site_id] = json.loads(payload)["error"].get("current_version", versions[site_id])
        except (OSError, http.client.HTTPException) as exc:
            outcome = type(exc).__name__
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        latency = time.perf_counter() - t0
        if began >= measure_from and began + latency <= stop_at:
            out.append((latency, outcome))
        n += 1
    conn.close()


def client_process(port, token, assignments, mode, start_at, measure_from, stop_at, queue, known=None):
    results: list[list] = [[] for _ in assignments]
    threads = [
        threading.Thread(
            target=client_thread,
            args=(port, token, sites, mode, start_at, measure_from, stop_at, results[i], i, known),
        )
        for i, sites in enumerate(assignments)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    queue.put([r for per_thread in results for r in per_thread])


def measure(port, token, site_ids, mode, args, known: dict[int, int] | None = None) -> dict:
    """The Python clients, for `args.warmup` then `args.duration` seconds; `known` the sites' versions (2 for
    those not in it)."""
    clients = [site_ids[i :: args.clients] for i in range(args.clients)]
    per_process = [clients[i :: args.processes] for i in range(args.processes)]
    start_at = time.time() + 1.0
    measure_from = start_at + args.warmup
    stop_at = measure_from + args.duration
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    procs = [
        ctx.Process(
            target=client_process, args=(port, token, a, mode, start_at, measure_from, stop_at, queue, known)
        )
        for a in per_process
    ]
    for p in procs:
        p.start()
    rows = [r for _ in procs for r in queue.get(timeout=args.duration + args.warmup + 120)]
    for p in procs:
        p.join()
    ok = sorted(lat for lat, outcome in rows if outcome in (200, 201))
    errors: dict[str, int] = {}
    for _lat, outcome in rows:
        if outcome not in (200, 201):
            errors[str(outcome)] = errors.get(str(outcome), 0) + 1
    return {
        "mode": mode,
        "client": "python",
        "requests": len(rows),
        "ok": len(ok),
        "rate": len(ok) / args.duration,
        "p50_ms": percentile(ok, 50) * 1000,
        "p95_ms": percentile(ok, 95) * 1000,
        "p99_ms": percentile(ok, 99) * 1000,
        "max_ms": (ok[-1] if ok else float("nan")) * 1000,
        "errors": errors,
    }


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    return values[min(len(values) - 1, max(0, round(p / 100 * len(values) + 0.5) - 1))]


# --- one row of the report ----------------------------------------------------------------------------------


#: the rows: name -> (backend, gunicorn workers, threads per worker, environment)
ROWS = {
    "sqlite-1x8": ("sqlite", 1, 8, {"RECOVERY_SQLITE_SYNCHRONOUS": "FULL"}),
    "sqlite-1x1": ("sqlite", 1, 1, {"RECOVERY_SQLITE_SYNCHRONOUS": "FULL"}),
    "sqlite-1x2": ("sqlite", 1, 2, {"RECOVERY_SQLITE_SYNCHRONOUS": "FULL"}),
    "sqlite-1x4": ("sqlite", 1, 4, {"RECOVERY_SQLITE_SYNCHRONOUS": "FULL"}),
    "sqlite-2x4": ("sqlite", 2, 4, {"RECOVERY_SQLITE_SYNCHRONOUS": "FULL"}),
    "sqlite-4x2": ("sqlite", 4, 2, {"RECOVERY_SQLITE_SYNCHRONOUS": "FULL"}),
    "sqlite-normal-1x8": ("sqlite", 1, 8, {"RECOVERY_SQLITE_SYNCHRONOUS": "NORMAL"}),
    "postgresql-1x4": ("postgresql", 1, 4, {}),
    "postgresql-4x4": ("postgresql", 4, 4, {}),
}
DEFAULT_ROWS = ["sqlite-1x8", "sqlite-4x2", "postgresql-1x4", "postgresql-4x4", "history"]


def run_row(name: str, args, say) -> dict:
    backend, workers, threads, env = ROWS[name]
    url = fresh_database(backend, args.pg_url)
    token, site_ids = prepare(url, args.clients * args.sites_per_client)
    RESULTS_DIR.mkdir(exist_ok=True)
    say(
        f"{name:<18} gunicorn gthread {workers} workers x {threads} threads; load average before: "
        f"{' '.join(f'{v:.2f}' for v in os.getloadavg())}"
    )
    results: dict[str, dict] = {}
    with bare_server(url, workers, threads, env, RESULTS_DIR / f"updates-bare-{name}.log") as server:
        results["bare python"] = measure(server.port, token, site_ids, "baseline", args)
        results["bare wrk"] = wrk_run(server.port, "baseline", token, site_ids, url, args)
    with recovery_server(url, workers, threads, env, RESULTS_DIR / f"updates-recovery-{name}.log") as server:
        results["updates python"] = measure(
            server.port, token, site_ids, "updates", args, settled_versions(url)
        )
        results["updates wrk"] = wrk_run(server.port, "updates", token, site_ids, url, args)
    verify_problems = check(url, len(site_ids))
    for label, result in results.items():
        if result is None:
            say(f"{name:<18} {label:<15} wrk not installed (apt-get install wrk): skipped")
            continue
        say(
            f"{name:<18} {label:<15} {result['rate']:>8.1f}/s  p50 {result['p50_ms']:6.1f}  "
            f"p95 {result.get('p95_ms', float('nan')):6.1f}  p99 {result['p99_ms']:6.1f} ms  "
            f"ok {result['ok']:>6}  errors {result['errors'] or 0}"
        )
    row = {"name": name, "backend": backend, "workers": workers, "threads": threads, **results}
    row["verify"] = verify_problems
    row["ratio"] = {}
    for client in ("python", "wrk"):
        bare, updates = results[f"bare {client}"], results[f"updates {client}"]
        if bare is None or updates is None:
            continue
        ratio = row["ratio"][client] = updates["rate"] / bare["rate"] if bare["rate"] else float("nan")
        met = ratio >= TARGET_RATIO and updates["p99_ms"] <= TARGET_P99_MS
        say(
            f"{name:<18} ratio {client:<9} updates / bare insert = {ratio:.2f} (target ≥ {TARGET_RATIO} with p99 ≤ "
            f"{TARGET_P99_MS:.0f} ms: {'met' if met else 'MISSED'}; p99 {updates['p99_ms']:.0f} ms, bare insert's "
            f"p99 {bare['p99_ms']:.0f} ms)"
        )
    say(f"{name:<18} ledger verify after the run: {len(verify_problems)} problems")
    for problem in verify_problems[:5]:
        say(f"{name:<18}   {problem}")
    return row


def versions(url: str) -> dict[int, int]:
    """Each site's version (its ETag) as stored now."""
    engine = create_engine(url)
    with engine.connect() as conn:
        found = dict(conn.execute(text("SELECT id, version FROM site")).all())
    engine.dispose()
    return found


def settled_versions(url: str) -> dict[int, int]:
    """The sites' versions once the server has finished what the last client left in flight (wrk stops
    without waiting for its last answers: those writes still land)."""
    found = versions(url)
    for _ in range(20):
        time.sleep(0.5)
        again = versions(url)
        if again == found:
            break
        found = again
    return found


# --- wrk: the bare insert and the updates from a C client ---------------------------------------------------

_WRK_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}

#: wrk's Lua for the updates: each wrk thread posts to its own share of the sites, one request at a time per
#: site, with the site's version from the last answer (its ETag) as If-Match and a fresh Idempotency-Key
_UPDATES_LUA = """
local sites = {%(sites)s}
local known = {%(versions)s}
local token, run, nthreads = "%(token)s", "%(run)s", %(nthreads)d
local count = 0
function setup(thread)
  thread:set("tid", count)
  count = count + 1
end
function init(args)
  ready, version, n = {}, {}, 0
  for i, id in ipairs(sites) do
    if (i - 1) %% nthreads == tid then
      table.insert(ready, id)
      version[id] = known[i]
    end
  end
end
function request()
  n = n + 1
  local id = table.remove(ready, 1) or sites[1]
  local body = '{"status":"partly_restarted","measures":{"capacity_pct":' .. (5 + (n * 7) %% 91) .. '},"note":"复工"}'
  return wrk.format("POST", "/api/v1/sites/" .. id .. "/events", {
    ["Authorization"] = "Bearer " .. token,
    ["Content-Type"] = "application/json",
    ["If-Match"] = '"' .. (version[id] or 2) .. '"',
    ["Idempotency-Key"] = run .. "-" .. tid .. "-" .. n,
  }, body)
end
function response(status, headers, body)
  if status ~= 201 then return end
  -- the answer's keys are sorted: "site" holds the geometry, then the site's "id"
  local id = tonumber(body:match('"site":%%s*{.-"id":%%s*(%%d+)'))
  if id then
    version[id] = tonumber((headers["ETag"] or headers["etag"] or ""):match("(%%d+)"))
    table.insert(ready, id)
  end
end
"""


def wrk_run(port: int, mode: str, token: str, site_ids: list[int], url: str, args) -> dict | None:
    """wrk (Debian's package, written in C) with `args.clients` connections for `args.warmup` then
    `args.duration` seconds: POST /bench/baseline, or the updates (Lua above, with the versions stored now).
    None when wrk is not installed (it is a benchmark's tool, not a dependency)."""
    import shutil

    if shutil.which("wrk") is None:
        return None
    result = None
    for seconds in (args.warmup, args.duration):
        script = RESULTS_DIR / f"updates-wrk-{mode}.lua"
        if mode == "baseline":
            script.write_text('wrk.method = "POST"\nwrk.body = "wrk"\n')
            path = "/bench/baseline"
        else:
            known = settled_versions(url)
            script.write_text(
                _UPDATES_LUA
                % {
                    "sites": ",".join(map(str, site_ids)),
                    "versions": ",".join(str(known[i]) for i in site_ids),
                    "token": token,
                    "run": uuid.uuid4().hex[:12],
                    "nthreads": min(2, args.clients),
                }
            )
            path = f"/api/v1/sites/{site_ids[0]}/events"
        out = subprocess.run(
            ["wrk", f"-t{min(2, args.clients)}", f"-c{args.clients}", f"-d{max(1, round(seconds))}s", "--latency", "-s", str(script),
             f"http://127.0.0.1:{port}{path}"],
            capture_output=True, text=True, timeout=seconds + 60, check=True,
        ).stdout  # fmt: skip
        result = _wrk_figures(out, seconds)
    return result


def _wrk_figures(out: str, seconds: float) -> dict:
    latency = {
        p: float(v) * _WRK_UNITS[u]
        for p, v, u in re.findall(r"^\s+(50|90|99)%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
    }
    done = re.search(r"(\d+) requests in ([\d.]+)(ms|s|m)", out)
    requests = int(done.group(1))
    elapsed = float(done.group(2)) * {"ms": 0.001, "s": 1.0, "m": 60.0}[done.group(3)]
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    socket = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = {"non-2xx": int(non_2xx.group(1))} if non_2xx else {}
    if socket:
        errors["socket"] = sum(int(n) for n in socket.groups())
    ok = requests - errors.get("non-2xx", 0)
    return {
        "client": "wrk",
        "requests": requests,
        "ok": ok,
        "rate": ok / elapsed,  # of the 2xx answers, like the Python clients' (wrk's own figure counts all)
        "p50_ms": latency.get("50", float("nan")),
        "p90_ms": latency.get("90", float("nan")),
        "p99_ms": latency.get("99", float("nan")),
        "errors": errors,
    }


# --- the CPU per update against the site's history (in one process, no server) ------------------------------


def history_row(args, say) -> dict:
    """Time updates to an enterprise with 10 events and to one with 1,000, alternately, in one process on
    SQLite (each committed, as the API does): the write path's work should not grow with the history."""
    from sqlalchemy.orm import Session

    from recovery.db.engine import make_engine
    from recovery.ledger.record import record_site_event
    from recovery.models import Site

    url = fresh_database("sqlite", args.pg_url)
    prepare(url, 0)
    engine = make_engine(url, synchronous="FULL")
    start = datetime.now().astimezone() - timedelta(days=30)
    with Session(engine, expire_on_commit=False) as session:
        sites = {events: _enterprise(session, events, start) for events in (10, 1000)}
        at = start + timedelta(days=20)
        timings: dict[int, list[tuple[float, float]]] = {events: [] for events in sites}
        for n in range(args.history_updates + 20):
            for events, site_id in sites.items():
                at += timedelta(seconds=1)
                version = session.scalar(select(Site.version).where(Site.id == site_id))
                session.commit()
                wall, cpu = time.perf_counter(), time.process_time()
                record_site_event(
                    session,
                    site_id,
                    action="transition",
                    to_status="partly_restarted",
                    measures={"capacity_pct": 5 + (n * 7) % 91},
                    actor="压测",
                    valid_at=at,
                    expected_version=version,
                    client_id=uuid.uuid4().hex,
                )
                session.commit()
                if n >= 20:  # the first ones warm the caches up
                    timings[events].append((time.perf_counter() - wall, time.process_time() - cpu))
    engine.dispose()
    row: dict = {"name": "history", "updates": args.history_updates}
    for events, pairs in timings.items():
        wall = sorted(w for w, _ in pairs)[len(pairs) // 2] * 1000
        cpu = sum(c for _, c in pairs) / len(pairs) * 1000
        row[f"{events}"] = {"median_wall_ms": wall, "mean_cpu_ms": cpu}
        say(
            f"history            site with {events:>5} events: median {wall:.3f} ms per update (wall), "
            f"mean {cpu:.3f} ms CPU ({len(pairs)} updates, each committed, SQLite FULL)"
        )
    ratio = row["ratio"] = row["1000"]["median_wall_ms"] / row["10"]["median_wall_ms"]
    cpu_ratio = row["cpu_ratio"] = row["1000"]["mean_cpu_ms"] / row["10"]["mean_cpu_ms"]
    say(
        f"history            1,000 events / 10 events: {ratio:.2f}x wall, {cpu_ratio:.2f}x CPU "
        f"(target ≤ 1.2x: {'met' if max(ratio, cpu_ratio) <= 1.2 else 'MISSED'})"
    )
    return row


def _enterprise(session, events: int, start: datetime) -> int:
    from recovery.geodata import load_geodata
    from recovery.ledger.record import record_site_event
    from recovery.sites import draft_site, report_site

    point = load_geodata(PROJECT_ROOT / "geodata").subdistrict("fengyang").geometry.representative_point()
    draft = draft_site(
        "enterprise", f"历史企业{events}", {"type": "Point", "coordinates": [point.x, point.y]}
    )
    site, _ = report_site(
        session, draft, load_geodata(PROJECT_ROOT / "geodata"), actor="压测", valid_at=start
    )
    at = start
    for n in range(events - 1):
        at += timedelta(minutes=10)
        record_site_event(
            session,
            site.id,
            action="transition",
            to_status="stopped" if n == 0 else "partly_restarted",
            measures={"capacity_pct": 5 + (n * 7) % 91} if n else None,
            actor="压测",
            valid_at=at,
        )
    session.commit()
    return site.id


def check(url: str, sites: int) -> list[str]:
    """The ledger still replays to the stored projections after the run."""
    from sqlalchemy.orm import Session

    from recovery.db.engine import make_engine
    from recovery.ledger.bulk import verify
    from recovery.models import Event

    engine = make_engine(url)
    with Session(engine) as session:
        problems = verify(session)
        events = session.scalar(select(Event.id).order_by(Event.id.desc()).limit(1))
    engine.dispose()
    return problems + ([] if events and events >= 2 * sites else ["no events stored"])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--rows",
        nargs="+",
        choices=[*ROWS, "history"],
        default=DEFAULT_ROWS,
        help="which configurations, in order (history: the CPU per update against the site's history)",
    )
    parser.add_argument("--duration", type=float, default=20.0, help="seconds measured per server and client")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds before measuring")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument(
        "--processes", type=int, default=5, help="client processes (clients split among them)"
    )
    parser.add_argument("--sites-per-client", type=int, default=10)
    parser.add_argument("--history-updates", type=int, default=300, help="updates per site (history row)")
    parser.add_argument("--pg-url", default=DEFAULT_PG_URL)
    parser.add_argument("--json", type=Path, help="also write the figures as JSON here")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR / "updates.txt", help="copy of the report")
    args = parser.parse_args(argv)

    args.out.parent.mkdir(parents=True, exist_ok=True)
    report = open(args.out, "w", encoding="utf-8")  # noqa: SIM115 - closed at the end

    def say(line: str = "") -> None:
        print(line, flush=True)
        report.write(line + "\n")

    import gunicorn

    say(f"# bench/updates.py  {datetime.now().astimezone():%Y-%m-%d %H:%M %Z}")
    say(
        f"# machine: {os.cpu_count()} cores ({platform.processor() or platform.machine()}), Python "
        f"{platform.python_version()}, SQLite {sqlite3.sqlite_version}, gunicorn {gunicorn.__version__}"
    )
    say(
        "# servers: `recovery serve` and a bare Flask app (no extension; BEGIN IMMEDIATE + INSERT + COMMIT), "
        "one after the other, with the same gunicorn options (gthread, workers x threads per row), loopback"
    )
    say(
        f"# clients: {args.clients} Python clients as threads in {args.processes} processes, then wrk -t2 "
        f"-c{args.clients} (Lua for the updates); keep-alive, back to back, on the same {os.cpu_count()} cores"
    )
    say(
        f"# each row: a fresh database, {args.clients * args.sites_per_client} enterprises "
        f"({args.sites_per_client} per client), {args.warmup:.0f} s warm-up then {args.duration:.0f} s "
        f"measured per server and client"
    )
    say("# latency in ms (Python clients: of the 2xx answers); rate = 2xx answers per second")
    rows = [history_row(args, say) if name == "history" else run_row(name, args, say) for name in args.rows]
    by_name = {row["name"]: row for row in rows}
    one, four = by_name.get("postgresql-1x4"), by_name.get("postgresql-4x4")
    if one and four:
        for client in ("python", "wrk"):
            a, b = one.get(f"updates {client}"), four.get(f"updates {client}")
            if a and b and a["rate"]:
                scaling = b["rate"] / a["rate"]
                say(
                    f"postgresql         4 workers / 1 worker, updates ({client}): {scaling:.2f}x "
                    f"(target ≥ {TARGET_PG_SCALING}: {'met' if scaling >= TARGET_PG_SCALING else 'MISSED'})"
                )
    report.close()
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    if sys.argv[1:2] == ["--serve-bare"]:
        serve_bare(*sys.argv[2:5])
    else:
        main()
