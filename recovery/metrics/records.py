"""Drill-down: the records a figure counted, as of the same moment, so a reader can check every number."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import func, literal_column, or_, select
from sqlalchemy.orm import Session

from recovery import workitems
from recovery.kinds import KINDS, MEASURES
from recovery.ledger import asof
from recovery.ledger.fold import overall_status
from recovery.metrics.compute import segment_matches
from recovery.metrics.registry import METRICS_BY_KEY, Selector
from recovery.models import Event, EventMeasure, Site, Team, WorkItem
from recovery.teams import serving_at
from recovery.timeutil import zone_iso
from recovery.vocab import label


def records_for(
    session: Session,
    metric_key: str,
    as_of: datetime,
    known_at: datetime | None = None,
    *,
    subdistrict: str | None = None,
    side: str = "numerator",
) -> list[dict]:
    """The records behind one side of a figure. For counts there is one row per unit counted; for sums,
    each row carries its `value` and the values add up to the figure."""
    metric = METRICS_BY_KEY[metric_key]
    selector = metric.numerator if side == "numerator" else metric.denominator
    if selector is None:
        return []
    if selector.kind == "team":
        return _teams(session, selector, as_of, subdistrict)
    if selector.kind == "work_item":
        return _work_items(session, selector, as_of, known_at, subdistrict)
    if selector.quantity in MEASURES:
        return _flows(session, selector, as_of, known_at, subdistrict)
    if selector.quantity == "check_in":
        return _check_ins(session, selector, as_of, known_at, subdistrict)
    return _sites(session, selector, as_of, known_at, subdistrict)


def _site_filter(selector: Selector, subdistrict: str | None) -> list:
    conditions = [Site.kind == selector.kind]
    if subdistrict is not None:
        conditions.append(func.coalesce(Site.subdistrict, "") == subdistrict)
    return conditions


def _sites(session, selector: Selector, as_of, known_at, subdistrict) -> list[dict]:
    latest = asof.latest_status_events(as_of, known_at)
    rows = session.execute(
        select(
            Site.id,
            Site.key,
            Site.name,
            Site.segment,
            Site.subdistrict,
            latest.c.track,
            latest.c.to_status,
            latest.c.level,
        )
        .join(latest, latest.c.site_id == Site.id)
        .where(latest.c.rn == 1, *_site_filter(selector, subdistrict))
        .order_by(Site.id)
    ).all()
    kind = KINDS[selector.kind]
    if kind.tracks:
        statuses: dict[int, dict] = defaultdict(dict)
        info = {}
        for row in rows:
            info[row.id] = row
            if row.track:
                statuses[row.id][row.track] = row.to_status
        candidates = []
        for site_id, row in info.items():
            if selector.track:
                status = statuses[site_id].get(selector.track)
                if status is None:
                    continue
            else:
                status = overall_status(kind, statuses[site_id])
            candidates.append((row, status, None))
    else:
        candidates = [(row, row.to_status, row.level) for row in rows]
    out = []
    for row, status, level in candidates:
        if selector.status is not None and status not in selector.status:
            continue
        if status in selector.exclude_status or not segment_matches(row.segment, selector.segment):
            continue
        record = {
            "type": "site",
            "id": row.id,
            "key": row.key,
            "kind": selector.kind,
            "name": row.name,
            "status": status,
            "subdistrict": row.subdistrict,
        }
        record["value"] = float(level) if selector.quantity == "level" and level is not None else 1
        if selector.quantity == "level" and level is None:
            record["value"] = 0.0
        out.append(record)
    return out


def _flows(session, selector: Selector, as_of, known_at, subdistrict) -> list[dict]:
    conditions = [
        EventMeasure.key == selector.quantity,
        EventMeasure.valid_at < as_of,
        *_site_filter(selector, subdistrict),
    ]
    if known_at is not None:
        conditions.append(EventMeasure.recorded_at <= known_at)
    rows = session.execute(
        select(
            EventMeasure.event_id,
            EventMeasure.value,
            EventMeasure.valid_at,
            Site.key,
            Site.name,
            Site.segment,
            Site.subdistrict,
        )
        .join(Site, Site.id == EventMeasure.site_id)
        .where(*conditions)
        .order_by(EventMeasure.event_id)
    ).all()
    return [
        {
            "type": "event",
            "id": r.event_id,
            "key": r.key,
            "kind": selector.kind,
            "name": r.name,
            "value": r.value,
            "valid_at": zone_iso(r.valid_at),
            "subdistrict": r.subdistrict,
        }
        for r in rows
        if segment_matches(r.segment, selector.segment)
    ]


def _check_ins(session, selector: Selector, as_of, known_at, subdistrict) -> list[dict]:
    conditions = [*asof.check_in_conditions(session, as_of, known_at), *_site_filter(selector, subdistrict)]
    rows = session.execute(
        select(Event.id, Event.valid_at, Site.key, Site.name, Site.subdistrict)
        .join(Site, Site.id == Event.site_id)
        .where(*conditions)
        .order_by(Event.id)
    ).all()
    return [
        {
            "type": "event",
            "id": r.id,
            "key": r.key,
            "kind": selector.kind,
            "name": r.name,
            "value": 1,
            "valid_at": zone_iso(r.valid_at),
            "subdistrict": r.subdistrict,
        }
        for r in rows
    ]


def _teams(session, selector: Selector, as_of, subdistrict) -> list[dict]:
    conditions = [serving_at(as_of)]  # the teams the figure counted (`recovery.teams`)
    if subdistrict is not None:
        conditions.append(func.coalesce(Team.subdistrict, "") == subdistrict)
    rows = session.execute(select(Team).where(*conditions).order_by(Team.id)).scalars().all()
    out = []
    for team in rows:
        if not segment_matches(f"type={team.type}", selector.segment):
            continue
        value = team.members if selector.quantity == "members" else 1
        out.append(
            {
                "type": "team",
                "id": team.id,
                "key": team.key,
                "name": team.name,
                "value": value,
                "subdistrict": team.subdistrict,
            }
        )
    return out


def _work_items(session, selector: Selector, as_of, known_at, subdistrict) -> list[dict]:
    states = asof.work_item_states(session, as_of, known_at)
    items = session.execute(
        select(WorkItem, func.coalesce(Site.subdistrict, ""))
        .outerjoin(Site, Site.id == WorkItem.site_id)
        .where(WorkItem.id.in_(list(states)))
        .order_by(WorkItem.id)
    ).all()
    out = []
    for item, sub in items:
        if subdistrict is not None and sub != subdistrict:
            continue
        state = states[item.id]
        segment = f"category={item.category};severity={item.severity}"
        if not segment_matches(segment, selector.segment):
            continue
        late_feedback, late_resolve = workitems.overdue(state, as_of)
        if selector.quantity == "overdue_feedback" and not late_feedback:
            continue
        if selector.quantity == "overdue_resolve" and not late_resolve:
            continue
        if selector.status is not None and state.status not in selector.status:
            continue
        if state.status in selector.exclude_status:
            continue
        out.append(
            {
                "type": "work_item",
                "id": item.id,
                "key": item.key,
                "name": item.title,
                "status": state.status,
                "value": 1,
                "subdistrict": sub or None,
            }
        )
    return out


def records_for_selector(
    session: Session,
    selector: Selector,
    as_of: datetime,
    known_at: datetime | None = None,
    *,
    subdistrict: str | None = None,
) -> list[dict]:
    """The sites a selector of site counts (quantity "n") takes at the moment: the drill-down of a table cell
    that is not a registered figure (the report's table by sub-district and kind)."""
    return _sites(session, selector, as_of, known_at, subdistrict)


def _overdue_select(
    as_of: datetime, known_at: datetime | None, kinds: tuple[str, ...], subdistrict: str | None
):
    """Sites reported before `as_of` whose deadline had passed by then. Without a record-time cutoff, "not done"
    is read from the projection (its done time), which needs no pass over the ledger; with one, the caller
    checks each candidate's status as known at the cutoff."""
    conditions = [
        Site.kind.in_(kinds),
        Site.reported_at < as_of,
        Site.deadline.is_not(None),
        Site.deadline < as_of,
    ]
    if known_at is None:
        conditions.append(or_(Site.done_at.is_(None), Site.done_at >= as_of))
    if subdistrict is not None:
        conditions.append(func.coalesce(Site.subdistrict, "") == subdistrict)
    return conditions


def overdue_counts(
    session: Session, as_of: datetime, known_at: datetime | None, kinds: tuple[str, ...]
) -> dict[tuple[str, str], int]:
    """(sub-district or "", kind) → the number of overdue sites, as `overdue_records` lists them."""
    if known_at is not None:
        counts: dict[tuple[str, str], int] = defaultdict(int)
        for record in overdue_records(session, as_of, known_at, kinds):
            counts[(record["subdistrict"] or "", record["kind"])] += 1
        return dict(counts)
    # a literal: PostgreSQL must see one expression in SELECT and GROUP BY
    sub = func.coalesce(Site.subdistrict, literal_column("''"))
    stmt = (
        select(sub, Site.kind, func.count())
        .where(*_overdue_select(as_of, None, kinds, None))
        .group_by(sub, Site.kind)
    )
    return {(sub, kind): n for sub, kind, n in session.execute(stmt)}


def overdue_records(
    session: Session,
    as_of: datetime,
    known_at: datetime | None,
    kinds: tuple[str, ...],
    *,
    subdistrict: str | None = None,
) -> list[dict]:
    """The overdue sites (13710: past the deadline and not done at `as_of`), one row each, with their status at
    `as_of` (as known at `known_at`) and their deadline."""
    rows = session.execute(
        select(Site.id, Site.key, Site.name, Site.kind, Site.subdistrict, Site.deadline)
        .where(*_overdue_select(as_of, known_at, kinds, subdistrict))
        .order_by(Site.id)
    ).all()
    statuses = asof.track_statuses(session, [r.id for r in rows], as_of, known_at)
    out = []
    for row in rows:
        kind = KINDS[row.kind]
        status = asof.site_status(kind, statuses.get(row.id, {}))
        if known_at is not None and (status is None or status == kind.done_status):
            continue  # not yet known at the cutoff, or done as known then
        out.append(
            {
                "type": "site",
                "id": row.id,
                "key": row.key,
                "kind": row.kind,
                "name": row.name,
                "status": status,
                "subdistrict": row.subdistrict,
                "valid_at": zone_iso(row.deadline),
                "value": 1,
            }
        )
    return out


def with_labels(rows: list[dict], locale: str | None) -> list[dict]:
    """The records as a reader sees them: each with `type_label`, `kind_label`, `status_label` and
    `subdistrict_label` in `locale` (已修复, 石佛办事处), the keys kept for links and machines."""
    out = []
    for row in rows:
        kind = row.get("kind")
        statuses = (
            "work_item_status"
            if row.get("type") == "work_item"
            else f"status.{kind}"
            if kind in KINDS
            else None
        )
        status = row.get("status")
        out.append(
            {
                **row,
                "type_label": label("record_type", row.get("type"), locale),
                "kind_label": label("kind", kind, locale) if kind in KINDS else "",
                "status_label": label(statuses, status, locale) if statuses and status else (status or ""),
                "subdistrict_label": label("subdistrict", row.get("subdistrict"), locale),
            }
        )
    return out
