"""13710: work items overdue for feedback (3 days), general resolution (7) or major resolution (30), by unit.

The lists are the records behind the registry's overdue figures for the same moment, so they always match them.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from recovery.metrics.records import records_for
from recovery.models import WorkItem
from recovery.timeutil import zone_iso
from recovery.vocab import label

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
