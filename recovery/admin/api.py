"""`/api/v1/admin/…`: the administration as JSON for an admin's bearer token (users, tokens, teams, audit)."""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from recovery.admin import audit, teams, users
from recovery.admin.declared import (
    ACTION,
    BEFORE,
    LIMIT,
    RETIRE_BODY,
    RETIRED,
    TEAM_BODY,
    TEAM_CHANGE_BODY,
    USER_BODY,
    USER_CHANGE_BODY,
    Q,
)
from recovery.auth import current_account
from recovery.db import get_session
from recovery.errors import ValidationError
from recovery.i18n import current_locale
from recovery.numbers import whole_number
from recovery.vocab import label
from recovery.web.apidoc import operation
from recovery.web.policy import allow
from recovery.web.site_access import json_body

bp = Blueprint("admin_api", __name__, url_prefix="/api/v1/admin")


def _actor() -> audit.Actor:
    return audit.actor_of(current_account(), request.remote_addr)


def _user(user) -> dict:
    locale = current_locale()
    return users.user_dict(user) | {
        "role_label": label("role", user.role, locale),
        "scope_labels": [label("subdistrict", key, locale) for key in user.scope or []],
    }


def _team(team) -> dict:
    locale = current_locale()
    return teams.team_dict(team) | {
        "type_label": label("team_type", team.type, locale),
        "subdistrict_label": label("subdistrict", team.subdistrict, locale),
    }


def _entry(entry) -> dict:
    return audit.entry_dict(entry) | {"action_label": label("audit_action", entry.action, current_locale())}


def _optional_body() -> dict:
    return json_body() if request.get_data(cache=True) else {}


# -- users -------------------------------------------------------------------------------------------------------


@bp.get("/users")
@operation("Users", tag="admin", query=(Q,), responses={"200": "users with role, scope and state"})
@allow("admin")
def list_users():
    found = users.list_users(get_session(), request.args.get("q", ""))
    return jsonify({"users": [_user(u) for u in found], "count": len(found)})


@bp.post("/users")
@operation(
    "Add a user", tag="admin", body=USER_BODY, responses={"201": "the user, and the password if generated"}
)
@allow("admin")
def add_user():
    body = USER_BODY.read(json_body())
    user, password = users.add_user(
        get_session(),
        _actor(),
        body["username"],
        body["role"],
        scope=body.get("scope") or [],
        display_name=body.get("display_name") or "",
        password=body.get("password"),
    )
    return jsonify({"user": _user(user)} | ({"password": password} if password else {})), 201


@bp.patch("/users/<username>")
@operation(
    "Change a user's role, scope or display name",
    tag="admin",
    body=USER_CHANGE_BODY,
    responses={"200": "the user"},
)
@allow("admin")
def edit_user(username: str):
    body = USER_CHANGE_BODY.read(json_body())
    user = users.edit_user(
        get_session(),
        _actor(),
        username,
        role=body.get("role"),
        scope=body.get("scope"),
        display_name=body.get("display_name"),
    )
    return jsonify({"user": _user(user)})


@bp.post("/users/<username>/disable")
@operation(
    "Disable a user: their sessions and tokens end at once", tag="admin", responses={"200": "the user"}
)
@allow("admin")
def disable_user(username: str):
    return jsonify({"user": _user(users.set_user_active(get_session(), _actor(), username, False))})


@bp.post("/users/<username>/enable")
@operation("Enable a disabled user", tag="admin", responses={"200": "the user"})
@allow("admin")
def enable_user(username: str):
    return jsonify({"user": _user(users.set_user_active(get_session(), _actor(), username, True))})


@bp.post("/users/<username>/reset-password")
@operation("Reset a user's password (returned once)", tag="admin", responses={"200": "the new password"})
@allow("admin")
def reset_password(username: str):
    password = users.reset_password(get_session(), _actor(), username)
    return jsonify({"username": username, "password": password})


@bp.get("/users/<username>/tokens")
@operation("A user's API tokens", tag="admin", responses={"200": "tokens: name, created, last used, state"})
@allow("admin")
def user_tokens(username: str):
    rows = users.user_tokens(get_session(), username)
    return jsonify({"tokens": [users.token_dict(r) for r in rows], "count": len(rows)})


@bp.post("/tokens/<id:token_id>/revoke")
@operation("Revoke an API token: it stops working at once", tag="admin", responses={"200": "the token"})
@allow("admin")
def revoke_token(token_id: int):
    row = users.revoke(get_session(), _actor(), token_id)
    return jsonify({"token": users.token_dict(row)})


# -- teams -------------------------------------------------------------------------------------------------------


@bp.get("/teams")
@operation(
    "Teams", tag="admin", query=(Q, RETIRED), responses={"200": "teams with type, sub-district, head count"}
)
@allow("admin")
def list_teams():
    retired = request.args.get("retired", "true").strip().lower()
    if retired not in ("true", "false", "1", "0"):
        raise ValidationError("retired must be true or false.")
    found = teams.list_teams(get_session(), request.args.get("q", ""), retired=retired in ("true", "1"))
    return jsonify({"teams": [_team(t) for t in found], "count": len(found)})


@bp.post("/teams")
@operation("Register a team", tag="admin", body=TEAM_BODY, responses={"201": "the team"})
@allow("admin")
def add_team():
    body = TEAM_BODY.read(json_body())
    team = teams.add_team(
        get_session(),
        _actor(),
        name=body["name"],
        type=body["type"],
        subdistrict=body.get("subdistrict"),
        members=body.get("members", 0),
        key=body.get("key"),
        registered_on=body.get("registered_on"),
    )
    return jsonify({"team": _team(team)}), 201


@bp.patch("/teams/<key>")
@operation(
    "Rename a team or change its type, sub-district or head count",
    tag="admin",
    body=TEAM_CHANGE_BODY,
    responses={"200": "the team"},
)
@allow("admin")
def edit_team(key: str):
    body = TEAM_CHANGE_BODY.read(json_body())
    subdistrict = body.get("subdistrict")
    team = teams.edit_team(
        get_session(),
        _actor(),
        key,
        name=body.get("name"),
        type=body.get("type"),
        subdistrict="" if "subdistrict" in body and subdistrict is None else subdistrict,
        members=body.get("members"),
    )
    return jsonify({"team": _team(team)})


@bp.post("/teams/<key>/retire")
@operation(
    "Retire a team (kept, no longer counted from the day given)",
    tag="admin",
    body=RETIRE_BODY,
    responses={"200": "the team"},
)
@allow("admin")
def retire_team(key: str):
    body = RETIRE_BODY.read(_optional_body())
    return jsonify({"team": _team(teams.retire_team(get_session(), _actor(), key, body.get("on")))})


# -- audit -------------------------------------------------------------------------------------------------------


@bp.get("/audit")
@operation(
    "The audit log, newest first", tag="admin", query=(ACTION, Q, LIMIT, BEFORE), responses={"200": "entries"}
)
@allow("admin")
def audit_log():
    limit = whole_number(request.args.get("limit", "100"), "limit", 1, audit.MAX_ROWS)
    before = request.args.get("before")
    rows = audit.entries(
        get_session(),
        action=request.args.get("action") or None,
        q=request.args.get("q", ""),
        limit=limit,
        before_id=whole_number(before, "before", 1) if before else None,
    )
    return jsonify({"entries": [_entry(e) for e in rows], "count": len(rows)})
