"""Reads of work orders for the doors (API, pages, CLI), without Flask: the list with its filters as a caller may
see it, a unit's inbox, the commander's 督查 board, one order's timeline, and a site's orders."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import String, and_, case, cast, func, or_, select, text
from sqlalchemy.orm import Session

from recovery import workitems
from recovery.errors import ValidationError
from recovery.i18n import N_, in_locale
from recovery.models import Event, Site, WorkItem, WorkItemSite
from recovery.models_accounts import Photo
from recovery.numbers import MAX_INT, read_whole_number
from recovery.text import clean_text
from recovery.vocab import resolve

#: the inbox's tabs: 待签收, 待反馈, 待办结, 被退回, 已办结 (by the order's status)
INBOX_TABS = {
    "to_acknowledge": ("open",),
    "to_feed_back": ("acknowledged",),
    "to_resolve": ("fed_back",),
    "returned": ("returned",),
    "done": ("resolved", "verified", "closed"),
}


def find_item(session: Session, item_id: int) -> WorkItem | None:
    return session.get(WorkItem, item_id)


def site_work_items(session: Session, site_id: int) -> list[WorkItem]:
    """The work orders that concern a site, oldest first."""
    linked = select(WorkItemSite.work_item_id).where(WorkItemSite.site_id == site_id)
    return list(
        session.scalars(
            select(WorkItem)
            .where(or_(WorkItem.site_id == site_id, WorkItem.id.in_(linked)))
            .order_by(WorkItem.id)
        )
    )


def linked_sites(session: Session, item_id: int) -> list[Site]:
    ids = select(WorkItemSite.site_id).where(WorkItemSite.work_item_id == item_id)
    return list(session.scalars(select(Site).where(Site.id.in_(ids)).order_by(Site.id)))


def _of_unit(unit: str):
    """Orders of which `unit` is the lead or a co-unit."""
    return or_(WorkItem.responsible_unit == unit, _co_unit(unit))


def _co_unit(unit: str):
    return cast(WorkItem.co_units, String).contains(f'"{unit}"')


def overdue_condition(at: datetime):
    """An order a deadline of which has passed at `at` with its step not taken (the unit's turn)."""
    return and_(
        WorkItem.status.in_(workitems.ACTIVE),
        or_(
            and_(WorkItem.acknowledged_at.is_(None), WorkItem.acknowledge_due < at),
            and_(WorkItem.fed_back_at.is_(None), WorkItem.feedback_due < at),
            and_(WorkItem.resolved_at.is_(None), WorkItem.resolve_due < at),
        ),
    )


def visible(account):
    """The orders a caller may read: all for commanders, reporters and admins, their unit's for a unit user."""
    if account.role == "unit":
        return _of_unit(account.unit or "\0")
    return True


@dataclass
class ItemFilter:
    unit: str | None = None
    category: str | None = None
    statuses: tuple[str, ...] = ()
    overdue: bool | None = None
    site_id: int | None = None
    q: str | None = None
    review_id: int | None = None
    limit: int = 50
    offset: int = 0


def _whole(raw, name: str, low: int, high: int) -> int:
    value = read_whole_number(raw)
    if value is None or not low <= value <= high:
        raise ValidationError(
            "%(name)s must be a whole number from %(low)s to %(high)s.", name=name, low=low, high=high
        )
    return value


def parse_filter(args) -> ItemFilter:
    """The list's filters from query arguments (any spelling of a unit, category or status)."""
    flt = ItemFilter()
    if args.get("unit"):
        flt.unit = resolve("unit", args.get("unit"))
    if args.get("category"):
        flt.category = resolve("category", args.get("category"))
    if args.get("status"):
        names = [s for s in str(args.get("status")).replace("，", ",").split(",") if s.strip()]
        flt.statuses = tuple(dict.fromkeys(resolve("work_item_status", s) for s in names))
    if args.get("overdue") not in (None, ""):
        flt.overdue = resolve("boolean", str(args.get("overdue"))) == "yes"
    for name in ("site", "review"):
        if args.get(name) not in (None, ""):
            setattr(flt, f"{name}_id", _whole(args.get(name), name, 1, MAX_INT))
    if args.get("q"):
        flt.q = clean_text(args.get("q"), "q", 100)
    if args.get("limit") not in (None, ""):
        flt.limit = _whole(args.get("limit"), "limit", 1, 500)
    if args.get("offset") not in (None, ""):
        flt.offset = _whole(args.get("offset"), "offset", 0, MAX_INT)
    return flt


def _conditions(account, flt: ItemFilter, at: datetime) -> list:
    out = [visible(account)]
    if flt.unit:
        out.append(_of_unit(flt.unit))
    if flt.category:
        out.append(WorkItem.category == flt.category)
    if flt.statuses:
        out.append(WorkItem.status.in_(flt.statuses))
    if flt.overdue is True:
        out.append(overdue_condition(at))
    elif flt.overdue is False:
        out.append(~overdue_condition(at))
    if flt.site_id:
        linked = select(WorkItemSite.work_item_id).where(WorkItemSite.site_id == flt.site_id)
        out.append(or_(WorkItem.site_id == flt.site_id, WorkItem.id.in_(linked)))
    if flt.review_id:
        out.append(WorkItem.review_id == flt.review_id)
    if flt.q:
        like = f"%{flt.q}%"
        out.append(
            or_(WorkItem.title.ilike(like), WorkItem.key.ilike(like), WorkItem.description.ilike(like))
        )
    return out


#: the order a list reads: what is due first (closed and checked ones last), then the newest
def _due_order():
    return (WorkItem.status.in_((*workitems.TO_CHECK, "closed")), WorkItem.resolve_due, WorkItem.id.desc())


def list_items(session: Session, account, flt: ItemFilter, at: datetime) -> tuple[list[WorkItem], int]:
    """One page of the orders the caller may see that match, most urgent first, and how many match in all."""
    conditions = _conditions(account, flt, at)
    total = session.scalar(select(func.count()).select_from(WorkItem).where(*conditions))
    rows = session.scalars(
        select(WorkItem).where(*conditions).order_by(*_due_order()).limit(flt.limit).offset(flt.offset)
    ).all()
    return list(rows), int(total or 0)


def state_of_row(item: WorkItem) -> workitems.WorkItemState:
    """The state the projection holds (no ledger read): what a list shows now."""
    return workitems.WorkItemState(
        status=item.status,
        unit=item.responsible_unit,
        severity=item.severity,
        opened_at=item.opened_at,
        acknowledge_due=item.acknowledge_due,
        feedback_due=item.feedback_due,
        resolve_due=item.resolve_due,
        acknowledged_at=item.acknowledged_at,
        fed_back_at=item.fed_back_at,
        resolved_at=item.resolved_at,
        verified_at=item.verified_at,
        closed_at=item.closed_at,
        extension_until=item.extension_until,
        version=item.version,
    )


@dataclass
class Inbox:
    tabs: dict[str, list[WorkItem]]
    counts: dict[str, int]


def inbox(
    session: Session,
    account,
    at: datetime,
    *,
    unit: str | None = None,
    done_limit: int = 10,
    per_tab: int = 500,
) -> Inbox:
    """A unit's inbox: its open orders by tab (each tab due-first, at most `per_tab`), and its latest finished
    ones (`done_limit`); each tab's count is of all its orders."""
    target = _one_unit(account, unit)
    if target is None:
        return _inbox_of(session, _conditions(account, ItemFilter(unit=unit), at), done_limit, per_tab)
    # one unit's orders are those it leads and those it is a co-unit of: read apart, each from its own index (an
    # OR of the two makes both databases scan every order), and merged in the order asked for. The co-unit
    # orders are few: read whole from their partial index (migration 0015) and picked here
    lead = (WorkItem.responsible_unit == target,)
    co = session.execute(
        select(WorkItem.id, WorkItem.status, WorkItem.resolve_due).where(
            WorkItem.responsible_unit != target, text("co_units <> '[]'"), _co_unit(target)
        )
    ).all()
    counts: Counter = Counter(r.status for r in co)
    for status, count in session.execute(
        select(WorkItem.status, func.count()).where(*lead).group_by(WorkItem.status)
    ):
        counts[status] += count
    picked: dict[str, list[int]] = {}
    for tab, statuses in INBOX_TABS.items():
        mine = [r for r in co if r.status in statuses]
        if tab == "done":
            picked[tab] = [r.id for r in sorted(mine, key=lambda r: -r.id)[:done_limit]]
        else:
            picked[tab] = [r.id for r in sorted(mine, key=lambda r: (r.resolve_due, r.id))[:per_tab]]
    wanted = [i for ids in picked.values() for i in ids]
    co_items = (
        {i.id: i for i in session.scalars(select(WorkItem).where(WorkItem.id.in_(wanted)))} if wanted else {}
    )
    tabs = {}
    for tab, statuses in INBOX_TABS.items():
        if tab == "done":
            order, limit, key = (WorkItem.id.desc(),), done_limit, lambda i: -i.id
        else:
            order, limit, key = (WorkItem.resolve_due, WorkItem.id), per_tab, lambda i: (i.resolve_due, i.id)
        found = list(
            session.scalars(
                select(WorkItem).where(*lead, WorkItem.status.in_(statuses)).order_by(*order).limit(limit)
            )
        )
        found += [co_items[i] for i in picked[tab]]
        tabs[tab] = sorted(found, key=key)[:limit]
    return Inbox(tabs, {tab: sum(counts.get(s, 0) for s in statuses) for tab, statuses in INBOX_TABS.items()})


def _one_unit(account, unit: str | None) -> str | None:
    """The one unit whose orders an inbox shows, when the caller sees exactly those; None otherwise."""
    if account.role == "unit":
        return (account.unit or "\0") if unit in (None, account.unit) else None
    return unit


def _inbox_of(session: Session, base: list, done_limit: int, per_tab: int) -> Inbox:
    counts = dict(
        session.execute(select(WorkItem.status, func.count()).where(*base).group_by(WorkItem.status)).all()
    )
    tabs = {}
    for tab, statuses in INBOX_TABS.items():
        stmt = select(WorkItem).where(*base, WorkItem.status.in_(statuses))
        if tab == "done":
            stmt = stmt.order_by(WorkItem.id.desc()).limit(done_limit)
        else:
            stmt = stmt.order_by(WorkItem.resolve_due, WorkItem.id).limit(per_tab)
        tabs[tab] = list(session.scalars(stmt))
    return Inbox(tabs, {tab: sum(counts.get(s, 0) for s in statuses) for tab, statuses in INBOX_TABS.items()})


def card_rank(at: datetime):
    """`workitems.card` at `at` in SQL: 0 red (a deadline of the unit's not yet met has passed), 1 yellow (one
    falls within a day), 2 none. A deadline is pending while its step is not taken and the order is the unit's."""
    soon = at + timedelta(days=1)

    def pending(done, due, passed):
        return and_(done.is_(None), due.is_not(None), passed(due))

    def any_pending(passed):
        return and_(
            WorkItem.status.in_(workitems.ACTIVE),
            or_(
                pending(WorkItem.acknowledged_at, WorkItem.acknowledge_due, passed),
                pending(WorkItem.fed_back_at, WorkItem.feedback_due, passed),
                pending(WorkItem.resolved_at, WorkItem.resolve_due, passed),
            ),
        )

    return case((any_pending(lambda due: due < at), 0), (any_pending(lambda due: due <= soon), 1), else_=2)


@dataclass
class UnitRow:
    unit: str
    open: int = 0
    red: int = 0
    yellow: int = 0
    to_check: int = 0
    closed: int = 0
    #: resolved by the deadline / resolved or past the deadline (None: nothing due yet)
    on_time: int = 0
    due: int = 0
    items: list = field(default_factory=list)

    @property
    def on_time_rate(self) -> float | None:
        return None if not self.due else self.on_time / self.due


def board(session: Session, at: datetime, *, per_unit: int = 200) -> list[UnitRow]:
    """The 督查 board: every unit with orders, its open orders (red first, then yellow, then by deadline), its
    orders waiting for the assigning side's check, and its on-time rate (orders resolved by their deadline over
    orders resolved or past their deadline)."""
    rows: dict[str, UnitRow] = {}
    # the on-time rate: counted in SQL over all orders, one group per (unit, status), from an index alone
    # (migration 0015): resolved by the deadline, and resolved or past the deadline
    on_time = and_(WorkItem.resolved_at.is_not(None), WorkItem.resolved_at <= WorkItem.resolve_due)
    due = or_(WorkItem.resolved_at.is_not(None), WorkItem.resolve_due < at)
    for unit, status, count, on_time_count, due_count in session.execute(
        select(
            WorkItem.responsible_unit,
            WorkItem.status,
            func.count(),
            func.sum(case((on_time, 1), else_=0)),
            func.sum(case((due, 1), else_=0)),
        ).group_by(WorkItem.responsible_unit, WorkItem.status)
    ):
        row = rows.setdefault(unit, UnitRow(unit))
        if status in workitems.ACTIVE:
            row.open += count
        elif status in workitems.TO_CHECK:
            row.to_check += count
        else:
            row.closed += count
        row.due += int(due_count or 0)
        row.on_time += int(on_time_count or 0)
    # the cards counted in SQL, and only the first `per_unit` orders of each unit read: 100,000 orders must not
    # become objects to show 200 a unit
    rank = card_rank(at)
    for unit, mark, count in session.execute(
        select(WorkItem.responsible_unit, rank, func.count())
        .where(WorkItem.status.in_(workitems.ACTIVE))
        .group_by(WorkItem.responsible_unit, rank)
    ):
        row = rows.setdefault(unit, UnitRow(unit))
        if mark == 0:
            row.red += count
        elif mark == 1:
            row.yellow += count
    first = (
        select(
            WorkItem.id,
            func.row_number()
            .over(partition_by=WorkItem.responsible_unit, order_by=(rank, WorkItem.resolve_due, WorkItem.id))
            .label("n"),
        )
        .where(WorkItem.status.in_((*workitems.ACTIVE, *workitems.TO_CHECK)))
        .subquery()
    )
    shown = session.scalars(
        select(WorkItem).join(first, first.c.id == WorkItem.id).where(first.c.n <= per_unit)
    )
    for item in shown:
        row = rows.setdefault(item.responsible_unit, UnitRow(item.responsible_unit))
        row.items.append((item, workitems.card(state_of_row(item), at)))
    order = {"red": 0, "yellow": 1, None: 2}
    for row in rows.values():
        row.items.sort(key=lambda pair: (order[pair[1]], pair[0].resolve_due, pair[0].id))
    return sorted(rows.values(), key=lambda r: (-r.red, -r.yellow, -r.open, r.unit))


@dataclass
class TimelineStep:
    event: Event
    step: str
    on_time: bool | None
    photos: list[Photo]


def timeline(session: Session, item: WorkItem) -> tuple[list[TimelineStep], workitems.WorkItemState]:
    """Every step of an order in valid-time order, whether it met its deadline, with its photos; the state."""
    events = list(
        session.scalars(
            select(Event)
            .where(Event.work_item_id == item.id, Event.action.in_(workitems.ACTION_STATUS))
            .order_by(Event.valid_at, Event.id)
        )
    )
    state = workitems.fold(
        [(e.action, e.valid_at, e.id, e.details) for e in events],
        severity=item.severity,
        unit=item.responsible_unit,
    )
    wanted = defaultdict(list)
    for e in events:
        for upload in (e.details or {}).get("photos", []):
            wanted[(e.user_id, upload)].append(e.id)
    photos: dict[int, list[Photo]] = defaultdict(list)
    if wanted:
        uploads = {u for _user, u in wanted}
        for photo in session.scalars(
            select(Photo).where(Photo.upload_id.in_(uploads), Photo.complete.is_(True))
        ):
            for event_id in wanted.get((photo.user_id, photo.upload_id), []):
                photos[event_id].append(photo)
    steps = [
        TimelineStep(e, workitems.STEP_OF_EVENT[e.action], state.on_time.get(e.id), photos.get(e.id, []))
        for e in events
    ]
    return steps, state


def unit_summary(session: Session, at: datetime) -> Counter:
    """Open, overdue and closed orders in all (the board's header and the dashboard's figures)."""
    out: Counter = Counter()
    for status, count in session.execute(select(WorkItem.status, func.count()).group_by(WorkItem.status)):
        out["closed" if status == "closed" else "open"] += count
    out["overdue"] = (
        session.scalar(select(func.count()).select_from(WorkItem).where(overdue_condition(at))) or 0
    )
    return out


def site_ids_of(session: Session, item_ids: list[int]) -> dict[int, list[int]]:
    """The linked sites of each order, in one query."""
    out: dict[int, list[int]] = defaultdict(list)
    if item_ids:
        for item_id, site_id in session.execute(
            select(WorkItemSite.work_item_id, WorkItemSite.site_id)
            .where(WorkItemSite.work_item_id.in_(item_ids))
            .order_by(WorkItemSite.work_item_id, WorkItemSite.site_id)
        ):
            out[item_id].append(site_id)
    return out


#: how long is left, as a reader reads it (2天3小时, 5小时10分, 已超期…)
DAYS_HOURS = N_("%(days)sd %(hours)sh")
HOURS_MINUTES = N_("%(hours)sh %(minutes)smin")
OVERDUE_BY = N_("%(time)s overdue")
LEFT = N_("%(time)s left")


def time_left(due: datetime | None, at: datetime, locale: str | None = "zh") -> str:
    """How long is left before `due` (or how late it is), in the reader's language: 2天3小时后到期, 已超期5小时."""

    if due is None:
        return ""
    seconds = int((due - at).total_seconds())
    late, seconds = seconds < 0, abs(seconds)
    days, hours = divmod(seconds // 3600, 24)
    if days:
        text = in_locale(DAYS_HOURS, locale, days=days, hours=hours)
    else:
        text = in_locale(HOURS_MINUTES, locale, hours=hours, minutes=seconds % 3600 // 60)
    return in_locale(OVERDUE_BY if late else LEFT, locale, time=text)


def item_dict(
    item: WorkItem, locale: str, at: datetime, *, site_ids: list[int] | None = None, state=None
) -> dict:
    """An order as the API and the CLI show it: keys with their labels, deadlines, overdue state and 13710 card."""
    from recovery.timeutil import deadline_text, zone_iso
    from recovery.vocab import label

    st = state or state_of_row(item)
    late_feedback, late_resolve = workitems.overdue(st, at)
    late_ack = workitems.acknowledge_overdue(st, at)
    due = workitems.next_due(st)
    return {
        "id": item.id,
        "key": item.key,
        "category": item.category,
        "category_label": label("category", item.category, locale),
        "title": item.title,
        "description": item.description,
        "unit": item.responsible_unit,
        "unit_label": label("unit", item.responsible_unit, locale),
        "co_units": [{"key": u, "label": label("unit", u, locale)} for u in item.co_units or ()],
        "severity": item.severity,
        "severity_label": label("severity", item.severity, locale),
        "status": item.status,
        "status_label": label("work_item_status", item.status, locale),
        "site_ids": site_ids if site_ids is not None else ([item.site_id] if item.site_id else []),
        "milestones": list(item.milestones or ()),
        "review_id": item.review_id,
        "opened_at": zone_iso(item.opened_at),
        "acknowledge_due": zone_iso(item.acknowledge_due),
        "feedback_due": zone_iso(item.feedback_due),
        "resolve_due": zone_iso(item.resolve_due),
        "resolve_due_text": deadline_text(item.resolve_due),
        "acknowledged_at": zone_iso(item.acknowledged_at),
        "fed_back_at": zone_iso(item.fed_back_at),
        "resolved_at": zone_iso(item.resolved_at),
        "verified_at": zone_iso(item.verified_at),
        "closed_at": zone_iso(item.closed_at),
        "extension_until": zone_iso(item.extension_until),
        "overdue": bool(late_ack or late_feedback or late_resolve),
        "overdue_steps": [
            step
            for step, late in (
                ("acknowledge", late_ack),
                ("feedback", late_feedback),
                ("resolve", late_resolve),
            )
            if late
        ],
        "card": workitems.card(st, at),
        "next_due": None
        if due is None
        else {
            "step": due[0],
            "label": in_locale(workitems.DUE_NAMES[due[0]], locale),
            "at": zone_iso(due[1]),
            "text": deadline_text(due[1]),
            "left": time_left(due[1], at, locale),
        },
        "version": item.version,
    }


def unit_concerns_site(session: Session, unit: str | None, site_id: int) -> bool:
    """Whether a work order of `unit` (lead or co-unit) concerns the site: its staff may photograph it."""
    if not unit:
        return False
    linked = select(WorkItemSite.work_item_id).where(WorkItemSite.site_id == site_id)
    found = session.scalar(
        select(WorkItem.id)
        .where(_of_unit(unit), or_(WorkItem.site_id == site_id, WorkItem.id.in_(linked)))
        .limit(1)
    )
    return found is not None
