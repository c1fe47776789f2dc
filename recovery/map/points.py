"""Every site as a row of columns (numpy) at a moment — now, or as of the end of a past day from the ledger.

The map, its clusters and the dashboard's ranking all read the same table, so their counts agree. Building it
costs one scan of the sites (and, for a past moment, of the latest status events); it is cached per moment
and per ledger version (the highest event id), so polling and panning only filter arrays. The version itself
is read at most once per VERSION_SECONDS per process (a write this process commits is seen at once), so that
a request for a cached table needs no round trip to the database.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
from sqlalchemy import Engine, event, func, select
from sqlalchemy.orm import Session

from recovery.geodata import SUBDISTRICT_ORDER
from recovery.kinds import KINDS
from recovery.ledger.asof import site_statuses
from recovery.models import Event, Site

KIND_KEYS: tuple[str, ...] = tuple(KINDS)
#: every status key of every kind, so a status is one small integer in the table
STATUS_KEYS: tuple[str, ...] = tuple(
    dict.fromkeys(s.key for kind in KINDS.values() for s in (*kind.statuses, *kind.track_statuses))
)
_STATUS_INDEX = {key: i for i, key in enumerate(STATUS_KEYS)}
_CACHE_SIZE = 8
#: how long a process trusts the ledger version it last read. Writes committed through this process are seen
#: at once; those of other processes (other app workers, the command line) within this time.
VERSION_SECONDS = 1.0


@dataclass
class PointTable:
    """One row per site known at `as_of` (None: now). Columns are numpy arrays of equal length."""

    as_of: datetime | None
    version: int
    ids: np.ndarray
    x: np.ndarray
    y: np.ndarray
    kind: np.ndarray  # index into KIND_KEYS
    status: np.ndarray  # index into STATUS_KEYS
    done: np.ndarray  # bool
    subdistrict: np.ndarray  # index into SUBDISTRICT_ORDER, -1 outside
    team: np.ndarray  # team id, -1 none
    deadline: np.ndarray  # epoch seconds, NaN none
    done_at: np.ndarray  # epoch seconds of the projection's done time, NaN none
    _order: np.ndarray | None = field(default=None, repr=False)
    _derived: dict = field(default_factory=dict, repr=False)  # arrays computed from the columns, kept

    def __len__(self) -> int:
        return len(self.ids)

    def overdue(self, at: datetime) -> np.ndarray:
        """Not done and past its deadline at `at` (the deadline as now recorded)."""
        with np.errstate(invalid="ignore"):
            return ~self.done & (self.deadline < at.timestamp())

    def kind_done_code(self) -> np.ndarray:
        """kind × 4 + done × 2 per row (kept, for the counts by kind beside the map)."""
        if "kind_done" not in self._derived:
            self._derived["kind_done"] = self.kind.astype(np.int16) * 4 + self.done.astype(np.int16) * 2
        return self._derived["kind_done"]

    def cells(self, zoom: int, cell_degrees: float) -> tuple[np.ndarray, np.ndarray]:
        """Each row's cluster cell at `zoom` as a small integer, and the (kind, column, row) key of each cell.

        Computed once per table and zoom (a sort of the whole table), so that grouping a request's rows is a
        count per cell rather than a sort of them.
        """
        cached = self._derived.get(zoom)
        if cached is None:
            gx = np.floor((self.x + 180.0) / cell_degrees).astype(np.int64)
            gy = np.floor((self.y + 90.0) / cell_degrees).astype(np.int64)
            keys, codes = np.unique((self.kind.astype(np.int64) << 44) | (gx << 22) | gy, return_inverse=True)
            cached = self._derived[zoom] = (codes.astype(np.int32).reshape(-1), keys)
        return cached

    def positions(self, site_ids: np.ndarray) -> np.ndarray:
        """Row numbers of the given site ids (those present), for filters computed in SQL."""
        if self._order is None:
            self._order = np.argsort(self.ids)
        sorted_ids = self.ids[self._order]
        idx = np.searchsorted(sorted_ids, site_ids)
        idx = np.clip(idx, 0, max(len(sorted_ids) - 1, 0))
        hit = sorted_ids[idx] == site_ids if len(sorted_ids) else np.zeros(len(site_ids), bool)
        return self._order[idx[hit]]


@dataclass
class _Seen:
    """The ledger version last read from one database, and the count of commits this process had made then."""

    commits: int = 0
    version: int | None = None
    read_at: float = 0.0
    read_after: int = -1


_seen: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_seen_lock = threading.Lock()


def _seen_of(engine) -> _Seen:
    with _seen_lock:
        seen = _seen.get(engine)
        if seen is None:
            seen = _seen[engine] = _Seen()
        return seen


def ledger_version(session: Session, max_age: float | None = None) -> int:
    """The highest event id: read from the database unless read less than `max_age` (VERSION_SECONDS) seconds
    ago with no commit through this process since (0: always read)."""
    max_age = VERSION_SECONDS if max_age is None else max_age
    seen = _seen_of(getattr(session.get_bind(), "engine", None))
    with _seen_lock:
        commits = seen.commits
        if seen.version is not None and seen.read_after == commits and _clock() - seen.read_at < max_age:
            return seen.version
    version = int(session.scalar(select(func.max(Event.id))) or 0)
    with _seen_lock:
        if seen.commits == commits:  # no commit while reading: the figure stands for now
            seen.version, seen.read_at, seen.read_after = version, _clock(), commits
    return version


def _clock() -> float:
    return time.monotonic()


def _committed(engine) -> None:
    seen = _seen_of(engine)
    with _seen_lock:
        seen.commits += 1


# before the commit reaches the database (connections) and after it (sessions): a read between the two finds
# the count changed once more and is not trusted
@event.listens_for(Engine, "commit")
def _connection_committed(conn) -> None:
    _committed(conn.engine)


@event.listens_for(Session, "after_commit")
def _session_committed(session: Session) -> None:
    bind = session.bind
    if bind is not None:
        _committed(getattr(bind, "engine", bind))


def _epoch(values) -> np.ndarray:
    return np.array([v.timestamp() if v is not None else np.nan for v in values], dtype=float)


def build_table(session: Session, as_of: datetime | None, version: int | None = None) -> PointTable:
    """Read the sites (and, for a past moment, their status at that moment from the ledger)."""
    version = ledger_version(session) if version is None else version
    rows = session.execute(
        select(
            Site.id,
            Site.kind,
            Site.status,
            Site.subdistrict,
            Site.team_id,
            Site.deadline,
            Site.done_at,
            Site.minx,
            Site.miny,
            Site.maxx,
            Site.maxy,
        ).order_by(Site.id)
    ).all()
    statuses = {r[0]: r[2] for r in rows}
    if as_of is not None:
        statuses = site_statuses(session, as_of, {r[0]: r[1] for r in rows})
        rows = [r for r in rows if r[0] in statuses]
    kind_index = {k: i for i, k in enumerate(KIND_KEYS)}
    sub_index = {k: i for i, k in enumerate(SUBDISTRICT_ORDER)}
    done_status = {k: kind.done_status for k, kind in KINDS.items()}
    n = len(rows)
    ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=n)
    status = np.fromiter((_STATUS_INDEX.get(statuses[r[0]], -1) for r in rows), dtype=np.int16, count=n)
    return PointTable(
        as_of=as_of,
        version=version,
        ids=ids,
        x=np.fromiter(((r[7] + r[9]) / 2 for r in rows), dtype=float, count=n),
        y=np.fromiter(((r[8] + r[10]) / 2 for r in rows), dtype=float, count=n),
        kind=np.fromiter((kind_index[r[1]] for r in rows), dtype=np.int8, count=n),
        status=status,
        done=np.fromiter((statuses[r[0]] == done_status[r[1]] for r in rows), dtype=bool, count=n),
        subdistrict=np.fromiter((sub_index.get(r[3], -1) for r in rows), dtype=np.int8, count=n),
        team=np.fromiter((r[4] if r[4] is not None else -1 for r in rows), dtype=np.int64, count=n),
        deadline=_epoch(r[5] for r in rows),
        done_at=_epoch(r[6] for r in rows),
    )


_lock = threading.Lock()


def point_table(
    app_cache: OrderedDict, session: Session, as_of: datetime | None, *, fresh: bool = False
) -> PointTable:
    """The table for `as_of`, from the cache when the ledger has not changed since it was built (`fresh`: by
    the version read now, for a write that acts on the table)."""
    version = ledger_version(session, 0 if fresh else None)
    key = (as_of.isoformat() if as_of else "now", version)
    with _lock:
        table = app_cache.get(key)
        if table is not None:
            app_cache.move_to_end(key)
            return table
    table = build_table(session, as_of, version)
    with _lock:
        app_cache[key] = table
        while len(app_cache) > _CACHE_SIZE:
            app_cache.popitem(last=False)
    return table


def text_matches(session: Session, text: str) -> np.ndarray:
    """Ids of the sites whose name or address contains `text` (case-insensitive)."""
    from recovery.query.sql import text_condition

    ids = session.scalars(select(Site.id).where(text_condition(text))).all()
    return np.array(sorted(ids), dtype=np.int64)
