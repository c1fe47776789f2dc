"""The administration's last gaps (issue 15), on both databases: issuing an API token and changing one's own
password are audited (never the token, the password or its hash), and a role raised to one that needs a longer
password makes the user choose a new one before a signed-in browser may go on."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from sqlalchemy import select
from support.accounts import TEST_PASSWORD, TEST_TOKENS, auth, bearer, csrf_token, login, signed_in
from support.databases import own_session

from recovery.admin.models import AuditEntry
from recovery.db.engine import make_engine
from recovery.models_accounts import ApiToken, User
from recovery.timeutil import zone_iso

ADMIN = auth("admin")
#: accepted for a field user (10 characters), refused for a commander (14)
TEN = "q7#kLm2$zX"
FOURTEEN = "q7#kLm2$zXp9!w"


def _entries(app) -> list[AuditEntry]:
    with own_session(app) as db:
        return list(db.scalars(select(AuditEntry).order_by(AuditEntry.id)))


def _user(app, name: str) -> User:
    with own_session(app) as db:
        return db.scalar(select(User).where(User.username == name))


def _row_text(entry: AuditEntry) -> str:
    return json.dumps([entry.actor, entry.target, entry.before, entry.after], ensure_ascii=False)


def _client_from(app, address: str):
    """A test client whose requests come from `address` (the whole session: sign-in binds it)."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def _change_password(browser, current: str, new: str, again: str | None = None):
    page = browser.get("/account/password").get_data(as_text=True)
    return browser.post(
        "/account/password",
        data={
            "current": current,
            "new": new,
            "again": new if again is None else again,
            "csrf_token": csrf_token(page),
        },
    )


# -- 1. issuing an API token -------------------------------------------------------------------------------------


def test_the_token_command_is_audited_with_id_name_and_expiry_never_the_token(app, client, runner):
    out = runner.invoke(args=["users", "token", "field", "--label", "phone", "--days", "30"])
    assert out.exit_code == 0, out.output
    token = out.output.strip()
    assert token.startswith("rcv_") and client.get("/api/v1/me", headers=bearer(token)).status_code == 200
    [entry] = _entries(app)
    with own_session(app) as db:
        row = db.scalar(select(ApiToken).where(ApiToken.label == "phone"))
    assert (entry.action, entry.target, entry.before) == ("token.issue", f"token:{row.id}", None)
    assert entry.actor.startswith("cli:") and entry.actor_id is None
    assert entry.after["id"] == row.id and entry.after["name"] == "phone" and entry.after["user"] == "field"
    assert entry.after["state"] == "active" and entry.after["expires_at"] == zone_iso(row.expires_at)
    assert (row.expires_at - row.created_at).days == 30
    text = _row_text(entry)
    assert token not in text and token[4:] not in text and row.token_hash not in text
    # the log says it in both languages
    assert "签发令牌" in runner.invoke(args=["audit"]).output
    english = signed_in(app, "admin").get("/admin/audit?lang=en").get_data(as_text=True)
    assert "token issued" in english


@pytest.mark.parametrize(
    "args",
    [
        ["users", "token", "nobody"],
        ["users", "token", "field", "--days", "0"],
        ["users", "token", "field", "--days", "3651"],
        ["users", "token", "field", "--label", "x" * 121],
        ["users", "token", "field", "--label", "two\nlines"],
    ],
)
def test_a_refused_token_writes_neither_token_nor_audit_row(app, runner, args):
    with own_session(app) as db:
        tokens = len(db.scalars(select(ApiToken.id)).all())
    out = runner.invoke(args=args)
    assert out.exit_code == 2 and "rcv_" not in out.output
    assert _entries(app) == []
    with own_session(app) as db:
        assert len(db.scalars(select(ApiToken.id)).all()) == tokens


def test_tokens_are_issued_only_where_the_issue_is_audited(app, client):
    """Neither the admin pages nor /api/v1/admin issue tokens (they list and revoke them); in the code only
    `recovery.admin.users.issue_token`, which writes the audit row in the same transaction, asks for one."""
    assert client.post("/api/v1/admin/users/field/tokens", json={}, headers=ADMIN).status_code == 405
    assert client.post("/api/v1/admin/tokens", json={}, headers=ADMIN).status_code == 404
    root = Path(__file__).resolve().parents[2] / "recovery"
    callers = {
        str(path.relative_to(root))
        for path in root.rglob("*.py")
        if re.search(r"\b(issue_token|add_token)\(", path.read_text(encoding="utf-8"))
    }
    assert callers == {"auth/accounts.py", "admin/users.py", "auth/cli.py"}
    cli = (root / "auth" / "cli.py").read_text(encoding="utf-8")
    assert "from recovery.admin.users import issue_token" in cli and "accounts import issue_token" not in cli


# -- 2. one's own password ---------------------------------------------------------------------------------------


def test_changing_ones_own_password_is_audited_with_the_user_and_address(app):
    browser = _client_from(app, "10.7.20.5")
    assert login(browser, "reporter").status_code == 302
    assert _change_password(browser, "wrong password!", "a brand new long secret").status_code == 400
    assert (
        _change_password(browser, TEST_PASSWORD, "a brand new long secret", "another one").status_code == 400
    )
    assert _change_password(browser, TEST_PASSWORD, "123456789012").status_code == 400  # only digits
    assert _entries(app) == []  # refusals change nothing and log nothing
    done = _change_password(browser, TEST_PASSWORD, "a brand new long secret")
    assert done.status_code == 200 and "a brand new long secret" not in done.get_data(as_text=True)
    [entry] = _entries(app)
    reporter = _user(app, "reporter")
    assert (entry.action, entry.actor, entry.actor_id) == ("user.password_change", "reporter", reporter.id)
    assert (entry.target, entry.remote_addr) == ("user:reporter", "10.7.20.5")
    assert entry.before is None and entry.after == {"credentials": "ended"}
    text = _row_text(entry)
    assert "a brand new long secret" not in text and TEST_PASSWORD not in text
    assert reporter.password_hash not in text and "scrypt" not in text
    # and the change itself: the new password signs in, the old token ended
    assert login(app.test_client(), "reporter", "a brand new long secret").status_code == 302
    assert app.test_client().get("/api/v1/me", headers=auth("reporter")).status_code == 401
    assert "修改本人密码" in signed_in_with(app, "admin").get("/admin/audit").get_data(as_text=True)


def signed_in_with(app, name: str, password: str = TEST_PASSWORD):
    client = app.test_client()
    assert login(client, name, password).status_code == 302
    return client


# -- 3. a raised role needs a new password -----------------------------------------------------------------------


def test_a_field_user_made_commander_must_choose_a_14_character_password_first(app, client):
    browser = signed_in(app, "field")  # signed in before the change: the open session is held too
    assert browser.get("/").status_code == 200
    raised = client.patch("/api/v1/admin/users/field", json={"role": "commander"}, headers=ADMIN)
    assert raised.status_code == 200 and raised.get_json()["user"]["must_change_password"] is True
    [entry] = _entries(app)
    assert (
        entry.action == "user.edit" and entry.before["role"] == "field" and entry.after["role"] == "commander"
    )
    assert entry.before["must_change_password"] is False and entry.after["must_change_password"] is True

    # every page sends the open session to the password page, which says why (in Chinese first)
    for path in ("/", "/map", "/reports/daily/2021-07-29", "/work-items/"):
        page = browser.get(path)
        assert page.status_code == 302 and page.headers["Location"].endswith("/account/password"), path
    password_page = browser.get("/account/password")
    text = password_page.get_data(as_text=True)
    assert password_page.status_code == 200 and 'id="password-change-required"' in text and "14" in text
    assert "你的角色已调整" in text
    static = browser.get("/static/app.css")
    static.close()
    assert static.status_code == 200
    # the API with the session cookie: 403 and a message that says what to do
    refused = browser.get("/api/v1/me")
    error = refused.get_json()["error"]
    assert refused.status_code == 403 and error["code"] == "password_change_required"
    assert "/account/password" in error["message"] and "密码" in error["message"]
    english = app.test_client()
    assert login(english, "field").status_code == 302
    assert "Your role has changed" in english.get("/account/password?lang=en").get_data(as_text=True)
    assert "choose a new one at /account/password" in english.get("/api/v1/me").get_json()["error"]["message"]
    # a bearer token is not a password: it keeps working, with the new role
    me = client.get("/api/v1/me", headers=auth("field"))
    assert me.status_code == 200 and me.get_json()["role"] == "commander"
    # signing in anew leads to the same page
    again = app.test_client()
    landing = login(again, "field")
    assert landing.status_code == 302
    assert again.get(landing.headers["Location"]).headers["Location"].endswith("/account/password")

    # a field user's length is not enough any more; a commander's is
    short = _change_password(browser, TEST_PASSWORD, TEN)
    assert short.status_code == 400 and "14" in short.get_data(as_text=True)
    assert _user(app, "field").must_change_password is True
    assert browser.get("/").status_code == 302
    done = _change_password(browser, TEST_PASSWORD, FOURTEEN)
    assert done.status_code == 200 and _user(app, "field").must_change_password is False
    assert browser.get("/").status_code == 200 and browser.get("/map").status_code == 200
    assert browser.get("/api/v1/me").status_code == 200
    assert client.get("/api/v1/me", headers=auth("field")).status_code == 401  # a new password ends tokens
    assert login(app.test_client(), "field", FOURTEEN).status_code == 302
    change = _entries(app)[-1]
    assert change.action == "user.password_change" and change.actor == "field"
    assert change.before == {"must_change_password": True}
    assert change.after == {"credentials": "ended", "must_change_password": False}


def test_a_user_who_must_change_the_password_may_sign_out(app, client):
    browser = signed_in(app, "reporter")
    token = csrf_token(browser.get("/account/password").get_data(as_text=True))
    assert (
        client.patch("/api/v1/admin/users/reporter", json={"role": "admin"}, headers=ADMIN).status_code == 200
    )
    assert browser.get("/").status_code == 302
    out = browser.post("/logout", data={"csrf_token": token})
    assert out.status_code == 302 and out.headers["Location"].endswith("/login")
    assert browser.get("/").headers["Location"].startswith("/login")


@pytest.mark.parametrize(
    ("name", "args", "due"),
    [
        ("field", ["commander"], True),
        ("field", ["管理员"], True),
        ("reporter", ["admin"], True),
        (
            "field",
            ["unit", "--unit", "城市管理局"],
            True,
        ),  # a role the policy does not list needs the longest
        ("field", ["reporter"], False),  # 10 → 10
        ("unit_urban", ["commander"], False),  # 14 → 14
        ("commander", ["reporter"], False),  # lowered
        ("admin", ["reporter"], False),  # lowered (another admin remains: the test's own)
    ],
)
def test_set_role_flags_only_a_raise_to_a_longer_password(app, runner, name, args, due):
    if name == "admin":  # the last admin may not lose the role: give it a colleague first
        assert runner.invoke(args=["users", "add", "admin2", "--role", "admin"]).exit_code == 0
    out = runner.invoke(args=["users", "set-role", name, *args])
    assert out.exit_code == 0, out.output
    assert _user(app, name).must_change_password is due
    assert ("must choose a new password" in out.output) is due and ("新密码" in out.output) is due
    assert _entries(app)[-1].after["must_change_password"] is due
    listed = runner.invoke(args=["users", "list"]).output
    assert ("must-change-password" in listed) is due
    browser = signed_in(app, name)
    assert (browser.get("/").status_code == 302) is due


def test_the_flag_stays_when_the_role_goes_down_again_and_an_admin_reset_clears_it(app, client, runner):
    assert runner.invoke(args=["users", "set-role", "field", "commander"]).exit_code == 0
    assert runner.invoke(args=["users", "set-role", "field", "field"]).exit_code == 0
    # the password was never checked against the raised role: a new one is still asked for
    assert _user(app, "field").must_change_password is True
    reset = client.post("/api/v1/admin/users/field/reset-password", headers=ADMIN)
    assert reset.status_code == 200 and _user(app, "field").must_change_password is False
    entry = _entries(app)[-1]
    assert entry.action == "user.reset_password" and entry.before == {"must_change_password": True}
    assert reset.get_json()["password"] not in _row_text(entry)
    assert signed_in_with(app, "field", reset.get_json()["password"]).get("/").status_code == 200


def test_the_admin_pages_show_who_must_change_the_password(app, client):
    browser = signed_in(app, "admin")
    assert "须修改密码" not in browser.get("/admin/users").get_data(as_text=True)
    assert (
        client.patch("/api/v1/admin/users/field", json={"role": "commander"}, headers=ADMIN).status_code
        == 200
    )
    listing = browser.get("/admin/users").get_data(as_text=True)
    assert "须修改密码" in listing and "must_change_password" not in listing
    page = browser.get("/admin/users/field").get_data(as_text=True)
    assert "须修改密码" in page and "API 令牌照常可用" in page
    assert "must change password" in browser.get("/admin/users/field?lang=en").get_data(as_text=True)
    listed = client.get("/api/v1/admin/users?q=field", headers=ADMIN).get_json()["users"]
    assert {u["username"]: u["must_change_password"] for u in listed} == {"field": True, "field_shifo": False}


def test_the_upgrade_gives_every_user_already_there_no_flag(db_url):
    """0017 on a database with users: the column arrives false for each; the downgrade takes it away."""
    from alembic import command
    from sqlalchemy import inspect, text

    from recovery.db.migrate import alembic_config, upgrade

    engine = make_engine(db_url)
    config = alembic_config(engine)
    try:
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            command.downgrade(config, "0016")
        with engine.connect() as conn:
            assert "must_change_password" not in {c["name"] for c in inspect(conn).get_columns("app_user")}
            users = conn.execute(text("SELECT count(*) FROM app_user")).scalar()
        upgrade(engine)
        with engine.connect() as conn:
            flags = conn.execute(text("SELECT must_change_password FROM app_user")).scalars().all()
            # a row written without the column (plain SQL, an older tool) gets the default too
            conn.execute(
                text(
                    "INSERT INTO app_user (username, display_name, role, scope, password_hash, active, created_at) "
                    "VALUES ('raw', '', 'field', '[]', 'x', :t, :now)"
                ),
                {"t": True, "now": "2026-12-07 00:00:00+00:00"},
            )
            raw = conn.execute(
                text("SELECT must_change_password FROM app_user WHERE username = 'raw'")
            ).scalar()
            conn.rollback()
    finally:
        engine.dispose()
    assert users == len(TEST_TOKENS) and len(flags) == users and not any(flags)
    assert raw in (False, 0)
