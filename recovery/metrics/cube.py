"""The aggregate state at a moment — counts, levels and flows by kind, sub-district, segment and status —
computed either from the ledger (any valid time T, as known at any record time R) or from the daily roll-up."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import and_, func, literal, select
from sqlalchemy.orm import Session

from recovery import workitems
from recovery.kinds import KINDS
from recovery.ledger.fold import STATUS_ACTIONS, overall_status
from recovery.models import Event, EventMeasure, RollupDelta, Site, Team
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


def cube_from_ledger(session: Session, T: datetime, R: datetime | None = None) -> Cube:
    """Aggregate the state as of valid time T, counting only what was recorded by R when R is given."""
    cells: Counter = Counter()
    latest = _latest_status_events(T, R)
    tracked = [k.key for k in KINDS.values() if k.tracks]
    rows = session.execute(
        select(
            Site.kind,
            func.coalesce(Site.subdistrict, ""),
            Site.segment,
            latest.c.track,
            latest.c.to_status,
            func.count(),
            func.sum(latest.c.level),
        )
        .join(latest, latest.c.site_id == Site.id)
        .where(latest.c.rn == 1, Site.kind.not_in(tracked))
        .group_by(Site.kind, Site.subdistrict, Site.segment, latest.c.track, latest.c.to_status)
    ).all()
    for kind, sub, segment, track, status, n, level in rows:
        cells[(kind, sub, segment, track, status, "n")] += n
        if level is not None:
            cells[(kind, sub, segment, track, status, "level")] += float(level)
    _tracked_kinds(session, cells, latest, tracked)
    _flows(session, cells, T, R)
    _check_ins(session, cells, T, R)
    _teams(session, cells)
    _work_items(session, cells, T, R)
    return Cube(Counter({k: v for k, v in cells.items() if v}), T, R, "ledger")


def _tracked_kinds(session, cells, latest, tracked) -> None:
    """Kinds with utilities: per-utility counts in SQL, the overall status per site in Python."""
    if not tracked:
        return
    per_site: dict[int, dict] = defaultdict(dict)
    dims = {}
    for site_id, kind, sub, segment, track, status in session.execute(
        select(
            Site.id,
            Site.kind,
            func.coalesce(Site.subdistrict, ""),
            Site.segment,
            latest.c.track,
            latest.c.to_status,
        )
        .join(latest, latest.c.site_id == Site.id)
        .where(latest.c.rn == 1, Site.kind.in_(tracked))
    ):
        dims[site_id] = (kind, sub, segment)
        if track:
            per_site[site_id][track] = status
            cells[(kind, sub, segment, track, status, "n")] += 1
    for site_id, (kind, sub, segment) in dims.items():
        status = overall_status(KINDS[kind], per_site.get(site_id, {}))
        cells[(kind, sub, segment, "", status, "n")] += 1


def _flows(session, cells, T, R) -> None:
    conditions = [EventMeasure.valid_at < T]
    if R is not None:
        conditions.append(EventMeasure.recorded_at <= R)
    for kind, sub, segment, key, total in session.execute(
        select(
            Site.kind,
            func.coalesce(Site.subdistrict, ""),
            Site.segment,
            EventMeasure.key,
            func.sum(EventMeasure.value),
        )
        .join(Site, Site.id == EventMeasure.site_id)
        .where(*conditions)
        .group_by(Site.kind, Site.subdistrict, Site.segment, EventMeasure.key)
    ):
        cells[(kind, sub, segment, "", "", key)] += float(total)


def _check_ins(session, cells, T, R) -> None:
    """Check-ins on the zone day that T falls in (up to T): daily coverage, not a running total."""
    day_start = start_of_day(local_day(T - _EPSILON))
    conditions = [
        Event.action == "check_in",
        Event.valid_at >= day_start,
        Event.valid_at < T,
        Event.flag.is_(None),
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


def _teams(session, cells) -> None:
    """Teams (rescue forces and crews) are registered, not changed by events: counted as they stand."""
    for team_type, sub, n, members in session.execute(
        select(Team.type, func.coalesce(Team.subdistrict, ""), func.count(), func.sum(Team.members)).group_by(
            Team.type, Team.subdistrict
        )
    ):
        cells[("team", sub, f"type={team_type}", "", "", "n")] += n
        cells[("team", sub, f"type={team_type}", "", "", "members")] += int(members or 0)


def _work_items(session, cells, T, R) -> None:
    """Work items as of T: status counts and 13710 overdue counts, from their ledger events."""
    conditions = [
        Event.work_item_id.is_not(None),
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
    from recovery.models import WorkItem

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


def cube_from_rollup(session: Session, day: date) -> Cube:
    """The state at the end of `day` from the daily roll-up: a sum over a few thousand rows."""
    cells: Counter = Counter()
    key_cols = (
        RollupDelta.kind,
        RollupDelta.subdistrict,
        RollupDelta.segment,
        RollupDelta.track,
        RollupDelta.status,
        RollupDelta.quantity,
    )
    d = day.isoformat()
    for *key, total in session.execute(
        select(*key_cols, func.sum(RollupDelta.delta))
        .where(RollupDelta.day <= d, RollupDelta.quantity != literal("check_in"))
        .group_by(*key_cols)
    ):
        cells[tuple(key)] += float(total)
    for *key, total in session.execute(
        select(*key_cols, func.sum(RollupDelta.delta))
        .where(RollupDelta.day == d, RollupDelta.quantity == literal("check_in"))
        .group_by(*key_cols)
    ):
        cells[tuple(key)] += float(total)
    T = end_of_day(day)
    _teams(session, cells)
    _work_items(session, cells, T, None)
    return Cube(Counter({k: v for k, v in cells.items() if abs(v) > 1e-9}), T, None, "rollup")
