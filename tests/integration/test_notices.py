"""Notices of work-order steps (issue 14) on both databases: in-app notices per recipient (never the actor), the
unread count and marking read; webhook messages in each robot's format and signature, checked by a local HTTP
receiver (127.0.0.1 only); retries with backoff, dead after the limit, two workers sharing the outbox, a worker
killed mid-delivery; refused addresses and non-admins."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from support.accounts import auth, bearer, csrf_token, login
from support.databases import own_session

from recovery.admin.models import AuditEntry
from recovery.auth.accounts import create_user, issue_token
from recovery.models import Event, WorkItem
from recovery.models_accounts import User
from recovery.notices import notify
from recovery.notices.models import Delivery, Notice, OutboxMessage, Webhook
from recovery.notices.worker import WorkerConfig, run
from recovery.timeutil import now

ADMIN = auth("admin")
PASSWORD = "a long enough password 7"


def _engine(app):
    return app.extensions["recovery.engine"]


def _unit_user(app, name: str, unit: str = "urban_management", active: bool = True) -> tuple[int, str]:
    """A user of role `unit` and an API token of theirs."""
    with own_session(app) as session:
        user = create_user(session, name, "unit", PASSWORD, unit=unit)
        token = issue_token(session, user, "tests", days=30)
        if not active:
            user.active = False
            session.commit()
        return user.id, token


def _user_id(app, username: str) -> int:
    with own_session(app) as session:
        return session.scalar(select(User.id).where(User.username == username))


def _work_item(session: Session, key: str = "WI-000123", unit: str = "urban_management") -> WorkItem:
    at = now()
    item = WorkItem(
        key=key,
        category="supervision",
        title="中原路塌陷点 <b>围挡</b> [link](http://x)",
        responsible_unit=unit,
        opened_at=at,
        feedback_due=at + timedelta(days=3),
        resolve_due=at + timedelta(days=7),
    )
    session.add(item)
    session.flush()
    return item


def _step(session: Session, item: WorkItem, action: str = "return") -> Event:
    at = now()
    event = Event(
        body_hash="0" * 64,
        action=f"work_item_{action}",
        work_item_id=item.id,
        actor="指挥中心",
        valid_at=at,
        recorded_at=at,
    )
    session.add(event)
    session.flush()
    return event


def _notify(
    app,
    *,
    action="return",
    units=("urban_management",),
    actor_id=None,
    roles=(),
    user_ids=(),
    item_key="WI-000123",
    events=1,
):
    """One work item and `events` steps of it, each notified in its own transaction; the event ids."""
    ids = []
    with own_session(app) as session:
        item = session.scalar(select(WorkItem).where(WorkItem.key == item_key)) or _work_item(
            session, item_key
        )
        for _ in range(events):
            event = _step(session, item, action)
            notify(
                session,
                event_id=event.id,
                work_item_id=item.id,
                action=action,
                item_key=item.key,
                title=item.title,
                actor_id=actor_id,
                units=units,
                roles=roles,
                user_ids=user_ids,
                note="请于今日内补充照片",
            )
            ids.append(event.id)
        session.commit()
    return ids


class Receiver:
    """A webhook receiver on 127.0.0.1: records every request; answers by `self.answer(request)` → (status,
    JSON); `stall` holds the answer to requests whose body contains it until `release` is set."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.lock = threading.Lock()
        self.answer = lambda request: (200, {"errcode": 0, "errmsg": "ok", "code": 0})
        self.stall: str | None = None
        self.stalled = threading.Event()
        self.release = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - the http.server API
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                request = {"path": self.path, "headers": dict(self.headers), "body": body}
                with receiver.lock:
                    receiver.requests.append(request)
                if receiver.stall and receiver.stall.encode() in body:
                    receiver.stalled.set()
                    receiver.release.wait(60)
                status, answer = receiver.answer(request)
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):  # quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_port}{path}"

    def to(self, prefix: str) -> list[dict]:
        with self.lock:
            return [r for r in self.requests if r["path"].startswith(prefix)]


@pytest.fixture
def receiver():
    r = Receiver()
    r.thread.start()
    yield r
    r.release.set()
    r.server.shutdown()
    r.server.server_close()


def _add_hook(client, unit: str, kind: str, url: str, secret: str = "") -> dict:
    response = client.post(
        "/api/v1/admin/webhooks",
        headers=ADMIN,
        json={"unit": unit, "kind": kind, "url": url, "secret": secret},
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()["webhook"]


def _config(**changes) -> WorkerConfig:
    return WorkerConfig(**({"timeout": 5, "max_attempts": 4, "backoff": 10, "lease": 60} | changes))


def _messages(app) -> list[OutboxMessage]:
    with own_session(app) as session:
        return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def _deliveries(app, message_id: int) -> list[Delivery]:
    with own_session(app) as session:
        return list(
            session.scalars(select(Delivery).where(Delivery.message_id == message_id).order_by(Delivery.id))
        )


# -- in-app notices -----------------------------------------------------------------------------------------------


def test_a_step_notifies_each_recipient_once_and_never_the_actor(app):
    actor, _ = _unit_user(app, "um-actor")
    colleague, _ = _unit_user(app, "um-colleague")
    _unit_user(app, "um-gone", active=False)
    other_unit, _ = _unit_user(app, "commerce-1", unit="commerce")
    commander = _user_id(app, "commander")
    reporter = _user_id(app, "reporter")
    (event_id,) = _notify(app, actor_id=actor, roles=("commander",), user_ids=(reporter, actor))
    with own_session(app) as session:
        got = {n.user_id: n for n in session.scalars(select(Notice).where(Notice.event_id == event_id))}
    # the unit's other active user, the commanders and the user named; not the actor (even when named), not a
    # disabled user, not another unit's user
    with own_session(app) as session:
        already = set(  # the unit's users the test databases hold already
            session.scalars(select(User.id).where(User.unit == "urban_management", User.active.is_(True)))
        ) - {actor, colleague}
    assert set(got) == {colleague, commander, reporter, *already}
    assert other_unit not in got and actor not in got
    assert got[colleague].action == "return" and got[colleague].params["unit"] == "urban_management"
    assert got[colleague].read_at is None
    # the same step notified again (a retried door): nothing twice
    with own_session(app) as session:
        item = session.scalar(select(WorkItem))
        notify(
            session,
            event_id=event_id,
            work_item_id=item.id,
            action="return",
            item_key=item.key,
            title=item.title,
            actor_id=actor,
            units=("urban_management",),
            roles=("commander",),
        )
        session.commit()
        assert session.query(Notice).filter(Notice.event_id == event_id).count() == len(got)


def test_unknown_action_is_refused():
    with pytest.raises(ValueError, match="unknown notice action"):
        notify(None, event_id=1, work_item_id=1, action="explode", item_key="", title="", actor_id=None)


def test_my_notices_in_my_language_unread_count_and_mark_read(app, client):
    me, token = _unit_user(app, "um-reader")
    other, other_token = _unit_user(app, "um-other")
    _notify(app, action="open", events=1)
    _notify(app, action="return", events=2)
    mine = bearer(token)
    zh = client.get("/api/v1/notices", headers=mine | {"Accept-Language": "zh-CN"}).get_json()
    assert zh["count"] == 3 and zh["unread"] == 3
    newest = zh["notices"][0]
    assert newest["text"] == "WI-000123 城市管理局 被退回：中原路塌陷点 <b>围挡</b> [link](http://x)"
    assert (
        newest["note"] == "说明：请于今日内补充照片"
        and newest["link"] == f"/work-items/{newest['work_item_id']}"
    )
    assert [n["id"] for n in zh["notices"]] == sorted((n["id"] for n in zh["notices"]), reverse=True)
    en = client.get("/api/v1/notices", headers=mine | {"Accept-Language": "en"}).get_json()
    assert en["notices"][-1]["text"].startswith("WI-000123 assigned to Urban Management Bureau: ")
    # paging back by id
    first = client.get("/api/v1/notices?limit=2", headers=mine).get_json()
    assert first["count"] == 2 and first["next_before"] == first["notices"][-1]["id"]
    rest = client.get(f"/api/v1/notices?limit=2&before={first['next_before']}", headers=mine).get_json()
    assert rest["count"] == 1 and rest["next_before"] is None
    # mark one read; another user's id is ignored
    theirs = client.get("/api/v1/notices", headers=bearer(other_token)).get_json()["notices"][0]["id"]
    marked = client.post("/api/v1/notices/read", headers=mine, json={"ids": [newest["id"], theirs]})
    assert marked.status_code == 200 and marked.get_json() == {"marked": 1, "unread": 2}
    assert client.get("/api/v1/notices/unread", headers=bearer(other_token)).get_json() == {"unread": 3}
    unread = client.get("/api/v1/notices?unread=1", headers=mine).get_json()
    assert newest["id"] not in [n["id"] for n in unread["notices"]] and unread["count"] == 2
    # bad bodies: a clear 400, nothing marked
    for body in ({"ids": "1"}, {"ids": [True]}, {"ids": [1.5]}, {}, {"all": "yes"}):
        refused = client.post("/api/v1/notices/read", headers=mine | {"Accept-Language": "zh-CN"}, json=body)
        assert refused.status_code == 400, body
        assert refused.get_json()["error"]["message"]
    assert client.get("/api/v1/notices?unread=2", headers=mine).status_code == 400
    assert client.get("/api/v1/notices/unread", headers=mine).get_json() == {"unread": 2}
    everything = client.post("/api/v1/notices/read", headers=mine, json={"all": True}).get_json()
    assert everything == {"marked": 2, "unread": 0}
    assert client.get("/api/v1/notices", headers=mine).status_code == 200
    assert client.get("/api/v1/notices").status_code == 401


def test_the_notices_page_and_the_badge(app):
    me, _ = _unit_user(app, "um-page")
    _notify(app, action="remind", events=2)
    browser = app.test_client()
    assert login(browser, "um-page", PASSWORD).status_code == 302
    page = browser.get("/notices", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "WI-000123 催办 城市管理局：" in page and "&lt;b&gt;围挡&lt;/b&gt;" in page  # user text escaped
    assert page.count('class="unread"') == 2 and 'aria-label="2 条未读"' in page
    assert "/work-items/" in page
    token = csrf_token(page)
    assert browser.post("/notices/read", data={"csrf_token": token}).status_code == 302
    after = browser.get("/notices").get_data(as_text=True)
    assert 'class="unread"' not in after and 'class="badge"' not in after and 'class="read"' in after
    assert browser.post("/notices/read", data={}).status_code == 400  # no CSRF token


# -- webhooks: formats and signatures -----------------------------------------------------------------------------


def test_each_robot_gets_its_format_and_signature(app, client, receiver):
    hooks = {
        "wecom": _add_hook(client, "城市管理局", "企业微信", receiver.url("/wecom/send?key=abc-123-secret")),
        "dingtalk": _add_hook(
            client,
            "urban_management",
            "dingtalk",
            receiver.url("/ding/robot/send?access_token=tok"),
            "SECding-secret",
        ),
        "feishu": _add_hook(
            client,
            "urban_management",
            "feishu",
            receiver.url("/feishu/hook/0123456789abcdef0123"),
            "fs-secret",
        ),
        "generic": _add_hook(
            client, "urban_management", "generic", receiver.url("/generic"), "generic-secret"
        ),
    }
    _add_hook(client, "commerce", "generic", receiver.url("/other-unit"))
    # secrets never shown whole; WeCom's key in the address masked
    listed = client.get("/api/v1/admin/webhooks", headers=ADMIN).get_json()
    assert "ding-secret" not in json.dumps(listed) and "abc-123-secret" not in json.dumps(listed)
    assert hooks["dingtalk"]["secret"].startswith("••••")
    (event_id,) = _notify(app, action="return")
    tally = run(_engine(app), _config(), once=True)
    assert tally.sent == 4 and tally.failed == 0
    assert receiver.to("/other-unit") == []  # another unit's webhook hears nothing

    (wecom,) = receiver.to("/wecom/")
    body = json.loads(wecom["body"])
    assert body["msgtype"] == "markdown" and "WI-000123 城市管理局 被退回" in body["markdown"]["content"]
    assert "[link]" not in body["markdown"]["content"]  # user text cannot make a link in the robot's markdown
    assert parse_qs(urlsplit(wecom["path"]).query)["key"] == ["abc-123-secret"]

    (ding,) = receiver.to("/ding/")
    query = parse_qs(urlsplit(ding["path"]).query)
    stamp = query["timestamp"][0]
    expected = base64.b64encode(
        hmac.new(b"SECding-secret", f"{stamp}\nSECding-secret".encode(), hashlib.sha256).digest()
    ).decode()
    assert query["sign"] == [expected] and query["access_token"] == ["tok"]
    assert abs(int(stamp) - time.time() * 1000) < 3_600_000  # milliseconds, as DingTalk requires
    ding_body = json.loads(ding["body"])
    assert ding_body["msgtype"] == "markdown" and ding_body["markdown"]["title"].startswith("WI-000123")

    (feishu,) = receiver.to("/feishu/")
    fbody = json.loads(feishu["body"])
    fs_expected = base64.b64encode(
        hmac.new(f"{fbody['timestamp']}\nfs-secret".encode(), b"", hashlib.sha256).digest()
    ).decode()
    assert fbody["sign"] == fs_expected and abs(int(fbody["timestamp"]) - time.time()) < 3600  # seconds
    assert fbody["msg_type"] == "text" and "被退回" in fbody["content"]["text"]

    (generic,) = receiver.to("/generic")
    signature = "sha256=" + hmac.new(b"generic-secret", generic["body"], hashlib.sha256).hexdigest()
    assert generic["headers"]["X-Recovery-Signature"] == signature
    gbody = json.loads(generic["body"])
    message = next(m for m in _messages(app) if m.webhook_id == hooks["generic"]["id"])
    assert generic["headers"]["X-Recovery-Delivery"] == gbody["delivery_id"] == str(message.id)
    assert (
        gbody["event"] == "work_item.return"
        and gbody["event_id"] == event_id
        and gbody["unit"] == "urban_management"
    )
    assert gbody["text"]["en"].startswith("WI-000123 returned to Urban Management Bureau")
    assert all(m.status == "sent" and m.attempts == 1 for m in _messages(app) if m.webhook_id != 5)
    # nothing due any more: a second worker sends nothing
    assert run(_engine(app), _config(), once=True).sent == 0 and len(receiver.requests) == 4


def test_a_failing_receiver_is_retried_with_backoff_then_delivered(app, client, receiver):
    _add_hook(client, "urban_management", "generic", receiver.url("/flaky"))
    answers = iter([(500, {}), (500, {}), (200, {})])
    receiver.answer = lambda request: next(answers)
    _notify(app)
    t0 = now()
    config = _config(backoff=10, max_attempts=5)
    assert run(_engine(app), config, clock=lambda: t0).failed == 1
    (message,) = _messages(app)
    assert message.status == "pending" and message.attempts == 1
    assert message.next_attempt_at == t0 + timedelta(seconds=10)
    assert run(_engine(app), config, clock=lambda: t0 + timedelta(seconds=9)).statuses == []  # not yet due
    assert run(_engine(app), config, clock=lambda: t0 + timedelta(seconds=10)).failed == 1
    (message,) = _messages(app)
    assert message.next_attempt_at == t0 + timedelta(seconds=30)  # the wait doubled
    assert run(_engine(app), config, clock=lambda: t0 + timedelta(seconds=30)).sent == 1
    (message,) = _messages(app)
    assert message.status == "sent" and message.attempts == 3 and message.last_error == ""
    log = _deliveries(app, message.id)
    assert [(d.attempt, d.http_status) for d in log] == [(1, 500), (2, 500), (3, 200)]
    assert log[0].error == "HTTP 500" and log[2].error == ""
    assert len(receiver.to("/flaky")) == 3


def test_a_message_is_given_up_after_the_limit_and_a_robot_error_counts_as_failure(app, client, receiver):
    _add_hook(client, "urban_management", "dingtalk", receiver.url("/ding?access_token=t"), "SECwrong")
    # DingTalk answers 200 with an error code when the signature does not match
    receiver.answer = lambda request: (200, {"errcode": 310000, "errmsg": "sign not match"})
    _notify(app)
    t = now()
    config = _config(max_attempts=3, backoff=1)
    for step in range(5):
        run(_engine(app), config, clock=lambda step=step: t + timedelta(hours=step))
    (message,) = _messages(app)
    assert message.status == "dead" and message.attempts == 3
    assert "310000" in message.last_error
    assert len(receiver.to("/ding")) == 3 and len(_deliveries(app, message.id)) == 3


def test_an_address_no_longer_allowed_is_not_sent(app, client, receiver):
    _add_hook(client, "urban_management", "generic", receiver.url("/closed"))
    _notify(app)
    run(_engine(app), _config(allowed_hosts="oapi.dingtalk.com"), once=True)
    (message,) = _messages(app)
    assert message.status == "dead" and "127.0.0.1" in message.last_error
    assert receiver.requests == []


def test_a_disabled_webhook_waits_and_a_deleted_one_takes_its_messages(app, client, receiver):
    hook = _add_hook(client, "urban_management", "generic", receiver.url("/later"))
    _notify(app)
    assert (
        client.post(f"/api/v1/admin/webhooks/{hook['id']}/disable", headers=ADMIN).get_json()["webhook"][
            "enabled"
        ]
        is False
    )
    assert run(_engine(app), _config(), once=True).statuses == []
    _notify(app, events=1)  # a step while disabled: no message for it
    assert len(_messages(app)) == 1
    client.post(f"/api/v1/admin/webhooks/{hook['id']}/enable", headers=ADMIN)
    assert run(_engine(app), _config(), once=True).sent == 1
    assert client.delete(f"/api/v1/admin/webhooks/{hook['id']}", headers=ADMIN).status_code == 200
    assert (
        _messages(app) == [] and client.get("/api/v1/admin/webhooks", headers=ADMIN).get_json()["count"] == 0
    )
    assert client.delete(f"/api/v1/admin/webhooks/{hook['id']}", headers=ADMIN).status_code == 404


def test_two_workers_share_the_outbox_and_send_each_message_once(app, client, receiver):
    for n in range(4):
        _add_hook(client, "urban_management", "generic", receiver.url(f"/shared/{n}"))
    _notify(app, events=6)  # 24 messages
    results = []

    def work(name):
        results.append(run(_engine(app), _config(), once=True, owner=name))

    workers = [threading.Thread(target=work, args=(f"w{i}",)) for i in range(2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(120)
    deliveries = [r["headers"]["X-Recovery-Delivery"] for r in receiver.requests]
    assert len(deliveries) == 24 and len(set(deliveries)) == 24
    assert sum(r.sent for r in results) == 24
    assert {m.status for m in _messages(app)} == {"sent"}
    with own_session(app) as session:
        assert session.query(Delivery).count() == 24


def test_a_worker_killed_mid_delivery_loses_nothing_and_resends_nothing_recorded(
    app, client, receiver, tmp_path
):
    _add_hook(client, "urban_management", "generic", receiver.url("/kill"))
    first, second = _notify(app, events=2)
    receiver.stall = f'"event_id":{second},'
    env = os.environ | {
        "RECOVERY_DATABASE_URL": app.config["RECOVERY"]["DATABASE_URL"],
        "RECOVERY_WEBHOOK_TIMEOUT_SECONDS": "60",
        "RECOVERY_WEBHOOK_LEASE_SECONDS": "120",
        "RECOVERY_CLEANUP_INTERVAL_MINUTES": "0",
    }
    command = [str(Path(sys.executable).parent / "recovery"), "worker", "--once"]
    process = subprocess.Popen(command, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert receiver.stalled.wait(60), (
            process.stderr.read1(2000) if process.poll() is not None else "no request"
        )
        process.send_signal(signal.SIGKILL)  # mid-delivery: the receiver holds the second message's answer
        process.wait(30)
    finally:
        if process.poll() is None:
            process.kill()
        process.stdout.close()
        process.stderr.close()
    receiver.release.set()
    receiver.stall = None
    sent, held = _messages(app)
    assert (sent.event_id, sent.status) == (first, "sent")
    assert (held.event_id, held.status, held.attempts) == (second, "sending", 1)  # claimed, never recorded
    # before the lease expires nobody takes it; after, another worker does
    assert run(_engine(app), _config(), once=True).statuses == []
    later = now() + timedelta(seconds=121)
    assert run(_engine(app), _config(), clock=lambda: later).statuses == ["sent"]
    sent, held = _messages(app)
    assert held.status == "sent" and held.attempts == 2
    by_event = {}
    for r in receiver.to("/kill"):
        by_event.setdefault(json.loads(r["body"])["event_id"], []).append(r["headers"]["X-Recovery-Delivery"])
    # the one recorded sent was not sent again; the one in flight was, with the same delivery id
    assert by_event[first] == [str(sent.id)]
    assert by_event[second] == [str(held.id), str(held.id)]
    assert [d.attempt for d in _deliveries(app, held.id)] == [2]


# -- refusals and the admin's pages -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "ftp://127.0.0.1/x",
        "javascript:alert(1)",
        "http://",
        "127.0.0.1:8080/x",
        "http://u:p@127.0.0.1/",
    ],
)
def test_a_non_http_address_is_refused_in_the_users_language(client, url):
    response = client.post(
        "/api/v1/admin/webhooks",
        headers=ADMIN | {"Accept-Language": "zh-CN"},
        json={"unit": "城市管理局", "kind": "generic", "url": url},
    )
    assert response.status_code == 400
    assert "推送地址" in response.get_json()["error"]["message"]
    assert client.get("/api/v1/admin/webhooks", headers=ADMIN).get_json()["count"] == 0


def test_bad_unit_or_kind_and_the_host_setting_are_refused(app, client):
    for body in (
        {"unit": "火星局", "kind": "generic", "url": "https://example.org/x"},
        {"unit": "商务局", "kind": "slack", "url": "https://example.org/x"},
        {
            "unit": "商务局",
            "kind": "dingtalk",
            "url": "https://oapi.dingtalk.com/robot/send",
            "secret": "nope",
        },
        {"unit": "商务局", "kind": "generic"},
    ):
        assert client.post("/api/v1/admin/webhooks", headers=ADMIN, json=body).status_code == 400, body
    app.config["RECOVERY"]["WEBHOOK_HOSTS"] = "oapi.dingtalk.com,*.feishu.cn"
    refused = client.post(
        "/api/v1/admin/webhooks",
        headers=ADMIN | {"Accept-Language": "en"},
        json={"unit": "商务局", "kind": "generic", "url": "http://127.0.0.1:9/x"},
    )
    assert refused.status_code == 400 and "127.0.0.1" in refused.get_json()["error"]["message"]
    ok = client.post(
        "/api/v1/admin/webhooks",
        headers=ADMIN,
        json={
            "unit": "商务局",
            "kind": "feishu",
            "url": "https://open.feishu.cn/open-apis/bot/v2/hook/abcdefabcdefabcdef",
        },
    )
    assert ok.status_code == 201 and "abcdefabcdefabcdef" not in ok.get_json()["webhook"]["url"]


@pytest.mark.parametrize("who", ["commander", "reporter", "field", "unit"])
def test_a_non_admin_gets_403_on_webhook_administration(app, client, who):
    headers = bearer(_unit_user(app, "um-nosy")[1]) if who == "unit" else auth(who)
    assert client.get("/api/v1/admin/webhooks", headers=headers).status_code == 403
    assert (
        client.post(
            "/api/v1/admin/webhooks",
            headers=headers,
            json={"unit": "商务局", "kind": "generic", "url": "https://example.org"},
        ).status_code
        == 403
    )
    assert client.get("/api/v1/admin/webhooks/deliveries", headers=headers).status_code == 403
    assert client.get("/admin/webhooks", headers=headers).status_code == 403
    assert client.get("/api/v1/admin/webhooks", headers=ADMIN).get_json()["count"] == 0


def test_every_change_is_audited_with_the_secret_masked_and_the_page_shows_the_log(app, client, receiver):
    hook = _add_hook(client, "urban_management", "generic", receiver.url("/audited"), "very-secret-value")
    tested = client.post(f"/api/v1/admin/webhooks/{hook['id']}/test", headers=ADMIN).get_json()
    assert tested["status"] == "sent" and tested["deliveries"][0]["http_status"] == 200
    assert json.loads(receiver.to("/audited")[0]["body"])["event"] == "work_item.test"
    client.post(f"/api/v1/admin/webhooks/{hook['id']}/disable", headers=ADMIN)
    client.post(f"/api/v1/admin/webhooks/{hook['id']}/enable", headers=ADMIN)
    with own_session(app) as session:
        rows = list(session.scalars(select(AuditEntry).order_by(AuditEntry.id)))
    assert [r.action for r in rows] == ["webhook.add", "webhook.test", "webhook.disable", "webhook.enable"]
    assert "very-secret-value" not in json.dumps([[r.before, r.after] for r in rows], ensure_ascii=False)
    log = client.get(
        "/api/v1/admin/webhooks/deliveries", headers=ADMIN | {"Accept-Language": "zh-CN"}
    ).get_json()
    assert log["count"] == 1 and log["deliveries"][0]["action_label"] == "测试消息"
    browser = app.test_client()
    assert login(browser, "admin").status_code == 302
    page = browser.get("/admin/webhooks", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "消息推送" in page and "推送记录" in page and "very-secret-value" not in page and "••••" in page
    added = browser.post(
        "/admin/webhooks",
        data={"csrf_token": csrf_token(page), "unit": "commerce", "kind": "wecom", "url": "gopher://x"},
        headers={"Accept-Language": "zh-CN"},
    )
    assert added.status_code == 400 and "推送地址须以 http:// 或 https:// 开头" in added.get_data(
        as_text=True
    )
    page = browser.get("/admin/webhooks").get_data(as_text=True)
    deleted = browser.post(
        f"/admin/webhooks/{hook['id']}", data={"csrf_token": csrf_token(page), "do": "delete"}
    )
    assert deleted.status_code == 302
    with own_session(app) as session:
        assert session.scalar(select(AuditEntry.action).order_by(AuditEntry.id.desc())) == "webhook.delete"
        assert session.query(Webhook).count() == 0
