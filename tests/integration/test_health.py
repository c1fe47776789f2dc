"""Health, readiness, metrics, request ids, the JSON log line and trusted proxies (issue 15), on both databases."""

from __future__ import annotations

import json
import logging
import re

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import select, text
from support.accounts import auth
from support.databases import app_on, db

from recovery import create_app
from recovery.db.migrate import alembic_config, head_revision
from recovery.models_accounts import User
from recovery.web.observability import JsonFormatter

NEW_ID = re.compile(r"[0-9a-f]{32}")
PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8"


def _metric(body: str, name: str, **labels: str) -> float:
    """The value of the sample `name` whose labels include `labels` (0 when there is none)."""
    total = 0.0
    for line in body.splitlines():
        match = re.fullmatch(rf"{name}\{{(.*)\}} (\S+)", line)
        if match and all(f'{k}="{v}"' in match.group(1) for k, v in labels.items()):
            total += float(match.group(2))
    return total


# --- /healthz and /readyz --------------------------------------------------------------------------------


def test_healthz_answers_anyone(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}
    assert response.headers["Cache-Control"] == "no-store"


def test_readyz_on_a_database_at_the_latest_migration(app, client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.get_json() == {
        "status": "ready",
        "revision": head_revision(app.extensions["recovery.engine"]),
    }


def test_readyz_is_503_on_a_database_behind_the_latest_migration(app, client):
    engine = app.extensions["recovery.engine"]
    head = head_revision(engine)
    previous = ScriptDirectory.from_config(alembic_config(engine)).get_revision(head).down_revision
    with db(app) as session:
        session.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": previous})
        session.commit()
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.get_json() == {
        "status": "unavailable",
        "reason": "schema_not_latest",
        "head": head,
        "revision": previous,
    }
    assert client.get("/healthz").status_code == 200  # the process is still up: no restart would help


def test_readyz_is_503_on_a_database_never_migrated(tmp_path):
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'empty.sqlite3'}", "TESTING": True})
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["reason"] == "schema_missing"
    app.extensions["recovery.engine"].dispose()


def test_readyz_is_503_when_the_database_does_not_answer(tmp_path):
    # nothing listens on port 1: the connection is refused at once
    app = create_app({"DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/none", "TESTING": True})
    app.extensions["recovery.schema_head"] = "0011"  # what the code carries; the database cannot say
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["reason"] == "database_unreachable" and "nobody" not in json.dumps(body)
    app.extensions["recovery.engine"].dispose()


# --- /metrics --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", [None, "field", "commander", "reporter"])
def test_metrics_are_refused_to_anonymous_and_non_admin_callers(client, who):
    response = client.get("/metrics", headers=auth(who) if who else {})
    assert response.status_code == 403
    assert "recovery_http_requests_total" not in response.get_data(as_text=True)


def test_metrics_refusal_is_json_for_a_json_client_with_its_request_id(client):
    response = client.get("/metrics", headers={"Accept": "application/json"})
    error = response.get_json()["error"]
    assert response.status_code == 403 and error["code"] == "forbidden" and "管理员" in error["message"]
    response = client.get("/metrics?lang=en", headers={"Accept": "application/json"})
    error = response.get_json()["error"]
    assert "administrator" in error["message"] and error["request_id"] == response.headers["X-Request-ID"]


def test_metrics_for_an_admin_token(client, site_id):
    client.get("/healthz")
    client.get("/no-such-page")
    response = client.get("/metrics", headers=auth("admin"))
    assert response.status_code == 200
    assert response.headers["Content-Type"] == PROMETHEUS_TEXT
    body = response.get_data(as_text=True)
    assert _metric(body, "recovery_http_requests_total", route="/healthz", method="GET", status="200") == 1
    # a 404 is counted under one label, not under the address asked for
    assert _metric(body, "recovery_http_requests_total", route="(unmatched)", status="404") == 1
    assert "/no-such-page" not in body
    assert (
        _metric(body, "recovery_http_requests_total", route="/api/v1/sites", method="POST", status="201") == 1
    )
    assert _metric(body, "recovery_http_request_duration_seconds_count", route="/healthz") == 1
    assert _metric(body, "recovery_http_request_duration_seconds_bucket", route="/healthz", le="+Inf") == 1
    # the site's report is one event committed to the ledger by this process
    assert _metric(body, "recovery_ledger_events_recorded_total") == 1
    assert "outbox" not in body  # there is no server-side outbox to report on


def test_metrics_count_no_event_of_a_refused_update(client, site_id):
    refused = client.post(
        f"/api/v1/sites/{site_id}/events",
        headers={**auth("field"), "If-Match": '"999"', "Idempotency-Key": "k-refused-1"},
        json={"status": "cleared"},
    )
    assert refused.status_code in (400, 409, 412)
    body = client.get("/metrics", headers=auth("admin")).get_data(as_text=True)
    assert _metric(body, "recovery_ledger_events_recorded_total") == 1  # the report only


@pytest.fixture
def listed_app(db_url, tmp_path):
    from ipaddress import ip_network

    yield from app_on(db_url, tmp_path, METRICS_ALLOW=(ip_network("10.0.5.0/24"), ip_network("::1")))


def test_metrics_for_a_listed_address_without_signing_in(listed_app):
    client = listed_app.test_client()
    inside = client.get("/metrics", environ_base={"REMOTE_ADDR": "10.0.5.17"})
    assert inside.status_code == 200 and "recovery_http_requests_total" in inside.get_data(as_text=True)
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "::1"}).status_code == 200
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "10.0.6.1"}).status_code == 403
    # an X-Forwarded-For is not believed without RECOVERY_TRUSTED_PROXIES
    spoofed = client.get(
        "/metrics", headers={"X-Forwarded-For": "10.0.5.17"}, environ_base={"REMOTE_ADDR": "192.0.2.1"}
    )
    assert spoofed.status_code == 403


def test_metrics_behind_a_trusted_proxy(db_url, tmp_path):
    from ipaddress import ip_network

    for app in app_on(db_url, tmp_path, METRICS_ALLOW=(ip_network("10.0.5.0/24"),), TRUSTED_PROXIES=1):
        client = app.test_client()
        via_proxy = {"REMOTE_ADDR": "127.0.0.1"}
        ok = client.get("/metrics", headers={"X-Forwarded-For": "10.0.5.17"}, environ_base=via_proxy)
        assert ok.status_code == 200
        # only the last hop is believed: what the client itself wrote before it is not
        forged = client.get(
            "/metrics", headers={"X-Forwarded-For": "10.0.5.17, 198.51.100.4"}, environ_base=via_proxy
        )
        assert forged.status_code == 403


# --- request ids -----------------------------------------------------------------------------------------


def test_each_request_gets_a_new_id(client):
    first, second = client.get("/healthz"), client.get("/healthz")
    assert NEW_ID.fullmatch(first.headers["X-Request-ID"])
    assert first.headers["X-Request-ID"] != second.headers["X-Request-ID"]


@pytest.mark.parametrize(
    ("incoming", "kept"),
    [
        ("abc-123", True),
        ("f81d4fae-7dec-11d0-a765-00a0c91e6bf6", True),
        ("req.2021:07:29_x", True),
        ("x" * 128, True),
        ("x" * 129, False),
        ("", False),
        ("has space", False),
        ('quote"d', False),
        ("-leading-dash", False),
        ("中文编号", False),
    ],
)
def test_an_incoming_request_id_is_kept_only_when_sane(client, incoming, kept):
    response = client.get("/healthz", headers={"X-Request-ID": incoming})
    returned = response.headers["X-Request-ID"]
    if kept:
        assert returned == incoming
    else:
        assert NEW_ID.fullmatch(returned)
    assert response.headers.getlist("X-Request-ID") == [returned]


def test_api_errors_carry_the_request_id(client):
    response = client.get(
        "/api/v1/sites/not-a-number", headers={**auth("commander"), "X-Request-ID": "trace-7"}
    )
    assert response.status_code in (400, 404)
    assert response.get_json()["error"]["request_id"] == "trace-7" == response.headers["X-Request-ID"]


def test_error_pages_show_the_request_id(client):
    response = client.get("/no-such-page", headers={"X-Request-ID": "trace-page-1"})
    page = response.get_data(as_text=True)
    assert response.status_code == 404
    assert "请求编号" in page and "trace-page-1" in page
    english = client.get("/no-such-page?lang=en").get_data(as_text=True)
    assert "Request ID" in english


# --- the JSON log line -----------------------------------------------------------------------------------


def test_one_json_log_line_per_request(app, client, caplog):
    with db(app) as session:
        admin_id = session.scalar(select(User.id).where(User.username == "admin"))
    caplog.set_level(logging.INFO, logger="recovery.access")
    response = client.get("/api/v1/me?x=secret", headers={**auth("admin"), "X-Request-ID": "log-test-1"})
    assert response.status_code == 200
    records = [r for r in caplog.records if r.name == "recovery.access"]
    assert len(records) == 1
    line = json.loads(JsonFormatter().format(records[0]))
    assert "\n" not in JsonFormatter().format(records[0])
    assert line["msg"] == "request" and line["level"] == "info" and line["logger"] == "recovery.access"
    assert line["ts"].endswith("+00:00")
    assert {
        k: line[k] for k in ("method", "path", "route", "status", "user_id", "remote_addr", "request_id")
    } == {
        "method": "GET",
        "path": "/api/v1/me",  # the query is left out (it may hold what a user typed)
        "route": "/api/v1/me",
        "status": 200,
        "user_id": admin_id,
        "remote_addr": "127.0.0.1",
        "request_id": "log-test-1",
    }
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0


def test_the_log_line_of_an_anonymous_refusal(client, caplog):
    caplog.set_level(logging.INFO, logger="recovery.access")
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    (record,) = [r for r in caplog.records if r.name == "recovery.access"]
    assert record.fields["status"] == 401 and record.fields["user_id"] is None
    assert record.fields["request_id"] == response.headers["X-Request-ID"]


def test_the_log_line_shows_the_proxied_address_only_when_trusted(db_url, tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="recovery.access")
    for hops, expected in ((0, "192.0.2.9"), (1, "203.0.113.5")):
        for app in app_on(db_url, tmp_path, TRUSTED_PROXIES=hops):
            caplog.clear()
            app.test_client().get(
                "/healthz",
                headers={"X-Forwarded-For": "203.0.113.5"},
                environ_base={"REMOTE_ADDR": "192.0.2.9"},
            )
            (record,) = [r for r in caplog.records if r.name == "recovery.access"]
            assert record.fields["remote_addr"] == expected


def test_a_trusted_proxy_never_sets_the_host_of_links(db_url, tmp_path):
    """X-Forwarded-Host is not believed even from a trusted proxy: links stay relative for a foreign host."""
    for app in app_on(db_url, tmp_path, TRUSTED_PROXIES=1):
        response = app.test_client().get(
            "/ogc?f=json",
            headers={
                **auth("commander"),
                "Host": "evil.example",
                "X-Forwarded-Host": "localhost",
                "X-Forwarded-Proto": "https",
            },
        )
        assert response.status_code == 200
        hrefs = [link["href"] for link in response.get_json()["links"]]
        assert hrefs and all(href.startswith("/ogc") for href in hrefs)
        # the scheme the proxy saw is believed: this machine's links say https
        local = app.test_client().get(
            "/ogc?f=json", headers={**auth("commander"), "Host": "localhost", "X-Forwarded-Proto": "https"}
        )
        assert all(link["href"].startswith("https://localhost/ogc") for link in local.get_json()["links"])
