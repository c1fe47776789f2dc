"""Day-by-day series for the report's charts, read from the daily roll-up in one query."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

from sqlalchemy import func, literal, select
from sqlalchemy.orm import Session

from recovery.metrics.compute import evaluate
from recovery.metrics.cube import Cube
from recovery.metrics.registry import METRICS_BY_KEY
from recovery.models import RollupDelta
from recovery.timeutil import end_of_day

#: the deadline for every collapsed road (先主后次、先通后畅, all done by 15 August 2021)
ROAD_DEADLINE = date(2021, 8, 15)
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


def daily_series(session: Session, day: date) -> dict:
    """Each series key → one value per day from the first day in the roll-up to `day`; flows also per day."""
    key_cols = (
        RollupDelta.kind,
        RollupDelta.subdistrict,
        RollupDelta.segment,
        RollupDelta.track,
        RollupDelta.status,
        RollupDelta.quantity,
    )
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
    by_day: dict[str, list] = {}
    for d, *key, total in rows:
        by_day.setdefault(d, []).append((tuple(key), float(total)))
    days: list[date] = []
    values: dict[str, list[float | None]] = {k: [] for k in SERIES_KEYS}
    if by_day:
        cells: Counter = Counter()
        current = date.fromisoformat(min(by_day))
        while current <= day:
            for key, total in by_day.get(current.isoformat(), ()):
                cells[key] += total
            cube = Cube(cells, end_of_day(current), None, "rollup")
            days.append(current)
            for k in SERIES_KEYS:
                values[k].append(evaluate(METRICS_BY_KEY[k], cube).value)
            current += timedelta(days=1)
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
        "deadline": ROAD_DEADLINE.isoformat(),
    }
