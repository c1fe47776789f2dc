"""Day-by-day series from the registry: the collapse points burn-down (倒排工期) and the restart curve."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy.orm import Session

from recovery.incident import current_incident
from recovery.reports.series import daily_values

PACE_DAYS = 7
#: a projection further ahead than this is shown as "never at this pace"
PROJECTION_DAYS = 3660
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
    """Registry figures (SERIES_KEYS) at the end of every day from the incident's first day to `last`, from the roll-up in one
    query (`daily_values`: evaluated on the days with data, carried over the others), so that a far `last`
    costs no more than a near one. Days before the roll-up's first have no figures yet (None)."""
    days, values = daily_values(session, last, SERIES_KEYS)
    known = {d: {k: values[k][i] for k in SERIES_KEYS} for i, d in enumerate(days)}
    empty = dict.fromkeys(SERIES_KEYS)
    out = {}
    day = current_incident().first_day
    while day <= last:
        out[day] = known.get(day, empty)
        day += timedelta(days=1)
    return out


def burn_down(figures: dict[date, dict], today: date, deadline: date | None = None) -> BurnDown:
    """The collapse points' burn-down on `today` against `deadline` (by default the incident's roads' one)."""
    deadline = deadline or current_incident().road_deadline
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
    elif pace > 0 and now_left / pace <= PROJECTION_DAYS:
        projected = today + timedelta(days=math.ceil(now_left / pace))
    else:  # no pace, or one so slow that the end is out of sight (and past any date the calendar holds)
        projected = None
    misses = now_left > 0 and (projected is None or projected > deadline)
    return BurnDown(
        days, remaining, round(pace, 2), round(needed, 2) if needed is not None else None, projected, misses
    )
