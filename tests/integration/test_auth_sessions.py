"""Sessions and tokens end on the server: sign-out, a password change or reset, a disabled user, a revoked or
expired token; and the `recovery users` commands that do it."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from support.accounts import TEST_PASSWORD, TEST_TOKENS, auth, login

NEW_PASSWORD = "flood barriers hold at dawn"


def _me(client, headers=None) -> int:
    return client.get("/api/v1/me", headers=headers or {}).status_code


def _session_cookie(client) -> str:
    return client.get_cookie("session").value


def _replay(client, cookie: str) -> None:
    """Put an old session cookie back, as someone who kept a copy would."""
    client.set_cookie("session", cookie)


@pytest.fixture
def later(monkeypatch):
    """Move the wall clock (expiry) and the cache's clock forward together."""
    import recovery.auth.accounts as accounts
    import recovery.auth.cache as cache

    real_now, real_clock = accounts.now, cache._clock
    shift = [timedelta(0)]
    monkeypatch.setattr(accounts, "now", lambda: real_now() + shift[0])
    monkeypatch.setattr(cache, "_clock", lambda: real_clock() + shift[0].total_seconds())

    def move(delta: timedelta) -> None:
        shift[0] += delta

    return move


def test_sign_out_ends_the_session_on_the_server(client):
    login(client, "commander")
    kept = _session_cookie(client)
    assert _me(client) == 200
    token = client.get("/api/v1/me").get_json()["csrf_token"]
    client.post("/logout", data={"csrf_token": token})
    assert _me(client) == 401
    _replay(client, kept)
    assert _me(client) == 401
    assert client.get("/").status_code == 302  # pages send the old cookie to the sign-in page


def test_sign_out_ends_only_that_session(app):
    phone, desk = app.test_client(), app.test_client()
    login(phone, "field")
    login(desk, "field")
    token = phone.get("/api/v1/me").get_json()["csrf_token"]
    phone.post("/logout", data={"csrf_token": token})
    assert _me(phone) == 401 and _me(desk) == 200


def test_a_password_reset_ends_every_session_and_token(app, runner):
    browser = app.test_client()
    login(browser, "commander")
    kept = _session_cookie(browser)
    assert _me(browser) == 200 and _me(browser, auth("commander")) == 200
    out = runner.invoke(args=["users", "reset-password", "commander"])
    assert out.exit_code == 0, out.output
    password = re.search(r"new password for commander: (\S+)", out.output).group(1)
    assert _me(browser) == 401 and _me(browser, auth("commander")) == 401
    _replay(browser, kept)
    assert _me(browser) == 401
    assert _me(browser, auth("reporter")) == 200  # other users keep theirs
    fresh = app.test_client()
    assert login(fresh, "commander", TEST_PASSWORD).status_code == 401
    assert login(fresh, "commander", password).status_code == 302 and _me(fresh) == 200


def _change(client, current: str, new: str, again: str | None = None, lang: str = "en"):
    page = client.get(f"/account/password?lang={lang}").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    return client.post(
        f"/account/password?lang={lang}",
        data={"current": current, "new": new, "again": new if again is None else again, "csrf_token": csrf},
    )


def test_changing_ones_password_ends_the_other_sessions_and_tokens(app):
    here, elsewhere = app.test_client(), app.test_client()
    login(here, "admin")
    login(elsewhere, "admin")
    response = _change(here, TEST_PASSWORD, NEW_PASSWORD)
    assert response.status_code == 200 and "Password changed" in response.get_data(as_text=True)
    assert _me(here) == 200  # this browser goes on, with a new session
    assert _me(elsewhere) == 401 and _me(elsewhere, auth("admin")) == 401
    other = app.test_client()
    assert login(other, "admin", TEST_PASSWORD).status_code == 401
    assert login(other, "admin", NEW_PASSWORD).status_code == 302


@pytest.mark.parametrize(
    ("current", "new", "again", "message"),
    [
        ("not my password", NEW_PASSWORD, None, "The current password is wrong."),
        (TEST_PASSWORD, NEW_PASSWORD, NEW_PASSWORD + "!", "The two new passwords differ."),
        (TEST_PASSWORD, "12345678901234", None, "A password cannot be only digits."),
        (TEST_PASSWORD, "Password2021!!!", None, "This password is too common or too easy to guess."),
        (TEST_PASSWORD, "short one", None, "A password needs at least 14 characters."),
    ],
)
def test_a_refused_password_change_keeps_everything(app, current, new, again, message):
    client = app.test_client()
    login(client, "commander")
    response = _change(client, current, new, again)
    assert response.status_code == 400 and message in response.get_data(as_text=True)
    assert _me(client) == 200 and _me(client, auth("commander")) == 200
    assert login(app.test_client(), "commander", TEST_PASSWORD).status_code == 302


def test_password_change_errors_are_in_chinese(app):
    client = app.test_client()
    login(client, "commander")
    page = _change(client, TEST_PASSWORD, "Password2021!!!", lang="zh_CN").get_data(as_text=True)
    assert "太常见" in page


def test_disabling_a_user_ends_sessions_and_tokens_and_enabling_brings_none_back(app, runner):
    browser = app.test_client()
    login(browser, "field")
    kept = _session_cookie(browser)
    assert runner.invoke(args=["users", "disable", "field"]).exit_code == 0
    assert _me(browser) == 401 and _me(browser, auth("field")) == 401
    assert re.search(
        r"^field\s+field\s+fengyang\s+disabled$", runner.invoke(args=["users", "list"]).output, re.M
    )
    assert login(app.test_client(), "field").status_code == 401
    assert runner.invoke(args=["users", "enable", "field"]).exit_code == 0
    _replay(browser, kept)
    assert _me(browser) == 401 and _me(browser, auth("field")) == 401
    fresh = app.test_client()
    assert login(fresh, "field").status_code == 302 and _me(fresh) == 200


def test_tokens_are_listed_revoked_and_expire(app, client, runner, later):
    out = runner.invoke(args=["users", "token", "reporter", "--label", "ci-runner", "--days", "2"])
    token = out.output.strip()
    assert out.exit_code == 0 and token.startswith("rcv_")
    bearer = {"Authorization": f"Bearer {token}"}
    assert _me(client, bearer) == 200
    listed = runner.invoke(args=["users", "tokens", "reporter"]).output
    row = next(line for line in listed.splitlines() if "ci-runner" in line)
    token_id, *_rest, state = row.split()
    assert state == "active"
    # created, last used (written on first use) and expiry: three times, none of them "-"
    assert len(re.findall(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", row)) == 3
    later(timedelta(days=2, minutes=1))
    assert _me(client, bearer) == 401
    assert _me(client, auth("reporter")) == 200  # a token with the default lifetime still works
    assert re.search(
        rf"^\s*{token_id}\s.*expired$", runner.invoke(args=["users", "tokens", "reporter"]).output, re.M
    )
    # revoking: the default test token of the reporter stops at once
    listed = runner.invoke(args=["users", "tokens", "reporter"]).output
    first_id = re.search(r"^\s*(\d+)\s.*active$", listed, re.M).group(1)
    assert runner.invoke(args=["users", "revoke", first_id]).exit_code == 0
    assert _me(client, auth("reporter")) == 401
    assert re.search(
        rf"^\s*{first_id}\s.*revoked$", runner.invoke(args=["users", "tokens", "reporter"]).output, re.M
    )


def test_a_new_token_expires_after_the_configured_days(app, client, runner, later):
    app.config["RECOVERY"]["TOKEN_DAYS"] = 3
    token = runner.invoke(args=["users", "token", "field"]).output.strip()
    bearer = {"Authorization": f"Bearer {token}"}
    later(timedelta(days=2, hours=23))
    assert _me(client, bearer) == 200
    later(timedelta(hours=2))
    assert _me(client, bearer) == 401


def test_a_session_expires_on_the_server(app, client, later):
    login(client, "reporter")
    assert _me(client) == 200
    later(timedelta(hours=app.config["RECOVERY"]["SESSION_HOURS"], minutes=1))
    assert _me(client) == 401


@pytest.mark.parametrize(
    "args",
    [
        ["users", "tokens", "nobody"],
        ["users", "revoke", "999999"],
        ["users", "disable", "nobody"],
        ["users", "enable", "nobody"],
        ["users", "reset-password", "nobody"],
        ["users", "token", "field", "--days", "0"],
    ],
)
def test_token_and_account_commands_refuse_bad_input(runner, args):
    assert runner.invoke(args=args).exit_code == 2


def test_the_upgrade_gives_tokens_already_issued_an_expiry(db_url):
    """0010 on a database with tokens: each gets the upgrade day plus 90 days, none is cut off by it."""
    from alembic import command
    from sqlalchemy import inspect, text

    from recovery.db.engine import make_engine
    from recovery.db.migrate import alembic_config, upgrade
    from recovery.timeutil import now

    engine = make_engine(db_url)
    config = alembic_config(engine)
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0009")
    with engine.connect() as conn:
        assert "expires_at" not in {c["name"] for c in inspect(conn).get_columns("api_token")}
    before = now()
    upgrade(engine)
    with engine.connect() as conn:
        expiries = conn.execute(text("SELECT expires_at FROM api_token")).scalars().all()
    engine.dispose()
    assert expiries and len(expiries) == len(TEST_TOKENS)  # one per test user
    for value in expiries:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else value
        moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        assert before + timedelta(days=89) < moment < before + timedelta(days=91)
