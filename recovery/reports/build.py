"""The full daily report: the bulletin and figures, the change since the day before, the table by sub-district
and kind, and the chart series — as one plain payload that every format renders and publishing freezes."""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy.orm import Session

from recovery.errors import ValidationError
from recovery.incident import current_incident
from recovery.metrics.compute import cube_at
from recovery.reports.daily import report_from_cube
from recovery.reports.kindtable import kind_table
from recovery.reports.series import daily_series
from recovery.timeutil import ZONE, end_of_day, zone_iso

#: the figures the report leads with, in order
HEADLINE_KEYS = (
    "road_collapse_total",
    "road_collapse_handled",
    "road_collapse_remaining",
    "silt_sites_cleared",
    "silt_m3",
    "garbage_t",
    "enterprises_stopped",
    "enterprises_restarted",
    "restart_headcount_rate",
    "composite_restart_rate",
    "above_size_total",
    "above_size_restart_share",
    "community_restored",
    "signals_ring4_repaired_rate",
    "disinfection_coverage",
    "work_items_open",
)


def moment(day: date, at: str | None) -> datetime:
    """The instant a report describes: the end of `day`, or `HH:MM` on that day (Asia/Shanghai)."""
    if not at:
        return end_of_day(day)
    try:
        clock = time.fromisoformat(at.strip())
    except ValueError:
        raise ValidationError("Not a time of day (HH:MM): %(value)s.", value=str(at)[:20]) from None
    return datetime.combine(day, clock, tzinfo=ZONE).astimezone(end_of_day(day).tzinfo)


def build_report(
    session: Session,
    day: date,
    *,
    at: datetime | None = None,
    known_at: datetime | None = None,
    locale: str = "zh",
) -> dict:
    """Everything the report page, the files and a publication show for `day` (at `at`, known at `known_at`)."""
    as_of = at or end_of_day(day)
    cube = cube_at(session, as_of, known_at)
    payload = report_from_cube(cube, day, locale)
    previous = report_from_cube(cube_at(session, end_of_day(day - timedelta(days=1)), known_at), day, locale)
    before = {f["key"]: f for f in previous["figures"]}
    payload["change"] = {f["key"]: _change(f, before.get(f["key"])) for f in payload["figures"]}
    payload["previous_day"] = (day - timedelta(days=1)).isoformat()
    payload["headline"] = list(HEADLINE_KEYS)
    payload["kind_table"] = kind_table(session, cube, as_of)
    payload["series"] = daily_series(
        session, min(day, (as_of - timedelta(microseconds=1)).astimezone(ZONE).date()), known_at
    )
    payload["source"] = current_incident().source.get(locale)
    return payload


def _change(now: dict, before: dict | None) -> dict:
    """The change since the end of the previous day: the difference of the two printed figures, in exact
    decimals (shares in percentage points), so that it always agrees with what the reader sees side by side
    (99 % then 100 % is +1, 34 then 299 is +265, 113 then 892 is +779)."""
    if before is None or now["value"] is None or before["value"] is None:
        return {"delta": None, "printed": "—"}
    delta = Decimal(now["printed"]) - Decimal(before["printed"])
    if delta == 0:
        return {"delta": 0, "printed": "±0"}
    return {"delta": float(delta), "printed": f"{delta:+f}"}


def canonical_json(payload: dict) -> bytes:
    """The bytes a publication stores and hashes: sorted keys, no spaces, UTF-8, no NaN."""
    return json.dumps(
        payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False
    ).encode()


def figures_by_key(payload: dict) -> dict[str, dict]:
    return {f["key"]: f for f in payload["figures"]}


__all__ = ["HEADLINE_KEYS", "build_report", "canonical_json", "figures_by_key", "moment", "zone_iso"]
