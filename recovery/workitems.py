"""Work orders (事项) under 13710, from 交办 to 销号: the steps, who may take them in which state, the deadlines
(签收 the same day, 反馈 within 3 days, 办结 within 7 or 30), the one fold that reads an order's state from its
ledger events at any moment, and the writers that append a step (`open_work_item`, `act`).

A step is a ledger event (`work_item_<action>`) with who, when it happened (valid time) and when it was recorded;
the `work_item` row is the projection of the events, and `fold` gives the state as of any day and as known at any
time, exactly as for sites.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from recovery.errors import Forbidden, NotFoundError, PreconditionFailed, TransitionError, ValidationError
from recovery.i18n import N_
from recovery.ledger.append import Append, Recorded, append, body_hash
from recovery.models import Event, Site, WorkItem, WorkItemSite
from recovery.text import clean_text
from recovery.timeutil import end_of_day, local_day
from recovery.vocab import CATEGORY, resolve

#: category key → (Chinese, English) label, read from the vocabulary
CATEGORIES = {t.key: (t.zh, t.en) for t in CATEGORY.terms}
#: 13710: 1 — acknowledged the same day; 3 — first feedback within 3 days; 7 / 1 month — resolved (general / major)
SEVERITY_DAYS = {"general": 7, "major": 30}
FEEDBACK_DAYS = 3
#: the statuses in which the responsible unit still has work to do (the order is "open" to the unit)
ACTIVE = ("open", "acknowledged", "fed_back", "returned")
#: the statuses in which the assigning side has to check the work
TO_CHECK = ("resolved", "verified")
STATUSES = (*ACTIVE, *TO_CHECK, "closed")
COMMAND_ROLES = ("commander", "admin")
#: the roles that read work orders (a unit user reads those of their unit)
READERS = ("commander", "admin", "reporter", "unit")
#: who adds photos and documents to an order: the commanders who check it and the units that work on it
CONTRIBUTORS = (*COMMAND_ROLES, "unit")


@dataclass(frozen=True)
class Step:
    """One step of the loop: the API's action, the event's action, the states it may start from, who takes it."""

    action: str
    states: tuple[str, ...]
    #: "unit" (the lead unit's users), "units" (lead or co-units), "command" (commanders and admins)
    by: str
    note_required: bool = False


STEPS: dict[str, Step] = {
    s.action: s
    for s in (
        Step("acknowledge", ("open",), "unit"),
        Step("feedback", ACTIVE, "units", note_required=True),
        Step("resolve", ACTIVE, "unit", note_required=True),
        Step("verify", ("resolved",), "command"),
        Step("return", TO_CHECK, "command", note_required=True),
        Step("close", TO_CHECK, "command"),
        Step("request_extension", ACTIVE, "unit", note_required=True),
        Step("approve_extension", (*ACTIVE, *TO_CHECK), "command"),
        Step("refuse_extension", (*ACTIVE, *TO_CHECK), "command", note_required=True),
        Step("transfer", ACTIVE, "command", note_required=True),
        Step("remind", ACTIVE, "command"),
        Step("reopen", ("closed",), "command", note_required=True),
    )
}
#: each step's name as the zone says it (交办, 签收, 反馈, 办结, 核查, 退回, 销号 …)
STEP_NAMES = {
    "open": N_("Assigned"),
    "acknowledge": N_("Acknowledged"),
    "feedback": N_("Feedback"),
    "resolve": N_("Resolved"),
    "verify": N_("Verified"),
    "return": N_("Returned"),
    "close": N_("Closed"),
    "request_extension": N_("Extension requested"),
    "approve_extension": N_("Extension approved"),
    "refuse_extension": N_("Extension refused"),
    "transfer": N_("Transferred"),
    "remind": N_("Reminder"),
    "reopen": N_("Reopened"),
}
#: each step as an action to take (the order page's choices): English reads as a command, Chinese as the step
ACTION_NAMES = {
    "acknowledge": N_("Acknowledge"),
    "feedback": N_("Give feedback"),
    "resolve": N_("Mark resolved"),
    "verify": N_("Verify on site"),
    "return": N_("Return for more work"),
    "close": N_("Close the order"),
    "request_extension": N_("Request an extension"),
    "approve_extension": N_("Approve the extension"),
    "refuse_extension": N_("Refuse the extension"),
    "transfer": N_("Transfer to another unit"),
    "remind": N_("Send a reminder"),
    "reopen": N_("Reopen the order"),
}
#: what each of the unit's deadlines asks for by then (`next_due`'s step)
DUE_NAMES = {"acknowledge": N_("Acknowledge by"), "feedback": N_("Feedback by"), "resolve": N_("Resolve by")}
#: the ledger's action of each step (and of opening)
EVENT_ACTIONS = {"open": "work_item_open", **{a: f"work_item_{a}" for a in STEPS}}
EVENT_ACTIONS.update(
    request_extension="work_item_extension_request",
    approve_extension="work_item_extension_approve",
    refuse_extension="work_item_extension_refuse",
)
STEP_OF_EVENT = {v: k for k, v in EVENT_ACTIONS.items()}
#: every ledger action of a work order (the as-of reads select these)
ACTION_STATUS = tuple(EVENT_ACTIONS.values())
#: who is told of a step, since it gives them something to do: the lead unit (and co-units on opening), or the
#: side that assigned the order
NOTIFY_UNIT = ("open", "transfer", "remind", "return", "reopen", "approve_extension", "refuse_extension")
NOTIFY_ASSIGNER = ("resolve", "request_extension")


@dataclass
class WorkItemState:
    status: str | None = None
    unit: str | None = None
    severity: str = "general"
    opened_at: datetime | None = None
    acknowledge_due: datetime | None = None
    feedback_due: datetime | None = None
    resolve_due: datetime | None = None
    acknowledged_at: datetime | None = None
    fed_back_at: datetime | None = None
    resolved_at: datetime | None = None
    verified_at: datetime | None = None
    closed_at: datetime | None = None
    #: the day asked for by an extension not yet decided
    extension_until: datetime | None = None
    returned: int = 0
    reminders: int = 0
    version: int = 0
    last_valid_at: datetime | None = None
    #: per step event id: was it taken by its deadline (acknowledge, feedback, resolve), None for the others
    on_time: dict[int, bool] = field(default_factory=dict)


def deadlines(opened_at: datetime, severity: str) -> tuple[datetime, datetime]:
    """13710: feedback due in 3 days; a general problem solved in 7, a major one in 30."""
    return opened_at + timedelta(days=FEEDBACK_DAYS), opened_at + timedelta(days=SEVERITY_DAYS[severity])


def acknowledge_due(at: datetime) -> datetime:
    """签收 the same day: by the end of the day (Asia/Shanghai) of `at`."""
    return end_of_day(local_day(at))


def overdue(state: WorkItemState, at: datetime) -> tuple[bool, bool]:
    """13710 at `at`: (feedback overdue, resolution overdue) — not fed back, or not resolved, by its deadline."""
    if state.status is None or state.status == "closed":
        return False, False
    late_feedback = state.fed_back_at is None and state.feedback_due is not None and state.feedback_due < at
    late_resolve = state.resolved_at is None and state.resolve_due is not None and state.resolve_due < at
    return late_feedback, late_resolve


def acknowledge_overdue(state: WorkItemState, at: datetime) -> bool:
    return (
        state.status == "open"
        and state.acknowledged_at is None
        and state.acknowledge_due is not None
        and state.acknowledge_due < at
    )


def next_due(state: WorkItemState) -> tuple[str, datetime] | None:
    """The unit's next deadline (acknowledge, feedback or resolve) not yet met, None when it has none left."""
    if state.status not in ACTIVE:
        return None
    pending = []
    if state.acknowledged_at is None and state.acknowledge_due is not None:
        pending.append(("acknowledge", state.acknowledge_due))
    if state.fed_back_at is None and state.feedback_due is not None:
        pending.append(("feedback", state.feedback_due))
    if state.resolved_at is None and state.resolve_due is not None:
        pending.append(("resolve", state.resolve_due))
    return min(pending, key=lambda p: p[1]) if pending else None


def card(state: WorkItemState, at: datetime) -> str | None:
    """The board's mark at `at`: "red" (a deadline passed, 红牌), "yellow" (one falls within a day, 黄牌)."""
    due = next_due(state)
    if due is None:
        return None
    if due[1] < at:
        return "red"
    return "yellow" if due[1] - at <= timedelta(days=1) else None


def _instant(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def fold(events: Iterable[Sequence], *, severity: str = "general", unit: str | None = None) -> WorkItemState:
    """Replay (action, valid_at, id[, details]) of one work order in valid-time order. A step that skips one
    (resolved without feedback) fills it in at the same moment. `severity` and `unit` are the order's own where
    its opening event does not say (orders opened before they were recorded there)."""
    state = WorkItemState(severity=severity, unit=unit)
    for row in sorted(events, key=lambda e: (e[1], e[2])):
        action, valid_at, event_id = row[0], row[1], row[2]
        details = (row[3] if len(row) > 3 else None) or {}
        _apply(state, STEP_OF_EVENT.get(action, action), valid_at, event_id, details)
    return state


def _apply(state: WorkItemState, step: str, t: datetime, event_id: int, details: dict) -> None:
    state.version += 1
    state.last_valid_at = t
    if step == "open":
        state.status, state.opened_at = "open", t
        state.severity = details.get("severity", state.severity)
        state.unit = details.get("unit", state.unit)
        state.acknowledge_due = acknowledge_due(t)
        state.feedback_due, state.resolve_due = deadlines(t, state.severity)
        return
    if step == "acknowledge":
        state.status = "acknowledged"
        state.acknowledged_at = t
        state.on_time[event_id] = t <= state.acknowledge_due
    elif step == "feedback":
        if state.acknowledged_at is None:
            state.acknowledged_at = t
        if state.fed_back_at is None:
            state.fed_back_at = t
            state.on_time[event_id] = t <= state.feedback_due
        if state.status in ("open", "acknowledged"):
            state.status = "fed_back"
    elif step == "resolve":
        state.acknowledged_at = state.acknowledged_at or t
        state.fed_back_at = state.fed_back_at or t
        state.resolved_at, state.status = t, "resolved"
        state.on_time[event_id] = t <= state.resolve_due
    elif step == "verify":
        state.verified_at, state.status = t, "verified"
    elif step == "close":
        state.verified_at = state.verified_at or t
        state.closed_at, state.status = t, "closed"
    elif step in ("return", "reopen"):
        # back to the unit; the clock goes on (the deadlines stay where they were)
        state.resolved_at = state.verified_at = state.closed_at = None
        state.status = "returned"
        state.returned += 1
    elif step == "request_extension":
        state.extension_until = _instant(details.get("until"))
    elif step == "approve_extension":
        until = _instant(details.get("until")) or state.extension_until
        if until is not None:
            state.resolve_due = until
        state.extension_until = None
    elif step == "refuse_extension":
        state.extension_until = None
    elif step == "transfer":
        state.unit = details.get("to", state.unit)
        state.status, state.acknowledged_at = "open", None
        state.acknowledge_due = acknowledge_due(t)
    elif step == "remind":
        state.reminders += 1


def check_history(key: str, rows: list[Sequence], severity: str, unit: str | None) -> WorkItemState:
    """Check that a loaded order's events make a chain the writers would have accepted (opened first, each step
    allowed in the state it was taken in); the folded state."""
    ordered = sorted(rows, key=lambda r: (r[1], r[2]))
    if not ordered or ordered[0][0] != EVENT_ACTIONS["open"]:
        raise ValidationError("Work item %(item)s is not opened first.", item=key)
    state = WorkItemState(severity=severity, unit=unit)
    for row in ordered:
        step = STEP_OF_EVENT.get(row[0])
        if step is None:
            raise ValidationError("Unknown action %(action)s.", action=row[0])
        if step != "open" and state.status not in STEPS[step].states:
            raise ValidationError("Work item %(item)s moves backwards.", item=key)
        if step == "open" and state.status is not None:
            raise ValidationError("Work item %(item)s moves backwards.", item=key)
        _apply(state, step, row[1], row[2], (row[3] if len(row) > 3 else None) or {})
    return state


def project_work_item(item: WorkItem, state: WorkItemState) -> None:
    """Bring the projection (status, lead unit, deadlines, step times) to a folded state."""
    item.status = state.status or "open"
    if state.unit:
        item.responsible_unit = state.unit
    for column in (
        "acknowledge_due",
        "acknowledged_at",
        "fed_back_at",
        "resolved_at",
        "verified_at",
        "closed_at",
        "extension_until",
    ):
        setattr(item, column, getattr(state, column))
    if state.feedback_due is not None:
        item.feedback_due, item.resolve_due = state.feedback_due, state.resolve_due
    item.version = state.version


#: the projection's columns `ledger verify` compares with the fold
PROJECTED = (
    "status",
    "responsible_unit",
    "acknowledge_due",
    "feedback_due",
    "resolve_due",
    "acknowledged_at",
    "fed_back_at",
    "resolved_at",
    "verified_at",
    "closed_at",
    "extension_until",
    "version",
)


def expected_columns(item: WorkItem, state: WorkItemState) -> dict[str, Any]:
    """What the projection of `item` should hold after `state` (for `ledger verify`)."""
    probe = WorkItem(
        responsible_unit=item.responsible_unit, feedback_due=item.feedback_due, resolve_due=item.resolve_due
    )
    project_work_item(probe, state)
    return {c: getattr(probe, c) for c in PROJECTED}


# -- who may -----------------------------------------------------------------------------------------------------


def involved_units(item: WorkItem) -> tuple[str, ...]:
    return (item.responsible_unit, *[u for u in item.co_units or () if u != item.responsible_unit])


def may_read(account, item: WorkItem) -> bool:
    if account.role in ("commander", "admin", "reporter"):
        return True
    return account.role == "unit" and bool(account.unit) and account.unit in involved_units(item)


def check_may_take(account, item: WorkItem, step: Step) -> None:
    """Refuse (403) a step the caller's role or unit may not take on this order."""
    role = account.role
    if step.by == "command":
        if role not in COMMAND_ROLES:
            raise Forbidden("Only a commander may take this step.")
        return
    if role != "unit":
        raise Forbidden("Only the responsible unit may take this step.")
    units = (item.responsible_unit,) if step.by == "unit" else involved_units(item)
    if account.unit not in units:
        raise Forbidden("This work order belongs to another unit.")


def allowed_steps(account, item: WorkItem) -> list[str]:
    """The steps this caller may take on the order now (what a page offers, what the API lists)."""
    out = []
    for name, step in STEPS.items():
        if item.status not in step.states:
            continue
        if name in ("approve_extension", "refuse_extension") and item.extension_until is None:
            continue
        if name == "request_extension" and item.extension_until is not None:
            continue
        try:
            check_may_take(account, item, step)
        except Forbidden:
            continue
        out.append(name)
    return out


# -- writers -------------------------------------------------------------------------------------------------------


def _site_ids(session: Session, site_ids: Iterable[int] | None) -> list[int]:
    ids = list(dict.fromkeys(int(i) for i in site_ids or ()))
    if len(ids) > 200:
        raise ValidationError("A work order concerns at most %(count)s sites.", count=200)
    if ids:
        found = set(session.scalars(select(Site.id).where(Site.id.in_(ids))))
        missing = [i for i in ids if i not in found]
        if missing:
            raise NotFoundError("Site %(site)s does not exist.", site=missing[0])
    return ids


def _milestones(raw: Any) -> list[dict]:
    from recovery.timeutil import deadline_window, parse_day

    if raw in (None, ""):
        return []
    if not isinstance(raw, list) or len(raw) > 30:
        raise ValidationError("milestones must be a list of at most 30 {title, due} objects.")
    out = []
    for entry in raw:
        if not isinstance(entry, dict):
            raise ValidationError("milestones must be a list of at most 30 {title, due} objects.")
        title = clean_text(entry.get("title"), "milestone title", 200, required=True)
        due = parse_day(str(entry.get("due") or ""), deadline_window())
        out.append({"title": title, "due": due.isoformat()})
    return sorted(out, key=lambda m: m["due"])


def open_work_item(
    session: Session,
    *,
    category: str,
    title: str,
    responsible_unit: str,
    severity: str = "general",
    site_id: int | None = None,
    site_ids: Iterable[int] | None = None,
    co_units: Iterable[str] = (),
    description: str = "",
    milestones: Any = None,
    review_id: int | None = None,
    actor: str,
    user_id: int | None = None,
    valid_at: datetime,
    note: str = "",
    client_id: str | None = None,
    key: str | None = None,
    recorded_at: datetime | None = None,
) -> tuple[WorkItem, Recorded]:
    """Open (交办) a work order with its `work_item_open` event (not committed); idempotent on `client_id`.

    Enumerated values (category, units, severity) are taken by key or label in any spelling: one unit is one key,
    so its inbox and its ranking never split, and a retry in another spelling replays."""
    category, severity = resolve("category", category), resolve("severity", severity)
    title = clean_text(title, "title", 300, required=True)
    unit = resolve("unit", clean_text(responsible_unit, "responsible_unit", 200, required=True))
    co = []
    for raw in co_units or ():
        co_key = resolve("unit", clean_text(str(raw), "co_units", 200, required=True))
        if co_key != unit and co_key not in co:
            co.append(co_key)
    actor = clean_text(actor, "actor", 200, required=True)
    note = clean_text(note, "note", 2000)
    description = clean_text(description, "description", 4000)
    plan = _milestones(milestones)
    ids = list(site_ids or ())
    if site_id is not None and site_id not in ids:
        ids.insert(0, site_id)
    details = {"unit": unit, "severity": severity, "co_units": co, "site_ids": ids}
    digest = body_hash(
        {
            "action": "work_item_open",
            "category": category,
            "title": title,
            "description": description,
            "unit": unit,
            "co_units": co,
            "severity": severity,
            "sites": ids,
            "milestones": plan,
            "review": review_id,
            "actor": actor,
            "note": note,
            "valid_at": valid_at.isoformat(),
            "key": key,
        }
    )

    def write(txn: Append) -> tuple[WorkItem, Recorded]:
        txn.claim(digest)
        recorded = txn.stamp(valid_at, recorded_at)
        linked = _site_ids(session, ids)
        feedback_due, resolve_due = deadlines(valid_at, severity)
        item = WorkItem(
            key=key or f"WI-new-{digest[:16]}",
            category=category,
            title=title,
            description=description,
            responsible_unit=unit,
            co_units=co,
            milestones=plan,
            review_id=review_id,
            created_by=user_id,
            severity=severity,
            site_id=linked[0] if linked else None,
            status="open",
            opened_at=valid_at,
            acknowledge_due=acknowledge_due(valid_at),
            feedback_due=feedback_due,
            resolve_due=resolve_due,
            version=1,
        )
        session.add(item)
        session.flush()
        if not key:
            item.key = f"WI-{item.id:06d}"
        for sid in linked:
            session.add(WorkItemSite(work_item_id=item.id, site_id=sid))
        event = Event(
            client_id=client_id,
            body_hash=digest,
            action="work_item_open",
            work_item_id=item.id,
            site_id=item.site_id,
            actor=actor,
            user_id=user_id,
            to_status="open",
            measures={},
            note=note,
            details=details,
            valid_at=valid_at,
            recorded_at=recorded,
        )
        session.add(event)
        session.flush()
        _notify(session, item, "open", event, user_id, note)
        return item, Recorded(event, created=True)

    return append(
        session,
        write,
        client_id=client_id,
        replayed=lambda event: (session.get(WorkItem, event.work_item_id), Recorded(event, created=False)),
        conflict=lambda: ValidationError("A work item with key %(key)s already exists.", key=key or ""),
    )


def history(session: Session, item_id: int, *, known_at: datetime | None = None) -> list[tuple]:
    """(action, valid_at, id, details) of a work order's events, as known at `known_at`."""
    conditions = [Event.work_item_id == item_id, Event.action.in_(ACTION_STATUS)]
    if known_at is not None:
        conditions.append(Event.recorded_at <= known_at)
    rows = session.execute(
        select(Event.action, Event.valid_at, Event.id, Event.details).where(*conditions)
    ).all()
    return [tuple(r) for r in rows]


def state_of(
    session: Session, item: WorkItem, *, as_of: datetime | None = None, known_at=None
) -> WorkItemState:
    rows = history(session, item.id, known_at=known_at)
    if as_of is not None:
        rows = [r for r in rows if r[1] < as_of]
    return fold(rows, severity=item.severity, unit=_opening_unit(item))


def _opening_unit(item: WorkItem) -> str:
    # orders opened before the opening event carried its unit had no transfers: their unit is the row's
    return item.responsible_unit


def act(
    session: Session,
    item_id: int,
    *,
    action: str,
    account,
    valid_at: datetime,
    note: str = "",
    photos: Sequence[str] = (),
    until: datetime | None = None,
    to_unit: str | None = None,
    position: tuple[float, float] | None = None,
    expected_version: int | None = None,
    client_id: str | None = None,
    recorded_at: datetime | None = None,
) -> tuple[WorkItem, Recorded]:
    """Take one step on a work order (not committed): checked against the caller's role and unit (403), the
    order's state at the step's valid time (409), its version (412), and appended with the projection updated."""
    step = STEPS.get(action)
    if step is None:
        raise ValidationError(
            "Unknown action %(action)s; use one of: %(actions)s.",
            action=str(action)[:40],
            actions=", ".join(STEPS),
        )
    note = clean_text(note, "note", 2000)
    if step.note_required and not note:
        raise ValidationError("This step needs a note (the reason or what was done).")
    details: dict[str, Any] = {}
    if photos:
        details["photos"] = list(photos)
    if action == "request_extension":
        if until is None:
            raise ValidationError("Say until which day the extension is asked for (until).")
        details["until"] = until.isoformat()
    if action == "approve_extension" and until is not None:
        details["until"] = until.isoformat()
    if action == "transfer":
        if not to_unit:
            raise ValidationError("Say to which unit the order is handed (to_unit).")
        details["to"] = resolve("unit", clean_text(to_unit, "to_unit", 200, required=True))
    actor = clean_text(account.display_name or account.username, "actor", 200, required=True)

    def write(txn: Append) -> tuple[WorkItem, Recorded]:
        item = txn.get(WorkItem, item_id)
        if item is None:
            raise NotFoundError("Work item %(item)s does not exist.", item=item_id)
        if not may_read(account, item):
            raise Forbidden("This work order belongs to another unit.")
        check_may_take(account, item, step)
        if expected_version is not None and expected_version != item.version:
            raise PreconditionFailed(
                "The work order changed since you read it (version %(current)s, you sent %(sent)s): reload it.",
                current=item.version,
                sent=expected_version,
            )
        txn.claim(
            body_hash(
                {
                    "action": EVENT_ACTIONS[action],
                    "work_item": item.key,
                    "user": account.id,
                    "note": note,
                    "details": details,
                    "valid_at": valid_at.isoformat(),
                }
            )
        )
        recorded = txn.stamp(valid_at, recorded_at)
        rows = history(session, item.id)
        current = fold(rows, severity=item.severity, unit=_opening_unit(item))
        if current.last_valid_at is not None and valid_at < current.last_valid_at:
            raise TransitionError(
                "A step cannot be placed before the order's last step (%(at)s).",
                at=current.last_valid_at.isoformat(),
            )
        if current.status not in step.states:
            raise TransitionError(
                "The work order is %(status)s: %(action)s is not possible now.",
                status=current.status or "",
                action=action,
            )
        if action == "request_extension":
            if current.extension_until is not None:
                raise TransitionError("An extension is already asked for and not yet decided.")
            if until <= current.resolve_due:
                raise ValidationError("An extension must end after the current deadline.")
        if action in ("approve_extension", "refuse_extension") and current.extension_until is None:
            raise TransitionError("No extension is asked for.")
        if action == "transfer" and details["to"] == current.unit:
            raise ValidationError("The order is already with that unit.")
        if action == "verify" and not photos and _has_sites(session, item.id):
            raise ValidationError("Verifying an order that concerns a site needs at least one photo.")
        # the new step sorts last (no step is placed before the last one): fold it in before it is stored,
        # since a stored event is never updated
        new = fold(
            [*rows, (EVENT_ACTIONS[action], valid_at, 2**62, details)],
            severity=item.severity,
            unit=_opening_unit(item),
        )
        event = Event(
            client_id=client_id,
            body_hash=txn.digest,
            action=EVENT_ACTIONS[action],
            work_item_id=item.id,
            site_id=item.site_id,
            actor=actor,
            user_id=account.id,
            from_status=current.status,
            to_status=new.status,
            measures={},
            note=note,
            details=details,
            position_lon=position[0] if position else None,
            position_lat=position[1] if position else None,
            valid_at=valid_at,
            recorded_at=recorded,
        )
        session.add(event)
        project_work_item(item, new)
        session.add(item)
        session.flush()
        _notify(session, item, action, event, account.id, note)
        return item, Recorded(event, created=True)

    return append(
        session,
        write,
        client_id=client_id,
        replayed=lambda event: (session.get(WorkItem, event.work_item_id), Recorded(event, created=False)),
    )


def _has_sites(session: Session, item_id: int) -> bool:
    return (
        session.scalar(select(WorkItemSite.site_id).where(WorkItemSite.work_item_id == item_id).limit(1))
        is not None
    )


def _notify(
    session: Session, item: WorkItem, action: str, event: Event, actor_id: int | None, note: str
) -> None:
    """Tell whoever the step gives something to do (in the step's transaction)."""
    try:
        from recovery.notices import notify
    except ImportError:  # pragma: no cover - the notices package is optional in a partial checkout
        return
    units: tuple[str, ...] = ()
    user_ids: tuple[int, ...] = ()
    roles: tuple[str, ...] = ()
    if action in NOTIFY_UNIT:
        units = involved_units(item) if action == "open" else (item.responsible_unit,)
    elif action in NOTIFY_ASSIGNER:
        if item.created_by:
            user_ids = (item.created_by,)
        else:
            roles = ("commander",)
    else:
        return
    notify(
        session,
        event_id=event.id,
        work_item_id=item.id,
        action=action,
        item_key=item.key,
        title=item.title,
        actor_id=actor_id,
        units=units,
        roles=roles,
        user_ids=user_ids,
        note=note,
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
    """Feed back, resolve or close (销号) on behalf of the system (seed, imports, tests): the steps as the ledger
    names them (`work_item_feedback` …), without a role check."""
    step = STEP_OF_EVENT.get(action, action)
    if step not in STEPS:
        raise ValidationError("Unknown action %(action)s.", action=action)
    item = session.get(WorkItem, work_item_id)
    if item is None:
        raise NotFoundError("Work item %(item)s does not exist.", item=work_item_id)
    system = _System(actor, item.responsible_unit, STEPS[step].by)
    _item, recorded = act(
        session,
        work_item_id,
        action=step,
        account=system,
        valid_at=valid_at,
        note=note or ("-" if STEPS[step].note_required else ""),
        client_id=client_id,
        recorded_at=recorded_at,
    )
    return recorded


@dataclass
class _System:
    """The account a system step acts as: the lead unit for a unit's step, a commander for the others."""

    display_name: str
    unit: str | None
    by: str
    id: int | None = None
    username: str = "system"

    @property
    def role(self) -> str:
        return "commander" if self.by == "command" else "unit"
