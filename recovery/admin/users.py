"""User administration: list, add, change role or scope, disable and enable, reset a password, issue, list and
revoke API tokens; and a user's change of their own password, audited like the rest. Each change is one
transaction holding the change and its audit row; the rules of accounts (passwords, sessions, tokens, caches) are
`recovery.auth.accounts`'s, the scope's `recovery.scope`'s.

Refused: disabling the last active admin, and an admin removing their own admin role (or the last admin's)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from recovery.admin import audit
from recovery.admin.audit import Actor
from recovery.auth.accounts import (
    add_token,
    check_unit,
    create_user,
    parse_scope,
    password_change_due,
    revoke_token,
    set_active,
    set_password,
    set_role_and_scope,
    token_state,
    tokens_of,
)
from recovery.auth.passwords import generate_password
from recovery.db.engine import begin_write
from recovery.errors import Forbidden, NotFoundError
from recovery.models import Team
from recovery.models_accounts import ApiToken, User
from recovery.text import clean_text
from recovery.timeutil import zone_iso
from recovery.vocab import resolve

T = TypeVar("T")
MAX_LIST = 500


def snapshot(user: User) -> dict[str, Any]:
    """What the audit log keeps of a user (never a password or its hash)."""
    return {
        "username": user.username,
        "display_name": user.display_name,
        "role": user.role,
        "scope": list(user.scope or []),
        "team_id": user.team_id,
        "unit": user.unit,
        "active": bool(user.active),
        "must_change_password": bool(user.must_change_password),
    }


def user_dict(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        **snapshot(user),
        "created_at": zone_iso(user.created_at),
        "last_login_at": zone_iso(user.last_login_at),
    }


def token_dict(row: ApiToken) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.label,
        "created_at": zone_iso(row.created_at),
        "last_used_at": zone_iso(row.last_used_at),
        "expires_at": zone_iso(row.expires_at),
        "state": token_state(row),
    }


def list_users(session: Session, q: str = "", limit: int = 200) -> list[User]:
    """Users whose name or display name contains `q` (any case), in the order they were added."""
    stmt = select(User).order_by(User.id).limit(max(1, min(limit, MAX_LIST)))
    q = clean_text(q, "q", 80)
    if q:
        pattern = f"%{q.lower()}%"
        stmt = stmt.where(
            or_(func.lower(User.username).like(pattern), func.lower(User.display_name).like(pattern))
        )
    return list(session.scalars(stmt))


def find_user(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == (username or "").strip()))
    if user is None:
        raise NotFoundError("No user %(name)s.", name=str(username)[:80])
    return user


def _in_one_transaction(session: Session, change: Callable[[], T]) -> T:
    """Run `change` (which commits once, its audit row with it) holding the write lock; roll back on refusal."""
    begin_write(session)
    try:
        return change()
    except BaseException:
        session.rollback()
        raise


def _active_admins(session: Session) -> int:
    """How many active admins there are, their rows locked until the change commits (PostgreSQL; SQLite's write
    lock is already held), so that two admins disabling each other at once cannot leave none."""
    rows = session.scalars(
        select(User.id).where(User.role == "admin", User.active.is_(True)).with_for_update()
    )
    return len(rows.all())


def add_user(
    session: Session,
    actor: Actor,
    username: str,
    role: str,
    *,
    scope: str | list[str] | None = None,
    display_name: str = "",
    password: str | None = None,
    team_key: str | None = None,
    unit: str | None = None,
) -> tuple[User, str | None]:
    """Add a user; returns the user and the password generated for them (shown once), or None when one was given."""

    def change():
        key = resolve("role", role)
        name = clean_text(display_name, "display_name", 120)
        keys = parse_scope(session, scope)
        given = password or generate_password(key, (username or "").strip())
        after = {"username": (username or "").strip(), "display_name": name, "role": key, "scope": keys}
        if team_key:
            after["team"] = team_key
        unit_key = check_unit(key, unit)
        if unit_key:
            after["unit"] = unit_key
        audit.record(session, actor, "user.add", f"user:{after['username']}", None, after | {"active": True})
        user = create_user(
            session, username, key, given, scope=keys, display_name=name, team_key=team_key, unit=unit_key
        )
        return user, (None if password else given)

    return _in_one_transaction(session, change)


def edit_user(
    session: Session,
    actor: Actor,
    username: str,
    *,
    role: str | None = None,
    scope: str | list[str] | None = None,
    display_name: str | None = None,
    unit: str | None = None,
) -> User:
    """Change a user's role, scope, unit and/or display name (None: left as it is)."""

    def change():
        user = find_user(session, username)
        before = snapshot(user)
        key = resolve("role", role) if role is not None else user.role
        keys = parse_scope(session, scope) if scope is not None else list(user.scope or [])
        name = clean_text(display_name, "display_name", 120) if display_name is not None else None
        if before["role"] == "admin" and key != "admin":
            if actor.id == user.id:
                raise Forbidden("You cannot remove your own admin role.")
            if user.active and _active_admins(session) <= 1:
                raise Forbidden("The last admin cannot lose the admin role.")
        unit_key = check_unit(key, unit or user.unit)
        after = before | {"role": key, "scope": keys, "unit": unit_key}
        after["must_change_password"] = password_change_due(user, key)
        after |= {"display_name": name} if name is not None else {}
        audit.record(session, actor, "user.edit", f"user:{user.username}", before, after)
        set_role_and_scope(session, user, key, keys, name, unit_key)
        return user

    return _in_one_transaction(session, change)


def set_user_active(session: Session, actor: Actor, username: str, active: bool) -> User:
    """Disable (every session and token ends at once) or enable a user."""

    def change():
        user = find_user(session, username)
        if not active and user.role == "admin" and user.active and _active_admins(session) <= 1:
            raise Forbidden("The last admin cannot be disabled.")
        before = snapshot(user)
        action = "user.enable" if active else "user.disable"
        audit.record(session, actor, action, f"user:{user.username}", before, before | {"active": active})
        set_active(session, user, active)
        return user

    return _in_one_transaction(session, change)


def reset_password(session: Session, actor: Actor, username: str) -> str:
    """A new random password for the user, returned to be shown once; every session and token of theirs ends."""

    def change():
        user = find_user(session, username)
        password = generate_password(user.role, user.username)
        before, after = _credentials_ended(user)
        audit.record(session, actor, "user.reset_password", f"user:{user.username}", before, after)
        set_password(session, user, password)
        return password

    return _in_one_transaction(session, change)


def change_own_password(session: Session, actor: Actor, user: User, password: str) -> None:
    """`user` (the actor, whose current password the door has checked) sets a new one; every session and token of
    theirs ends, and a password change they were asked for is done. The audit row says so, never the password."""

    def change():
        before, after = _credentials_ended(user)
        audit.record(session, actor, "user.password_change", f"user:{user.username}", before, after)
        set_password(session, user, password)

    _in_one_transaction(session, change)


def issue_token(
    session: Session, actor: Actor, username: str, label: str = "", days: int | None = None
) -> tuple[ApiToken, str]:
    """A new API token for the user: the row and the token, shown once. The audit row keeps its id, name and
    expiry, never the token."""

    def change():
        user = find_user(session, username)
        row, token = add_token(session, user, clean_text(label, "label", 120), days)
        audit.record(
            session, actor, "token.issue", f"token:{row.id}", None, token_dict(row) | {"user": user.username}
        )
        session.commit()
        return row, token

    return _in_one_transaction(session, change)


def _credentials_ended(user: User) -> tuple[dict | None, dict]:
    """Before and after of a new password in the audit log: sessions and tokens ended, and the change the user
    was asked for (a raised role) done."""
    if user.must_change_password:
        return {"must_change_password": True}, {"credentials": "ended", "must_change_password": False}
    return None, {"credentials": "ended"}


def user_tokens(session: Session, username: str) -> list[ApiToken]:
    return tokens_of(session, find_user(session, username))


def revoke(session: Session, actor: Actor, token_id: int, username: str | None = None) -> ApiToken:
    """Revoke an API token by id (of `username`, when given: a page revokes only the tokens it lists)."""

    def change():
        row = session.get(ApiToken, token_id)
        owner = session.get(User, row.user_id) if row is not None else None
        if row is None or (username is not None and (owner is None or owner.username != username)):
            raise NotFoundError("No API token %(id)s.", id=token_id)
        if row.revoked_at is not None:  # revoking twice is harmless, and changes nothing to log
            session.rollback()
            return row
        before = token_dict(row) | {"user": owner.username}
        audit.record(session, actor, "token.revoke", f"token:{row.id}", before, before | {"state": "revoked"})
        return revoke_token(session, token_id)

    return _in_one_transaction(session, change)


def team_choices(session: Session) -> list[tuple[str, str]]:
    """(key, name) of the teams in service, for a scope picker."""
    rows = session.execute(select(Team.key, Team.name).where(Team.retired_at.is_(None)).order_by(Team.id))
    return [(key, name) for key, name in rows]
