"""Day-by-day series from the registry: the collapse points burn-down (倒排工期) and the restart curve."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy.orm import Session

from recovery.metrics import cube_at, evaluate_all
from recovery.timeutil import end_of_day

FIRST_DAY = date(2021, 7, 20)
DEADLINE = date(2021, 8, 15)  # all collapsed roads, 先主后次、先通后畅
PACE_DAYS = 7
SERIES_KEYS = [
    "road_collapse_total",
    "road_collapse_handled",
    "road_collapse_remaining",
    "restart_headcount_rate",
    "composite_restart_rate",
]


@dataclass(frozen=True)
class BurnDown:
    days: list[date]
    remaining: list[float]
    pace: float  # points finished per day over the last PACE_DAYS days
    needed: float | None  # points per day needed to reach zero by the deadline
    projected_zero: date | None  # when the current pace reaches zero (None: never at this pace)
    misses_deadline: bool


def daily_figures(session: Session, last: date) -> dict[date, dict]:
    """Registry figures (SERIES_KEYS) at the end of every day from 20 July to `last`, from the roll-up."""
    out = {}
    day = FIRST_DAY
    while day <= last:
        out[day] = {
            k: f.value for k, f in evaluate_all(cube_at(session, end_of_day(day)), keys=SERIES_KEYS).items()
        }
        day += timedelta(days=1)
    return out


def burn_down(figures: dict[date, dict], today: date, deadline: date = DEADLINE) -> BurnDown:
    days = sorted(figures)
    remaining = [figures[d]["road_collapse_remaining"] or 0 for d in days]
    now_left = remaining[-1] if remaining else 0
    handled = [figures[d]["road_collapse_handled"] or 0 for d in days]
    before = figures.get(today - timedelta(days=PACE_DAYS))
    span = PACE_DAYS if before else max(len(days) - 1, 1)
    earlier = (before["road_collapse_handled"] or 0) if before else (handled[0] if handled else 0)
    # the pace is points restored per day; points still being reported do not slow it down
    pace = max(((handled[-1] if handled else 0) - earlier) / span, 0.0)
    days_left = (deadline - today).days
    needed = now_left / days_left if days_left > 0 else None
    if now_left <= 0:
        projected = next((d for d, r in zip(days, remaining, strict=True) if r <= 0), today)
    elif pace > 0:
        projected = today + timedelta(days=math.ceil(now_left / pace))
    else:
        projected = None
    misses = now_left > 0 and (projected is None or projected > deadline)
    return BurnDown(
        days, remaining, round(pace, 2), round(needed, 2) if needed is not None else None, projected, misses
    )
