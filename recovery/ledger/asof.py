"""The state as of valid time T, as known at record time R: the reads of the ledger that every read model shares.

The cube (`metrics.cube`), the drill-down records (`metrics.records`), the report's tables (`reports.sites`),
the map (`map.points`) and the site query of the exports ask the ledger the same questions: which status
each (site, track) stood in at T, which check-ins happened on T's day, where each work item stood. The answers
live here, with what each database needs to answer them fast (the dialect branches of these reads); the
valid-time index of status spans and the flow measures have their own modules (`ledger.spans`,
`ledger.measures`).

Throughout: events count when their valid time is before T (`valid_at < T`) and, given R, when they were
recorded by R; flagged events never count; ties of valid time go to the higher id, as in the fold.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import Float, Integer, String, and_, case, column, func, literal, select, text
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.orm import Session

from recovery import workitems
from recovery.db.types import bind_instants
from recovery.kinds import KINDS, SiteKind, get_kind
from recovery.ledger.fold import STATUS_ACTIONS, Entry, overall_status, replay
from recovery.models import Event, Site, WorkItem
from recovery.timeutil import local_day, start_of_day

_EPSILON = timedelta(microseconds=1)


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def recorded_by(session: Session, known_at: datetime) -> bool:
    """Every event was recorded by `known_at` (one probe of `ix_event_recorded`)."""
    latest = session.scalar(select(func.max(Event.recorded_at)))
    return latest is None or latest <= known_at


def last_valid_at(session: Session) -> datetime | None:
    """The latest valid time in the ledger (None when it is empty): where its data ends."""
    return session.scalar(select(func.max(Event.valid_at)))


def effective_cutoff(session: Session, known_at: datetime | None) -> datetime | None:
    """`known_at`, or None when nothing was recorded after it (the usual case when a report is published: R is
    the moment of publishing): the cutoff then leaves out nothing, and the state as known at R is the state as
    known now, which the faster reads give."""
    return None if known_at is None or recorded_by(session, known_at) else known_at


# -- statuses ------------------------------------------------------------------------------------------------


def latest_status_events(as_of: datetime, known_at: datetime | None):
    """Subquery (site_id, track, to_status, level, valid_at, rn): each (site, track)'s status events before `as_of` (and
    recorded by `known_at`), numbered from the latest (`rn == 1`); the track of a site's own status is ""."""
    conditions = [Event.action.in_(STATUS_ACTIONS), Event.valid_at < as_of, Event.flag.is_(None)]
    if known_at is not None:
        conditions.append(Event.recorded_at <= known_at)
    rn = func.row_number().over(
        partition_by=(Event.site_id, func.coalesce(Event.track, "")),
        order_by=(Event.valid_at.desc(), Event.id.desc()),
    )
    return (
        select(
            Event.site_id,
            func.coalesce(Event.track, "").label("track"),
            Event.to_status,
            Event.level,
            Event.valid_at,
            rn.label("rn"),
        )
        .where(and_(*conditions))
        .subquery()
    )


#: the predicate of the partial index `ix_event_latest`, as literals: a planner can only match a partial index
#: against constants, not bound parameters
_STATUS_EVENT = "event.action IN ({}) AND event.flag IS NULL".format(
    ", ".join(f"'{a}'" for a in STATUS_ACTIONS)
)


def latest_per_track(session: Session, as_of: datetime, known_at: datetime | None):
    """Subquery (site_id, track, to_status, level): each (site, track)'s latest status event before `as_of`
    (recorded by `known_at`), read from the covering index `ix_event_latest`."""
    if _dialect(session) == "postgresql":
        conditions = [text(_STATUS_EVENT), Event.valid_at < as_of]
        if known_at is not None:
            conditions.append(Event.recorded_at <= known_at)
        # DISTINCT ON in the order of a backward scan of the index: an index-only scan, no sort
        return (
            select(Event.site_id, func.coalesce(Event.track, "").label("track"), Event.to_status, Event.level)
            .where(*conditions)
            .ext(distinct_on(Event.site_id, Event.track))
            .order_by(
                Event.site_id.desc(), Event.track.desc().nulls_first(), Event.valid_at.desc(), Event.id.desc()
            )
            .subquery("latest")
        )
    # SQLite: one pass over the index in (site, track) order. With a single max() the other columns come from
    # the row holding the maximum; the key is valid time then id (fixed width), so ties are ordered as the fold
    # orders them. INDEXED BY because the planner would rather walk `ix_event_flag`.
    cutoff = " AND event.recorded_at <= :known_at" if known_at is not None else ""
    stmt = text(
        "SELECT event.site_id AS site_id, coalesce(event.track, '') AS track, event.to_status AS to_status, "
        "event.level AS level, max(event.valid_at || (event.id + 1000000000000)) AS latest_key "
        f"FROM event INDEXED BY ix_event_latest WHERE {_STATUS_EVENT} AND event.valid_at < :as_of{cutoff} "
        "GROUP BY event.site_id, event.track"
    )
    return (
        bind_instants(stmt, as_of=as_of, known_at=known_at)
        .columns(
            column("site_id", Integer),
            column("track", String),
            column("to_status", String),
            column("level", Float),
        )
        .subquery("latest")
    )


def status_groups(session: Session, as_of: datetime, known_at: datetime | None) -> list[tuple]:
    """The latest status of every (site, track) at `as_of` grouped by (kind, sub-district, segment, track,
    status), as rows (kind, sub-district, segment, track, status, site_id, count, sum of levels). The sites of
    kinds kept per track come one by one (site_id set) so that their overall status can be folded; site_id is
    None for the others."""
    latest = latest_per_track(session, as_of, known_at)
    tracked = [k.key for k in KINDS.values() if k.tracks]
    if _dialect(session) == "postgresql":
        # ~130,000 joined rows: with the default 4 MB the grouping sorts on disk; hashed in memory it is 3× faster
        session.execute(text("SET LOCAL work_mem = '64MB'"))
    site_of_tracked = case((Site.kind.in_(tracked), Site.id), else_=None) if tracked else literal(None)
    return session.execute(
        select(
            Site.kind,
            func.coalesce(Site.subdistrict, ""),
            Site.segment,
            latest.c.track,
            latest.c.to_status,
            site_of_tracked,
            func.count(),
            func.sum(latest.c.level),
        )
        .join(latest, latest.c.site_id == Site.id)
        .group_by(
            Site.kind, Site.subdistrict, Site.segment, latest.c.track, latest.c.to_status, site_of_tracked
        )
    ).all()


def track_statuses(
    session: Session, site_ids: list[int], as_of: datetime, known_at: datetime | None
) -> dict[int, dict[str, str]]:
    """Each listed site's status per track ("" for the site itself) at `as_of`, as known at `known_at`."""
    out: dict[int, dict[str, tuple]] = defaultdict(dict)
    for start in range(0, len(site_ids), 2000):
        conditions = [
            Event.site_id.in_(site_ids[start : start + 2000]),
            Event.action.in_(STATUS_ACTIONS),
            Event.flag.is_(None),
            Event.valid_at < as_of,
        ]
        if known_at is not None:
            conditions.append(Event.recorded_at <= known_at)
        stmt = select(Event.site_id, Event.track, Event.valid_at, Event.id, Event.to_status)
        for site_id, track, valid_at, event_id, status in session.execute(stmt.where(*conditions)):
            latest = out[site_id].get(track or "")
            if latest is None or (valid_at, event_id) > latest[:2]:
                out[site_id][track or ""] = (valid_at, event_id, status)
    return {site: {track: v[2] for track, v in tracks.items()} for site, tracks in out.items()}


def site_status(kind: SiteKind, tracks: dict[str, str]) -> str | None:
    """A site's status from its statuses per track (`track_statuses`): its own, or for a kind kept per track
    the overall status its tracks make."""
    return overall_status(kind, tracks) if kind.tracks else tracks.get("")


def site_statuses(session: Session, as_of: datetime, kinds: dict[int, str]) -> dict[int, str]:
    """Each site's status at `as_of` from its latest status event per track, for the sites of `kinds` (id →
    kind key); sites not yet reported are absent."""
    latest = latest_status_events(as_of, None)
    tracks: dict[int, dict[str, str]] = {}
    plain: dict[int, str] = {}
    for site_id, track, to_status in session.execute(
        select(latest.c.site_id, latest.c.track, latest.c.to_status).where(latest.c.rn == 1)
    ):
        if track:
            tracks.setdefault(site_id, {})[track] = to_status
        else:
            plain[site_id] = to_status
    for site_id, by_track in tracks.items():
        kind = get_kind(kinds[site_id]) if site_id in kinds else None
        if kind is not None and kind.tracks:
            plain[site_id] = overall_status(kind, by_track)
    return {site_id: status for site_id, status in plain.items() if site_id in kinds}


# -- check-ins -----------------------------------------------------------------------------------------------


def done_since(
    session: Session, site_ids: list[int], as_of: datetime, known_at: datetime | None
) -> dict[int, datetime]:
    """When each of these sites last became done, for those done at `as_of` (as known at `known_at`): the
    projection's `done_at` is that moment as known now, which a site reopened since, finished again since, or
    changed by a late event recorded after `known_at` does not tell. Folds the sites' events up to the moment."""
    if not site_ids:
        return {}
    conditions = [
        Event.site_id.in_(site_ids),
        Event.flag.is_(None),
        Event.action.in_(STATUS_ACTIONS),
        Event.valid_at < as_of,
    ]
    if known_at is not None:
        conditions.append(Event.recorded_at <= known_at)
    rows = session.execute(
        select(
            Event.site_id,
            Site.kind,
            Event.id,
            Event.action,
            Event.track,
            Event.to_status,
            Event.level,
            Event.valid_at,
        )
        .join(Site, Site.id == Event.site_id)
        .where(*conditions)
    )
    entries: dict[int, list[Entry]] = defaultdict(list)
    kinds: dict[int, str] = {}
    for site_id, kind, *entry in rows:
        kinds[site_id] = kind
        entries[site_id].append(Entry(entry[0], entry[1], entry[2], entry[3], entry[4], {}, entry[5]))
    out = {}
    for site_id, site_entries in entries.items():
        state, _ = replay(get_kind(kinds[site_id]), site_entries, strict=False)
        if state.done_at is not None:
            out[site_id] = state.done_at
    return out


def check_in_conditions(session: Session, as_of: datetime, known_at: datetime | None) -> list:
    """The check-ins that count at `as_of`: those of the zone day `as_of` falls in, up to `as_of` (daily
    coverage, not a running total)."""
    day_start = start_of_day(local_day(as_of - _EPSILON))
    # on SQLite `+flag` keeps the planner off `ix_event_flag` (it would walk every unflagged event): by valid time
    unflagged = text("+event.flag IS NULL") if _dialect(session) == "sqlite" else Event.flag.is_(None)
    conditions = [Event.action == "check_in", Event.valid_at >= day_start, Event.valid_at < as_of, unflagged]
    if known_at is not None:
        conditions.append(Event.recorded_at <= known_at)
    return conditions


# -- work items ----------------------------------------------------------------------------------------------


def work_item_states(
    session: Session, as_of: datetime, known_at: datetime | None
) -> dict[int, workitems.WorkItemState]:
    """Each work item opened before `as_of` (as known at `known_at`), folded from its events up to then."""
    # SQLite plans `work_item_id IS NOT NULL` as a walk of the ledger by `ix_event_valid` (half of it for a
    # date mid-way); `IN (SELECT id FROM work_item)` makes it probe `ix_event_work_item` once per item.
    # PostgreSQL finds them by that index either way, and the IN costs it a few ms more.
    if _dialect(session) == "sqlite":
        of_work_items = Event.work_item_id.in_(select(WorkItem.id))
    else:
        of_work_items = Event.work_item_id.is_not(None)
    conditions = [of_work_items, Event.action.in_(tuple(workitems.ACTION_STATUS)), Event.valid_at < as_of]
    if known_at is not None:
        conditions.append(Event.recorded_at <= known_at)
    history: dict[int, list] = defaultdict(list)
    for item_id, action, valid_at, event_id, details in session.execute(
        select(Event.work_item_id, Event.action, Event.valid_at, Event.id, Event.details).where(*conditions)
    ):
        history[item_id].append((action, valid_at, event_id, details))
    if not history:
        return {}
    own = {
        row.id: row
        for row in session.execute(
            select(WorkItem.id, WorkItem.severity, WorkItem.responsible_unit).where(
                WorkItem.id.in_(list(history))
            )
        )
    }
    return {
        item_id: workitems.fold(events, severity=own[item_id].severity, unit=own[item_id].responsible_unit)
        for item_id, events in history.items()
    }
