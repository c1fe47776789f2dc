"""A change to an account made in one process takes effect at once in every other process of the database
(issue 15: "a disabled user's sessions and tokens stop working at once"): SQLite's file of changes beside the
database, PostgreSQL's NOTIFY heard by each `recovery serve` worker (recovery/auth/cache.py)."""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support.accounts import TEST_TOKENS, auth
from support.databases import app_on

RECOVERY = str(Path(sys.executable).with_name("recovery"))  # the command this environment installed


@pytest.fixture
def frozen_clock(monkeypatch):
    """The cache's clock stands still: nothing here may pass because ACCOUNT_CACHE_SECONDS ran out."""
    import recovery.auth.cache as accounts

    monkeypatch.setattr(accounts, "_clock", lambda: 1000.0)


def _refused_soon(client, headers, seconds: float = 2.0) -> int:
    """How many requests until the app refuses these credentials (PostgreSQL's notice arrives on a thread of its
    own, within milliseconds)."""
    began, tries = time.monotonic(), 0
    while time.monotonic() - began < seconds:
        tries += 1
        if client.get("/api/v1/me", headers=headers).status_code == 401:
            return tries
        time.sleep(0.005)
    raise AssertionError("still accepted")


def _listening(app) -> None:
    from recovery.auth.cache import account_cache, watch_other_processes

    engine = app.extensions["recovery.engine"]
    watch_other_processes(engine)
    cache = account_cache(engine)
    deadline = time.monotonic() + 10
    while not cache.keeping and time.monotonic() < deadline:
        time.sleep(0.01)
    assert cache.keeping


def test_a_user_disabled_by_another_process_is_refused_at_once(seeded_url, tmp_path, frozen_clock):
    """Two apps on one database, each with its own engine and cache: what two worker processes have."""
    from recovery.admin.audit import command_line_actor
    from recovery.admin.users import set_user_active

    serving = app_on(seeded_url, tmp_path / "a")
    other = app_on(seeded_url, tmp_path / "b")
    app, admin_app = next(serving), next(other)
    try:
        _listening(app)
        client = app.test_client()
        assert client.get("/api/v1/me", headers=auth("reporter")).status_code == 200  # now in app's cache
        assert client.get("/api/v1/me", headers=auth("field")).status_code == 200
        with admin_app.app_context():
            from recovery.admin.users import find_user
            from recovery.db import get_session

            session = get_session()
            find_user(session, "reporter").active = False
            session.flush()
            session.rollback()  # a change that is not committed tells no one
        assert client.get("/api/v1/me", headers=auth("reporter")).status_code == 200
        with admin_app.app_context():
            session = get_session()
            set_user_active(session, command_line_actor(), "reporter", False)
            session.commit()
        waited = _refused_soon(client, auth("reporter"))
        if seeded_url.startswith("sqlite"):
            assert waited == 1  # the first request after the commit: the file of changes is asked first
        assert client.get("/api/v1/me", headers=auth("field")).status_code == 200  # others are untouched
    finally:
        for generator in (serving, other):
            next(generator, None)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _status(port: int, token: str) -> int:
    conn = http.client.HTTPConnection(
        "127.0.0.1", port, timeout=10
    )  # a new connection: any worker may take it
    try:
        conn.request("GET", "/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def test_recovery_serve_workers_refuse_a_token_revoked_from_the_command_line(seeded_url, tmp_path):
    """`recovery serve` with two worker processes; `recovery users disable` and `revoke` from a shell: a third
    process. Every worker has the account in its cache when the change is made; none answers from it after."""
    port = _free_port()
    env = {
        **os.environ,
        "RECOVERY_DATABASE_URL": seeded_url,
        "RECOVERY_SECURE_COOKIES": "0",
        "RECOVERY_CLEANUP_INTERVAL_MINUTES": "0",
        "RECOVERY_PHOTO_DIR": str(tmp_path / "photos"),
        "RECOVERY_SERVE_WORKERS": "2",
        "RECOVERY_SERVE_THREADS": "2",
    }
    log = open(tmp_path / "serve.log", "wb")  # noqa: SIM115 - the child keeps it
    command = [RECOVERY, "serve", "--port", str(port)]
    proc = subprocess.Popen(command, env=env, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT)
    log.close()

    def cli(*args: str) -> str:
        done = subprocess.run([RECOVERY, *args], env=env, cwd=tmp_path, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        return done.stdout

    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if _status(port, TEST_TOKENS["reporter"]) == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, (tmp_path / "serve.log").read_text()
            time.sleep(0.2)
        time.sleep(1.0)  # every worker up and listening
        for name in ("reporter", "field"):
            assert all(_status(port, TEST_TOKENS[name]) == 200 for _ in range(30))  # cached by every worker
        cli("users", "disable", "reporter")
        statuses = [_status(port, TEST_TOKENS["reporter"]) for _ in range(30)]
        if seeded_url.startswith("postgresql"):  # the notice may still be on its way for a few milliseconds
            statuses = statuses[5:]
        assert set(statuses) == {401}, statuses
        listed = cli("users", "tokens", "field")
        token_id = next(line.split()[0] for line in listed.splitlines()[1:] if line.split()[-1] != "revoked")
        cli("users", "revoke", token_id)
        statuses = [_status(port, TEST_TOKENS["field"]) for _ in range(30)]
        if seeded_url.startswith("postgresql"):
            statuses = statuses[5:]
        assert set(statuses) == {401}, statuses
        assert _status(port, TEST_TOKENS["commander"]) == 200
    finally:
        proc.terminate()
        proc.wait(timeout=30)
