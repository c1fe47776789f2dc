"""Loading whole data sets (the seed, synthetic benchmarks) in one transaction, and rebuilding or verifying
every projection from the ledger. Everything is validated before the first row is written."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, select, text, update
from sqlalchemy.orm import Session

from recovery import workitems
from recovery.db.dialect import reset_id_sequences
from recovery.db.engine import begin_write
from recovery.errors import RecoveryError, ValidationError
from recovery.geodata import Geodata
from recovery.kinds import MEASURES, clean_measures
from recovery.ledger import fold as site_fold
from recovery.ledger import measures, spans
from recovery.ledger.append import body_hash
from recovery.ledger.fold import Dims, Entry
from recovery.ledger.record import PROJECTED, apply_rollup, edit_site_columns
from recovery.models import ROLLUP_CELL, Event, EventMeasure, RollupDelta, Site, Team, WorkItem, WorkItemSite
from recovery.sites import SiteDraft, derive, draft_site
from recovery.timeutil import local_day, parse_instant

Progress = Callable[[int], None]
CHUNK = 5000


@dataclass
class LoadReport:
    teams: int = 0
    sites: int = 0
    work_items: int = 0
    events: int = 0
    skipped: bool = False
    notes: list[str] = field(default_factory=list)


def _chunks(items: list, size: int = CHUNK) -> Iterable[list]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _next_id(session: Session, model) -> int:
    return (session.scalar(select(func.max(model.id))) or 0) + 1


#: the tables whose rows a load writes with their ids given
LOADED_TABLES = ("team", "site", "work_item", "event", "rollup_delta")


def load_dataset(
    session: Session,
    geodata: Geodata,
    *,
    teams: Iterable[dict],
    sites: Iterable[dict],
    work_items: Iterable[dict],
    events: Iterable[dict],
    progress: Progress | None = None,
) -> LoadReport:
    """Validate and store a whole data set in one transaction; on any error nothing is stored.

    Sites, teams and work items refer to each other by `key`; events by `site`/`work_item` key. Loading the
    same data set again is a no-op (its events' client ids are already stored).
    """
    tick = progress or (lambda n: None)
    begin_write(session)
    teams, sites, work_items = list(teams), list(sites), list(work_items)
    events = list(events)
    client_ids = [e["client_id"] for e in events if e.get("client_id")]
    if client_ids:
        known = session.scalar(
            select(func.count()).select_from(Event).where(Event.client_id.in_(client_ids[:1]))
        )
        if known:
            session.rollback()
            return LoadReport(skipped=True, notes=["already loaded"])

    drafts = _draft_sites(sites)
    for chunk in _chunks(drafts):
        derive(chunk, geodata)
    tick(0)
    site_index = {d.key: i for i, d in enumerate(drafts)}
    item_index = {w["key"]: i for i, w in enumerate(work_items)}
    by_site: dict[int, list[tuple[Entry, dict]]] = defaultdict(list)
    by_item: dict[int, list[tuple[str, datetime, int, dict]]] = defaultdict(list)
    events.sort(key=lambda e: (parse_instant(e["recorded_at"]), e.get("client_id") or ""))
    first_event_id = _next_id(session, Event)
    prepared: list[dict] = []
    for offset, raw in enumerate(events):
        row = _prepare_event(raw, first_event_id + offset, site_index, item_index, drafts)
        prepared.append(row)
        if row["_site"] is not None and row["action"] not in workitems.ACTION_STATUS:
            entry = Entry(
                row["id"],
                row["action"],
                row["track"],
                row["to_status"],
                row["level"],
                {k: v for k, v in row["measures"].items() if MEASURES[k].flow},
                row["valid_at"],
            )
            by_site[row["_site"]].append((entry, row))
        if row["_item"] is not None:
            by_item[row["_item"]].append(
                (row["action"], row["valid_at"], row["id"], row.get("details") or {})
            )

    rollup: Counter = Counter()
    states: list[site_fold.SiteState] = []
    for index, draft in enumerate(drafts):
        pairs = by_site.get(index, [])
        if not pairs or min(pairs, key=lambda p: site_fold.sort_key(p[0]))[0].action != "report":
            raise ValidationError(
                "Site %(site)s has no report event before its other events.", site=draft.key
            )
        try:
            state, from_statuses = site_fold.replay(draft.kind, [p[0] for p in pairs])
        except RecoveryError as exc:
            raise ValidationError("Site %(site)s: %(reason)s", site=draft.key, reason=str(exc)) from None
        _check_daily_check_ins(draft, [p[0] for p in pairs])
        for (_entry, row), from_status in zip(
            sorted(pairs, key=lambda p: site_fold.sort_key(p[0])), from_statuses, strict=True
        ):
            row["from_status"] = from_status
        states.append(state)
        rollup.update(
            site_fold.contributions(
                draft.kind,
                Dims(draft.kind.key, draft.subdistrict or "", draft.segment),
                [p[0] for p in pairs],
            )
        )
    item_states = {}
    for index, raws in by_item.items():
        raw_item = work_items[index]
        item_states[index] = workitems.check_history(
            raw_item["key"], raws, raw_item.get("severity", "general"), _unit(raw_item)
        )

    # everything is valid: write
    try:
        team_ids = _insert_teams(session, teams)
        site_ids = _insert_sites(session, drafts, states, team_ids, tick)
        item_ids = _insert_work_items(session, work_items, item_states, site_ids, site_index)
        _insert_events(session, prepared, site_ids, item_ids, tick)
        _insert_rollup(session, rollup)
        reset_id_sequences(session, LOADED_TABLES)
        session.commit()
    except Exception:
        session.rollback()
        raise
    return LoadReport(len(teams), len(drafts), len(work_items), len(prepared))


def _draft_sites(sites: list[dict]) -> list[SiteDraft]:
    drafts = []
    seen: set[str] = set()
    for raw in sites:
        key = raw.get("key")
        if not key or key in seen:
            raise ValidationError("Every site needs a unique key (%(key)s).", key=str(key))
        seen.add(key)
        try:
            deadline = parse_instant(raw["deadline"]) if raw.get("deadline") else None
            drafts.append(
                draft_site(
                    raw.get("kind"),
                    raw.get("name"),
                    raw.get("geometry"),
                    address=raw.get("address", ""),
                    attributes=raw.get("attributes"),
                    priority=raw.get("priority", 2),
                    deadline=deadline,
                    key=key,
                    team_key=raw.get("team"),
                )
            )
        except RecoveryError as exc:
            raise ValidationError("Site %(site)s: %(reason)s", site=key, reason=str(exc)) from None
    return drafts


def _prepare_event(raw: dict, event_id: int, site_index: dict, item_index: dict, drafts: list) -> dict:
    action = raw.get("action")
    site_pos = site_index.get(raw["site"]) if raw.get("site") else None
    item_pos = item_index.get(raw["work_item"]) if raw.get("work_item") else None
    if raw.get("site") and site_pos is None:
        raise ValidationError("Event %(event)s names an unknown site.", event=raw.get("client_id"))
    if raw.get("work_item") and item_pos is None:
        raise ValidationError("Event %(event)s names an unknown work item.", event=raw.get("client_id"))
    measures = raw.get("measures") or {}
    level = None
    if site_pos is not None and action not in workitems.ACTION_STATUS:
        kind = drafts[site_pos].kind
        measures = clean_measures(kind, measures)
        if action in ("report", "transition") and raw.get("to_status") and kind.status_capacity:
            level = kind.capacity_for(raw["to_status"], measures)
    valid_at, recorded_at = parse_instant(raw["valid_at"]), parse_instant(raw["recorded_at"])
    if recorded_at < valid_at:
        raise ValidationError("Event %(event)s was recorded before it happened.", event=raw.get("client_id"))
    return {
        "id": event_id,
        "client_id": raw.get("client_id"),
        "action": action,
        "track": raw.get("track"),
        "to_status": raw.get("to_status"),
        "level": level,
        "measures": measures,
        "note": raw.get("note") or "",
        "actor": raw.get("actor") or "system",
        "details": raw.get("details") or {},
        "valid_at": valid_at,
        "recorded_at": recorded_at,
        "from_status": None,
        "_site": site_pos,
        "_item": item_pos,
        "body_hash": body_hash({k: raw.get(k) for k in sorted(raw) if k != "recorded_at"}),
    }


def _check_daily_check_ins(draft: SiteDraft, entries: list[Entry]) -> None:
    days = [local_day(e.valid_at) for e in entries if e.action == "check_in"]
    if len(days) != len(set(days)):
        raise ValidationError("Site %(site)s has two check-ins on one day.", site=draft.key)


def _insert_teams(session: Session, teams: list[dict]) -> dict[str, int]:
    start = _next_id(session, Team)
    rows = [
        {
            "id": start + i,
            "key": t["key"],
            "name": t["name"],
            "type": t["type"],
            "subdistrict": t.get("subdistrict"),
            "members": int(t.get("members") or 0),
        }
        for i, t in enumerate(teams)
    ]
    if rows:
        session.execute(insert(Team.__table__), rows)
    ids = {r["key"]: r["id"] for r in rows}
    ids.update(dict(session.execute(select(Team.key, Team.id)).all()))
    return ids


def _insert_sites(session, drafts, states, team_ids, tick) -> list[int]:
    start = _next_id(session, Site)
    ids = []
    for offset, chunk in enumerate(_chunks(list(zip(drafts, states, strict=True)))):
        rows = []
        for i, (draft, state) in enumerate(chunk):
            if draft.team_key and draft.team_key not in team_ids:
                raise ValidationError("Site %(site)s names an unknown team.", site=draft.key)
            row = draft.row()
            row.update(id=start + offset * CHUNK + i, team_id=team_ids.get(draft.team_key), **state.as_dict())
            rows.append(row)
            ids.append(row["id"])
        session.execute(insert(Site.__table__), rows)
        tick(0)
    return ids


def _insert_work_items(session, work_items, item_states, site_ids, site_index) -> list[int]:
    start = _next_id(session, WorkItem)
    rows = []
    for i, raw in enumerate(work_items):
        state = item_states.get(i)
        if state is None:
            raise ValidationError("Work item %(item)s has no events.", item=raw["key"])
        if (
            raw.get("category") not in workitems.CATEGORIES
            or raw.get("severity", "general") not in workitems.SEVERITY_DAYS
        ):
            raise ValidationError("Work item %(item)s has an unknown category or severity.", item=raw["key"])
        site_id = site_ids[site_index[raw["site"]]] if raw.get("site") else None
        row = {
            "id": start + i,
            "key": raw["key"],
            "category": raw["category"],
            "title": raw["title"],
            "description": raw.get("description", ""),
            "co_units": [],
            "milestones": [],
            "responsible_unit": _unit(raw),
            "severity": raw.get("severity", "general"),
            "site_id": site_id,
            "opened_at": state.opened_at,
        }
        probe = WorkItem(**row)
        workitems.project_work_item(probe, state)
        row.update({c: getattr(probe, c) for c in workitems.PROJECTED})
        rows.append(row)
    if rows:
        session.execute(insert(WorkItem.__table__), rows)
        links = [{"work_item_id": r["id"], "site_id": r["site_id"]} for r in rows if r["site_id"] is not None]
        if links:
            session.execute(insert(WorkItemSite.__table__), links)
    return [r["id"] for r in rows]


def _unit(raw: dict) -> str:
    """A work item's responsible unit by its vocabulary key (the seed writes 高新区城市管理局, 沟赵办事处 …)."""
    from recovery.vocab import resolve

    try:
        return resolve("unit", raw.get("responsible_unit"))
    except ValidationError as exc:
        raise ValidationError(
            "Work item %(item)s: %(problem)s", item=raw.get("key"), problem=str(exc)
        ) from None


def _insert_events(session, prepared, site_ids, item_ids, tick) -> None:
    for chunk in _chunks(prepared):
        rows, measure_rows = [], []
        for row in chunk:
            site_id = site_ids[row["_site"]] if row["_site"] is not None else None
            item_id = item_ids[row["_item"]] if row["_item"] is not None else None
            rows.append(
                {k: v for k, v in row.items() if not k.startswith("_")}
                | {"site_id": site_id, "work_item_id": item_id}
            )
            for key, value in row["measures"].items():
                if MEASURES[key].flow and site_id is not None:
                    measure_rows.append(
                        {
                            "event_id": row["id"],
                            "key": key,
                            "site_id": site_id,
                            "value": value,
                            "valid_at": row["valid_at"],
                            "recorded_at": row["recorded_at"],
                        }
                    )
        session.execute(insert(Event.__table__), rows)
        if measure_rows:
            session.execute(insert(EventMeasure.__table__), measure_rows)
        tick(len(chunk))


def _insert_rollup(session: Session, rollup: Counter) -> None:
    for chunk in _chunks(sorted(rollup.items())):
        apply_rollup(session, Counter(dict(chunk)))


# -- rebuild and verify ---------------------------------------------------------------------------------------


@dataclass
class Projections:
    sites: dict[int, dict[str, Any]]
    rollup: Counter
    work_items: dict[int, workitems.WorkItemState]
    #: the descriptive columns set by `edit` events, per site (see `edited_columns`)
    descriptive: dict[int, dict[str, Any]] = field(default_factory=dict)


def replay_all(session: Session, progress: Progress | None = None) -> Projections:
    """Recompute every projection from the ledger alone (the stored projections are not read)."""
    tick = progress or (lambda n: None)
    sites = {
        row.id: row
        for row in session.execute(select(Site.id, Site.kind, Site.subdistrict, Site.segment)).all()
    }
    from recovery.kinds import get_kind

    edits = edited_columns(session)
    per_site: dict[int, list[Entry]] = defaultdict(list)
    per_item: dict[int, list] = defaultdict(list)
    stmt = (
        select(
            Event.id,
            Event.action,
            Event.track,
            Event.to_status,
            Event.level,
            Event.measures,
            Event.valid_at,
            Event.site_id,
            Event.work_item_id,
            Event.details,
        )
        .where(Event.flag.is_(None))
        .execution_options(yield_per=20000)
    )
    for count, row in enumerate(session.execute(stmt), 1):
        if row.work_item_id is not None and row.action in workitems.ACTION_STATUS:
            per_item[row.work_item_id].append((row.action, row.valid_at, row.id, row.details))
        elif row.site_id is not None:
            flows = {k: v for k, v in (row.measures or {}).items() if MEASURES[k].flow}
            per_site[row.site_id].append(
                Entry(row.id, row.action, row.track, row.to_status, row.level, flows, row.valid_at)
            )
        if count % 20000 == 0:
            tick(20000)
    projected: dict[int, dict[str, Any]] = {}
    rollup: Counter = Counter()
    for site_id, site in sites.items():
        kind = get_kind(site.kind)
        entries = per_site.get(site_id, [])
        state, _ = site_fold.replay(kind, entries, strict=False)
        projected[site_id] = state.as_dict()
        edited = edits.get(site_id, {})  # an edit that moved the site moves its whole contribution
        dims = Dims(
            site.kind, edited.get("subdistrict", site.subdistrict) or "", edited.get("segment", site.segment)
        )
        rollup.update(site_fold.contributions(kind, dims, entries))
    own = {
        row.id: row
        for row in session.execute(select(WorkItem.id, WorkItem.severity, WorkItem.responsible_unit))
    }
    items = {
        item_id: workitems.fold(evts, severity=own[item_id].severity, unit=own[item_id].responsible_unit)
        for item_id, evts in per_item.items()
        if item_id in own
    }
    return Projections(projected, Counter({k: v for k, v in rollup.items() if abs(v) > 1e-9}), items, edits)


def edited_columns(session: Session) -> dict[int, dict[str, Any]]:
    """The descriptive columns (`record.EDIT_COLUMNS`) that the ledger's `edit` events set, per site: the
    latest edit of each column in valid-time order wins. Sites never edited are absent."""
    stmt = (
        select(Event.site_id, Event.details)
        .where(Event.action == "edit", Event.flag.is_(None))
        .order_by(Event.valid_at, Event.id)
    )
    out: dict[int, dict[str, Any]] = defaultdict(dict)
    for site_id, details in session.execute(stmt):
        for column, change in (details or {}).get("changes", {}).items():
            out[site_id][column] = change["new"]
    return dict(out)


def _descriptive_differences(session: Session, edits: dict[int, dict[str, Any]]) -> list[str]:
    problems = []
    for chunk in _chunks(sorted(edits)):
        stmt = select(Site).where(Site.id.in_(chunk)).execution_options(populate_existing=True)
        for site in session.scalars(stmt):
            for column, want in edit_site_columns(edits[site.id]).items():
                have = getattr(site, column)
                same = have.equals_exact(want, 0.0) if column == "geom" else _close(have, want)
                if not same:
                    problems.append(f"site {site.key}: {column} stored {have!r}, ledger says {want!r}")
    return problems


def _rewrite_descriptive(session: Session, edits: dict[int, dict[str, Any]]) -> None:
    for site_id, values in edits.items():
        session.execute(update(Site).where(Site.id == site_id).values(**edit_site_columns(values)))


def rollup_cell_differences(session: Session, limit: int = 20) -> list[str]:
    """Roll-up rows whose cell number (migration 0009) is missing or names another cell."""
    dims = ("kind", "subdistrict", "segment", "track", "status", "quantity")
    differs = " OR ".join(f"c.{d} <> r.{d}" for d in dims)
    rows = session.execute(
        text(
            "SELECT r.day, r.kind, r.subdistrict, r.segment, r.track, r.status, r.quantity, r.cell "
            f"FROM rollup_delta r LEFT JOIN rollup_cell c ON c.id = r.cell WHERE c.id IS NULL OR {differs} "
            f"ORDER BY r.id LIMIT {limit}"
        )
    ).all()
    return [f"roll-up {tuple(row[:7])!r}: cell number {row[7]!r} is not its cell" for row in rows]


def stored_rollup(session: Session) -> Counter:
    rows = session.execute(select(RollupDelta.day, *ROLLUP_CELL, RollupDelta.delta)).all()
    return Counter({tuple(r[:7]): r[7] for r in rows if abs(r[7]) > 1e-9})


def verify(session: Session, progress: Progress | None = None) -> list[str]:
    """Replay the ledger and list every difference from the stored projections (an empty list is clean)."""
    expected = replay_all(session, progress)
    problems: list[str] = []
    columns = PROJECTED
    stored = session.execute(select(Site.id, Site.key, *[getattr(Site, c) for c in columns])).all()
    for row in stored:
        want = expected.sites.get(row.id)
        for index, column in enumerate(columns):
            have = row[index + 2]
            if have != want[column] and not (_close(have, want[column])):
                problems.append(f"site {row.key}: {column} stored {have!r}, ledger says {want[column]!r}")
    have_rollup = stored_rollup(session)
    for key in sorted(set(have_rollup) | set(expected.rollup)):
        if not _close(have_rollup.get(key, 0.0), expected.rollup.get(key, 0.0)):
            problems.append(
                f"roll-up {key}: stored {have_rollup.get(key, 0.0)}, ledger says "
                f"{expected.rollup.get(key, 0.0)}"
            )
    problems += rollup_cell_differences(session)
    problems += spans.differences(session)
    problems += measures.differences(session)
    problems += _descriptive_differences(session, expected.descriptive)
    for item in session.scalars(select(WorkItem)).all():
        want = workitems.expected_columns(item, expected.work_items.get(item.id, workitems.WorkItemState()))
        for column, value in want.items():
            if getattr(item, column) != value:
                problems.append(
                    f"work item {item.key}: {column} stored {getattr(item, column)!r}, ledger says {value!r}"
                )
    return problems


def rebuild(session: Session, progress: Progress | None = None) -> int:
    """Rewrite every projection and the roll-up from the ledger; returns the number of sites rewritten."""
    expected = replay_all(session, progress)
    begin_write(session)
    try:
        rows = [
            {"b_id": site_id, **{f"p_{k}": v for k, v in values.items()}}
            for site_id, values in expected.sites.items()
        ]
        stmt = (
            update(Site)
            .where(Site.id == bindparam("b_id"))
            .values(**{c: bindparam(f"p_{c}") for c in PROJECTED})
        )
        for chunk in _chunks(rows):
            session.connection().execute(stmt, chunk)
        session.execute(delete(RollupDelta))
        _insert_rollup(session, expected.rollup)
        spans.refill(session)
        measures.refill(session)
        _rewrite_descriptive(session, expected.descriptive)
        for item in session.scalars(select(WorkItem)).all():
            workitems.project_work_item(item, expected.work_items.get(item.id, workitems.WorkItemState()))
        session.commit()
    except Exception:
        session.rollback()
        raise
    return len(expected.sites)


def _close(a: Any, b: Any) -> bool:
    if isinstance(a, float | int) and isinstance(b, float | int):
        return abs(a - b) < 1e-6
    return a == b
