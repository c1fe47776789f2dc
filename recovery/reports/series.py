"""Day-by-day series for the report's charts, read from the daily roll-up in one query."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import date, datetime, timedelta

from sqlalchemy import func, literal, select
from sqlalchemy.orm import Session

from recovery.incident import current_incident
from recovery.metrics.compute import evaluate
from recovery.metrics.cube import Cube, cube_from_ledger
from recovery.metrics.registry import METRICS_BY_KEY
from recovery.models import ROLLUP_CELL, Event, RollupDelta
from recovery.timeutil import end_of_day, local_day

#: the figures the charts plot, each evaluated at the end of every day
SERIES_KEYS = (
    "road_collapse_total",
    "road_collapse_remaining",
    "enterprises_restarted",
    "restart_headcount_rate",
    "composite_restart_rate",
    "silt_m3",
    "garbage_t",
)
_KINDS = ("road_collapse", "enterprise", "silt_site")


def daily_series(session: Session, day: date, known_at: datetime | None = None) -> dict:
    """Each series key → one value per day from the first day in the roll-up to `day`; flows also per day.
    With `known_at`, as known then (see `daily_values`)."""
    days, values = daily_values(session, day, SERIES_KEYS, known_at)
    per_day = {
        k: [
            round((v or 0) - (prev or 0), 6)
            for prev, v in zip([0.0, *values[k]], values[k], strict=False)  # the day before the first: 0
        ]
        for k in ("silt_m3", "garbage_t")
    }
    return {
        "days": [d.isoformat() for d in days],
        "cumulative": values,
        "per_day": per_day,
        "deadline": current_incident().road_deadline.isoformat(),
    }


def daily_values(
    session: Session, day: date, keys: Sequence[str], known_at: datetime | None = None
) -> tuple[list[date], dict[str, list[float | None]]]:
    """The figures `keys` (of the kinds in `_KINDS`) at the end of each day from the first day in the roll-up
    to `day`, from one query. A figure is evaluated only on the days something changed and carried over the
    days between, so the cost follows the days with data, not the distance to `day`.

    With `known_at`, as known then: the roll-up holds everything recorded so far, so the days from the first
    one that a later-recorded event touches are evaluated from the ledger with the record-time cutoff (none, in
    the usual case of a report published now). A day without a row in the roll-up has no event of these kinds,
    recorded before or after `known_at`, so it is carried over on that path too."""
    key_cols = ROLLUP_CELL
    rows = session.execute(
        select(RollupDelta.day, *key_cols, func.sum(RollupDelta.delta))
        .where(
            RollupDelta.day <= day.isoformat(),
            RollupDelta.kind.in_(_KINDS),
            RollupDelta.quantity != literal("check_in"),
        )
        .group_by(RollupDelta.day, *key_cols)
        .order_by(RollupDelta.day)
    ).all()
    late_from = _first_late_day(session, day, known_at) if known_at is not None else None
    by_day: dict[str, list] = {}
    for d, *key, total in rows:
        by_day.setdefault(d, []).append((tuple(key), float(total)))
    days: list[date] = []
    values: dict[str, list[float | None]] = {k: [] for k in keys}
    if by_day:
        cells: Counter = Counter()
        current = date.fromisoformat(min(by_day))
        while current <= day:
            changes = by_day.get(current.isoformat(), ())
            for key, total in changes:
                cells[key] += total
            if changes or not days or current == late_from:
                cube = Cube(cells, end_of_day(current), None, "rollup")
                if late_from is not None and current >= late_from:
                    cube = cube_from_ledger(session, end_of_day(current), known_at)
                for k in keys:
                    values[k].append(evaluate(METRICS_BY_KEY[k], cube).value)
            else:  # nothing of these kinds happened on this day: yesterday's figures stand
                for k in keys:
                    values[k].append(values[k][-1])
            days.append(current)
            current += timedelta(days=1)
    return days, values


def _first_late_day(session: Session, day: date, known_at: datetime) -> date | None:
    """The first day whose state an event recorded after `known_at` changes (valid before the end of `day`)."""
    first = session.scalar(
        select(func.min(Event.valid_at)).where(Event.recorded_at > known_at, Event.valid_at < end_of_day(day))
    )
    return None if first is None else local_day(first)
