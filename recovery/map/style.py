"""Colours of the map: one scale from just reported (red) to done (green) for every site by its place in its
kind's life cycle and for every cluster by its share done; overdue is a red ring of its own; each sub-district
is shaded by completion. The kinds are told apart by their layers, not by colour, so no colour means two things."""

from __future__ import annotations

import numpy as np

from recovery.geodata import SUBDISTRICT_ORDER
from recovery.i18n import locale_for
from recovery.kinds import KIND, KINDS, SiteKind
from recovery.map.points import KIND_KEYS, STATUS_KEYS, PointTable

#: from just reported (red) to done (green): a site's place in its life cycle, a cluster's share done
RAMP = ("#d7301f", "#f16913", "#fdae31", "#a6bddb", "#1a9850")
NEUTRAL = "#6b7b8c"
#: the mark of an overdue site or cluster
OVERDUE = "#b3261e"
#: the sub-districts' shading by completion rate: (upper bound in percent, colour); the last has no bound
CHOROPLETH = (
    (20, "#fee5d9"),
    (40, "#fcbba1"),
    (60, "#fc9272"),
    (80, "#c7e9c0"),
    (95, "#74c476"),
    (None, "#238b45"),
)
#: enterprises that never stopped are no recovery task; disinfection points recur daily and never finish
NOT_A_TASK = {"enterprise": ("operating",)}


def status_colours(kind: SiteKind) -> dict[str, str]:
    statuses = [s.key for s in kind.statuses]
    if kind.recurring_check_in:
        return {statuses[0]: NEUTRAL}
    out = {}
    for i, key in enumerate(statuses):
        if key in NOT_A_TASK.get(kind.key, ()):
            out[key] = NEUTRAL
            continue
        share = i / max(len(statuses) - 1, 1)
        out[key] = RAMP[round(share * (len(RAMP) - 1))]
    return out


def legend(zh: bool) -> list[dict]:
    """Per kind, its statuses with their colours, in life-cycle order."""
    locale = locale_for(zh)
    return [
        {
            "kind": kind.key,
            "label": KIND.label(kind.key, locale),
            "statuses": [
                {"key": s.key, "label": s.label(locale), "colour": status_colours(kind)[s.key]}
                for s in kind.statuses
            ],
        }
        for kind in KINDS.values()
    ]


def all_status_colours() -> dict[str, dict[str, str]]:
    return {kind.key: status_colours(kind) for kind in KINDS.values()}


def task_rows(table: PointTable) -> np.ndarray:
    """The rows that are recovery tasks: every kind with an end, less enterprises that never stopped."""
    rows = np.ones(len(table), dtype=bool)
    for key, kind in KINDS.items():
        if kind.recurring_check_in:
            rows &= table.kind != KIND_KEYS.index(key)
        for status in NOT_A_TASK.get(key, ()):
            rows &= ~((table.kind == KIND_KEYS.index(key)) & (table.status == STATUS_KEYS.index(status)))
    return rows


def completion_by_subdistrict(table: PointTable, rows: np.ndarray | None = None) -> dict[str, dict]:
    """Done ÷ tasks per sub-district (rate in percent, None when there is no task); of the whole table, it is
    kept with the table (it changes only with the table)."""
    if rows is None:
        cached = table._derived.get("completion")
        if cached is None:
            cached = table._derived["completion"] = _completion(table, task_rows(table))
        return {key: dict(value) for key, value in cached.items()}
    return _completion(table, rows & task_rows(table))


def _completion(table: PointTable, rows: np.ndarray) -> dict[str, dict]:
    out = {}
    for i, key in enumerate(SUBDISTRICT_ORDER):
        mine = rows & (table.subdistrict == i)
        total = int(mine.sum())
        done = int((mine & table.done).sum())
        out[key] = {"total": total, "done": done, "rate": round(100.0 * done / total, 2) if total else None}
    return out


def choropleth_colour(rate: float | None) -> str:
    if rate is None:
        return "#cccccc"
    for bound, colour in CHOROPLETH:
        if bound is None or rate < bound:
            return colour
    return CHOROPLETH[-1][1]


def choropleth_steps() -> list[dict]:
    """The shading's steps for the legend: from (percent), below (percent or None), colour."""
    lows = [0, *(bound for bound, _ in CHOROPLETH[:-1])]
    return [
        {"low": low, "high": bound, "colour": colour}
        for low, (bound, colour) in zip(lows, CHOROPLETH, strict=True)
    ]
