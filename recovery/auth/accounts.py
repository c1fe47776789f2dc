"""Accounts: creating users, checking passwords (scrypt), signed-in sessions and API tokens that end when
revoked, expired, or when their user's password changes or the user is disabled."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask_login import UserMixin
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from recovery.auth import throttle
from recovery.auth.cache import ACCOUNT_CACHE_SECONDS, AccountCache, account_cache, note_changed
from recovery.auth.passwords import check_password, least_length
from recovery.auth.throttle import TooManyAttempts
from recovery.errors import NotFoundError, ValidationError
from recovery.models import Team
from recovery.models_accounts import ApiToken, LoginAttempt, User, UserSession, token_lifetime
from recovery.scope import may_change as may_change_site
from recovery.timeutil import now
from recovery.vocab import SUBDISTRICT_ORDER, resolve, resolve_all

__all__ = ["ACCOUNT_CACHE_SECONDS", "AccountCache", "TooManyAttempts", "account_cache"]

#: a token's `last_used_at` is written at most this often (it is read on the API's hot path)
TOKEN_USE_RESOLUTION = timedelta(minutes=10)


@dataclass(frozen=True)
class Account(UserMixin):
    """What a request knows about its user: detached from the database session, safe to keep on `g`."""

    id: int
    username: str
    display_name: str
    role: str
    subdistricts: frozenset[str] = field(default_factory=frozenset)
    team_ids: frozenset[int] = field(default_factory=frozenset)
    via_token: bool = False
    #: the responsible unit (key) of a user of role `unit`
    unit: str | None = None
    #: the role was raised to one that needs a longer password: a browser session may only choose a new one
    must_change_password: bool = False

    def get_id(self) -> str:
        return str(self.id)

    def may_change(self, site) -> bool:
        """Whether this user may change `site`: the rule is `recovery.scope`'s."""
        return may_change_site(self, site)


def account_of(session: Session, user: User, via_token: bool = False) -> Account:
    subdistricts = frozenset(s for s in user.scope if s in SUBDISTRICT_ORDER)
    team_keys = [s for s in user.scope if s not in SUBDISTRICT_ORDER]
    team_ids = (
        set(session.scalars(select(Team.id).where(Team.key.in_(team_keys))).all()) if team_keys else set()
    )
    if user.team_id:
        team_ids.add(user.team_id)
    return Account(
        user.id,
        user.username,
        user.display_name or user.username,
        user.role,
        subdistricts,
        frozenset(team_ids),
        via_token,
        user.unit if user.role == "unit" else None,
        bool(user.must_change_password),
    )


def parse_scope(session: Session, text: str | list[str] | None) -> list[str]:
    """`石佛,枫杨` or `shifo,fengyang` or `石佛办事处，ＦＥＮＧＹＡＮＧ` or team keys `T-0601` → a list of
    sub-district and team keys (sub-districts by any name of the vocabulary)."""
    items = (
        text.replace("，", ",").replace("、", ",").split(",") if isinstance(text, str) else list(text or [])
    )
    out: list[str] = []
    for raw in (str(i).strip() for i in items):
        if not raw:
            continue
        named = resolve_all("subdistrict", raw)
        key = named[0] if named else raw
        if not named and session.scalar(select(Team.id).where(Team.key == key)) is None:
            raise ValidationError("Unknown sub-district or team %(value)s.", value=raw)
        if key not in out:
            out.append(key)
    return out


def create_user(
    session: Session,
    username: str,
    role: str,
    password: str,
    *,
    scope: list[str] | None = None,
    display_name: str = "",
    team_key: str | None = None,
    unit: str | None = None,
) -> User:
    username = (username or "").strip()
    if not username or len(username) > 80 or any(c.isspace() for c in username):
        raise ValidationError("A user name is 1 to 80 characters without spaces.")
    role = resolve("role", role)
    check_password(password, role, username)
    if role == "field" and not scope and not team_key:
        raise ValidationError("A field user needs a scope: sub-districts or a team.")
    unit = check_unit(role, unit)
    team_id = None
    if team_key:
        team_id = session.scalar(select(Team.id).where(Team.key == team_key))
        if team_id is None:
            raise ValidationError("Unknown team %(team)s.", team=team_key)
    user = User(
        username=username,
        role=role,
        scope=scope or [],
        display_name=display_name,
        team_id=team_id,
        unit=unit,
        password_hash=generate_password_hash(password),
        created_at=now(),
    )
    session.add(user)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise ValidationError("User %(name)s already exists.", name=username) from None
    return user


def set_password(session: Session, user: User, password: str) -> None:
    """A new password (checked against the policy of the user's role, so it meets a raised role's length); every
    session and token of the user ends at once, and the user need no longer change it."""
    check_password(password, user.role, user.username)
    user.password_hash = generate_password_hash(password)
    user.must_change_password = False
    session.add(user)
    end_credentials(session, user.id)
    session.commit()


def check_unit(role: str, unit: str | None) -> str | None:
    """A user of role `unit` belongs to one responsible unit (its key, whatever spelling was given); no other
    role has one."""
    if role != "unit":
        return None
    if not unit:
        raise ValidationError("A user of a responsible unit needs the unit (e.g. 城市管理局).")
    return resolve("unit", unit)


def password_change_due(user: User, role: str) -> bool:
    """Whether `user`, given `role`, must choose a new password: already so, or the role needs a longer password
    than their present one (a field user made commander: 10 → 14 characters). The password itself is not kept,
    so its length cannot be checked: the raise alone decides. Lowering a role clears nothing."""
    return bool(user.must_change_password) or least_length(role) > least_length(user.role)


def set_role_and_scope(
    session: Session,
    user: User,
    role: str,
    scope: list[str],
    display_name: str | None = None,
    unit: str | None = None,
) -> None:
    """A new role and scope (sub-district and team keys, as `parse_scope` gives them), and display name when given.
    The user's sessions and tokens stay, but their cached account is forgotten on commit: the next request is
    judged by the new role and scope. A role that needs a longer password marks the user: they must choose a new
    password (`password_change_due`) before a signed-in browser may go on; bearer tokens are not passwords and
    keep working (the new password ends them, as any password change does)."""
    role = resolve("role", role)
    if role == "field" and not scope and not user.team_id:
        raise ValidationError("A field user needs a scope: sub-districts or a team.")
    user.unit = check_unit(role, unit or user.unit)
    user.must_change_password = password_change_due(user, role)
    user.role = role
    user.scope = list(scope)
    if display_name is not None:
        user.display_name = display_name
    session.add(user)
    session.commit()


def set_active(session: Session, user: User, active: bool) -> None:
    """Enable or disable a user; disabling ends every session and token at once (enabling brings none back)."""
    user.active = active
    session.add(user)
    if not active:
        end_credentials(session, user.id)
    session.commit()


def end_credentials(session: Session, user_id: int) -> None:
    """Revoke every open session and token of a user (the caller commits; caches forget them then)."""
    at = now()
    for table in (UserSession, ApiToken):
        session.execute(
            update(table).where(table.user_id == user_id, table.revoked_at.is_(None)).values(revoked_at=at)
        )
    note_changed(session, {user_id})


def authenticate(session: Session, username: str, password: str, remote_addr: str = "") -> User:
    """Check a password; every attempt is recorded, and failures of this name from this address make its next
    tries wait (see `recovery.auth.throttle`); failures from elsewhere never refuse a right password."""
    username = (username or "").strip()[:80]
    remote_addr = (remote_addr or "")[:64]
    at = now()
    throttle.claim(session, username, remote_addr, at)
    user = session.scalar(select(User).where(User.username == username))
    # hash even for an unknown user, so that timing does not tell which names exist
    ok = check_password_hash(user.password_hash if user else _DUMMY_HASH, password or "")
    ok = ok and user is not None and user.active
    session.add(LoginAttempt(username=username, remote_addr=remote_addr, at=at, success=ok))
    if ok:
        throttle.succeeded(session, username, remote_addr)
        user.last_login_at = at
        session.add(user)
    session.commit()
    if not ok:
        raise ValidationError("Wrong user name or password.")
    return user


def key_hash(key: str) -> str:
    """SHA-256 of a token or session key: only this is stored."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


token_hash = key_hash


# --- API tokens ----------------------------------------------------------------------------------------------


def issue_token(session: Session, user: User, label: str = "", days: int | None = None) -> str:
    """A new bearer token for `user`, valid `days` (default RECOVERY_TOKEN_DAYS). Only its hash is kept: the
    token is shown once."""
    token = add_token(session, user, label, days)[1]
    session.commit()
    return token


def add_token(session: Session, user: User, label: str = "", days: int | None = None) -> tuple[ApiToken, str]:
    """`issue_token` without the commit: the row (flushed, so it has its id) and the token, for a caller that
    writes something with it in the same transaction (the audit log)."""
    if days is not None and not 1 <= days <= 3650:
        raise ValidationError("A token lives 1 to 3650 days.")
    lifetime = token_lifetime() if days is None else timedelta(days=days)
    token = "rcv_" + secrets.token_urlsafe(32)
    at = now()
    row = ApiToken(
        user_id=user.id,
        token_hash=key_hash(token),
        label=label[:120],
        created_at=at,
        expires_at=at + lifetime,
    )
    session.add(row)
    session.flush()
    return row, token


def tokens_of(session: Session, user: User) -> list[ApiToken]:
    return list(session.scalars(select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id)))


def revoke_token(session: Session, token_id: int) -> ApiToken:
    """Revoke one token by its id (as `recovery users tokens` lists it); revoking twice is harmless."""
    row = session.get(ApiToken, token_id)
    if row is None:
        raise NotFoundError("No API token %(id)s.", id=token_id)
    if row.revoked_at is None:
        row.revoked_at = now()
        session.add(row)
        session.commit()
    return row


def token_state(row: ApiToken, at: datetime | None = None) -> str:
    """active, revoked or expired."""
    if row.revoked_at is not None:
        return "revoked"
    return "expired" if row.expires_at <= (at or now()) else "active"


def user_for_token(session: Session, token: str) -> User | None:
    """The active user holding this unrevoked, unexpired token: one query."""
    found = _token_row(session, token, now())
    return found[0] if found else None


def _token_row(session: Session, token: str, at: datetime):
    return session.execute(
        select(User, ApiToken.id, ApiToken.expires_at, ApiToken.last_used_at)
        .join(ApiToken, ApiToken.user_id == User.id)
        .where(
            ApiToken.token_hash == key_hash(token),
            ApiToken.revoked_at.is_(None),
            ApiToken.expires_at > at,
            User.active.is_(True),
        )
    ).first()


def account_for_token(sessions: Callable[[], Session], cache: AccountCache, token: str) -> Account | None:
    """The account a bearer token stands for (None: unknown, revoked, expired, or its user disabled), from
    `cache` (the database's, `account_cache`) when recently read; `sessions` gives the request's session, asked
    for only when the database must be read. Refusals are not kept, so a token issued in another process works
    at once."""
    key = ("token", key_hash(token))
    found, generation = cache.get(key)
    if found is not None:
        return found
    session = sessions()
    at = now()
    row = _token_row(session, token, at)
    if row is None:
        return None
    user, token_id, expires_at, last_used_at = row
    account = account_of(session, user, via_token=True)
    cache.put(key, account, generation, (expires_at - at).total_seconds())
    if last_used_at is None or at - last_used_at >= TOKEN_USE_RESOLUTION:
        _note_token_use(session, token_id, at)
    return account


def _note_token_use(session: Session, token_id: int, at: datetime) -> None:
    """Write a token's last use on a connection of its own, so the request's transaction stays as it was; a
    best effort, skipped when this request already writes (it holds SQLite's lock) or the database is busy."""
    if session.info.get("write_transaction"):
        return
    engine = session.get_bind().engine
    try:
        with engine.connect().execution_options(sqlite_immediate=True) as conn, conn.begin():
            conn.execute(update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=at))
    except OperationalError:  # pragma: no cover - a busy database: the next use writes it
        return
    # the request's own read snapshot predates that write: on SQLite (WAL) a snapshot older than the last commit
    # can never become a write transaction ("database is locked" at the request's first write), so drop it now;
    # nothing was written through this session yet (checked above)
    session.rollback()


# --- sessions of signed-in browsers ---------------------------------------------------------------------------


def start_session(session: Session, user: User, lifetime: timedelta, remote_addr: str = "") -> str:
    """A new signed-in session for `user`; returns the key its cookie carries. The user's sessions that have
    expired are dropped here, so the table holds about one row per open session."""
    key = secrets.token_urlsafe(32)
    at = now()
    session.execute(
        UserSession.__table__.delete().where(UserSession.user_id == user.id, UserSession.expires_at < at)
    )
    session.add(
        UserSession(
            user_id=user.id,
            key_hash=key_hash(key),
            remote_addr=(remote_addr or "")[:64],
            created_at=at,
            expires_at=at + lifetime,
        )
    )
    session.commit()
    return key


def end_session(session: Session, key: str | None) -> None:
    """Sign-out: the session with this key ends on the server, whatever its cookie still says."""
    if not key:
        return
    row = session.scalar(select(UserSession).where(UserSession.key_hash == key_hash(key)))
    if row is not None and row.revoked_at is None:
        row.revoked_at = now()
        session.add(row)
        session.commit()


def account_for_session(
    sessions: Callable[[], Session], cache: AccountCache, user_id: int, key: str | None
) -> Account | None:
    """The account of a signed-in session (None: no key, unknown, ended, expired, another user's, or its user
    disabled), from `cache` when recently read; `sessions` gives the request's session, asked for only when the
    database must be read."""
    if not key:
        return None
    cache_key = ("session", key_hash(key))
    found, generation = cache.get(cache_key)
    if found is not None:
        return found if found.id == user_id else None
    session = sessions()
    at = now()
    row = session.execute(
        select(User, UserSession.expires_at)
        .join(UserSession, UserSession.user_id == User.id)
        .where(
            UserSession.key_hash == key_hash(key),
            UserSession.user_id == user_id,
            UserSession.revoked_at.is_(None),
            UserSession.expires_at > at,
            User.active.is_(True),
        )
    ).first()
    if row is None:
        return None
    account = account_of(session, row[0])
    cache.put(cache_key, account, generation, (row[1] - at).total_seconds())
    return account


_DUMMY_HASH = generate_password_hash("not a real password, only for timing")
