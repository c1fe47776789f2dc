"""Crash test: SIGKILL the real server while 50 clients post updates with retries; every acknowledged update is
stored exactly once.

The server is gunicorn in its own process group (what production runs), on a loopback port. Each client owns
one enterprise and walks it through `stopped` and then `partly_restarted` at changing capacities, with a fresh
Idempotency-Key per update; on a refused connection, a timeout or a 5xx it sends the same request again (same
key, same If-Match, same body) until it gets an answer. An update whose first attempt committed just before the
kill must come back as the original 201 (replayed); one that did not commit is stored by the retry.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from support.accounts import TEST_TOKENS
from support.ledger import report_site

from recovery.db.engine import make_engine
from recovery.ledger.bulk import verify
from recovery.models import Event, Site
from recovery.models_accounts import IdempotencyRecord, User
from recovery.settings import PROJECT_ROOT
from recovery.sites import draft_site
from recovery.timeutil import now

pytestmark = pytest.mark.slow

CLIENTS = 50
#: the whole test, server start-ups included, ends within this many seconds
BUDGET_S = 120
REQUEST_TIMEOUT_S = 10
RETRY_PAUSE_S = 0.05


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """gunicorn serving `recovery:create_app()` in a process group of its own, so that SIGKILL takes it whole."""

    def __init__(self, url: str, port: int, folder: Path) -> None:
        self.port, self.folder = port, folder
        self.env = {
            **os.environ,
            "RECOVERY_DATABASE_URL": url,
            "RECOVERY_SECURE_COOKIES": "0",
            "RECOVERY_CLEANUP_INTERVAL_MINUTES": "0",  # no background run beside the measurement
            "RECOVERY_PHOTO_DIR": str(folder / "photos"),
        }
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    def start(self, deadline: float) -> None:
        self.starts += 1
        log = open(self.folder / f"gunicorn-{self.starts}.log", "wb")  # noqa: SIM115 - the child keeps it
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            "-w",
            "2",
            "--threads",
            "4",
            "-b",
            f"127.0.0.1:{self.port}",
        ]
        self.proc = subprocess.Popen(
            [*command, "recovery:create_app()"],
            env=self.env,
            cwd=PROJECT_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"the server exited at start:\n{self.log()}")
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
            try:
                conn.request("GET", "/api/v1/me", headers={"Authorization": f"Bearer {TEST_TOKENS['field']}"})
                if conn.getresponse().status == 200:
                    return
            except (OSError, http.client.HTTPException):
                pass
            finally:
                conn.close()
            time.sleep(0.1)
        pytest.fail(f"the server did not answer within the time budget:\n{self.log()}")

    def kill(self) -> None:
        if self.proc is None or self.proc.poll() is not None and not self._group_alive():
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)
        # the workers are in the group too; wait until none is left holding the port or the database
        for _ in range(100):
            if not self._group_alive():
                break
            time.sleep(0.05)

    def _group_alive(self) -> bool:
        try:
            os.killpg(self.proc.pid, 0)
        except (ProcessLookupError, PermissionError):
            return False
        return True

    def log(self) -> str:
        return "\n".join(
            p.read_text(errors="replace")[-3000:] for p in sorted(self.folder.glob("gunicorn-*.log"))
        )


@dataclass
class Ack:
    key: str
    status: str
    capacity_pct: float | None
    etag: str
    replayed: bool


@dataclass
class Client:
    """One field worker's phone: updates its own site in order, retrying each update until it is answered."""

    base: str
    site_id: int
    version: int
    stop: threading.Event
    deadline: float
    acks: list[Ack] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    retries: int = 0

    def next_change(self) -> dict:
        if not self.acks:
            return {"status": "stopped", "note": "停产"}
        capacity = 5 + (len(self.acks) * 7) % 95
        return {
            "status": "partly_restarted",
            "measures": {"capacity_pct": capacity},
            "note": f"复工{capacity}%",
        }

    def run(self) -> None:
        try:
            while not self.stop.is_set() and time.monotonic() < self.deadline:
                body = self.next_change()
                key = uuid.uuid4().hex
                answer = self.post(body, key)
                if answer is None:
                    return
                status, payload, headers = answer
                if status != 201:
                    self.failures.append(f"site {self.site_id}: {status} {payload}")
                    return
                etag = headers["ETag"]
                self.acks.append(
                    Ack(
                        key,
                        body["status"],
                        (body.get("measures") or {}).get("capacity_pct"),
                        etag,
                        headers.get("Idempotent-Replayed") == "true",
                    )
                )
                self.version = int(etag.strip('"'))
        except Exception as exc:  # a failure in a thread must reach the test, not vanish
            self.failures.append(f"site {self.site_id}: {exc!r}")

    def post(self, body: dict, key: str) -> tuple[int, dict, dict] | None:
        """Send until answered: the same key, If-Match and body on every attempt."""
        data = json.dumps(body).encode()
        headers = {
            "Authorization": f"Bearer {TEST_TOKENS['field']}",
            "Content-Type": "application/json",
            "If-Match": f'"{self.version}"',
            "Idempotency-Key": key,
        }
        while time.monotonic() < self.deadline:
            request = urllib.request.Request(
                f"{self.base}/api/v1/sites/{self.site_id}/events", data=data, headers=headers, method="POST"
            )
            try:
                with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT_S) as response:
                    return response.status, json.loads(response.read()), dict(response.headers)
            except urllib.error.HTTPError as error:
                with error:
                    if error.code < 500:
                        return error.code, json.loads(error.read() or b"{}"), dict(error.headers)
            except (OSError, http.client.HTTPException):
                pass  # refused, reset, timed out, cut mid-answer: the server is down or dying
            self.retries += 1
            time.sleep(RETRY_PAUSE_S)
        self.failures.append(f"site {self.site_id}: no answer to {key} before the deadline")
        return None


def make_sites(url: str, geodata, count: int) -> tuple[int, list[int]]:
    """`count` operating enterprises in fengyang (the test field user's scope); returns (user id, site ids)."""
    point = geodata.subdistrict("fengyang").geometry.representative_point()
    engine = make_engine(url)
    try:
        with Session(engine, expire_on_commit=False) as session:
            user_id = session.scalar(select(User.id).where(User.username == "field"))
            ids = []
            for i in range(count):
                draft = draft_site(
                    "enterprise",
                    f"枫杨测试企业{i:02d}",
                    {"type": "Point", "coordinates": [point.x + i * 1e-5, point.y]},
                    attributes={"industry": "机械", "above_size": i % 2 == 0, "employees": 100 + i},
                )
                site, _ = report_site(
                    session, draft, geodata, actor="测试", valid_at=now() - timedelta(hours=1)
                )
                ids.append(site.id)
            return user_id, ids
    finally:
        engine.dispose()


def wait_for(condition, until: float, pause: float = 0.05) -> None:
    while not condition() and time.monotonic() < until:
        time.sleep(pause)


def test_sigkill_under_load_loses_and_duplicates_nothing(db_url, tmp_path, geodata):
    deadline = time.monotonic() + BUDGET_S
    user_id, site_ids = make_sites(db_url, geodata, CLIENTS)
    server = Server(db_url, free_port(), tmp_path)
    stop = threading.Event()
    clients = [
        Client(f"http://127.0.0.1:{server.port}", site_id, 1, stop, deadline - 15) for site_id in site_ids
    ]
    threads = [threading.Thread(target=c.run, daemon=True) for c in clients]

    def acknowledged() -> int:
        return sum(len(c.acks) for c in clients)

    try:
        server.start(deadline)
        for thread in threads:
            thread.start()
        # kill in full flight: after a second and a good number of answered updates
        started = time.monotonic()
        wait_for(lambda: acknowledged() >= 150 and time.monotonic() - started >= 1.0, deadline - 60)
        before_kill = acknowledged()
        server.kill()
        time.sleep(0.5)
        server.start(deadline - 30)
        # let the clients get through the outage and make progress on the restarted server
        wait_for(lambda: acknowledged() >= before_kill + 300, deadline - 25)
        stop.set()
        for thread in threads:
            thread.join(timeout=max(0.1, deadline - 10 - time.monotonic()))
        assert not any(t.is_alive() for t in threads), "clients still running at the deadline"
    finally:
        stop.set()
        server.kill()

    failures = [f for c in clients for f in c.failures]
    assert not failures, "\n".join(failures[:20]) + "\n" + server.log()
    acks = {c.site_id: c.acks for c in clients}
    total = sum(len(a) for a in acks.values())
    replayed = sum(a.replayed for site_acks in acks.values() for a in site_acks)
    retried = sum(c.retries for c in clients)
    print(
        f"{total} updates acknowledged ({before_kill} before the kill), {retried} retried attempts, "
        f"{replayed} answered by replay"
    )
    assert before_kill > 0 and total > before_kill and retried > 0, "the kill did not happen under load"

    engine = make_engine(db_url)
    try:
        with Session(engine) as session:
            rows = session.execute(
                select(Event.site_id, Event.client_id, Event.to_status, Event.level, Event.flag).where(
                    Event.site_id.in_(site_ids), Event.action != "report"
                )
            ).all()
            stored = Counter(row.client_id for row in rows)
            acked_ids = {f"u{user_id}:{a.key}" for site_acks in acks.values() for a in site_acks}
            duplicated = sorted(k for k, n in stored.items() if n > 1)
            assert not duplicated, f"stored more than once: {duplicated[:10]}"
            assert not acked_ids - set(stored), (
                f"acknowledged but lost: {sorted(acked_ids - set(stored))[:10]}"
            )
            # every client retried until answered, so nothing may be stored that was not acknowledged either
            assert not set(stored) - acked_ids, (
                f"stored, never acknowledged: {sorted(set(stored) - acked_ids)[:10]}"
            )
            per_site_keys = Counter((row.site_id, row.client_id) for row in rows)
            assert max(per_site_keys.values()) == 1
            assert all(row.flag is None for row in rows)
            records = session.scalars(
                select(IdempotencyRecord.key).where(IdempotencyRecord.user_id == user_id)
            ).all()
            assert Counter(records) == Counter(a.key for site_acks in acks.values() for a in site_acks)
            for site_id, site_acks in acks.items():
                site = session.get(Site, site_id)
                last = site_acks[-1]
                assert (site.status, site.version) == (last.status, int(last.etag.strip('"'))), site_id
                if last.capacity_pct is not None:
                    assert site.capacity_pct == pytest.approx(last.capacity_pct)
                assert len([r for r in rows if r.site_id == site_id]) == len(site_acks)
            assert verify(session) == []
    finally:
        engine.dispose()
