"""The ledger's valid-time index (`status_span`, migration 0005): each unflagged status event with the span of
valid time over which it is its (site, track)'s latest, (valid_at, next valid_at], and its cell (kind,
sub-district, segment, track, status). Triggers keep it; this module reads it, rebuilds it and checks it.

A cell's number is negative for kinds whose status is per track; a cell holds the level its events set (-1 in
the table for none). See the migration for the encoding, which this module mirrors.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, bindparam, or_, select, text
from sqlalchemy.orm import Session

from recovery.kinds import KINDS
from recovery.ledger.fold import STATUS_ACTIONS
from recovery.models import Event

STATUS = "action IN ('report', 'transition', 'reopen') AND flag IS NULL"
#: the R*Tree's integer axis on SQLite: whole seconds since this instant (as in migration 0005)
EPOCH = datetime(2020, 1, 1, tzinfo=UTC)
OPEN = 2147483647
NO_LEVEL = -1.0

Cell = tuple[str, str, str, str, str, float | None]  # kind, sub-district, segment, track, status, level


@dataclass
class SpanCounts:
    """The state as of T by cell: how many (site, track)s stand in each cell; for the kinds kept per track,
    whose overall status needs all of a site's tracks, how many sites there are per (kind, sub-district,
    segment) and how many of them have all their tracks in the last track status."""

    counts: Counter = field(default_factory=Counter)
    #: the cells of the numbers counted, by number
    names: dict[int, Cell] = field(default_factory=dict)
    #: (kind, sub-district, segment) -> (sites, sites with every track they have in its last status and at
    #: least one track): the fold's `overall_status` counted in SQL, without a row per site
    tracked: dict[tuple[str, str, str], tuple[int, int]] = field(default_factory=dict)


def _tracked_sql(contains: str, site: str, cell: str, exclude: bool) -> str:
    """Per (kind, sub-district, segment) of the kinds kept per track: sites, sites with a track, sites with a
    track not (yet) in its last status. A site is done when it has a track and none not in the last status.
    The spans are grouped by site once (one sort); all of a site's spans lie in cells of its own dims, so any
    one of them names the site's (kind, sub-district, segment). With `exclude`, the spans whose event ids are
    bound as `outside` are left out."""
    last = " ".join(f"WHEN '{k.key}' THEN '{k.track_statuses[-1].key}'" for k in KINDS.values() if k.tracks)
    last_of_kind = f"CASE c.kind {last} END" if last else "NULL"
    return f"""SELECT c.kind, c.subdistrict, c.segment, count(*), sum(has_track), sum(not_last) FROM (
      SELECT max(-sp.{cell}) AS any_cell, max(CASE WHEN c.track <> '' THEN 1 ELSE 0 END) AS has_track,
        max(CASE WHEN c.track <> '' AND c.status <> {last_of_kind} THEN 1 ELSE 0 END) AS not_last
      FROM status_span sp JOIN status_span_cell c ON c.id = -sp.{cell}
      WHERE {contains} AND sp.{cell} < 0{" AND sp.event_id NOT IN :outside" if exclude else ""}
      GROUP BY sp.{site}) AS per_site
    JOIN status_span_cell c ON c.id = per_site.any_cell
    GROUP BY c.kind, c.subdistrict, c.segment"""


def _read_tracked(session: Session, sql: str, params: dict, outside: list[int] | None = None) -> dict:
    stmt = text(sql)
    if outside is not None:
        # event ids start at 1: [0] stands for "none left out" (an empty IN list is not portable SQL)
        stmt = stmt.bindparams(bindparam("outside", sorted(outside) or [0], expanding=True))
    return {
        (kind, sub, segment): (sites, with_tracks - not_last)
        for kind, sub, segment, sites, with_tracks, not_last in session.execute(stmt, params)
    }


def _count_named(session: Session, result: SpanCounts, contains: str, cell: str, params: dict) -> None:
    """Count the spans that `contains` selects by cell number, grouped first and then named (one statement)."""
    rows = session.execute(
        text(
            f"SELECT g.number, g.n, c.kind, c.subdistrict, c.segment, c.track, c.status, c.level FROM ("
            f"SELECT sp.{cell} AS number, count(*) AS n FROM status_span sp WHERE {contains} GROUP BY sp.{cell}) AS g "
            "JOIN status_span_cell c ON c.id = abs(g.number)"
        ),
        params,
    )
    for number, n, kind, sub, segment, track, status, level in rows:
        result.counts[number] += n
        result.names[number] = (kind, sub, segment, track, status, None if level < 0 else level)


def as_of(session: Session, T: datetime) -> SpanCounts:
    """Count the spans that contain T (each (site, track)'s latest status event with valid_at < T) by cell."""
    result = SpanCounts()
    if session.bind.dialect.name == "postgresql":
        _count_named(session, result, _PG_CONTAINS, "cell", {"as_of": T})
        result.tracked = _read_tracked(session, _PG_TRACKED, {"as_of": T})
        return result
    # SQLite: the R*Tree holds whole seconds widened outwards (v0 = floor(from), v1 = floor(to) + 1), so the spans
    # with v0 <= s and v1 >= s + 1 (s = T's second) are a superset read from the tree's nodes alone. The only spans in it
    # that may not contain T are those of the status events stored for T's own second and of their predecessors
    # (they start or end within it): those few are decided by their exact bounds.
    s = math.floor((T - EPOCH).total_seconds())
    near = {"s": s, "s1": s + 1}
    _count_named(session, result, _SQLITE_CONTAINS, "c0", near)
    outside = {event_id: number for event_id, number in _not_containing(session, T, s)}
    for number in outside.values():
        result.counts[number] -= 1
    result.tracked = _read_tracked(session, _SQLITE_TRACKED, near, list(outside))
    return result


# the spans containing T, and the span table's site and cell columns (the R*Tree's on SQLite)
_SQLITE_CONTAINS = "sp.v0 <= :s AND sp.v1 >= :s1"
#: PostgreSQL: the range column of migration 0008, so that both counts are index-only scans
_PG_CONTAINS = "sp.span @> CAST(:as_of AS timestamptz)"
_SQLITE_TRACKED = _tracked_sql(_SQLITE_CONTAINS, site="s0", cell="c0", exclude=True)
_PG_TRACKED = _tracked_sql(_PG_CONTAINS, site="site_id", cell="cell", exclude=False)


def _not_containing(session: Session, T: datetime, s: int) -> list[tuple[int, int]]:
    """(event_id, cell) of the spans in the superset for second s that do not contain T."""
    second = EPOCH + timedelta(seconds=s)
    # by valid time alone (the planner would rather walk every unflagged event by `ix_event_flag`); the few
    # events of one second are sorted out here
    events = session.execute(
        select(Event.id, Event.site_id, Event.track, Event.valid_at, Event.action, Event.flag).where(
            Event.valid_at >= second, Event.valid_at < second + timedelta(seconds=1)
        )
    ).all()
    ids = set()
    for event_id, site_id, track, valid_at, action, flag in events:
        if action not in STATUS_ACTIONS or flag is not None:
            continue
        ids.add(event_id)
        before = session.scalar(
            select(Event.id)
            .where(
                Event.site_id == site_id,
                Event.track.is_(None) if track is None else Event.track == track,
                Event.action.in_(STATUS_ACTIONS),
                Event.flag.is_(None),
                or_(Event.valid_at < valid_at, and_(Event.valid_at == valid_at, Event.id < event_id)),
            )
            .order_by(Event.valid_at.desc(), Event.id.desc())
            .limit(1)
        )
        if before is not None:
            ids.add(before)
    if not ids:
        return []
    rows = session.execute(
        text(
            "SELECT event_id, c0, v0, v1, valid_from, valid_to FROM status_span WHERE event_id IN :ids"
        ).bindparams(bindparam("ids", sorted(ids), expanding=True))
    ).all()
    as_of_text = _sqlite_text(T)
    return [
        (event_id, number)
        for event_id, number, v0, v1, valid_from, valid_to in rows
        if v0 <= s
        and v1 >= s + 1  # in the superset
        and not (valid_from < as_of_text and (valid_to is None or valid_to >= as_of_text))
    ]


def _sqlite_text(moment: datetime) -> str:
    """A UTC instant as SQLite stores it (SQLAlchemy's DATETIME format)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _secs(expr: str) -> str:
    return f"(CAST(strftime('%s', {expr}) AS INTEGER) - {int(EPOCH.timestamp())})"


_STATUS_E = STATUS.replace("action", "e.action").replace("flag", "e.flag")
_CELLS = f"""SELECT DISTINCT s.kind, coalesce(s.subdistrict, ''), s.segment, coalesce(e.track, ''),
       coalesce(e.to_status, ''), coalesce(e.level, {NO_LEVEL})
FROM event e JOIN site s ON s.id = e.site_id WHERE {_STATUS_E}"""
#: every span as the ledger defines it, with its cell number (the migration's fill, kept in step with it)
_SPANS = f"""SELECT e.id AS event_id, e.site_id, coalesce(e.track, '') AS track, coalesce(e.to_status, '') AS to_status,
       e.level, e.valid_at AS valid_from,
       lead(e.valid_at) OVER (PARTITION BY e.site_id, e.track ORDER BY e.valid_at, e.id) AS valid_to,
       CASE WHEN s.kind IN (SELECT kind FROM status_span_tracked) THEN -c.id ELSE c.id END AS cell
FROM event e JOIN site s ON s.id = e.site_id
JOIN status_span_cell c ON c.kind = s.kind AND c.subdistrict = coalesce(s.subdistrict, '') AND c.segment = s.segment
  AND c.track = coalesce(e.track, '') AND c.status = coalesce(e.to_status, '')
  AND c.level = coalesce(e.level, {NO_LEVEL})
WHERE {_STATUS_E}"""
_EXPECTED = {
    "sqlite": f"""SELECT event_id, {_secs("valid_from")} AS v0, coalesce({_secs("valid_to")} + 1, {OPEN}) AS v1,
      cell AS c0, cell AS c1, site_id AS s0, site_id AS s1, track, to_status, level, valid_from, valid_to
      FROM ({_SPANS}) AS spans""",
    "postgresql": f"""SELECT event_id, site_id, cell, track, to_status, level, valid_from, valid_to
      FROM ({_SPANS}) AS spans""",
}
_COLUMNS = {
    "sqlite": "event_id, v0, v1, c0, c1, s0, s1, track, to_status, level, valid_from, valid_to",
    "postgresql": "event_id, site_id, cell, track, to_status, level, valid_from, valid_to",
}


def _ensure_cells(session: Session) -> None:
    conflict = "ON CONFLICT DO NOTHING" if session.bind.dialect.name == "postgresql" else ""
    verb = "INSERT" if conflict else "INSERT OR IGNORE"
    session.execute(
        text(
            f"{verb} INTO status_span_cell (kind, subdistrict, segment, track, status, level) {_CELLS} {conflict}"
        )
    )


def refill(session: Session) -> None:
    """Empty the index and write it again from the ledger (inside the caller's transaction)."""
    dialect = session.bind.dialect.name
    columns = _COLUMNS[dialect]
    session.execute(text("DELETE FROM status_span"))
    _ensure_cells(session)
    session.execute(
        text(f"INSERT INTO status_span ({columns}) SELECT {columns} FROM ({_EXPECTED[dialect]}) AS e")
    )


def differences(session: Session, limit: int = 20) -> list[str]:
    """Spans stored but not implied by the ledger, and spans the ledger implies but not stored."""
    dialect = session.bind.dialect.name
    columns = _COLUMNS[dialect]
    stored = f"SELECT {columns} FROM status_span"
    expected = f"SELECT {columns} FROM ({_EXPECTED[dialect]}) AS e"
    problems: list[str] = []
    for label, left, right in (
        ("stored, not in the ledger", stored, expected),
        ("missing", expected, stored),
    ):
        rows = session.execute(text(f"SELECT * FROM ({left} EXCEPT {right}) AS d LIMIT {limit}")).all()
        problems += [f"status span {label}: event {row[0]} {tuple(row[1:])!r}" for row in rows]
    return problems
