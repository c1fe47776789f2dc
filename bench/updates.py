"""Status updates from 50 concurrent clients against the real server, beside a plain-insert baseline.

For each backend (a fresh database, created and migrated here) the script starts gunicorn serving the app plus
one extra route, `POST /bench/baseline`, that inserts a row into a scratch table with no checks at all (no
sign-in, no If-Match, no idempotency, no ledger). Client processes, each with threads, then post for a fixed
time: first to the baseline, then status updates to `/api/v1/sites/<id>/events` with If-Match and a fresh
Idempotency-Key, each client cycling its own enterprises through `partly_restarted` at changing capacities
(allowed again and again). It prints updates/s, p50/p95/p99 latency, errors, the ratio to the baseline, and
the issue's target (≥ 800 updates/s with p99 ≤ 100 ms on SQLite) as met/missed; nothing is asserted.

    .venv/bin/python bench/updates.py                                  # every row (see ROWS)
    .venv/bin/python bench/updates.py --rows sqlite-1x8 --duration 5   # smoke test

See bench/updates.md for the configuration and the figures measured.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import platform
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


# --- the server side: the real app, plus the baseline route -------------------------------------------------


def make_app():
    """The app as production builds it, plus `POST /bench/baseline` (what gunicorn serves here)."""
    from flask import jsonify, request

    from recovery import create_app
    from recovery.auth import csrf
    from recovery.db import get_session
    from recovery.db.engine import begin_write
    from recovery.timeutil import now
    from recovery.web.policy import allow

    app = create_app()

    @allow("anonymous")
    def bench_baseline():
        session = get_session()
        begin_write(session)  # the same lock discipline as the real writes (BEGIN IMMEDIATE on SQLite)
        row_id = session.execute(
            insert(BASELINE)
            .values(
                client=request.headers.get("Idempotency-Key", "")[:64],
                payload=request.get_data(as_text=True)[:2000],
                created_at=now(),
            )
            .returning(BASELINE.c.id)
        ).scalar_one()
        session.commit()
        return jsonify({"id": row_id}), 201

    csrf.exempt(bench_baseline)
    app.add_url_rule("/bench/baseline", "bench_baseline", bench_baseline, methods=["POST"])
    return app


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


class Server:
    def __init__(self, url: str, workers: int, threads: int, env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.command = [
            sys.executable, "-m", "gunicorn", "--pythonpath", str(BENCH_DIR),
            "-w", str(workers), "--threads", str(threads), "--backlog", "2048",
            "-b", f"127.0.0.1:{self.port}", "--access-logfile", "-" if os.environ.get("BENCH_ACCESS_LOG") else "/dev/null",
            "updates:make_app()",
        ]  # fmt: skip
        self.env = {**os.environ, "RECOVERY_DATABASE_URL": url, "RECOVERY_SECURE_COOKIES": "0", **env}
        self.log = log
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> Server:
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                self.command, env=self.env, cwd=PROJECT_ROOT, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited; see {self.log}")
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
            try:
                conn.request("POST", "/bench/baseline", body=b"warm-up")
                if conn.getresponse().status == 201:
                    break
            except (OSError, http.client.HTTPException):
                time.sleep(0.2)
            finally:
                conn.close()
        else:
            raise RuntimeError(f"gunicorn did not answer within 60 s; see {self.log}")
        time.sleep(2)  # every worker has imported the app by now (they start together)
        return self

    def __exit__(self, *exc) -> None:
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=15)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


# --- the load generator: a few processes, each with threads (the GIL would cap one process) -----------------


def client_thread(port, token, site_ids, mode, start_at, measure_from, stop_at, out, seed):
    """One client: post back to back on a kept-alive connection; record (start, latency, outcome)."""
    versions = dict.fromkeys(site_ids, 2)
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


def client_process(port, token, assignments, mode, start_at, measure_from, stop_at, queue):
    results: list[list] = [[] for _ in assignments]
    threads = [
        threading.Thread(
            target=client_thread,
            args=(port, token, sites, mode, start_at, measure_from, stop_at, results[i], i),
        )
        for i, sites in enumerate(assignments)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    queue.put([r for per_thread in results for r in per_thread])


def measure(port, token, site_ids, mode, args) -> dict:
    clients = [site_ids[i :: args.clients] for i in range(args.clients)]
    per_process = [clients[i :: args.processes] for i in range(args.processes)]
    start_at = time.time() + 1.0
    measure_from = start_at + args.warmup
    stop_at = measure_from + args.duration
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    procs = [
        ctx.Process(
            target=client_process, args=(port, token, a, mode, start_at, measure_from, stop_at, queue)
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
    "sqlite-4x2": ("sqlite", 4, 2, {"RECOVERY_SQLITE_SYNCHRONOUS": "FULL"}),
    "sqlite-normal-1x8": ("sqlite", 1, 8, {"RECOVERY_SQLITE_SYNCHRONOUS": "NORMAL"}),
    "postgresql-4x2": ("postgresql", 4, 2, {}),
}


def run_row(name: str, args, say) -> dict:
    backend, workers, threads, env = ROWS[name]
    url = fresh_database(backend, args.pg_url)
    token, site_ids = prepare(url, args.clients * args.sites_per_client)
    RESULTS_DIR.mkdir(exist_ok=True)
    log = RESULTS_DIR / f"updates-gunicorn-{name}.log"
    say(
        f"{name:<18} gunicorn {workers} workers x {threads} threads; load average before: "
        f"{' '.join(f'{v:.2f}' for v in os.getloadavg())}"
    )
    with Server(url, workers, threads, env, log) as server:
        baseline = measure(server.port, token, site_ids, "baseline", args)
        updates = measure(server.port, token, site_ids, "updates", args)
        ceiling = wrk_baseline(server.port, args)
    verify_problems = check(url, len(site_ids))
    row = {
        "name": name,
        "backend": backend,
        "workers": workers,
        "threads": threads,
        "baseline": baseline,
        "updates": updates,
        "verify": verify_problems,
    }
    for result in (baseline, updates):
        say(
            f"{name:<18} {result['mode']:<9} {result['rate']:>8.1f}/s  p50 {result['p50_ms']:6.1f}  "
            f"p95 {result['p95_ms']:6.1f}  p99 {result['p99_ms']:6.1f}  max {result['max_ms']:7.1f} ms  "
            f"ok {result['ok']:>6}  errors {result['errors'] or 0}"
        )
    if ceiling is None:
        say(f"{name:<18} wrk       not installed (apt-get install wrk): no C-client ceiling for this row")
    else:
        say(
            f"{name:<18} wrk       {ceiling['rate']:>8.1f}/s  p50 {ceiling['p50_ms']:6.1f}  "
            f"p99 {ceiling['p99_ms']:6.1f} ms  (the baseline driven by wrk, a C client using next to no CPU: "
            f"what any endpoint of this server can answer at most)"
        )
    row["baseline_wrk"] = ceiling
    ratio = updates["rate"] / baseline["rate"] if baseline["rate"] else float("nan")
    say(
        f"{name:<18} ratio     updates/baseline = {ratio:.2f}  (ledger verify: {len(verify_problems)} problems)"
    )
    if backend == "sqlite":
        met = updates["rate"] >= TARGET_RATE and updates["p99_ms"] <= TARGET_P99_MS
        say(
            f"{name:<18} target    ≥ {TARGET_RATE:.0f}/s and p99 ≤ {TARGET_P99_MS:.0f} ms: "
            f"{'met' if met else 'MISSED'} ({updates['rate']:.0f}/s, p99 {updates['p99_ms']:.0f} ms)"
        )
    row["ratio"] = ratio
    return row


_WRK_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def wrk_baseline(port: int, args) -> dict | None:
    """POST /bench/baseline from wrk (Debian's package, written in C) with the same number of connections: the
    rate the server gives an endpoint that does almost nothing when the load generator takes almost no CPU.
    None when wrk is not installed (it is a benchmark's tool, not a dependency)."""
    import re
    import shutil

    if shutil.which("wrk") is None:
        return None
    script = RESULTS_DIR / "updates-wrk-post.lua"
    script.write_text('wrk.method = "POST"\n')
    out = subprocess.run(
        ["wrk", "-t2", f"-c{args.clients}", f"-d{args.duration:.0f}s", "--latency", "-s", str(script),
         f"http://127.0.0.1:{port}/bench/baseline"],
        capture_output=True, text=True, timeout=args.duration + 60, check=True,
    ).stdout  # fmt: skip
    latency = {
        p: float(v) * _WRK_UNITS[u]
        for p, v, u in re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
    }
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    return {
        "rate": rate,
        "p50_ms": latency.get("50", float("nan")),
        "p99_ms": latency.get("99", float("nan")),
    }


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
        "--rows", nargs="+", choices=list(ROWS), default=list(ROWS), help="which configurations, in order"
    )
    parser.add_argument("--duration", type=float, default=20.0, help="seconds measured per row and mode")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds before measuring")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument(
        "--processes", type=int, default=5, help="client processes (clients split among them)"
    )
    parser.add_argument("--sites-per-client", type=int, default=10)
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
        f"# server: gunicorn gthread (workers x threads per row), loopback; "
        f"load: {args.clients} clients as threads in {args.processes} processes (the GIL would cap one "
        f"process), keep-alive, back to back; the clients share the {os.cpu_count()} cores with the server"
    )
    say(
        f"# each row: a fresh database, {args.clients * args.sites_per_client} enterprises "
        f"({args.sites_per_client} per client), {args.warmup:.0f} s warm-up then {args.duration:.0f} s "
        f"measured, baseline first"
    )
    say("# latency in ms, of the 2xx answers; rate = 2xx answers per second")
    rows = [run_row(name, args, say) for name in args.rows]
    report.close()
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
