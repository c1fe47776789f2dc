"""The admin's pages under /admin: an overview (settings in force, database, photos, backup), users, teams and the
audit log. Every form carries the CSRF token (CSRFProtect checks it); a refusal shows the page again with the
message and its status, nothing written."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for

from recovery.admin import audit, system, teams, users
from recovery.auth import current_account
from recovery.db import get_session
from recovery.db.engine import get_engine
from recovery.errors import RecoveryError
from recovery.i18n import current_locale
from recovery.numbers import read_whole_number
from recovery.timeutil import zone_minute
from recovery.vocab import label, labels
from recovery.web.policy import allow

bp = Blueprint("admin", __name__, url_prefix="/admin")


def _actor() -> audit.Actor:
    return audit.actor_of(current_account(), request.remote_addr)


def _render(template: str, status: int = 200, **context):
    locale = current_locale()
    context.setdefault("error", None)
    return (
        render_template(
            template,
            vlabel=lambda vocabulary, key: label(vocabulary, key, locale),
            roles=labels("role", locale),
            subdistricts=labels("subdistrict", locale),
            team_types=labels("team_type", locale),
            units=labels("unit", locale),
            when=zone_minute,
            human_bytes=system.human_bytes,
            **context,
        ),
        status,
    )


@bp.get("/")
@allow("admin")
def overview():
    settings = current_app.config["RECOVERY"]
    photos = Path(settings["PHOTO_DIR"] or Path(current_app.instance_path) / "photos")  # as photos_api
    used = system.disk_used(photos)
    return _render(
        "admin/overview.html",
        settings=system.settings_in_force(settings),
        database=system.database_info(get_engine()),
        photos=used | {"human": system.human_bytes(used["bytes"])},
        backup=system.last_backup(Path(current_app.instance_path)),
    )


# -- users -------------------------------------------------------------------------------------------------------


def _users_page(status: int = 200, **context):
    q = request.args.get("q", "")
    try:
        found = users.list_users(get_session(), q)
    except RecoveryError as exc:
        found, status, context["error"] = [], exc.http_status, exc.translated()
    return _render(
        "admin/users.html", status, users=found, q=q, teams=users.team_choices(get_session()), **context
    )


@bp.get("/users")
@allow("admin")
def users_page():
    return _users_page()


@bp.post("/users")
@allow("admin")
def add_user():
    form = request.form
    scope = [*form.getlist("subdistrict"), *filter(None, [form.get("teams", "")])]
    try:
        user, password = users.add_user(
            get_session(),
            _actor(),
            form.get("username", ""),
            form.get("role", ""),
            scope=",".join(scope),
            display_name=form.get("display_name", ""),
            unit=form.get("unit") or None,
        )
    except RecoveryError as exc:
        return _users_page(exc.http_status, error=exc.translated(), form=form)
    # the password is shown on this answer only (not in an address, not kept)
    return _user_page(user.username, password=password, created=True)


def _user_page(username: str, status: int = 200, **context):
    session = get_session()
    user = users.find_user(session, username)
    return _render(
        "admin/user.html",
        status,
        user=user,
        tokens=[users.token_dict(t) for t in users.user_tokens(session, username)],
        teams=users.team_choices(session),
        me=current_account().id == user.id,
        **context,
    )


@bp.get("/users/<username>")
@allow("admin")
def user_page(username: str):
    return _user_page(username)


@bp.post("/users/<username>")
@allow("admin")
def edit_user(username: str):
    form = request.form
    scope = [*form.getlist("subdistrict"), *filter(None, [form.get("teams", "")])]
    try:
        users.edit_user(
            get_session(),
            _actor(),
            username,
            role=form.get("role"),
            scope=",".join(scope),
            display_name=form.get("display_name"),
            unit=form.get("unit") or None,
        )
    except RecoveryError as exc:
        return _user_page(username, exc.http_status, error=exc.translated())
    flash("saved")
    return redirect(url_for("admin.user_page", username=username))


@bp.post("/users/<username>/active")
@allow("admin")
def set_active(username: str):
    active = request.form.get("active") == "1"
    try:
        users.set_user_active(get_session(), _actor(), username, active)
    except RecoveryError as exc:
        return _user_page(username, exc.http_status, error=exc.translated())
    flash("enabled" if active else "disabled")
    return redirect(url_for("admin.user_page", username=username))


@bp.post("/users/<username>/password")
@allow("admin")
def reset_password(username: str):
    try:
        password = users.reset_password(get_session(), _actor(), username)
    except RecoveryError as exc:
        return _user_page(username, exc.http_status, error=exc.translated())
    return _user_page(username, password=password)


@bp.post("/users/<username>/tokens/<id:token_id>/revoke")
@allow("admin")
def revoke_token(username: str, token_id: int):
    try:
        users.revoke(get_session(), _actor(), token_id, username)
    except RecoveryError as exc:
        return _user_page(username, exc.http_status, error=exc.translated())
    flash("revoked")
    return redirect(url_for("admin.user_page", username=username))


# -- teams -------------------------------------------------------------------------------------------------------


def _teams_page(status: int = 200, **context):
    q = request.args.get("q", "")
    try:
        found = teams.list_teams(get_session(), q)
    except RecoveryError as exc:
        found, status, context["error"] = [], exc.http_status, exc.translated()
    return _render("admin/teams.html", status, teams=found, q=q, **context)


@bp.get("/teams")
@allow("admin")
def teams_page():
    return _teams_page()


@bp.post("/teams")
@allow("admin")
def add_team():
    form = request.form
    try:
        team = teams.add_team(
            get_session(),
            _actor(),
            name=form.get("name", ""),
            type=form.get("type", ""),
            subdistrict=form.get("subdistrict", ""),
            members=form.get("members", "0"),
            registered_on=form.get("registered_on") or None,
        )
    except RecoveryError as exc:
        return _teams_page(exc.http_status, error=exc.translated(), form=form)
    flash("added")
    return redirect(url_for("admin.teams_page", q=team.key))


@bp.post("/teams/<key>")
@allow("admin")
def edit_team(key: str):
    form = request.form
    try:
        if form.get("retire"):
            teams.retire_team(get_session(), _actor(), key, form.get("on") or None)
        else:
            teams.edit_team(
                get_session(),
                _actor(),
                key,
                name=form.get("name"),
                type=form.get("type"),
                subdistrict=form.get("subdistrict"),
                members=form.get("members"),
            )
    except RecoveryError as exc:
        return _teams_page(exc.http_status, error=exc.translated())
    flash("saved")
    return redirect(url_for("admin.teams_page", q=key))


# -- responsible units ------------------------------------------------------------------------------------------


def _units_page(status: int = 200, **context):
    from recovery.units import unit_rows

    return _render("admin/units.html", status, rows=unit_rows(get_session(), current_locale()), **context)


@bp.get("/units")
@allow("admin")
def units_page():
    return _units_page()


@bp.post("/units/<key>")
@allow("admin")
def edit_unit(key: str):
    from recovery.units import parse_contacts, set_unit

    form = request.form
    try:
        set_unit(
            get_session(),
            _actor(),
            key,
            leader=form.get("leader", ""),
            contacts=parse_contacts(form.get("contacts", "")),
            note=form.get("note", ""),
        )
        get_session().commit()
    except RecoveryError as exc:
        get_session().rollback()
        return _units_page(exc.http_status, error=exc.translated())
    flash("saved")
    return redirect(url_for("admin.units_page") + f"#u-{key}")


# -- audit -------------------------------------------------------------------------------------------------------


@bp.get("/audit")
@allow("admin")
def audit_page():
    action, q = request.args.get("action", ""), request.args.get("q", "")
    before = read_whole_number(request.args.get("before", "")) or None
    try:
        rows = audit.entries(get_session(), action=action or None, q=q, limit=100, before_id=before)
        error, status = None, 200
    except RecoveryError as exc:
        rows, error, status = [], exc.translated(), exc.http_status
    return _render(
        "admin/audit.html",
        status,
        entries=rows,
        action=action,
        q=q,
        actions=labels("audit_action", current_locale()),
        changed=audit.changed,
        error=error,
    )
