"""The report's table by sub-district and kind: total, done, in progress, overdue and completion rate."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import func, literal_column, or_, select
from sqlalchemy.orm import Session

from recovery.geodata import SUBDISTRICT_ORDER
from recovery.kinds import KINDS
from recovery.metrics.cube import Cube
from recovery.models import Site

#: kinds with a life cycle that ends (disinfection points recur daily and have no "done")
TABLE_KINDS = (
    "road_collapse",
    "silt_site",
    "municipal_facility",
    "river_hazard",
    "enterprise",
    "residential_community",
)
#: an enterprise that never stopped is not part of the recovery
_NOT_AFFECTED = {"enterprise": ("operating",)}


def kind_table(session: Session, cube: Cube, as_of: datetime) -> list[dict]:
    """One row per (sub-district, kind) and a total row per kind. Counts come from the same cube as the figures;
    overdue = not done at `as_of` although its deadline has passed."""
    counts: dict[tuple[str, str], dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for (kind, sub, _segment, track, status, quantity), value in cube.cells.items():
        if kind not in TABLE_KINDS or quantity != "n" or track or not status:
            continue
        if status in _NOT_AFFECTED.get(kind, ()):
            continue
        spec = KINDS[kind]
        cell = counts[(sub, kind)]
        cell["total"] += value
        if status == spec.done_status:
            cell["done"] += value
        elif status != spec.initial_status:
            cell["in_progress"] += value
    overdue = _overdue(session, as_of)
    rows = []
    for kind in TABLE_KINDS:
        subs = [s for s in SUBDISTRICT_ORDER] + sorted(
            {s for s, k in counts if k == kind} - set(SUBDISTRICT_ORDER)
        )
        total_row = {"subdistrict": None, "kind": kind, "total": 0, "done": 0, "in_progress": 0, "overdue": 0}
        for sub in subs:
            cell = counts.get((sub, kind), {})
            row = {
                "subdistrict": sub or None,
                "kind": kind,
                "total": round(cell.get("total", 0)),
                "done": round(cell.get("done", 0)),
                "in_progress": round(cell.get("in_progress", 0)),
                "overdue": overdue.get((sub, kind), 0),
            }
            if not row["total"] and not row["overdue"]:
                continue
            for k in ("total", "done", "in_progress", "overdue"):
                total_row[k] += row[k]
            rows.append(_rate(row))
        rows.append(_rate(total_row))
    return rows


def _rate(row: dict) -> dict:
    row["completion_rate"] = round(100 * row["done"] / row["total"], 2) if row["total"] else None
    return row


def _overdue(session: Session, as_of: datetime) -> dict[tuple[str, str], int]:
    """Sites reported before `as_of`, past their deadline and not done by then (by the projection's done time)."""
    sub = func.coalesce(
        Site.subdistrict, literal_column("''")
    )  # a literal: PostgreSQL must see one expression
    stmt = (
        select(sub, Site.kind, func.count())
        .where(
            Site.kind.in_(TABLE_KINDS),
            Site.reported_at < as_of,
            Site.deadline.is_not(None),
            Site.deadline < as_of,
            or_(Site.done_at.is_(None), Site.done_at >= as_of),
        )
        .group_by(sub, Site.kind)
    )
    return {(sub, kind): n for sub, kind, n in session.execute(stmt)}
