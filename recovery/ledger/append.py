"""The ledger's one append transaction: write lock, replay of a repeated client id, clock check, insert.

Every writer of the ledger (site events and edits, reports of new sites, work items, and what comes next) runs
its checks and inserts inside `append`, which holds the rules they share:

- the write lock is taken before anything the write depends on is read (`begin_write`: BEGIN IMMEDIATE and the
  writer queue on SQLite; on PostgreSQL the rows the write changes are read FOR UPDATE, `Append.get`);
- a client id already stored with the same body (its digest) answers with the stored event and writes
  nothing; with another body it is refused (IdempotencyError);
- a valid time more than `CLOCK_SKEW` ahead of the record time is refused;
- a concurrent writer that stored the same client id first (the unique index) is answered as a replay of it.

`append` never commits: the caller owns the transaction and commits it with whatever else belongs to the same
change (the API's idempotency record, a whole import, an assignment of many sites). When it answers with a
replay, or when the write fails, it rolls the transaction back: nothing of it may then stand.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, TypeVar

from sqlalchemy import Select, bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from recovery.db.dialect import locks_rows
from recovery.db.engine import begin_write
from recovery.errors import IdempotencyError, ValidationError
from recovery.models import Event
from recovery.timeutil import now, zone_minute

#: how far ahead of the server clock a valid time may be (phones' clocks drift)
CLOCK_SKEW = timedelta(minutes=10)
EVENT = Event.__table__
#: the longest client event id the ledger stores; a longer one is refused, never cut (two ids that differ
#: only past the cut would be taken for one event)
CLIENT_ID_MAX = EVENT.c.client_id.type.length
_BY_CLIENT_ID = select(EVENT.c.id, EVENT.c.body_hash).where(EVENT.c.client_id == bindparam("client_id"))

Result = TypeVar("Result")


@dataclass(frozen=True)
class Recorded:
    """The outcome of a write: the event, and whether it was new (False for an idempotent replay)."""

    event: Event
    created: bool
    #: why the event was stored but not applied (None when it was applied)
    flagged: str | None = None
    #: the site's projection as the write left it, read and written under the write lock (None for a replay):
    #: a caller holding a `Site` loaded earlier brings it up to date with `record.sync_site`
    site_state: dict[str, Any] | None = None
    #: the site's row as the write read it under the lock, when the caller asked for it (None otherwise)
    site_row: Any = None


def body_hash(body: dict[str, Any]) -> str:
    """The digest of a change's content (canonical JSON), which a repeated client id must match."""
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def check_client_id(client_id: str | None) -> None:
    if client_id is not None and not (isinstance(client_id, str) and 0 < len(client_id) <= CLIENT_ID_MAX):
        raise ValidationError("A client event id is 1 to %(limit)s characters.", limit=CLIENT_ID_MAX)


def find_replay(session: Session, client_id: str | None, digest: str) -> Event | None:
    """The event stored earlier under `client_id`, if the body matches; a different body is refused."""
    check_client_id(client_id)
    if not client_id:
        return None
    found = session.connection().execute(_BY_CLIENT_ID, {"client_id": client_id}).first()
    if found is None:
        return None
    if found.body_hash != digest:
        raise IdempotencyError(
            "Client event id %(client_id)s was already used for a different change.", client_id=client_id
        )
    return session.get(Event, found.id)


class _Replayed(Exception):
    def __init__(self, event: Event) -> None:
        self.event = event


class Append:
    """One append under way: what `write` calls, in its order, to claim the client id and stamp the time."""

    def __init__(self, session: Session, client_id: str | None, lookup: bool) -> None:
        self.session = session
        self.client_id = client_id
        self.lookup = lookup
        self.digest = ""

    def claim(self, digest: str) -> None:
        """Take the client id for a change of this digest: when it is stored already with the same digest,
        the append ends here and answers with the stored event (a replay)."""
        self.digest = digest
        replayed = find_replay(self.session, self.client_id, digest) if self.lookup else None
        if replayed is not None:
            raise _Replayed(replayed)

    def stamp(self, valid_at: datetime, recorded_at: datetime | None = None) -> datetime:
        """The record time (now unless given), after checking that `valid_at` is not in the future."""
        recorded_at = recorded_at or now()
        if valid_at > recorded_at + CLOCK_SKEW:
            raise ValidationError(
                "The time it happened (%(valid_at)s) is in the future.",
                valid_at=zone_minute(valid_at),
            )
        return recorded_at

    def get(self, model, ident: int):
        """The row the write changes, read under the lock (FOR UPDATE where rows are locked)."""
        return self.session.get(model, ident, with_for_update=locks_rows(self.session))

    def row(self, query: Select, params: dict[str, Any]):
        """A Core row the write changes, read under the lock (FOR UPDATE where rows are locked)."""
        if locks_rows(self.session):
            query = _for_update(query)
        return self.session.connection().execute(query, params).first()


@lru_cache(maxsize=64)
def _for_update(query: Select) -> Select:
    """`query` FOR UPDATE, made once per query: the same statement object each time, so that SQLAlchemy finds
    its compiled form without working out its cache key again."""
    return query.with_for_update()


def _recorded(event: Event) -> Recorded:
    return Recorded(event, created=False, flagged=event.flag)


def append(
    session: Session,
    write: Callable[[Append], Result],
    *,
    client_id: str | None = None,
    replayed: Callable[[Event], Result] | None = None,
    conflict: Callable[[], Exception] | None = None,
    lookup: bool = True,
) -> Result:
    """Run `write` as one append to the ledger, in the session's transaction, under the write lock.

    `write(txn)` reads what it depends on, calls `txn.claim(digest)` once it knows the change's digest and
    `txn.stamp(valid_at)` for the record time, then inserts. A replay (the client id stored earlier with the
    same digest) answers `replayed(event)` (by default the event as a `Recorded` replay). An insert refused by a unique index is answered as a replay when a
    concurrent writer stored the same client id first, else raises `conflict()` (when given) or the error.
    `lookup=False` says the caller has already found, under the same lock, that no event carries `client_id`
    (the API's idempotency record, kept in the same transaction, answers for it): the unique index still guards.
    Never commits; rolls back on a replay or an error.
    """
    check_client_id(client_id)
    begin_write(session)
    txn = Append(session, client_id, lookup)
    try:
        return write(txn)
    except _Replayed as replay:
        session.rollback()
        return (replayed or _recorded)(replay.event)
    except IntegrityError:
        # a concurrent writer stored the same client id first: answer as a replay of theirs
        session.rollback()
        found = find_replay(session, client_id, txn.digest) if client_id else None
        if found is None:
            if conflict is not None:
                raise conflict() from None
            raise
        return (replayed or _recorded)(found)
    except Exception:
        session.rollback()
        raise
