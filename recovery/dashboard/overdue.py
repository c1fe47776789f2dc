"""What is overdue: work items under 13710 (feedback in 3 days, general resolution in 7, major in 30), by unit,
and the sites past their deadline, most overdue first.

The work items' lists are the records behind the registry's overdue figures for the same moment, so they always
match them; the sites are the map's (the same table, so the list agrees with the map's overdue count).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from recovery.geodata import SUBDISTRICT_ORDER
from recovery.map.points import KIND_KEYS, PointTable
from recovery.metrics.records import records_for
from recovery.models import Site, Team, WorkItem
from recovery.timeutil import deadline_text, zone_iso
from recovery.vocab import label

#: the overdue sites the dashboard lists (the count says how many there are in all)
SITES_LISTED = 10

#: (list key, registry figure, severity it keeps or None for all)
LISTS = (
    ("feedback", "work_items_overdue_feedback", None),
    ("general", "work_items_overdue_resolve", "general"),
    ("major", "work_items_overdue_resolve", "major"),
)


@dataclass(frozen=True)
class OverdueUnit:
    """One responsible unit and its overdue items, oldest first.

    A dataclass, and its list is not called `items`: a template reading `unit.items` of a dict gets the dict's
    method, not the list (the dashboard answered 500 as soon as any item was overdue).
    """

    unit: str  # the vocabulary's key (a unit stored before 0011 that no term names: its text as written)
    label: str  # in the reader's language
    work_items: list[dict]


def overdue_by_unit(session: Session, as_of: datetime, locale: str = "zh") -> dict[str, list[OverdueUnit]]:
    """For each list, the responsible units, each with its overdue items oldest first; units with the oldest
    item first, each labelled in `locale`."""
    out: dict[str, list[OverdueUnit]] = {}
    for name, metric, severity in LISTS:
        ids = [r["id"] for r in records_for(session, metric, as_of)]
        items = session.scalars(select(WorkItem).where(WorkItem.id.in_(ids))).all() if ids else []
        units: dict[str, list[dict]] = defaultdict(list)
        for item in sorted(items, key=lambda w: (w.opened_at, w.id)):
            if severity is not None and item.severity != severity:
                continue
            due = item.feedback_due if name == "feedback" else item.resolve_due
            units[item.responsible_unit].append(
                {
                    "id": item.id,
                    "key": item.key,
                    "title": item.title,
                    "category": item.category,
                    "opened_at": zone_iso(item.opened_at),
                    "due": zone_iso(due),
                    "days_overdue": max((as_of - due).days, 0),
                }
            )
        out[name] = [
            OverdueUnit(unit, label("unit", unit, locale), rows)
            for unit, rows in sorted(units.items(), key=lambda u: u[1][0]["opened_at"])
        ]
    return out


@dataclass(frozen=True)
class OverdueSites:
    """The sites overdue at a moment: how many, and the most overdue of them."""

    count: int
    sites: list[dict]


def overdue_sites(
    session: Session, table: PointTable, at: datetime, locale: str = "zh", limit: int = SITES_LISTED
) -> OverdueSites:
    """The sites of `table` (the map's, for the moment `at`) overdue at `at`: the count, and the `limit` whose
    deadline passed longest ago, each with its kind, sub-district and team labelled in `locale`."""
    late = np.flatnonzero(table.overdue(at))
    first = late[np.argsort(table.deadline[late], kind="stable")[:limit]]
    ids = [int(i) for i in table.ids[first]]
    rows = (
        {
            row.id: row
            for row in session.execute(
                select(Site.id, Site.name, Site.team_id, Team.name.label("team"))
                .outerjoin(Team, Team.id == Site.team_id)
                .where(Site.id.in_(ids))
            )
        }
        if ids
        else {}
    )
    sites = []
    for i in first:
        site_id = int(table.ids[i])
        row = rows.get(site_id)
        if row is None:  # gone since the table was built
            continue
        due = datetime.fromtimestamp(float(table.deadline[i]), tz=at.tzinfo)
        sub = int(table.subdistrict[i])
        sites.append(
            {
                "id": site_id,
                "name": row.name,
                "kind_label": label("kind", KIND_KEYS[int(table.kind[i])], locale),
                "subdistrict_label": label("subdistrict", SUBDISTRICT_ORDER[sub], locale) if sub >= 0 else "",
                "team": row.team or "",
                "deadline_text": deadline_text(due),
                "days_overdue": max((at - due).days, 0),
            }
        )
    return OverdueSites(int(late.size), sites)
