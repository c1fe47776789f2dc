"""Accounts: creating users, checking passwords (scrypt), issuing API tokens, rate-limiting failed sign-ins,
and the short per-process cache of the accounts that requests load."""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
import weakref
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import timedelta

from flask_login import UserMixin
from sqlalchemy import event, func, select
from sqlalchemy.exc import IntegrityError, UnboundExecutionError
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from recovery.errors import RecoveryError, ValidationError
from recovery.geodata import SUBDISTRICT_ORDER
from recovery.models import Team
from recovery.models_accounts import ROLES, ApiToken, LoginAttempt, User
from recovery.scope import may_change as may_change_site
from recovery.timeutil import now

#: failed sign-ins allowed per user name, and per address, within the window before refusing for a while
MAX_FAILURES_PER_USER = 5
MAX_FAILURES_PER_ADDRESS = 20
FAILURE_WINDOW = timedelta(minutes=15)
MIN_PASSWORD = 8
#: a request's account (by the session's user id or by a bearer token's hash) is read from the database at most
#: once per this many seconds per app process. A change this process commits through the ORM (a password, a
#: role, a user disabled, a token revoked) takes effect at once here; one made by another process (another app
#: worker, the command line, SQL) takes effect within this time.
ACCOUNT_CACHE_SECONDS = 5.0
ACCOUNT_CACHE_SIZE = 2048
#: the Chinese names people type for the sub-district offices
SUBDISTRICT_NAMES = {
    "石佛": "shifo",
    "沟赵": "gouzhao",
    "双桥": "shuangqiao",
    "枫杨": "fengyang",
    "梧桐": "wutong",
}


class TooManyAttempts(RecoveryError):
    http_status = 429
    code = "too_many_attempts"


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
    )


def parse_scope(session: Session, text: str | list[str] | None) -> list[str]:
    """`石佛,枫杨` or `shifo,fengyang` or team keys `T-0601` → a list of sub-district and team keys."""
    items = text.split(",") if isinstance(text, str) else list(text or [])
    out: list[str] = []
    for raw in (i.strip() for i in items):
        if not raw:
            continue
        key = SUBDISTRICT_NAMES.get(raw.removesuffix("办事处"), raw)
        if key not in SUBDISTRICT_ORDER and session.scalar(select(Team.id).where(Team.key == key)) is None:
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
) -> User:
    username = (username or "").strip()
    if not username or len(username) > 80 or any(c.isspace() for c in username):
        raise ValidationError("A user name is 1 to 80 characters without spaces.")
    if role not in ROLES:
        raise ValidationError("Role must be one of %(roles)s.", roles=", ".join(ROLES))
    if len(password or "") < MIN_PASSWORD:
        raise ValidationError("A password needs at least %(n)s characters.", n=MIN_PASSWORD)
    if role == "field" and not scope and not team_key:
        raise ValidationError("A field user needs a scope: sub-districts or a team.")
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
    if len(password or "") < MIN_PASSWORD:
        raise ValidationError("A password needs at least %(n)s characters.", n=MIN_PASSWORD)
    user.password_hash = generate_password_hash(password)
    session.add(user)
    session.commit()


def _failures_since(session: Session, column, value: str) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(LoginAttempt)
            .where(column == value, LoginAttempt.success.is_(False), LoginAttempt.at > now() - FAILURE_WINDOW)
        )
        or 0
    )


def authenticate(session: Session, username: str, password: str, remote_addr: str = "") -> User:
    """Check a password; every attempt is recorded, and too many recent failures refuse even a right one."""
    username = (username or "").strip()[:80]
    if _failures_since(session, LoginAttempt.username, username) >= MAX_FAILURES_PER_USER or (
        remote_addr
        and _failures_since(session, LoginAttempt.remote_addr, remote_addr) >= MAX_FAILURES_PER_ADDRESS
    ):
        raise TooManyAttempts(
            "Too many failed sign-ins. Try again in %(minutes)s minutes.",
            minutes=int(FAILURE_WINDOW.total_seconds() // 60),
        )
    user = session.scalar(select(User).where(User.username == username))
    # hash even for an unknown user, so that timing does not tell which names exist
    ok = check_password_hash(user.password_hash if user else _DUMMY_HASH, password or "")
    ok = ok and user is not None and user.active
    session.add(LoginAttempt(username=username, remote_addr=remote_addr[:64], at=now(), success=ok))
    if ok:
        user.last_login_at = now()
        session.add(user)
    session.commit()
    if not ok:
        raise ValidationError("Wrong user name or password.")
    return user


def issue_token(session: Session, user: User, label: str = "") -> str:
    """A new bearer token for `user`. Only its hash is kept: the token is shown once."""
    token = "rcv_" + secrets.token_urlsafe(32)
    session.add(ApiToken(user_id=user.id, token_hash=token_hash(token), label=label[:120], created_at=now()))
    session.commit()
    return token


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def user_for_token(session: Session, token: str) -> User | None:
    """The active user holding this unrevoked token: one query."""
    return session.scalar(
        select(User)
        .join(ApiToken, ApiToken.user_id == User.id)
        .where(ApiToken.token_hash == token_hash(token), ApiToken.revoked_at.is_(None), User.active.is_(True))
    )


def load_account(session: Session, user_id: int) -> Account | None:
    """The active account with this id (a signed-in session's user), from the cache when recently read."""
    cache = _cache_of(session)
    key = ("user", user_id)
    found, generation = cache.get(key)
    if found is not None:
        return found
    user = session.get(User, user_id)
    account = account_of(session, user) if user is not None and user.active else None
    cache.put(key, account, generation)
    return account


def account_for_token(session: Session, token: str) -> Account | None:
    """The account a bearer token stands for (None: unknown, revoked, or its user disabled), from the cache
    when recently read. Refusals are not kept, so a token issued in another process works at once."""
    cache = _cache_of(session)
    key = ("token", token_hash(token))
    found, generation = cache.get(key)
    if found is not None:
        return found
    user = user_for_token(session, token)
    account = account_of(session, user, via_token=True) if user is not None else None
    cache.put(key, account, generation)
    return account


class AccountCache:
    """Accounts recently loaded, by ("user", id) or ("token", hash), each kept ACCOUNT_CACHE_SECONDS, at most
    ACCOUNT_CACHE_SIZE of them (least recently used go first). `forget` drops a user's entries and bumps a
    generation, so that a load which started before the change cannot put the old account back."""

    def __init__(self, seconds: float = ACCOUNT_CACHE_SECONDS, size: int = ACCOUNT_CACHE_SIZE) -> None:
        self.seconds = seconds
        self.size = size
        self._entries: OrderedDict[tuple, tuple[float, Account]] = OrderedDict()
        self._generation = 0
        self._lock = threading.Lock()

    def get(self, key: tuple) -> tuple[Account | None, int]:
        """(the account or None, the generation to hand to `put` after reading it from the database)."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                if _clock() - entry[0] < self.seconds:
                    self._entries.move_to_end(key)
                    return entry[1], self._generation
                del self._entries[key]
            return None, self._generation

    def put(self, key: tuple, account: Account | None, generation: int) -> None:
        if account is None or self.seconds <= 0:
            return
        with self._lock:
            if generation != self._generation:  # changed while it was being read
                return
            self._entries[key] = (_clock(), account)
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def forget(self, user_ids: set[int] | None = None) -> None:
        """Drop the entries of these users (all entries when None)."""
        with self._lock:
            self._generation += 1
            if user_ids is None:
                self._entries.clear()
                return
            for key in [k for k, (_, a) in self._entries.items() if a.id in user_ids]:
                del self._entries[key]

    def __len__(self) -> int:
        return len(self._entries)


def _clock() -> float:
    return time.monotonic()


#: one cache per database (engine): tests and tools may hold several apps, whose user ids overlap
_caches: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_caches_lock = threading.Lock()


def account_cache(bind) -> AccountCache:
    """The account cache of the database behind `bind` (an engine or a connection)."""
    engine = getattr(bind, "engine", bind)
    with _caches_lock:
        cache = _caches.get(engine)
        if cache is None:
            cache = _caches[engine] = AccountCache()
        return cache


def _cache_of(session: Session) -> AccountCache:
    return account_cache(session.get_bind())


@event.listens_for(Session, "after_flush")
def _note_account_changes(session: Session, _context) -> None:
    """Remember which users a flush changed (themselves or their tokens), to forget them once committed."""
    changed = {
        obj.user_id if isinstance(obj, ApiToken) else obj.id
        for obj in (*session.new, *session.dirty, *session.deleted)
        if isinstance(obj, User | ApiToken)
    }
    changed.discard(None)
    if changed:
        session.info.setdefault("recovery.changed_accounts", set()).update(changed)


@event.listens_for(Session, "after_commit")
def _forget_changed_accounts(session: Session) -> None:
    changed = session.info.pop("recovery.changed_accounts", None)
    if changed:
        try:
            cache = _cache_of(session)
        except UnboundExecutionError:  # a session bound to nothing has no cache to keep right
            return
        cache.forget(changed)


@event.listens_for(Session, "after_rollback")
def _drop_noted_changes(session: Session) -> None:
    session.info.pop("recovery.changed_accounts", None)


_DUMMY_HASH = generate_password_hash("not a real password, only for timing")
