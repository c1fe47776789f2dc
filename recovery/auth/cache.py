"""The short per-process cache of the accounts that requests load (by session key or token hash), and the hooks
that forget a user's entries as soon as a change to them, their sessions or their tokens is committed."""

from __future__ import annotations

import threading
import time
import weakref
from collections import OrderedDict
from typing import TYPE_CHECKING

from sqlalchemy import event
from sqlalchemy.exc import UnboundExecutionError
from sqlalchemy.orm import Session

from recovery.models_accounts import ApiToken, User, UserSession

if TYPE_CHECKING:
    from recovery.auth.accounts import Account

#: a request's account (by its session's key or by a bearer token's hash) is read from the database at most
#: once per this many seconds per app process. A change this process commits (a password, a role, a user
#: disabled, a session ended, a token revoked) takes effect at once here; one made by another process (another
#: app worker, the command line, SQL) takes effect within this time.
ACCOUNT_CACHE_SECONDS = 5.0
ACCOUNT_CACHE_SIZE = 2048
_CHANGED = "recovery.changed_accounts"


class AccountCache:
    """Accounts recently loaded, by ("session", key hash) or ("token", hash), each kept ACCOUNT_CACHE_SECONDS
    (or less, when the session or token expires sooner), at most ACCOUNT_CACHE_SIZE of them (least recently
    used go first). `forget` drops a user's entries and bumps a generation, so that a load which started before
    the change cannot put the old account back."""

    def __init__(self, seconds: float = ACCOUNT_CACHE_SECONDS, size: int = ACCOUNT_CACHE_SIZE) -> None:
        self.seconds = seconds
        self.size = size
        self._entries: OrderedDict[tuple, tuple[float, Account]] = OrderedDict()  # key -> (deadline, account)
        self._generation = 0
        self._lock = threading.Lock()

    def get(self, key: tuple) -> tuple[Account | None, int]:
        """(the account or None, the generation to hand to `put` after reading it from the database)."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                if _clock() < entry[0]:
                    self._entries.move_to_end(key)
                    return entry[1], self._generation
                del self._entries[key]
            return None, self._generation

    def put(self, key: tuple, account: Account | None, generation: int, within: float | None = None) -> None:
        """Keep `account` for ACCOUNT_CACHE_SECONDS, or `within` seconds when that is shorter (its expiry)."""
        seconds = self.seconds if within is None else min(self.seconds, within)
        if account is None or seconds <= 0:
            return
        with self._lock:
            if generation != self._generation:  # changed while it was being read
                return
            self._entries[key] = (_clock() + seconds, account)
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


def cache_of(session: Session) -> AccountCache:
    return account_cache(session.get_bind())


def note_changed(session: Session, user_ids: set[int]) -> None:
    """Forget these users' cached accounts once the session commits: for changes made by Core statements,
    which the ORM hook below does not see."""
    session.info.setdefault(_CHANGED, set()).update(user_ids)


@event.listens_for(Session, "after_flush")
def _note_account_changes(session: Session, _context) -> None:
    """Remember which users a flush changed (themselves, their sessions or tokens), to forget them once
    committed."""
    changed = {
        obj.id if isinstance(obj, User) else obj.user_id
        for obj in (*session.new, *session.dirty, *session.deleted)
        if isinstance(obj, User | ApiToken | UserSession)
    }
    changed.discard(None)
    if changed:
        note_changed(session, changed)


@event.listens_for(Session, "after_commit")
def _forget_changed_accounts(session: Session) -> None:
    changed = session.info.pop(_CHANGED, None)
    if changed:
        try:
            cache = cache_of(session)
        except UnboundExecutionError:  # a session bound to nothing has no cache to keep right
            return
        cache.forget(changed)


@event.listens_for(Session, "after_rollback")
def _drop_noted_changes(session: Session) -> None:
    session.info.pop(_CHANGED, None)
