"""Every request body is bounded while it is read, per route: a declared length over the limit is refused before
a byte is read, a chunked body is cut off at the limit, and the answer is a 413 in the caller's language.

An audit grew the server by 500 MB with one anonymous 200 MB `POST /login`, because bodies were read whole
before any limit and chunked bodies bypassed the Content-Length checks. These tests send such bodies to every
route that takes one, through the test client with a stream that counts what the app read, and to a real
gunicorn, measuring the worker's memory.
"""

from __future__ import annotations

import http.client
import io
import os
import select
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support.accounts import TEST_TOKENS, auth, login
from support.databases import app_on

from recovery.settings import PROJECT_ROOT
from recovery.web.limits import BODY_KINDS, MULTIPART_OVERHEAD, body_kind

BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
#: small limits, so that the tests send little: form 1 KB, JSON 2 KB, photo 1 MB
SMALL = {"MAX_FORM_KB": 1, "MAX_BODY_KB": 2, "MAX_PHOTO_MB": 1}
#: what a reader may take past the limit before it notices (one buffer)
SLACK = 64 * 1024
ARGUMENTS = {
    "site_id": "1",
    "event_id": "1",
    "upload_id": "upload-0001",
    "day": "2021-07-29",
    "token": "0" * 32,
    "version": "1",
    "fmt": "xlsx",
    "username": "commander",
    "token_id": "1",
    "key": "T001",
    "webhook_id": "1",
    "item_id": "1",
    "review_id": "1",
}


class CountingStream(io.RawIOBase):
    """`total` bytes of JSON-ish filler that count how many were read."""

    def __init__(self, total: int) -> None:
        self.total, self.read_bytes = total, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = min(len(buffer), self.total - self.read_bytes)
        buffer[:n] = b"[" * n
        self.read_bytes += n
        return n


def _body_routes(app) -> list[tuple[str, str, str]]:
    """(method, url, endpoint) of every route that takes a body, with its arguments filled in."""
    out = []
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods & BODY_METHODS):
            url = rule.rule
            for name in rule.arguments:
                url = url.replace(f"<{name}>", ARGUMENTS[name])
                for converter in ("id", "int", "path"):
                    url = url.replace(f"<{converter}:{name}>", ARGUMENTS[name])
            out.append((method, url, rule.endpoint))
    return sorted(out)


@pytest.fixture
def small_app(db_url, tmp_path):
    yield from app_on(db_url, tmp_path, **SMALL)


def test_every_body_route_has_a_known_kind(small_app):
    routes = _body_routes(small_app)
    assert len(routes) >= 12
    kinds = {endpoint: body_kind(small_app, endpoint, url) for _method, url, endpoint in routes}
    assert set(kinds.values()) <= set(BODY_KINDS)
    assert kinds["auth.login"] == "form"
    assert kinds["photos_api.upload"] == "photo"
    assert kinds["interop_admin.import_page"] == "import"
    assert kinds["sites_api.post_event"] == "json"


def _limit(app, url: str, endpoint: str) -> int:
    return BODY_KINDS[body_kind(app, endpoint, url)](app.config["RECOVERY"])


@pytest.mark.parametrize("signed_in", [False, True], ids=["anonymous", "admin"])
def test_a_declared_length_over_the_limit_is_refused_before_reading(small_app, signed_in):
    client = small_app.test_client()
    if signed_in:
        login(client, "admin")
    for method, url, endpoint in _body_routes(small_app):
        size = _limit(small_app, url, endpoint) + 1
        stream = CountingStream(size)
        headers = {"Content-Type": "application/json"}
        if signed_in and url.startswith("/api/"):
            headers.update(auth("admin"))
        environ = {"wsgi.input": stream, "CONTENT_LENGTH": str(size)}
        response = client.open(url, method=method, headers=headers, environ_overrides=environ)
        assert stream.read_bytes == 0, (method, url)
        assert response.status_code == 413, (method, url, response.status_code)
        response.close()


@pytest.mark.parametrize("signed_in", [False, True], ids=["anonymous", "admin"])
def test_a_chunked_body_is_cut_off_at_the_limit(small_app, signed_in):
    """No Content-Length, a server that terminates the stream (gunicorn does, for chunked bodies)."""
    client = small_app.test_client()
    if signed_in:
        login(client, "admin")
    for method, url, endpoint in _body_routes(small_app):
        limit = _limit(small_app, url, endpoint)
        stream = CountingStream(limit + 10 * SLACK)
        headers = {"Content-Type": "application/json"}
        if signed_in and url.startswith("/api/"):
            headers.update(auth("admin"))
        environ = {"wsgi.input": stream, "wsgi.input_terminated": True, "HTTP_TRANSFER_ENCODING": "chunked"}
        response = client.open(url, method=method, headers=headers, environ_overrides=environ)
        assert stream.read_bytes <= limit + SLACK, (method, url, stream.read_bytes)
        if stream.read_bytes > 0:  # whatever read the body met the limit
            assert response.status_code == 413, (method, url, response.status_code)
        response.close()


def test_the_refusal_is_in_the_callers_language_and_closes_the_connection(small_app):
    client = small_app.test_client()
    body = b'{"note": "' + b"x" * 4096 + b'"}'
    response = client.post(
        "/api/v1/sites/1/events", data=body, headers={**auth("field"), "Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json["error"]["code"] == "payload_too_large"
    assert response.json["error"]["message"] == "请求内容超过2 KB。"
    assert response.headers["Connection"] == "close"
    english = client.post(
        "/api/v1/sites/1/events",
        data=body,
        headers={**auth("field"), "Content-Type": "application/json", "Accept-Language": "en"},
    )
    assert english.json["error"]["message"] in (
        "The request body is larger than 2 KB.",
        "请求内容超过2 KB。",  # the user's saved language wins over the header where one is stored
    )
    page = client.post("/login", data={"username": "x" * 4096, "password": "y"})
    assert page.status_code == 413
    assert "请求内容超过1 KB" in page.get_data(as_text=True)


def test_bodies_under_the_limit_still_work(small_app):
    client = small_app.test_client()
    response = login(client, "commander")
    assert response.status_code == 302
    big_but_allowed = {"note": "x" * 1500}
    response = client.post("/api/v1/sites/999999/events", json=big_but_allowed, headers=auth("field"))
    assert response.status_code in (404, 428)  # read and judged, not refused for its size


def test_the_import_limit_is_the_import_readers_limit_plus_the_form_envelope(small_app):
    from recovery.interop.archive import DEFAULT_LIMITS

    assert (
        _limit(small_app, "/admin/import", "interop_admin.import_page")
        == DEFAULT_LIMITS.max_upload_bytes + MULTIPART_OVERHEAD
    )


# --- a real server ------------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def _worker_pid(master: int) -> int:
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    assert len(children) == 1
    return int(children[0])


def _send_huge(port: int, head: bytes, total: int, chunked: bool) -> tuple[int, int]:
    """Send `head` and then up to `total` body bytes, stopping as soon as the server answers; (status, sent)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    piece = b"[" * 65536
    sent = 0
    try:
        sock.sendall(head)
        while sent < total:
            readable, _, _ = select.select([sock], [], [], 0)
            if readable:
                break
            try:
                if chunked:
                    sock.sendall(b"%x\r\n" % len(piece) + piece + b"\r\n")
                else:
                    sock.sendall(piece)
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += len(piece)
        sock.settimeout(30)
        answer = b""
        try:
            while b"\r\n" not in answer:
                data = sock.recv(4096)
                if not data:
                    break
                answer += data
        except ConnectionResetError:
            pass
        status = int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/") else 0
        return status, sent
    finally:
        sock.close()


@pytest.mark.slow
def test_gunicorn_worker_memory_does_not_grow_with_huge_bodies(seeded_url, tmp_path):
    port = _free_port()
    env = {
        **os.environ,
        "RECOVERY_DATABASE_URL": seeded_url,
        "RECOVERY_SECURE_COOKIES": "0",
        "RECOVERY_CLEANUP_INTERVAL_MINUTES": "0",  # no background run beside the measurement
        "RECOVERY_PHOTO_DIR": str(tmp_path / "photos"),
    }
    log = open(tmp_path / "gunicorn.log", "wb")  # noqa: SIM115 - the child keeps it
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-w", "1", "--threads", "4", "-b", f"127.0.0.1:{port}"]
        + ["recovery:create_app()"],
        env=env,
        cwd=PROJECT_ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    log.close()
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            try:
                conn.request("GET", "/login")
                if conn.getresponse().status == 200:
                    break
            except OSError:
                time.sleep(0.2)
            finally:
                conn.close()
        worker = _worker_pid(proc.pid)
        before = _rss_kb(worker)
        token = TEST_TOKENS["commander"]
        huge = 200 * 1024 * 1024
        cases = [
            ("POST /login HTTP/1.1", "application/x-www-form-urlencoded", "", False),
            ("POST /login HTTP/1.1", "application/x-www-form-urlencoded", "", True),
            ("POST /api/v1/sites HTTP/1.1", "application/json", f"Authorization: Bearer {token}\r\n", True),
            (
                "POST /api/v1/sites/1/photos HTTP/1.1",
                "image/jpeg",
                f"Authorization: Bearer {token}\r\n",
                True,
            ),
        ]
        for request_line, content_type, extra, chunked in cases:
            length = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {huge}"
            head = (
                f"{request_line}\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\n"
                f"Upload-Id: huge-upload-1\r\n{extra}{length}\r\n\r\n"
            ).encode()
            status, sent = _send_huge(port, head, huge, chunked)
            assert status == 413, (request_line, chunked, status)
            assert sent < 32 * 1024 * 1024, (request_line, chunked, sent)  # refused early, not drained
        grown_mb = (_rss_kb(worker) - before) / 1024
        assert grown_mb < 40, grown_mb
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", "/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert conn.getresponse().status == 200  # and the server goes on serving
        conn.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
