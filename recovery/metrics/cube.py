"""The aggregate state at a moment — counts, levels and flows by kind, sub-district, segment and status —
computed either from the ledger (any valid time T, as known at any record time R) or from the daily roll-up."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from recovery import workitems
from recovery.db.types import bind_instants
from recovery.kinds import KINDS
from recovery.ledger import asof, measures, spans
from recovery.ledger.fold import overall_status
from recovery.models import Event, Site, WorkItem
from recovery.teams import SERVING_AT_SQL
from recovery.timeutil import end_of_day

# (kind, subdistrict, segment, track, status, quantity)
CubeKey = tuple[str, str, str, str, str, str]


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


def cube_from_ledger(session: Session, T: datetime, R: datetime | None = None) -> Cube:
    """Aggregate the state as of valid time T, counting only what was recorded by R when R is given.

    As currently known, the ledger's valid-time index (`status_span`) gives how many (site, track)s stand in
    each cell at T by reading only the spans that contain T. As known at an earlier R, each (site, track)'s
    latest status event recorded by R comes from the covering index of the events.
    """
    cells: Counter = Counter()
    cutoff = asof.effective_cutoff(session, R)
    if cutoff is None:
        _status_from_spans(session, cells, T)
    else:
        _status_from_events(session, cells, T, cutoff)
    _flows(session, cells, T, cutoff)
    _check_ins(session, cells, T, cutoff)
    _teams(session, cells, T)
    _work_items(session, cells, T, cutoff)
    return Cube(Counter({k: v for k, v in cells.items() if v}), T, R, "ledger")


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
    rows = asof.status_groups(session, T, R)
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
    conditions = asof.check_in_conditions(session, T, R)
    for kind, sub, segment, n in session.execute(
        select(Site.kind, func.coalesce(Site.subdistrict, ""), Site.segment, func.count())
        .join(Event, Event.site_id == Site.id)
        .where(*conditions)
        .group_by(Site.kind, Site.subdistrict, Site.segment)
    ):
        cells[(kind, sub, segment, "", "", "check_in")] += n


#: teams (rescue forces and crews) as cube rows (kind, sub-district, segment, track, status, quantity, value):
#: registered, not changed by events, so counted as they stand: those serving at T (`recovery.teams`)
_TEAMS = " UNION ALL ".join(
    f"SELECT 'team', coalesce(subdistrict, ''), 'type=' || type, '', '', '{quantity}', "
    f"CAST({value} AS double precision) FROM team WHERE {SERVING_AT_SQL} GROUP BY type, subdistrict"
    for quantity, value in (("n", "count(*)"), ("members", "coalesce(sum(members), 0)"))
)


def _teams(session, cells, T: datetime) -> None:
    """Teams (rescue forces and crews) are registered, not changed by events: those serving at T count."""
    for *key, value in session.execute(bind_instants(text(_TEAMS), serving_at=T)):
        cells[tuple(key)] += int(value)


def _work_items(session, cells, T, R) -> None:
    """Work items as of T: status counts and 13710 overdue counts, from their ledger events."""
    states = asof.work_item_states(session, T, R)
    if not states:
        return
    items = {
        row.id: row
        for row in session.execute(
            select(WorkItem.id, WorkItem.category, WorkItem.severity, WorkItem.site_id).where(
                WorkItem.id.in_(list(states))
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
    for item_id, state in states.items():
        item = items[item_id]
        late_feedback, late_resolve = workitems.overdue(state, T)
        base = (
            "work_item",
            subs.get(item.site_id, ""),
            f"category={item.category};severity={item.severity}",
            "",
        )
        cells[(*base, state.status, "n")] += 1
        if late_feedback:
            cells[(*base, state.status, "overdue_feedback")] += 1
        if late_resolve:
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
    T = end_of_day(day)
    for *key, total in session.execute(
        bind_instants(_ROLLUP_BY_CELL, serving_at=T), {"day": day.isoformat()}
    ):
        cells[tuple(key)] += float(total)
    _work_items(session, cells, T, None)
    return Cube(Counter({k: v for k, v in cells.items() if abs(v) > 1e-9}), T, None, "rollup")
