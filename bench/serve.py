"""`recovery serve` (the production server) beside a bare Flask app on the same gunicorn configuration.

Two requests are measured with wrk (a C client) through the real command, `recovery serve`, on a fresh database
with a field user and an API token: a cheap authenticated GET, `GET /api/v1/me` with a bearer token (policy,
token lookup, CSRF token, request id, log line, counters, security headers), and a static file
(`/static/app.css`). The baseline, in the same run, is a Flask app with no extension at all, served by
`recovery.serving.Server` with the same gunicorn options (the same workers, threads, worker class, logging
set-up): its `/api/v1/me` returns the same keys without looking anything up, and it serves the same static
folder. Both servers run at once, idle but for the one measured; each request is measured on each in turn, for
`--rounds` rounds (the first server alternates), and the ratio of the medians recovery ÷ bare is printed per
request with the range of the rounds' ratios (target ≥ 0.7).

`--sweep 1x2,1x4,1x8` measures through `recovery serve` with each WORKERSxTHREADS instead, each on a fresh
database: `/api/v1/me` with wrk, then status updates from `--writers` clients (bench/updates.py's clients: If-Match,
Idempotency-Key, the ledger's write transaction), where threads matter (a request waiting for the write lock or
an fsync holds its thread): how the defaults of RECOVERY_SERVE_WORKERS and RECOVERY_SERVE_THREADS were chosen.

    .venv/bin/python bench/serve.py                              # SQLite, the default worker model
    .venv/bin/python bench/serve.py --backend postgresql         # PostgreSQL, its default worker model
    .venv/bin/python bench/serve.py --sweep 1x1,1x2,1x4,1x8,1x16  # the thread count on SQLite
    .venv/bin/python bench/serve.py --duration 3 --warmup 1      # smoke test
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

from updates import _WRK_UNITS, DEFAULT_PG_URL, PROJECT_ROOT, RESULTS_DIR, free_port, fresh_database, prepare
from updates import measure as measure_updates

from recovery.serving import Server, gunicorn_options, worker_model

STATIC = "/static/app.css"
TARGET = 0.7


def bare_app():
    """A Flask app with no extension: the same two addresses, nothing checked, nothing looked up."""
    from flask import Flask, jsonify

    app = Flask("bare", static_folder=str(PROJECT_ROOT / "recovery" / "static"))

    @app.get("/api/v1/me")
    def me():
        return jsonify(
            {
                "username": "bench_field",
                "display_name": "bench_field",
                "role": "field",
                "subdistricts": ["fengyang"],
                "team_ids": [],
                "csrf_token": "x" * 91,
            }
        )

    @app.get("/healthz")
    def healthz():
        return jsonify({"status": "ok"})

    return app


class BareServer(Server):
    def load(self):
        return bare_app()


class Running:
    """A server process in its own process group, up once /healthz answers; stopped with SIGTERM."""

    def __init__(self, command: list[str], env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.command = [part.replace("{port}", str(self.port)) for part in command]
        self.env, self.log = env, log

    def __enter__(self) -> Running:
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
                    time.sleep(1)  # every worker has imported the app by now (they start together)
                    return self
            except (OSError, http.client.HTTPException):
                time.sleep(0.2)
            finally:
                conn.close()
        raise RuntimeError(f"the server did not answer within 60 s; see {self.log}")

    def __exit__(self, *exc) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=30)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


def wrk(port: int, path: str, token: str, args, duration: float) -> dict:
    out = subprocess.run(
        ["wrk", "-t2", f"-c{args.connections}", f"-d{duration:.0f}s", "--latency",
         "-H", f"Authorization: Bearer {token}", f"http://127.0.0.1:{port}{path}"],
        capture_output=True, text=True, timeout=duration + 60, check=True,
    ).stdout  # fmt: skip
    latency = {
        p: float(v) * _WRK_UNITS[u]
        for p, v, u in re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
    }
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return {
        "rate": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50_ms": latency.get("50", float("nan")),
        "p99_ms": latency.get("99", float("nan")),
        "errors": int(non_2xx.group(1)) if non_2xx else 0,
    }


def measure(port: int, path: str, token: str, args) -> dict:
    wrk(port, path, token, args, args.warmup)
    return wrk(port, path, token, args, args.duration)


def median_result(results: list[dict]) -> dict:
    def median(values: list[float]) -> float:
        values = sorted(values)
        return values[len(values) // 2] if len(values) % 2 else sum(values[len(values) // 2 - 1 :][:2]) / 2

    return {key: median([r[key] for r in results]) for key in ("rate", "p50_ms", "p99_ms", "errors")}


def recovery_command(workers: int, threads: int) -> list[str]:
    return [str(Path(sys.executable).parent / "recovery"), "serve", "--port", "{port}",
            "--workers", str(workers), "--threads", str(threads)]  # fmt: skip


def line(name: str, result: dict) -> str:
    return (
        f"{name:<28} {result['rate']:>9.0f}/s  p50 {result['p50_ms']:7.2f} ms  p99 {result['p99_ms']:7.2f} ms"
        f"  non-2xx {result['errors']}"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument(
        "--pg-url", default=DEFAULT_PG_URL.replace("recovery_bench_updates", "recovery_bench_serve")
    )
    parser.add_argument("--workers", type=int, default=0, help="0: recovery serve's default for the database")
    parser.add_argument("--threads", type=int, default=0, help="0: recovery serve's default for the database")
    parser.add_argument("--sweep", default="", help="comma-separated WORKERSxTHREADS to compare instead")
    parser.add_argument("--connections", type=int, default=32, help="wrk's open connections")
    parser.add_argument("--writers", type=int, default=20, help="clients posting status updates (--sweep)")
    parser.add_argument(
        "--rounds", type=int, default=3, help="rounds of the comparison or the sweep (medians printed)"
    )
    parser.add_argument(
        "--duration", type=float, default=10.0, help="seconds measured per server, request and round"
    )
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of load before each measurement")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR / "serve.txt", help="copy of the report")
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (apt-get install wrk)")

    args.out.parent.mkdir(parents=True, exist_ok=True)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)  # the servers' logs
    report = open(args.out, "w", encoding="utf-8")  # noqa: SIM115 - closed at the end

    def say(text: str = "") -> None:
        print(text, flush=True)
        report.write(text + "\n")

    import gunicorn

    url = fresh_database(args.backend, args.pg_url)
    token, _ = prepare(url, 0)
    model = worker_model(args.backend == "sqlite", args.workers, args.threads)
    env = {
        **os.environ,
        "RECOVERY_DATABASE_URL": url,
        "RECOVERY_SECURE_COOKIES": "0",
        "RECOVERY_CLEANUP_INTERVAL_MINUTES": "0",
        "PYTHONPATH": str(Path(__file__).resolve().parent),
    }
    say(f"# bench/serve.py  {datetime.now().astimezone():%Y-%m-%d %H:%M %Z}")
    say(
        f"# machine: {os.cpu_count()} cores ({platform.processor() or platform.machine()}), Python "
        f"{platform.python_version()}, gunicorn {gunicorn.__version__}; backend {args.backend}"
    )
    say(
        f"# load: wrk -t2 -c{args.connections}, keep-alive, on the same cores; {args.warmup:.0f} s warm-up, "
        f"{args.duration:.0f} s measured per server and request; log lines written to a file"
    )
    if args.sweep:
        say(
            f"# recovery serve by workers x threads: GET /api/v1/me (wrk), then updates from {args.writers} clients"
        )
        writers = argparse.Namespace(
            clients=args.writers, processes=4, duration=args.duration, warmup=args.warmup
        )
        pairs = [tuple(int(n) for n in pair.lower().split("x")) for pair in args.sweep.split(",")]
        rows: dict[tuple[int, int], list[tuple[dict, dict]]] = {pair: [] for pair in pairs}
        for round_ in range(args.rounds):  # round-robin, so that a noisy minute does not hit one row only
            for workers, threads in pairs:
                url = fresh_database(args.backend, args.pg_url)
                token, site_ids = prepare(url, args.writers * 5)
                command = recovery_command(workers, threads)
                log = RESULTS_DIR / f"serve-{workers}x{threads}.log"
                with Running(command, {**env, "RECOVERY_DATABASE_URL": url}, log) as server:
                    me = measure(server.port, "/api/v1/me", token, args)
                    updates = measure_updates(server.port, token, site_ids, "updates", writers)
                    updates["errors"] = sum(updates["errors"].values())
                rows[(workers, threads)].append((me, updates))
                say(line(f"{workers} x {threads}  me  (round {round_ + 1})", me))
                say(line(f"{workers} x {threads}  updates  (round {round_ + 1})", updates))
        say(f"# medians of {args.rounds} round(s)")
        for (workers, threads), results in rows.items():
            for i, what in enumerate(("me", "updates")):
                say(line(f"{workers} x {threads}  {what}", median_result([r[i] for r in results])))
        report.close()
        return
    say(
        f"# gunicorn gthread, {model.workers} worker(s) x {model.threads} threads, for both servers; both up, "
        f"measured in turn, {args.rounds} round(s) (the first server of a round alternates)"
    )
    results: dict[tuple[str, str], list[dict]] = {}
    bare = [sys.executable, str(Path(__file__).resolve()), "--serve-bare", "{port}",
            str(model.workers), str(model.threads)]  # fmt: skip
    commands = {"recovery": recovery_command(model.workers, model.threads), "bare": bare}
    with contextlib.ExitStack() as stack:
        servers = {
            name: stack.enter_context(Running(command, env, RESULTS_DIR / f"serve-{name}.log"))
            for name, command in commands.items()
        }
        for round_ in range(args.rounds):  # in turn, so that a noisy minute does not hit one server only
            order = list(servers) if round_ % 2 == 0 else list(reversed(servers))
            for path in ("/api/v1/me", STATIC):
                for name in order:
                    result = measure(servers[name].port, path, token, args)
                    results.setdefault((name, path), []).append(result)
                    say(line(f"{name} {path}  (round {round_ + 1})", result))
    say(f"# medians of {args.rounds} round(s)")
    for (name, path), rows in results.items():
        say(line(f"{name} {path}", median_result(rows)))
    for path in ("/api/v1/me", STATIC):
        mine, theirs = results[("recovery", path)], results[("bare", path)]
        ratio = median_result(mine)["rate"] / median_result(theirs)["rate"]
        each = sorted(a["rate"] / b["rate"] for a, b in zip(mine, theirs, strict=True))
        verdict = "met" if ratio >= TARGET else "missed"
        say(
            f"ratio recovery / bare  {path:<18} {ratio:.2f}  (rounds {each[0]:.2f}–{each[-1]:.2f}; "
            f"target ≥ {TARGET}: {verdict})"
        )
    report.close()


def serve_bare(port: str, workers: str, threads: str) -> None:
    model = worker_model(True, int(workers), int(threads))
    BareServer(gunicorn_options("127.0.0.1", int(port), model)).run()


if __name__ == "__main__":
    if sys.argv[1:2] == ["--serve-bare"]:
        serve_bare(*sys.argv[2:5])
    else:
        main()
