"""`recovery serve` for real: gunicorn started by the command on SQLite, its JSON log lines, a graceful reload on
HUP (new worker, still serving), and `--dev` (issue 15)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from recovery.settings import PROJECT_ROOT

pytestmark = pytest.mark.slow

RECOVERY = str(Path(sys.executable).parent / "recovery")
START_TIMEOUT_S = 60


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(port: int, path: str, headers: dict | None = None) -> tuple[int, dict, str]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read().decode()


def wait_until(condition, what: str, timeout: float = START_TIMEOUT_S):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            found = condition()
        except OSError:
            found = None
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def worker_pids(port: int) -> set[str]:
    import re

    status, _, body = get(port, "/metrics")
    assert status == 200
    return set(re.findall(r'recovery_process_start_time_seconds\{worker="(\d+)"\}', body))


@pytest.fixture
def served(sqlite_templates, tmp_path):
    """Start `recovery serve` with the given arguments on a fresh SQLite database; stop its process group."""
    started = []

    def start(*args: str) -> tuple[subprocess.Popen, int, Path]:
        port = free_port()
        log = tmp_path / f"serve-{port}.log"
        env = {
            **os.environ,
            "RECOVERY_DATABASE_URL": sqlite_templates.fresh(tmp_path, seeded=False),
            "RECOVERY_SECURE_COOKIES": "0",
            "RECOVERY_CLEANUP_INTERVAL_MINUTES": "0",
            "RECOVERY_PHOTO_DIR": str(tmp_path / "photos"),
            "RECOVERY_METRICS_ALLOW": "127.0.0.1",
        }
        with open(log, "wb") as out:
            proc = subprocess.Popen(
                [RECOVERY, "serve", "--port", str(port), *args],
                env=env,
                cwd=PROJECT_ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        started.append(proc)
        wait_until(lambda: proc.poll() is None and get(port, "/healthz")[0] == 200, "/healthz")
        return proc, port, log

    yield start
    for proc in started:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def test_serve_runs_gunicorn_and_reloads_gracefully_on_hup(served):
    proc, port, log = served()
    status, headers, body = get(port, "/healthz", {"X-Request-ID": "serve-test-1"})
    assert status == 200 and json.loads(body) == {"status": "ok"}
    assert headers["Server"].startswith("gunicorn") and headers["X-Request-ID"] == "serve-test-1"
    assert get(port, "/readyz")[0] == 200
    before = worker_pids(port)
    assert len(before) == 1  # SQLite: one process (with threads)

    os.kill(proc.pid, signal.SIGHUP)  # the command's process is gunicorn's master
    after = wait_until(
        lambda: (pids := worker_pids(port)) and pids.isdisjoint(before) and pids, "a new worker"
    )
    assert len(after) == 1 and proc.poll() is None
    assert get(port, "/healthz")[0] == 200

    lines = [
        json.loads(line) for line in log.read_text(encoding="utf-8").splitlines() if line.startswith("{")
    ]
    access = [line for line in lines if line["logger"] == "recovery.access"]
    first = next(line for line in access if line["request_id"] == "serve-test-1")
    assert (first["method"], first["path"], first["status"], first["remote_addr"]) == (
        "GET",
        "/healthz",
        200,
        "127.0.0.1",
    )
    assert any(line["logger"] == "gunicorn.error" and "hup" in line["msg"].lower() for line in lines)
    # every line written is JSON: the access log is the app's line, gunicorn's own is off
    assert all(line.startswith("{") for line in log.read_text(encoding="utf-8").splitlines()[1:])


def test_serve_takes_workers_and_threads(served):
    _, port, _ = served("--workers", "2", "--threads", "2")
    seen: set[str] = set()  # each scrape reaches one worker, which reports its own counters
    wait_until(lambda: seen.update(worker_pids(port)) or len(seen) == 2, "both workers answering", timeout=30)
    assert len(seen) == 2


def test_serve_dev_runs_flasks_server_with_the_reloader(served):
    _, port, _ = served("--dev")
    status, headers, _ = get(port, "/healthz")
    assert status == 200 and headers["Server"].startswith("Werkzeug")
