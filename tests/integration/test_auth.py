"""Signing in: passwords, sessions with CSRF and safe cookies, rate limits, tokens, and the users command."""

from __future__ import annotations

import re

import pytest
from support.accounts import TEST_PASSWORD, TEST_TOKENS, auth, login


def test_login_page_and_session(client):
    page = client.get("/login")
    assert page.status_code == 200 and 'name="username"' in page.get_data(as_text=True)
    response = login(client, "commander")
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert client.get("/").status_code == 200
    assert client.get("/api/v1/me").get_json()["role"] == "commander"


def test_field_users_land_in_the_field_app(client):
    assert login(client, "field").headers["Location"] == "/field/"


def test_next_is_followed_only_within_the_site(client):
    page = client.get("/login?next=//evil.example/x").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = client.post(
        "/login?next=//evil.example/x",
        data={"username": "commander", "password": TEST_PASSWORD, "csrf_token": token},
    )
    assert response.headers["Location"] == "/"


def test_wrong_password_and_csrf(client):
    assert login(client, "commander", "wrong password").status_code == 401
    no_token = client.post("/login", data={"username": "commander", "password": TEST_PASSWORD})
    assert no_token.status_code == 400 and client.get("/api/v1/me").status_code == 401


def test_cookie_flags(tmp_path, db_url):
    from recovery import create_app

    app = create_app({"DATABASE_URL": db_url, "TESTING": True})  # secure cookies: the default
    client = app.test_client()
    response = login(client, "commander")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "Secure" in cookie and "SameSite=Lax" in cookie and "Expires=" in cookie
    app.extensions["recovery.engine"].dispose()


def test_session_api_writes_need_the_csrf_token(client, geodata):
    login(client, "field")
    point = geodata.subdistrict("fengyang").geometry.representative_point()
    body = {"kind": "silt_site", "name": "车库", "position": {"lon": point.x, "lat": point.y}}
    assert client.post("/api/v1/sites", json=body).status_code == 400
    token = client.get("/api/v1/me").get_json()["csrf_token"]
    assert client.post("/api/v1/sites", json=body, headers={"X-CSRFToken": token}).status_code == 201


def test_tokens_and_the_users_command(runner, client):
    out = runner.invoke(
        args=[
            "users",
            "add",
            "crew7",
            "--role",
            "field",
            "--scope",
            "石佛,梧桐办事处",
            "--password",
            "a long password",
        ]
    )
    assert out.exit_code == 0, out.output
    listed = runner.invoke(args=["users", "list"]).output
    assert re.search(r"crew7\s+field\s+shifo,wutong", listed)
    token = runner.invoke(args=["users", "token", "crew7"]).output.strip()
    assert token.startswith("rcv_")
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).get_json()
    assert me["username"] == "crew7" and me["subdistricts"] == ["shifo", "wutong"]
    assert client.get("/api/v1/me", headers={"Authorization": "Bearer rcv_forged"}).status_code == 401


@pytest.mark.parametrize(
    "args",
    [
        ["users", "add", "x", "--role", "field", "--password", "a long password"],  # field user without scope
        ["users", "add", "y", "--role", "commander", "--password", "short"],
        ["users", "add", "z", "--role", "field", "--scope", "火星", "--password", "a long password"],
        ["users", "add", "commander", "--role", "admin", "--password", "a long password"],  # exists
        ["users", "token", "nobody"],
    ],
)
def test_users_command_refuses_bad_input(runner, args):
    assert runner.invoke(args=args).exit_code == 2


def test_demo_users_print_their_passwords(runner, client):
    out = runner.invoke(args=["users", "demo"])
    lines = dict(re.findall(r"^\s+(\S+)\s+\S+\s+(\S+)", out.output, re.M))
    assert set(lines) >= {"commander", "reporter", "admin", "field_shifo", "field_fengyang"}
    assert login(client, "field_fengyang", lines["field_fengyang"]).status_code == 302


def test_reporter_can_read_but_not_write(client):
    assert client.get("/api/v1/metrics?as_of=2021-07-29", headers=auth("reporter")).status_code == 200
    response = client.post("/api/v1/sites", json={}, headers=auth("reporter"))
    assert response.status_code == 403


def _revoke_elsewhere(app, sql: str) -> None:
    """A change made by another process: its own engine, plain SQL, nothing this app's process sees."""
    from sqlalchemy import text

    from recovery.db.engine import make_engine

    engine = make_engine(app.config["RECOVERY"]["DATABASE_URL"])
    with engine.begin() as conn:
        conn.execute(text(sql))
    engine.dispose()


def test_a_token_revoked_in_this_process_stops_at_once(app, client):
    from datetime import UTC, datetime

    from sqlalchemy import select

    from recovery.auth.accounts import token_hash
    from recovery.db import get_session
    from recovery.models_accounts import ApiToken

    assert client.get("/api/v1/me", headers=auth("commander")).status_code == 200
    with app.app_context():
        session = get_session()
        row = session.scalar(
            select(ApiToken).where(ApiToken.token_hash == token_hash(TEST_TOKENS["commander"]))
        )
        row.revoked_at = datetime.now(UTC)
        session.commit()
    assert client.get("/api/v1/me", headers=auth("commander")).status_code == 401
    assert client.get("/api/v1/me", headers=auth("reporter")).status_code == 200


def test_role_and_active_changes_in_this_process_apply_at_once(app, client):
    from sqlalchemy import select

    from recovery.db import get_session
    from recovery.models_accounts import User

    login(client, "commander")
    assert client.get("/api/v1/me").get_json()["role"] == "commander"
    with app.app_context():
        session = get_session()
        user = session.scalar(select(User).where(User.username == "commander"))
        user.role = "reporter"
        session.commit()
    assert client.get("/api/v1/me").get_json()["role"] == "reporter"
    assert client.get("/api/v1/me", headers=auth("commander")).get_json()["role"] == "reporter"
    with app.app_context():
        session = get_session()
        user = session.scalar(select(User).where(User.username == "commander"))
        user.active = False
        session.commit()
    assert client.get("/api/v1/me").status_code == 401
    assert client.get("/api/v1/me", headers=auth("commander")).status_code == 401


def test_a_change_from_another_process_applies_within_the_cache_time(app, client, monkeypatch):
    import recovery.auth.cache as accounts

    clock = [1000.0]
    monkeypatch.setattr(accounts, "_clock", lambda: clock[0])
    login(client, "reporter")
    assert client.get("/api/v1/me", headers=auth("commander")).status_code == 200
    assert client.get("/api/v1/me").status_code == 200
    _revoke_elsewhere(app, "UPDATE api_token SET revoked_at = created_at")
    _revoke_elsewhere(app, "UPDATE app_user SET active = false WHERE username = 'reporter'")
    # the account read a moment ago is still trusted here, as documented ...
    clock[0] += accounts.ACCOUNT_CACHE_SECONDS - 0.5
    assert client.get("/api/v1/me", headers=auth("commander")).status_code == 200
    # ... and no longer once ACCOUNT_CACHE_SECONDS have passed since it was read
    clock[0] += 1.0
    assert client.get("/api/v1/me", headers=auth("commander")).status_code == 401
    assert client.get("/api/v1/me").status_code == 401
    assert client.get("/api/v1/me", headers=auth("admin")).status_code == 401


def test_the_account_cache_is_bounded_and_not_refilled_by_a_stale_read():
    from recovery.auth.accounts import Account, AccountCache

    cache = AccountCache(seconds=60, size=3)
    for i in range(5):
        _, generation = cache.get(("user", i))
        cache.put(("user", i), Account(i, f"u{i}", f"u{i}", "commander"), generation)
    assert len(cache) == 3 and cache.get(("user", 0))[0] is None and cache.get(("user", 4))[0].id == 4
    # a load that began before a change must not put the old account back
    _, generation = cache.get(("user", 9))
    cache.forget({9})
    cache.put(("user", 9), Account(9, "old", "old", "commander"), generation)
    assert cache.get(("user", 9))[0] is None
    cache.forget({4})
    assert cache.get(("user", 4))[0] is None and cache.get(("user", 3))[0].id == 3
