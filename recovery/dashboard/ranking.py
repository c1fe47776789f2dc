"""月考核评比: sub-districts ranked by completion and on-time rate, with their change since a week before."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np

from recovery.geodata import SUBDISTRICT_ORDER
from recovery.map.points import PointTable
from recovery.map.style import completion_by_subdistrict, task_rows


def on_time_by_subdistrict(table: PointTable, at: datetime) -> dict[str, dict]:
    """On time = tasks done by their deadline ÷ tasks done with a deadline plus tasks past their deadline."""
    rows = task_rows(table) & ~np.isnan(table.deadline)
    with np.errstate(invalid="ignore"):
        done_in_time = rows & table.done & (table.done_at <= table.deadline)
        counted = rows & (table.done | (table.deadline < at.timestamp()))
    out = {}
    for i, key in enumerate(SUBDISTRICT_ORDER):
        mine = table.subdistrict == i
        total, good = int((counted & mine).sum()), int((done_in_time & mine).sum())
        out[key] = {
            "on_time": good,
            "counted": total,
            "rate": round(100.0 * good / total, 2) if total else None,
        }
    return out


def rank(table: PointTable, at: datetime) -> list[dict]:
    completion = completion_by_subdistrict(table)
    on_time = on_time_by_subdistrict(table, at)
    rows = [
        {
            "subdistrict": key,
            "done": completion[key]["done"],
            "total": completion[key]["total"],
            "completion": completion[key]["rate"],
            "on_time": on_time[key]["rate"],
        }
        for key in SUBDISTRICT_ORDER
    ]
    rows.sort(
        key=lambda r: (
            -(r["completion"] or 0),
            -(r["on_time"] or 0),
            SUBDISTRICT_ORDER.index(r["subdistrict"]),
        )
    )
    for i, row in enumerate(rows, start=1):
        row["rank"] = i
    return rows


def ranking_with_change(table_now: PointTable, table_week_ago: PointTable, at: datetime) -> list[dict]:
    """This week's ranking, each row with its rank and rates a week earlier and the change."""
    before = {r["subdistrict"]: r for r in rank(table_week_ago, at - timedelta(days=7))}
    out = []
    for row in rank(table_now, at):
        prev = before[row["subdistrict"]]
        out.append(
            {
                **row,
                "rank_change": prev["rank"] - row["rank"],  # positive: moved up
                "completion_change": _diff(row["completion"], prev["completion"]),
                "on_time_change": _diff(row["on_time"], prev["on_time"]),
            }
        )
    return out


def _diff(now: float | None, then: float | None) -> float | None:
    return round(now - then, 2) if now is not None and then is not None else None
