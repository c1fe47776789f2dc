"""The short per-process cache of the accounts that requests load (by session key or token hash), and the hooks
that forget a user's entries as soon as a change to them, their sessions or their tokens is committed: in the
process that made it, and in every other process of the same database.

How the other processes learn of a change (a user disabled by an admin in another app worker, or by `recovery
users disable` on the server's shell):

- SQLite: a file beside the database (`<database>-accounts`, `dialect.file_beside`), mapped into every process's
  memory, takes a fresh random value after each committed change; every process reads it (8 bytes of memory)
  before it answers from the cache, and forgets its whole cache when it changed. The value is written after the
  commit and before the change is acknowledged, so a request that starts after the acknowledgement is never
  answered from an old entry.
- PostgreSQL, whose app servers may be on several machines: the change's transaction sends a NOTIFY with the
  users' ids (delivered at commit, never for a rollback); each `recovery serve` worker listens on a connection
  of its own (`watch_other_processes`, started once the worker is ready) and forgets those users' entries as
  the notice arrives, within milliseconds. While the listener is not connected the cache keeps nothing.

A process that does not listen (tests' apps, the command line) keeps entries for ACCOUNT_CACHE_SECONDS at most.
"""

from __future__ import annotations

import mmap
import os
import secrets
import threading
import time
import weakref
from collections import OrderedDict
from typing import TYPE_CHECKING

from sqlalchemy import event
from sqlalchemy.exc import UnboundExecutionError
from sqlalchemy.orm import Session

from recovery.db.dialect import file_beside, listen, notify
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
#: the PostgreSQL channel of the account changes (their users' ids, comma-separated)
CHANNEL = "recovery_accounts"
#: the suffix of the SQLite database's file of account changes
STAMP_SUFFIX = "-accounts"


class Stamp:
    """The file of account changes beside a SQLite database: 8 bytes that each committed change sets to a fresh
    random value. Every process maps the file into its memory, so asking whether it changed reads 8 bytes there:
    no system call (which would let go of the interpreter lock in the middle of every request)."""

    SIZE = 8

    def __init__(self, path) -> None:
        self.path = path
        self.map: mmap.mmap | None = None
        self.seen = self._read()

    def _mapped(self) -> mmap.mmap | None:
        if self.map is None:
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            except OSError:  # a read-only folder: the other processes' changes reach this one within 5 s
                return None
            try:
                if os.fstat(fd).st_size < self.SIZE:
                    os.ftruncate(fd, self.SIZE)  # (two processes doing it at once both leave 8 zero bytes)
                self.map = mmap.mmap(fd, self.SIZE)
            finally:
                os.close(fd)  # the mapping stays
        return self.map

    def _read(self) -> bytes | None:
        mapped = self._mapped()
        return None if mapped is None else mapped[: self.SIZE]

    def changed(self) -> bool:
        """Whether a change was written since the last call (or since this process started)."""
        current = self._read()
        if current == self.seen:
            return False
        self.seen = current
        return True

    def bump(self) -> None:
        mapped = self._mapped()
        if mapped is not None:
            mapped[: self.SIZE] = secrets.token_bytes(self.SIZE)


class AccountCache:
    """Accounts recently loaded, by ("session", key hash) or ("token", hash), each kept ACCOUNT_CACHE_SECONDS
    (or less, when the session or token expires sooner), at most ACCOUNT_CACHE_SIZE of them (least recently
    used go first). `forget` drops a user's entries and bumps a generation, so that a load which started before
    the change cannot put the old account back."""

    def __init__(
        self,
        seconds: float = ACCOUNT_CACHE_SECONDS,
        size: int = ACCOUNT_CACHE_SIZE,
        stamp: Stamp | None = None,
    ) -> None:
        self.seconds = seconds
        self.size = size
        self.stamp = stamp
        #: False while a listener that should hear other processes' changes is not connected: keep nothing
        self.keeping = True
        self.listener: threading.Thread | None = None
        self._entries: OrderedDict[tuple, tuple[float, Account]] = OrderedDict()  # key -> (deadline, account)
        self._generation = 0
        self._lock = threading.Lock()

    def get(self, key: tuple) -> tuple[Account | None, int]:
        """(the account or None, the generation to hand to `put` after reading it from the database)."""
        with self._lock:
            if self.stamp is not None and self.stamp.changed():  # another process changed an account
                self._generation += 1
                self._entries.clear()
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
        if account is None or seconds <= 0 or not self.keeping:
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
            path = file_beside(engine, STAMP_SUFFIX)
            cache = _caches[engine] = AccountCache(stamp=None if path is None else Stamp(path))
        return cache


def watch_other_processes(engine) -> None:
    """Listen for the account changes other processes of this database send (PostgreSQL's NOTIFY; SQLite needs
    no listener: its cache asks the changes' file), and forget the users named as each arrives. Once per
    process and database: `recovery serve` calls it in each worker once it is ready."""
    cache = account_cache(engine)
    if cache.listener is not None:
        return
    reference = weakref.ref(cache)

    def heard(payload: str | None) -> None:
        target = reference()
        if target is None:
            return
        if payload is None:  # (re)connected: what was sent while away is lost
            target.keeping = True
            target.forget()
            return
        try:
            ids = {int(part) for part in payload.split(",") if part}
        except ValueError:
            ids = None
        target.forget(ids)

    cache.keeping = False  # until the listener is connected
    cache.listener = listen(engine, CHANNEL, heard, lambda: reference() is not None)
    if cache.listener is None:
        cache.keeping = True


def cache_of(session: Session) -> AccountCache:
    return account_cache(session.get_bind())


def note_changed(session: Session, user_ids: set[int]) -> None:
    """Forget these users' cached accounts once the session commits: for changes made by Core statements,
    which the ORM hook below does not see. The other processes are told at commit (PostgreSQL's NOTIFY is
    sent with this transaction; SQLite's file of changes takes a new value after it)."""
    noted = session.info.setdefault(_CHANGED, set())
    fresh = set(user_ids) - noted
    noted.update(user_ids)
    if fresh and session.bind is not None:
        notify(session, CHANNEL, ",".join(str(user_id) for user_id in sorted(fresh)))


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
        if cache.stamp is not None:
            cache.stamp.bump()  # the other processes' caches (their next `get` sees the file grown)


@event.listens_for(Session, "after_rollback")
def _drop_noted_changes(session: Session) -> None:
    session.info.pop(_CHANGED, None)
