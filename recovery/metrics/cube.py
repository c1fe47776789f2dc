"""The aggregate state at a moment — counts, levels and flows by kind, sub-district, segment and status —
computed either from the ledger (any valid time T, as known at any record time R) or from the daily roll-up."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import Float, Integer, String, and_, case, column, func, literal, select, text
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.orm import Session

from recovery import workitems
from recovery.db.types import bind_instants
from recovery.kinds import KINDS
from recovery.ledger import measures, spans
from recovery.ledger.fold import STATUS_ACTIONS, overall_status
from recovery.models import Event, Site, WorkItem
from recovery.timeutil import end_of_day, local_day, start_of_day

# (kind, subdistrict, segment, track, status, quantity)
CubeKey = tuple[str, str, str, str, str, str]
_EPSILON = timedelta(microseconds=1)


@dataclass
class Cube:
    """Aggregates at one moment. `as_of` is the valid time; `known_at` the record-time cutoff, if any."""

    cells: Counter
    as_of: datetime
    known_at: datetime | None
    source: str
    _by_selector: dict | None = field(default=None, init=False, repr=False, compare=False)

    def cells_of(self, kind: str, quantity: str, track: str) -> list[tuple[CubeKey, float]]:
        """The cells of one kind, quantity and track (what a metric's selector reads), indexed once per cube;
        the cells are not changed after the cube is built."""
        if self._by_selector is None:
            index: dict[tuple[str, str, str], list] = {}
            for key, value in self.cells.items():
                index.setdefault((key[0], key[5], key[3]), []).append((key, value))
            self._by_selector = index
        return self._by_selector.get((kind, quantity, track), [])

    def total(self, **match: object) -> float:
        fields = ("kind", "subdistrict", "segment", "track", "status", "quantity")
        wanted = {fields.index(k): v for k, v in match.items()}
        total = 0.0
        for key, value in self.cells.items():
            if all(_matches(key[i], want) for i, want in wanted.items()):
                total += value
        return total


def _matches(value: str, want: object) -> bool:
    if callable(want):
        return bool(want(value))
    if isinstance(want, tuple | list | set | frozenset):
        return value in want
    return value == want


def _latest_status_events(T: datetime, R: datetime | None):
    """Subquery: each (site, track)'s latest status event with valid_at < T (and recorded_at <= R)."""
    conditions = [Event.action.in_(STATUS_ACTIONS), Event.valid_at < T, Event.flag.is_(None)]
    if R is not None:
        conditions.append(Event.recorded_at <= R)
    rn = func.row_number().over(
        partition_by=(Event.site_id, func.coalesce(Event.track, "")),
        order_by=(Event.valid_at.desc(), Event.id.desc()),
    )
    return (
        select(
            Event.site_id,
            func.coalesce(Event.track, "").label("track"),
            Event.to_status,
            Event.level,
            rn.label("rn"),
        )
        .where(and_(*conditions))
        .subquery()
    )


#: the predicate of the partial index `ix_event_latest`, as literals: a planner can only match a partial index
#: against constants, not bound parameters
_STATUS_EVENT = "event.action IN ({}) AND event.flag IS NULL".format(
    ", ".join(f"'{a}'" for a in STATUS_ACTIONS)
)


def _latest_per_track(session: Session, T: datetime, R: datetime | None):
    """Subquery (site_id, track, to_status, level): each (site, track)'s latest status event before T (recorded
    by R), read from the covering index `ix_event_latest`. Ties of valid time go to the higher id, as in the fold.
    """
    if session.bind.dialect.name == "postgresql":
        conditions = [text(_STATUS_EVENT), Event.valid_at < T]
        if R is not None:
            conditions.append(Event.recorded_at <= R)
        # DISTINCT ON in the order of a backward scan of the index: an index-only scan, no sort
        return (
            select(Event.site_id, func.coalesce(Event.track, "").label("track"), Event.to_status, Event.level)
            .where(*conditions)
            .ext(distinct_on(Event.site_id, Event.track))
            .order_by(
                Event.site_id.desc(), Event.track.desc().nulls_first(), Event.valid_at.desc(), Event.id.desc()
            )
            .subquery("latest")
        )
    # SQLite: one pass over the index in (site, track) order. With a single max() the other columns come from
    # the row holding the maximum; the key is valid time then id (fixed width), so ties are ordered as the fold
    # orders them. INDEXED BY because the planner would rather walk `ix_event_flag`.
    cutoff = " AND event.recorded_at <= :known_at" if R is not None else ""
    stmt = text(
        "SELECT event.site_id AS site_id, coalesce(event.track, '') AS track, event.to_status AS to_status, "
        "event.level AS level, max(event.valid_at || (event.id + 1000000000000)) AS latest_key "
        f"FROM event INDEXED BY ix_event_latest WHERE {_STATUS_EVENT} AND event.valid_at < :as_of{cutoff} "
        "GROUP BY event.site_id, event.track"
    )
    return (
        bind_instants(stmt, as_of=T, known_at=R)
        .columns(
            column("site_id", Integer),
            column("track", String),
            column("to_status", String),
            column("level", Float),
        )
        .subquery("latest")
    )


def cube_from_ledger(session: Session, T: datetime, R: datetime | None = None) -> Cube:
    """Aggregate the state as of valid time T, counting only what was recorded by R when R is given.

    As currently known, the ledger's valid-time index (`status_span`) gives how many (site, track)s stand in
    each cell at T by reading only the spans that contain T. As known at an earlier R, each (site, track)'s
    latest status event recorded by R comes from the covering index of the events.
    """
    cells: Counter = Counter()
    # nothing recorded after R (the usual case when a report is published: R is the moment of publishing):
    # the cutoff leaves out nothing, and the state as known at R is the state as known now
    cutoff = None if R is None or _recorded_by(session, R) else R
    if cutoff is None:
        _status_from_spans(session, cells, T)
    else:
        _status_from_events(session, cells, T, cutoff)
    _flows(session, cells, T, cutoff)
    _check_ins(session, cells, T, cutoff)
    _teams(session, cells)
    _work_items(session, cells, T, cutoff)
    return Cube(Counter({k: v for k, v in cells.items() if v}), T, R, "ledger")


def _recorded_by(session: Session, R: datetime) -> bool:
    """Every event was recorded by R (one probe of `ix_event_recorded`)."""
    latest = session.scalar(select(func.max(Event.recorded_at)))
    return latest is None or latest <= R


def _status_from_spans(session: Session, cells: Counter, T: datetime) -> None:
    found = spans.as_of(session, T)
    for number, n in found.counts.items():
        if not n:
            continue
        kind, sub, segment, track, status, level = found.names[number]
        if number < 0:
            # a kind kept per track: its tracks count here; its own report (no track) only says the site
            # exists, and the site's overall status is counted below
            if track:
                cells[(kind, sub, segment, track, status, "n")] += n
            continue
        cells[(kind, sub, segment, track, status, "n")] += n
        if level is not None:
            cells[(kind, sub, segment, track, status, "level")] += n * level
    for (kind, sub, segment), (sites, done) in found.tracked.items():
        cells[(kind, sub, segment, "", KINDS[kind].done_status, "n")] += done
        cells[(kind, sub, segment, "", KINDS[kind].initial_status, "n")] += sites - done


def _status_from_events(session: Session, cells: Counter, T: datetime, R: datetime) -> None:
    latest = _latest_per_track(session, T, R)
    tracked = [k.key for k in KINDS.values() if k.tracks]
    if session.bind.dialect.name == "postgresql":
        # ~130,000 joined rows: with the default 4 MB the grouping sorts on disk; hashed in memory it is 3× faster
        session.execute(text("SET LOCAL work_mem = '64MB'"))
    site_of_tracked = case((Site.kind.in_(tracked), Site.id), else_=None) if tracked else literal(None)
    rows = session.execute(
        select(
            Site.kind,
            func.coalesce(Site.subdistrict, ""),
            Site.segment,
            latest.c.track,
            latest.c.to_status,
            site_of_tracked,
            func.count(),
            func.sum(latest.c.level),
        )
        .join(latest, latest.c.site_id == Site.id)
        .group_by(
            Site.kind, Site.subdistrict, Site.segment, latest.c.track, latest.c.to_status, site_of_tracked
        )
    ).all()
    per_site: dict[int, dict] = defaultdict(dict)
    dims: dict[int, tuple] = {}
    for kind, sub, segment, track, status, site_id, n, level in rows:
        if site_id is not None:
            dims[site_id] = (kind, sub, segment)
            if track:
                per_site[site_id][track] = status
                cells[(kind, sub, segment, track, status, "n")] += n
            continue
        cells[(kind, sub, segment, track, status, "n")] += n
        if level is not None:
            cells[(kind, sub, segment, track, status, "level")] += float(level)
    for site_id, (kind, sub, segment) in dims.items():
        status = overall_status(KINDS[kind], per_site.get(site_id, {}))
        cells[(kind, sub, segment, "", status, "n")] += 1


def _flows(session, cells, T, R) -> None:
    """Flow measures (m³ of silt, tonnes of garbage) summed up to T, per kind, sub-district and segment: by the
    cell number each measure carries (migration 0007), without joining the sites."""
    for kind, sub, segment, key, total in measures.flows(session, T, R):
        cells[(kind, sub, segment, "", "", key)] += total


def _check_ins(session, cells, T, R) -> None:
    """Check-ins on the zone day that T falls in (up to T): daily coverage, not a running total."""
    day_start = start_of_day(local_day(T - _EPSILON))
    # on SQLite `+flag` keeps the planner off `ix_event_flag` (it would walk every unflagged event): by valid time
    unflagged = text("+event.flag IS NULL") if session.bind.dialect.name == "sqlite" else Event.flag.is_(None)
    conditions = [
        Event.action == "check_in",
        Event.valid_at >= day_start,
        Event.valid_at < T,
        unflagged,
    ]
    if R is not None:
        conditions.append(Event.recorded_at <= R)
    for kind, sub, segment, n in session.execute(
        select(Site.kind, func.coalesce(Site.subdistrict, ""), Site.segment, func.count())
        .join(Event, Event.site_id == Site.id)
        .where(*conditions)
        .group_by(Site.kind, Site.subdistrict, Site.segment)
    ):
        cells[(kind, sub, segment, "", "", "check_in")] += n


#: teams (rescue forces and crews) as cube rows (kind, sub-district, segment, track, status, quantity, value):
#: registered, not changed by events, so counted as they stand
_TEAMS = " UNION ALL ".join(
    f"SELECT 'team', coalesce(subdistrict, ''), 'type=' || type, '', '', '{quantity}', "
    f"CAST({value} AS double precision) FROM team GROUP BY type, subdistrict"
    for quantity, value in (("n", "count(*)"), ("members", "coalesce(sum(members), 0)"))
)


def _teams(session, cells) -> None:
    """Teams (rescue forces and crews) are registered, not changed by events: counted as they stand."""
    for *key, value in session.execute(text(_TEAMS)):
        cells[tuple(key)] += int(value)


def _work_items(session, cells, T, R) -> None:
    """Work items as of T: status counts and 13710 overdue counts, from their ledger events."""
    # SQLite plans `work_item_id IS NOT NULL` as a walk of the ledger by `ix_event_valid` (half of it for a
    # date mid-way); `IN (SELECT id FROM work_item)` makes it probe `ix_event_work_item` once per item.
    # PostgreSQL finds them by that index either way, and the IN costs it a few ms more.
    if session.bind.dialect.name == "sqlite":
        of_work_items = Event.work_item_id.in_(select(WorkItem.id))
    else:
        of_work_items = Event.work_item_id.is_not(None)
    conditions = [
        of_work_items,
        Event.action.in_(tuple(workitems.ACTION_STATUS)),
        Event.valid_at < T,
    ]
    if R is not None:
        conditions.append(Event.recorded_at <= R)
    history: dict[int, list] = defaultdict(list)
    for item_id, action, valid_at, event_id in session.execute(
        select(Event.work_item_id, Event.action, Event.valid_at, Event.id).where(*conditions)
    ):
        history[item_id].append((action, valid_at, event_id))
    if not history:
        return
    items = {
        row.id: row
        for row in session.execute(
            select(WorkItem.id, WorkItem.category, WorkItem.severity, WorkItem.site_id).where(
                WorkItem.id.in_(list(history))
            )
        )
    }
    subs = dict(
        session.execute(
            select(Site.id, func.coalesce(Site.subdistrict, "")).where(
                Site.id.in_([i.site_id for i in items.values() if i.site_id])
            )
        ).all()
    )
    for item_id, events in history.items():
        item = items[item_id]
        state = workitems.fold(events)
        feedback_due, resolve_due = workitems.deadlines(state.opened_at, item.severity)
        base = (
            "work_item",
            subs.get(item.site_id, ""),
            f"category={item.category};severity={item.severity}",
            "",
        )
        cells[(*base, state.status, "n")] += 1
        if state.fed_back_at is None and feedback_due < T:
            cells[(*base, state.status, "overdue_feedback")] += 1
        if state.resolved_at is None and resolve_due < T:
            cells[(*base, state.status, "overdue_resolve")] += 1


#: the roll-up's running totals up to the day and the check-ins of that day alone (daily coverage), summed by
#: cell number from `ix_rollup_delta_day_cell` alone, then named (a few hundred cells); and the teams, in the
#: same round trip
_ROLLUP_BY_CELL = text(
    "SELECT c.kind, c.subdistrict, c.segment, c.track, c.status, c.quantity, g.total FROM ("
    "SELECT cell, sum(delta) AS total FROM rollup_delta WHERE day <= :day AND (quantity <> 'check_in' OR day = :day) "
    f"GROUP BY cell) AS g JOIN rollup_cell c ON c.id = g.cell UNION ALL {_TEAMS}"
)


def cube_from_rollup(session: Session, day: date) -> Cube:
    """The state at the end of `day` from the daily roll-up: a sum over a few thousand rows."""
    cells: Counter = Counter()
    for *key, total in session.execute(_ROLLUP_BY_CELL, {"day": day.isoformat()}):
        cells[tuple(key)] += float(total)
    T = end_of_day(day)
    _work_items(session, cells, T, None)
    return Cube(Counter({k: v for k, v in cells.items() if abs(v) > 1e-9}), T, None, "rollup")
