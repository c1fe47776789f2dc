"""Administration: users, tokens, teams and the audit log, through the JSON API, the pages and the commands, with
their refusals (non-admins, the last admin, one's own admin role, bad input: nothing written) on both databases."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from markupsafe import escape
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from support.accounts import TEST_PASSWORD, TEST_USERS, auth, csrf_token, login, signed_in
from support.databases import own_session

from recovery.admin.audit import Actor, entries
from recovery.admin.models import AuditEntry
from recovery.admin.system import settings_in_force
from recovery.backup import LAST_BACKUP
from recovery.db.engine import make_engine
from recovery.i18n import catalogue
from recovery.models import Team
from recovery.models_accounts import User
from recovery.settings import SETTINGS
from recovery.web.apidoc import document

ADMIN = auth("admin")


def _audit(app) -> list[tuple[str, str, str]]:
    """(actor, action, target) of every audit row, oldest first."""
    with own_session(app) as db:
        rows = db.execute(
            select(AuditEntry.actor, AuditEntry.action, AuditEntry.target).order_by(AuditEntry.id)
        )
        return [tuple(r) for r in rows]


def _user(app, name: str) -> User | None:
    with own_session(app) as db:
        return db.scalar(select(User).where(User.username == name))


def _me(client, headers=None) -> int:
    return client.get("/api/v1/me", headers=headers or {}).status_code


# -- who may -----------------------------------------------------------------------------------------------------

API_CALLS = [
    ("get", "/api/v1/admin/users", None),
    ("post", "/api/v1/admin/users", {"username": "x1", "role": "commander"}),
    ("patch", "/api/v1/admin/users/field", {"scope": ["石佛"]}),
    ("post", "/api/v1/admin/users/field/disable", None),
    ("post", "/api/v1/admin/users/field/enable", None),
    ("post", "/api/v1/admin/users/field/reset-password", None),
    ("get", "/api/v1/admin/users/field/tokens", None),
    ("post", "/api/v1/admin/tokens/1/revoke", None),
    ("get", "/api/v1/admin/teams", None),
    ("post", "/api/v1/admin/teams", {"name": "队", "type": "crew"}),
    ("patch", "/api/v1/admin/teams/T-0001", {"name": "队"}),
    ("post", "/api/v1/admin/teams/T-0001/retire", None),
    ("get", "/api/v1/admin/audit", None),
]
PAGES = ["/admin/", "/admin/users", "/admin/users/field", "/admin/teams", "/admin/audit"]


@pytest.mark.parametrize("role", ["field", "commander", "reporter"])
def test_every_admin_operation_refuses_a_non_admin_and_writes_nothing(client, app, role):
    for method, path, body in API_CALLS:
        response = getattr(client, method)(path, json=body, headers=auth(role))
        assert response.status_code == 403, (method, path)
        assert client.open(path, method=method.upper(), json=body).status_code == 401, path
    browser = signed_in(app, role)
    for path in PAGES:
        assert browser.get(path).status_code == 403, path
    assert _audit(app) == []
    assert _user(app, "x1") is None and _user(app, "field").active


def test_the_navigation_links_the_admin_pages_for_admins_only(app):
    admin_home = signed_in(app, "admin").get("/admin/users").get_data(as_text=True)
    assert 'href="/admin/"' in admin_home and "管理" in admin_home
    assert 'href="/admin/import"' in admin_home  # the import page, reachable at last
    commander_home = signed_in(app, "commander").get("/").get_data(as_text=True)
    assert 'href="/admin/"' not in commander_home


def test_the_admin_api_is_in_the_openapi_document_for_admins(app):
    paths = document(app)["paths"]
    for method, path, _ in API_CALLS:
        templated = path.replace("/field/", "/{username}/").replace("/field", "/{username}")
        templated = templated.replace("/1/", "/{token_id}/").replace("T-0001", "{key}")
        assert method in paths[templated.removeprefix("/api/v1")], templated
    assert "admin" in json.dumps(paths["/admin/users"]["get"])


# -- users -------------------------------------------------------------------------------------------------------


def test_add_a_field_user_with_a_scope_then_list_and_search(client, app):
    response = client.post(
        "/api/v1/admin/users",
        json={"username": "zhang", "role": "一线人员", "scope": ["石佛", "枫杨"], "display_name": "张巡查"},
        headers=ADMIN,
    )
    assert response.status_code == 201
    body = response.get_json()
    assert body["user"]["role"] == "field" and body["user"]["scope"] == ["shifo", "fengyang"]
    assert body["user"]["role_label"] == "一线人员" and body["user"]["scope_labels"] == [
        "石佛办事处",
        "枫杨办事处",
    ]
    password = body["password"]  # generated, shown once, never stored as given
    assert len(password) >= 10 and _user(app, "zhang").password_hash != password
    assert login(app.test_client(), "zhang", password).status_code == 302
    found = client.get("/api/v1/admin/users?q=张", headers=ADMIN).get_json()
    assert [u["username"] for u in found["users"]] == ["zhang"]
    assert client.get("/api/v1/admin/users?q=nobody", headers=ADMIN).get_json() == {"users": [], "count": 0}
    assert _audit(app) == [("admin", "user.add", "user:zhang")]
    with own_session(app) as db:
        row = db.scalar(select(AuditEntry))
        assert row.before is None and row.after["scope"] == ["shifo", "fengyang"] and row.remote_addr
        assert "password" not in json.dumps(row.after)


@pytest.mark.parametrize(
    ("body", "zh", "en"),
    [
        ({"username": "f9", "role": "field"}, "负责范围", "needs a scope"),
        ({"username": "f9", "role": "captain"}, "captain", "captain"),
        ({"username": "f9", "role": "field", "scope": ["火星"]}, "火星", "Unknown sub-district"),
        ({"username": "has space", "role": "commander"}, "用户名", "user name"),
        ({"username": "field", "role": "commander"}, "已存在", "already exists"),
        ({"username": "f9", "role": "commander", "password": "short"}, "至少", "at least"),
        ({"username": "f9", "role": "field", "scope": "石佛"}, "scope", "scope"),
        ({"role": "field"}, "username", "username"),
    ],
)
def test_a_bad_new_user_is_refused_in_the_users_language_and_nothing_is_written(client, app, body, zh, en):
    for lang, words in (("zh_CN", zh), ("en", en)):
        response = client.post(f"/api/v1/admin/users?lang={lang}", json=body, headers=ADMIN)
        assert response.status_code == 400
        assert words in response.get_json()["error"]["message"], (lang, response.get_json())
    assert _audit(app) == []
    with own_session(app) as db:
        assert db.scalar(select(func.count()).select_from(User)) == len(TEST_USERS)


def test_narrowing_a_scope_takes_effect_on_the_next_request(client, app):
    browser = signed_in(app, "field")
    assert browser.get("/api/v1/me").get_json()["subdistricts"] == ["fengyang"]
    response = client.patch("/api/v1/admin/users/field", json={"scope": ["石佛"]}, headers=ADMIN)
    assert response.status_code == 200 and response.get_json()["user"]["scope"] == ["shifo"]
    assert browser.get("/api/v1/me").get_json()["subdistricts"] == ["shifo"]  # same session, new scope
    assert client.get("/api/v1/me", headers=auth("field")).get_json()["subdistricts"] == ["shifo"]
    with own_session(app) as db:
        row = db.scalar(select(AuditEntry))
        assert (row.action, row.before["scope"], row.after["scope"]) == ("user.edit", ["fengyang"], ["shifo"])


def test_changing_a_role_and_a_field_role_without_scope(client, app):
    response = client.patch("/api/v1/admin/users/commander", json={"role": "reporter"}, headers=ADMIN)
    assert response.status_code == 200 and _user(app, "commander").role == "reporter"
    assert client.get("/api/v1/me", headers=auth("commander")).get_json()["role"] == "reporter"
    refused = client.patch("/api/v1/admin/users/commander", json={"role": "field"}, headers=ADMIN)
    assert refused.status_code == 400 and _user(app, "commander").role == "reporter"
    assert (
        client.patch("/api/v1/admin/users/nobody", json={"role": "field"}, headers=ADMIN).status_code == 404
    )
    assert client.patch("/api/v1/admin/users/field", json={"role": 5}, headers=ADMIN).status_code == 400
    assert [a for _, a, _ in _audit(app)] == ["user.edit"]


def test_an_admin_cannot_remove_their_own_admin_role_nor_disable_the_last_admin(client, app):
    own = client.patch("/api/v1/admin/users/admin", json={"role": "commander"}, headers=ADMIN)
    assert own.status_code == 403 and "管理员" in own.get_json()["error"]["message"]
    last = client.post("/api/v1/admin/users/admin/disable", headers=ADMIN)
    assert last.status_code == 403
    assert _user(app, "admin").role == "admin" and _user(app, "admin").active
    # a second admin: then either may be disabled, but never the last one, and still not one's own role
    second = client.post(
        "/api/v1/admin/users",
        json={"username": "admin2", "role": "admin", "password": "a long admin password"},
        headers=ADMIN,
    )
    assert second.status_code == 201
    assert (
        client.patch("/api/v1/admin/users/admin", json={"role": "commander"}, headers=ADMIN).status_code
        == 403
    )
    assert client.post("/api/v1/admin/users/admin2/disable", headers=ADMIN).status_code == 200
    assert client.post("/api/v1/admin/users/admin/disable", headers=ADMIN).status_code == 403
    assert [a for _, a, _ in _audit(app)] == ["user.add", "user.disable"]


def test_disabling_ends_the_open_session_and_token_at_once_and_enabling_brings_none_back(client, app):
    browser = signed_in(app, "field")
    assert _me(browser) == 200 and _me(client, auth("field")) == 200
    response = client.post("/api/v1/admin/users/field/disable", headers=ADMIN)
    assert response.status_code == 200 and response.get_json()["user"]["active"] is False
    assert _me(browser) == 401 and _me(client, auth("field")) == 401
    assert login(app.test_client(), "field").status_code == 401
    assert client.post("/api/v1/admin/users/field/enable", headers=ADMIN).status_code == 200
    assert _me(browser) == 401 and _me(client, auth("field")) == 401
    assert login(app.test_client(), "field").status_code == 302
    assert [a for _, a, _ in _audit(app)] == ["user.disable", "user.enable"]


def test_a_password_reset_is_shown_once_and_ends_every_session(client, app):
    browser = signed_in(app, "reporter")
    response = client.post("/api/v1/admin/users/reporter/reset-password", headers=ADMIN)
    password = response.get_json()["password"]
    assert response.status_code == 200 and len(password) >= 10
    assert _me(browser) == 401 and _me(client, auth("reporter")) == 401
    assert login(app.test_client(), "reporter").status_code == 401
    assert login(app.test_client(), "reporter", password).status_code == 302
    assert client.post("/api/v1/admin/users/nobody/reset-password", headers=ADMIN).status_code == 404
    with own_session(app) as db:
        row = db.scalar(select(AuditEntry))
        assert row.action == "user.reset_password" and password not in json.dumps([row.before, row.after])


def test_tokens_are_listed_with_name_and_times_and_revoked_at_once(client, app):
    assert _me(client, auth("field")) == 200  # a use, so that the list shows it
    listed = client.get("/api/v1/admin/users/field/tokens", headers=ADMIN).get_json()
    assert listed["count"] == 1
    token = listed["tokens"][0]
    assert set(token) == {"id", "name", "created_at", "last_used_at", "expires_at", "state"}
    assert token["state"] == "active" and token["last_used_at"] is not None
    revoked = client.post(f"/api/v1/admin/tokens/{token['id']}/revoke", headers=ADMIN)
    assert revoked.status_code == 200 and revoked.get_json()["token"]["state"] == "revoked"
    assert _me(client, auth("field")) == 401
    again = client.post(f"/api/v1/admin/tokens/{token['id']}/revoke", headers=ADMIN)
    assert again.status_code == 200  # harmless, and not logged twice
    assert client.post("/api/v1/admin/tokens/999999/revoke", headers=ADMIN).status_code == 404
    assert client.get("/api/v1/admin/users/nobody/tokens", headers=ADMIN).status_code == 404
    assert _audit(app) == [("admin", "token.revoke", f"token:{token['id']}")]


def test_an_admin_changes_their_own_password(app):
    browser = signed_in(app, "admin")
    page = browser.get("/account/password").get_data(as_text=True)
    response = browser.post(
        "/account/password",
        data={
            "current": TEST_PASSWORD,
            "new": "a brand new long secret",
            "again": "a brand new long secret",
            "csrf_token": csrf_token(page),
        },
    )
    assert response.status_code == 200
    assert login(app.test_client(), "admin", "a brand new long secret").status_code == 302


# -- teams -------------------------------------------------------------------------------------------------------


def test_teams_are_added_renamed_and_retired_never_deleted(client, app):
    added = client.post(
        "/api/v1/admin/teams",
        json={"name": "青年突击队", "type": "志愿者", "subdistrict": "石佛", "members": 40},
        headers=ADMIN,
    )
    assert added.status_code == 201
    team = added.get_json()["team"]
    assert (team["key"], team["type"], team["type_label"], team["subdistrict"]) == (
        "T-0001",
        "volunteer",
        "志愿者队伍",
        "shifo",
    )
    changed = client.patch(
        "/api/v1/admin/teams/T-0001",
        json={"name": "青年志愿突击队", "members": 45, "subdistrict": None},
        headers=ADMIN,
    )
    assert changed.status_code == 200
    assert (changed.get_json()["team"]["name"], changed.get_json()["team"]["subdistrict"]) == (
        "青年志愿突击队",
        None,
    )
    retired = client.post("/api/v1/admin/teams/T-0001/retire", headers=ADMIN)
    assert retired.status_code == 200 and retired.get_json()["team"]["retired_at"]
    assert client.post("/api/v1/admin/teams/T-0001/retire", headers=ADMIN).status_code == 400
    assert client.patch("/api/v1/admin/teams/T-0001", json={"name": "x"}, headers=ADMIN).status_code == 400
    listed = client.get("/api/v1/admin/teams", headers=ADMIN).get_json()
    assert listed["count"] == 1  # kept
    assert client.get("/api/v1/admin/teams?retired=false", headers=ADMIN).get_json()["count"] == 0
    assert client.get("/api/v1/admin/teams?retired=maybe", headers=ADMIN).status_code == 400
    assert [a for _, a, _ in _audit(app)] == ["team.add", "team.edit", "team.retire"]


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"name": "", "type": "crew"}, "name"),
        ({"name": "队", "type": "spaceship"}, "spaceship"),
        ({"name": "队", "type": "crew", "subdistrict": "火星"}, "火星"),
        ({"name": "队", "type": "crew", "members": -1}, "members"),
        ({"name": "队", "type": "crew", "members": "12"}, "members"),
        ({"name": "队\n二", "type": "crew"}, "name"),
        ({"name": "队", "type": "crew", "key": "T 1"}, "编号"),
        ({"name": "队", "type": "crew", "registered_on": "1999-01-01"}, "1999"),
    ],
)
def test_a_bad_team_is_refused_and_nothing_is_written(client, app, body, words):
    response = client.post("/api/v1/admin/teams", json=body, headers=ADMIN)
    assert response.status_code == 400 and words in response.get_json()["error"]["message"]
    with own_session(app) as db:
        assert db.scalar(select(func.count()).select_from(Team)) == 0
    assert _audit(app) == []


def _figure(client, key: str, day: str) -> float:
    figures = client.get(f"/api/v1/metrics?date={day}", headers=auth("commander")).get_json()["figures"]
    return next(f["value"] for f in figures if f["key"] == key)


def _records(client, key: str, day: str) -> int:
    return client.get(f"/api/v1/metrics/{key}/records?date={day}", headers=auth("commander")).get_json()[
        "count"
    ]


@pytest.mark.slow  # 3 s per database: figures on several days of the seeded zone
def test_rescue_force_figures_count_the_teams_serving_that_day(seeded_client):
    client = seeded_client
    before = {
        day: _figure(client, "rescue_party_orgs", day) for day in ("2021-07-24", "2021-07-26", "2021-07-29")
    }
    volunteers = _figure(client, "rescue_volunteers", "2021-07-26")
    added = client.post(
        "/api/v1/admin/teams",
        json={"name": "新登记党支部", "type": "party_org", "members": 30, "registered_on": "2021-07-25"},
        headers=ADMIN,
    )
    key = added.get_json()["team"]["key"]
    assert _figure(client, "rescue_party_orgs", "2021-07-24") == before["2021-07-24"]  # not yet registered
    assert _figure(client, "rescue_party_orgs", "2021-07-26") == before["2021-07-26"] + 1
    assert _figure(client, "rescue_volunteers", "2021-07-26") == volunteers + 30
    assert _records(client, "rescue_party_orgs", "2021-07-26") == before["2021-07-26"] + 1
    assert (
        client.post(f"/api/v1/admin/teams/{key}/retire", json={"on": "2021-07-28"}, headers=ADMIN).status_code
        == 200
    )
    assert (
        _figure(client, "rescue_party_orgs", "2021-07-26") == before["2021-07-26"] + 1
    )  # the days it served
    assert _figure(client, "rescue_party_orgs", "2021-07-29") == before["2021-07-29"]
    assert _records(client, "rescue_party_orgs", "2021-07-29") == before["2021-07-29"]
    # a retired crew is offered for no assignment
    crew = client.post("/api/v1/admin/teams", json={"name": "临时作业队", "type": "crew"}, headers=ADMIN)
    crew_key = crew.get_json()["team"]["key"]
    map_page = signed_in(seeded_client.application, "commander").get("/map").get_data(as_text=True)
    assert ">临时作业队</option>" in map_page
    client.post(f"/api/v1/admin/teams/{crew_key}/retire", headers=ADMIN)
    map_page = signed_in(seeded_client.application, "commander").get("/map").get_data(as_text=True)
    # no longer a choice of the assignment dialog (popups still name it on the sites it served)
    assert ">临时作业队</option>" not in map_page


# -- the audit log -----------------------------------------------------------------------------------------------


def test_the_audit_log_is_append_only_in_the_database(client, app):
    client.post("/api/v1/admin/users/field/disable", headers=ADMIN)
    engine = make_engine(app.config["RECOVERY"]["DATABASE_URL"])
    for statement in ("UPDATE audit_entry SET actor = 'someone'", "DELETE FROM audit_entry"):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(text(statement))
    engine.dispose()
    assert _audit(app) == [("admin", "user.disable", "user:field")]


def test_the_audit_log_filters_and_pages(client, app):
    for name in ("field", "field_shifo", "reporter"):
        client.post(f"/api/v1/admin/users/{name}/disable", headers=ADMIN)
    client.post("/api/v1/admin/users/reporter/enable", headers=ADMIN)
    log = client.get("/api/v1/admin/audit", headers=ADMIN).get_json()
    assert [e["target"] for e in log["entries"]] == [
        "user:reporter",
        "user:reporter",
        "user:field_shifo",
        "user:field",
    ]
    assert log["entries"][0]["action_label"] == "启用用户"
    assert client.get("/api/v1/admin/audit?action=启用用户", headers=ADMIN).get_json()["count"] == 1
    assert client.get("/api/v1/admin/audit?q=shifo", headers=ADMIN).get_json()["count"] == 1
    page = client.get(
        f"/api/v1/admin/audit?limit=2&before={log['entries'][1]['id']}", headers=ADMIN
    ).get_json()
    assert [e["target"] for e in page["entries"]] == ["user:field_shifo", "user:field"]
    for bad in ("action=nonsense", "limit=0", "limit=x", "before=-1"):
        assert client.get(f"/api/v1/admin/audit?{bad}", headers=ADMIN).status_code == 400, bad
    with own_session(app) as db:
        assert entries(db, limit=10_000)[0].target == "user:reporter"


# -- the pages ---------------------------------------------------------------------------------------------------


def test_the_pages_add_edit_disable_and_reset_with_csrf(app):
    browser = signed_in(app, "admin")
    page = browser.get("/admin/users").get_data(as_text=True)
    assert "一线人员" in page and "石佛办事处" in page and "测试field" in page
    token = csrf_token(page)
    assert (
        browser.post("/admin/users", data={"username": "li", "role": "field"}).status_code == 400
    )  # no CSRF
    refused = browser.post("/admin/users", data={"username": "li", "role": "field", "csrf_token": token})
    assert (
        refused.status_code == 400
        and "负责范围" in refused.get_data(as_text=True)
        and _user(app, "li") is None
    )
    made = browser.post(
        "/admin/users",
        data={
            "username": "li",
            "role": "field",
            "subdistrict": ["shifo"],
            "display_name": "李",
            "csrf_token": token,
        },
    )
    text_ = made.get_data(as_text=True)
    assert made.status_code == 200 and 'id="new-password"' in text_ and _user(app, "li").scope == ["shifo"]
    saved = browser.post(
        "/admin/users/li",
        data={"role": "field", "subdistrict": ["wutong"], "display_name": "李", "csrf_token": token},
    )
    assert saved.status_code == 302 and _user(app, "li").scope == ["wutong"]
    assert (
        browser.post("/admin/users/li/active", data={"active": "0", "csrf_token": token}).status_code == 302
    )
    assert not _user(app, "li").active
    assert "停用" in browser.get("/admin/users/li").get_data(as_text=True)
    own = browser.post("/admin/users/admin", data={"role": "commander", "csrf_token": token})
    assert own.status_code == 403 and _user(app, "admin").role == "admin"
    reset = browser.post("/admin/users/li/password", data={"csrf_token": token})
    assert reset.status_code == 200 and 'id="new-password"' in reset.get_data(as_text=True)
    audit_page = browser.get("/admin/audit").get_data(as_text=True)
    for label in ("添加用户", "修改角色或范围", "停用用户", "重置密码"):
        assert label in audit_page
    english = browser.get("/admin/audit?lang=en").get_data(as_text=True)
    assert "user disabled" in english and "Audit log" in english


def test_the_team_page_adds_edits_and_retires(app):
    browser = signed_in(app, "admin")
    token = csrf_token(browser.get("/admin/teams").get_data(as_text=True))
    bad = browser.post(
        "/admin/teams", data={"name": "抢修队", "type": "crew", "members": "many", "csrf_token": token}
    )
    assert bad.status_code == 400 and "members" in bad.get_data(as_text=True)
    made = browser.post(
        "/admin/teams",
        data={
            "name": "抢修队",
            "type": "crew",
            "subdistrict": "gouzhao",
            "members": "8",
            "csrf_token": token,
        },
    )
    assert made.status_code == 302
    page = browser.get("/admin/teams").get_data(as_text=True)
    assert "抢修队" in page and "作业队" in page and "沟赵办事处" in page
    renamed = browser.post(
        "/admin/teams/T-0001",
        data={
            "name": "沟赵抢修队",
            "type": "crew",
            "subdistrict": "gouzhao",
            "members": "9",
            "csrf_token": token,
        },
    )
    assert renamed.status_code == 302
    assert browser.post("/admin/teams/T-0001", data={"retire": "1", "csrf_token": token}).status_code == 302
    with own_session(app) as db:
        team = db.scalar(select(Team))
        assert (team.name, team.members) == ("沟赵抢修队", 9) and team.retired_at is not None


def test_the_overview_shows_settings_masked_database_photos_and_backup(app, tmp_path):
    app.instance_path = str(tmp_path)  # where backups are noted: this test's own folder
    page = signed_in(app, "admin").get("/admin/").get_data(as_text=True)
    assert app.config["SECRET_KEY"] not in page and "RECOVERY_SECRET_KEY" in page and "••••••" in page
    from recovery.db.engine import get_engine
    from recovery.db.migrate import head_revision

    with app.app_context():
        head = head_revision(get_engine())
    assert head in page and ("SQLite" in page or "PostgreSQL" in page)
    assert "照片" in page and "上次备份" in page and "无记录" in page
    # once a backup is noted on this machine (recovery.backup), the overview shows it
    note = {
        "file": "/srv/backups/r.tar",
        "created_at": "2026-12-05T03:00:00+00:00",
        "bytes": 2048,
        "migration": "0012",
        "events": 7,
    }
    (Path(app.instance_path) / LAST_BACKUP).write_text(json.dumps(note), encoding="utf-8")
    page = signed_in(app, "admin").get("/admin/").get_data(as_text=True)
    assert "/srv/backups/r.tar" in page and "2026-12-05 11:00" in page and "无记录" not in page


#: what a setting's help names that its translation must keep as written: `code`, variables, addresses
VERBATIM = re.compile(r"`[^`]+`|RECOVERY_\w+|https?://[^\s,;)]+")
CJK = re.compile(r"[\u4e00-\u9fff]")


def test_every_settings_help_has_a_chinese_translation_that_keeps_names_and_addresses():
    zh = catalogue("zh_CN")
    problems = []
    for setting in SETTINGS:
        chinese = zh.gettext(setting.help)
        if chinese == setting.help or not CJK.search(chinese):
            problems.append(f"untranslated: {setting.name}")
        kept = [token.rstrip(".:") for token in VERBATIM.findall(setting.help)]
        problems += [f"{setting.name}: {token} lost" for token in kept if token not in chinese]
    assert problems == []


def test_the_overview_shows_each_settings_purpose_in_the_pages_language(app):
    zh = catalogue("zh_CN")
    admin = signed_in(app, "admin")
    chinese = admin.get("/admin/").get_data(as_text=True)  # Chinese first
    english = admin.get("/admin/?lang=en").get_data(as_text=True)
    for setting in SETTINGS:
        zh_help, en_help = str(escape(zh.gettext(setting.help))), str(escape(setting.help))
        assert zh_help in chinese and en_help not in chinese, setting.name
        assert en_help in english and zh_help not in english, setting.name
    assert "数据库的 SQLAlchemy 连接地址" in chinese and "SQLAlchemy URL of the database" in english
    # outside a request (a script, the shell) the rows read as written
    assert [row["help"] for row in settings_in_force({})] == [s.help for s in SETTINGS]


# -- the commands ------------------------------------------------------------------------------------------------


def test_the_user_commands_are_audited_and_refuse_as_the_pages_do(app, runner):
    assert runner.invoke(args=["users", "set-scope", "field", "石佛,梧桐"]).exit_code == 0
    assert _user(app, "field").scope == ["shifo", "wutong"]
    assert runner.invoke(args=["users", "set-role", "reporter", "指挥人员"]).exit_code == 0
    assert _user(app, "reporter").role == "commander"
    out = runner.invoke(args=["users", "reset-password", "field_shifo"])
    assert out.exit_code == 0 and "新密码" in out.output
    assert runner.invoke(args=["users", "disable", "field"]).exit_code == 0
    assert runner.invoke(args=["users", "enable", "field"]).exit_code == 0
    listed = runner.invoke(args=["users", "tokens", "commander"])
    token_id = listed.output.splitlines()[1].split()[0]
    assert runner.invoke(args=["users", "revoke", token_id]).exit_code == 0
    last = runner.invoke(args=["users", "disable", "admin"])
    assert last.exit_code == 2 and "admin" in last.output
    demote = runner.invoke(args=["users", "set-role", "admin", "commander"])
    assert demote.exit_code == 2 and _user(app, "admin").role == "admin"
    assert runner.invoke(args=["users", "set-scope", "field", "火星"]).exit_code == 2
    assert runner.invoke(args=["users", "set-role", "nobody", "field"]).exit_code == 2
    actions = [a for _, a, _ in _audit(app)]
    assert actions == [
        "user.edit",
        "user.edit",
        "user.reset_password",
        "user.disable",
        "user.enable",
        "token.revoke",
    ]
    assert all(actor.startswith("cli:") for actor, _, _ in _audit(app))
    log = runner.invoke(args=["audit"])
    assert log.exit_code == 0 and "吊销令牌" in log.output and "命令行" not in log.output
    as_json = [json.loads(line) for line in runner.invoke(args=["audit", "--json"]).output.splitlines()]
    assert as_json[0]["action"] == "token.revoke" and as_json[-1]["after"]["scope"] == ["shifo", "wutong"]
    assert runner.invoke(args=["audit", "--action", "nonsense"]).exit_code == 2


def test_the_team_commands(app, runner):
    added = runner.invoke(
        args=[
            "teams",
            "add",
            "党员先锋队",
            "--type",
            "基层党组织",
            "--subdistrict",
            "双桥",
            "--members",
            "20",
        ]
    )
    assert added.exit_code == 0 and "T-0001" in added.output
    assert runner.invoke(args=["teams", "rename", "T-0001", "双桥党员先锋队"]).exit_code == 0
    assert runner.invoke(args=["teams", "retire", "T-0001", "--on", "2021-07-30"]).exit_code == 0
    listed = runner.invoke(args=["teams", "list"])
    assert (
        "双桥党员先锋队" in listed.output
        and "基层党组织" in listed.output
        and "retired 2021-07-30" in listed.output
    )
    assert runner.invoke(args=["teams", "list", "--active"]).output == ""
    for bad in (
        ["teams", "add", "队", "--type", "spaceship"],
        ["teams", "add", "队", "--type", "crew", "--members", "-3"],
        ["teams", "rename", "T-9999", "x"],
        ["teams", "retire", "T-0001"],
    ):
        assert runner.invoke(args=bad).exit_code == 2, bad
    assert [a for _, a, _ in _audit(app)] == ["team.add", "team.edit", "team.retire"]


def test_the_plain_functions_refuse_without_an_app(session):
    """The rules hold below the doors: the last admin, as the command line acts (no user of its own)."""
    from recovery.admin.users import edit_user, set_user_active
    from recovery.errors import Forbidden

    actor = Actor(None, "cli:test")
    with pytest.raises(Forbidden):
        set_user_active(session, actor, "admin", False)
    with pytest.raises(Forbidden):
        edit_user(session, actor, "admin", role="commander")
    assert session.scalar(select(func.count()).select_from(AuditEntry)) == 0
