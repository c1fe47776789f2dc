"""Work items (事项) under 13710: opened, fed back within 3 days, solved within 7 or 30, closed (销号)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from recovery.errors import NotFoundError, TransitionError, ValidationError
from recovery.ledger.append import Append, Recorded, append, body_hash
from recovery.models import Event, Site, WorkItem
from recovery.text import clean_text
from recovery.vocab import CATEGORY, resolve

#: category key → (Chinese, English) label, read from the vocabulary
CATEGORIES = {t.key: (t.zh, t.en) for t in CATEGORY.terms}
SEVERITY_DAYS = {"general": 7, "major": 30}
FEEDBACK_DAYS = 3
#: work-item life cycle; each action moves it to the status beside it
ACTION_STATUS = {
    "work_item_open": "open",
    "work_item_feedback": "fed_back",
    "work_item_resolve": "resolved",
    "work_item_close": "closed",
}
ORDER = ("open", "fed_back", "resolved", "closed")


@dataclass
class WorkItemState:
    status: str | None = None
    opened_at: datetime | None = None
    fed_back_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    version: int = 0


def deadlines(opened_at: datetime, severity: str) -> tuple[datetime, datetime]:
    """13710: feedback due in 3 days; a general problem solved in 7, a major one in 30."""
    return opened_at + timedelta(days=FEEDBACK_DAYS), opened_at + timedelta(days=SEVERITY_DAYS[severity])


def overdue(state: WorkItemState, severity: str, at: datetime) -> tuple[bool, bool]:
    """13710 at `at`: (feedback overdue, resolution overdue) — not fed back, or not resolved, by its deadline."""
    feedback_due, resolve_due = deadlines(state.opened_at, severity)
    return state.fed_back_at is None and feedback_due < at, state.resolved_at is None and resolve_due < at


def fold(events: list[tuple[str, datetime, int]]) -> WorkItemState:
    """Replay (action, valid_at, id) of one work item. Skipping a step fills it in at the same moment."""
    state = WorkItemState()
    for action, valid_at, _id in sorted(events, key=lambda e: (e[1], e[2])):
        target = ACTION_STATUS[action]
        state.version += 1
        if target == "open":
            state.status, state.opened_at = "open", valid_at
            continue
        for step in ORDER[ORDER.index(state.status) + 1 : ORDER.index(target) + 1]:
            setattr(
                state,
                {"fed_back": "fed_back_at", "resolved": "resolved_at", "closed": "closed_at"}[step],
                valid_at,
            )
        state.status = target
    return state


def open_work_item(
    session: Session,
    *,
    category: str,
    title: str,
    responsible_unit: str,
    severity: str = "general",
    site_id: int | None = None,
    actor: str,
    valid_at: datetime,
    note: str = "",
    client_id: str | None = None,
    key: str | None = None,
    recorded_at: datetime | None = None,
) -> tuple[WorkItem, Recorded]:
    """Open a work item with its `work_item_open` event (not committed); idempotent on `client_id`."""
    category, severity = resolve("category", category), resolve("severity", severity)
    title = clean_text(title, "title", 300, required=True)
    # the unit by its key, whatever spelling the door was given (城管局, 城市管理局, urban_management): one unit is
    # one key, so its overdue list and its ranking never split, and a retry in another spelling replays
    unit = resolve("unit", clean_text(responsible_unit, "responsible_unit", 200, required=True))
    actor = clean_text(actor, "actor", 200, required=True)
    note = clean_text(note, "note", 2000)
    digest = body_hash(
        {
            "action": "work_item_open",
            "category": category,
            "title": title,
            "unit": unit,
            "severity": severity,
            "site": site_id,
            "actor": actor,
            "note": note,
            "valid_at": valid_at.isoformat(),
            "key": key,
        }
    )

    def write(txn: Append) -> tuple[WorkItem, Recorded]:
        txn.claim(digest)
        recorded = txn.stamp(valid_at, recorded_at)
        if site_id is not None and session.get(Site, site_id) is None:
            raise NotFoundError("Site %(site)s does not exist.", site=site_id)
        feedback_due, resolve_due = deadlines(valid_at, severity)
        item = WorkItem(
            key=key or f"WI-new-{digest[:16]}",
            category=category,
            title=title,
            responsible_unit=unit,
            severity=severity,
            site_id=site_id,
            status="open",
            opened_at=valid_at,
            feedback_due=feedback_due,
            resolve_due=resolve_due,
            version=1,
        )
        session.add(item)
        session.flush()
        if not key:
            item.key = f"WI-{item.id:06d}"
        event = Event(
            client_id=client_id,
            body_hash=digest,
            action="work_item_open",
            work_item_id=item.id,
            site_id=site_id,
            actor=actor,
            to_status="open",
            measures={},
            note=note,
            valid_at=valid_at,
            recorded_at=recorded,
        )
        session.add(event)
        return item, Recorded(event, created=True)

    return append(
        session,
        write,
        client_id=client_id,
        replayed=lambda event: (session.get(WorkItem, event.work_item_id), Recorded(event, created=False)),
        conflict=lambda: ValidationError("A work item with key %(key)s already exists.", key=key or ""),
    )


def advance_work_item(
    session: Session,
    work_item_id: int,
    *,
    action: str,
    actor: str,
    valid_at: datetime,
    note: str = "",
    client_id: str | None = None,
    recorded_at: datetime | None = None,
) -> Recorded:
    """Feed back, resolve or close (销号) a work item (not committed); moving backwards or past closed is
    refused."""
    if action not in ACTION_STATUS or action == "work_item_open":
        raise ValidationError("Unknown action %(action)s.", action=action)
    actor = clean_text(actor, "actor", 200, required=True)
    note = clean_text(note, "note", 2000)

    def write(txn: Append) -> Recorded:
        item = txn.get(WorkItem, work_item_id)
        if item is None:
            raise NotFoundError("Work item %(item)s does not exist.", item=work_item_id)
        txn.claim(
            body_hash(
                {
                    "action": action,
                    "work_item": item.key,
                    "actor": actor,
                    "note": note,
                    "valid_at": valid_at.isoformat(),
                }
            )
        )
        recorded = txn.stamp(valid_at, recorded_at)
        history = session.execute(
            select(Event.action, Event.valid_at, Event.id).where(Event.work_item_id == item.id)
        ).all()
        current = fold([tuple(h) for h in history if h[1] <= valid_at])
        target = ACTION_STATUS[action]
        if current.status is None:
            raise ValidationError("Nothing can happen to a work item before it is opened.")
        if ORDER.index(target) <= ORDER.index(current.status):
            raise TransitionError("The work item is already %(status)s.", status=current.status)
        event = Event(
            client_id=client_id,
            body_hash=txn.digest,
            action=action,
            work_item_id=item.id,
            site_id=item.site_id,
            actor=actor,
            from_status=current.status,
            to_status=target,
            measures={},
            note=note,
            valid_at=valid_at,
            recorded_at=recorded,
        )
        session.add(event)
        session.flush()
        project_work_item(item, fold([*[tuple(h) for h in history], (action, valid_at, event.id)]))
        session.add(item)
        return Recorded(event, created=True)

    return append(session, write, client_id=client_id)


def project_work_item(item: WorkItem, state: WorkItemState) -> None:
    item.status = state.status or "open"
    item.fed_back_at, item.resolved_at, item.closed_at = state.fed_back_at, state.resolved_at, state.closed_at
    item.version = state.version
