"""Site events and edits: checked against the site's life cycle, appended (`ledger.append`), and in the same
transaction the site's projection and the roll-up brought up to date."""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any, NamedTuple

import shapely
from sqlalchemy import and_, bindparam, event, insert, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from recovery.db.dialect import upsert
from recovery.db.direct import Direct
from recovery.errors import NotFoundError, PreconditionFailed, RecoveryError, TransitionError, ValidationError
from recovery.kinds import MEASURES, clean_measures, get_kind
from recovery.ledger.append import Append, Recorded, append, body_hash
from recovery.ledger.fold import (
    STATUS_ACTIONS,
    Dims,
    Entry,
    SiteState,
    apply,
    check,
    contributions,
    from_status_of,
    repeats,
    replay,
    sort_key,
    state_of,
    step,
)
from recovery.models import Event, EventMeasure, RollupDelta, Site
from recovery.text import clean_text
from recovery.timeutil import local_day, start_of_day
from recovery.workitems import ACTION_STATUS as WORK_ITEM_ACTIONS

SITE_ACTIONS = ("report", "transition", "reopen", "check_in", "assign", "note")
STATUS_CHANGES = ("transition", "reopen")


#: the site's columns the projection keeps (`project_site`, `record_site_event`)
PROJECTED = ("status", "track_status", "capacity_pct", "reported_at", "done_at", "last_valid_at", "version")
SITE = Site.__table__
EVENT = Event.__table__
EVENT_MEASURE = EventMeasure.__table__
ROLLUP = RollupDelta.__table__
#: what the write path reads of a site under the lock (a Core row: no ORM object is built or refreshed)
_SITE_ROW = select(
    SITE.c.id, SITE.c.key, SITE.c.kind, SITE.c.subdistrict, SITE.c.segment, *(SITE.c[c] for c in PROJECTED)
).where(SITE.c.id == bindparam("site_id"))
#: the site's other columns, read in the same statement when the caller checks the site or answers with it
#: (`record_site_event(check_site=…)`): the API's scope check and its answer need no read of their own
DESCRIBED = ("name", "address", "priority", "attributes", "deadline", "team_id", "geom")
_SITE_ROW_DESCRIBED = _SITE_ROW.add_columns(*(SITE.c[c] for c in DESCRIBED))

# built once: parameters are passed apart, so each statement is compiled once; run on the driver (`Direct`):
# they are the statements of every field update, run under the write lock
_INSERT_EVENT = Direct(insert(EVENT).returning(EVENT.c.id))
_INSERT_MEASURE = Direct(insert(EVENT_MEASURE))
_UPDATE_PROJECTION = Direct(
    update(SITE).where(SITE.c.id == bindparam("site")).values({c: bindparam(c) for c in PROJECTED})
)


def sync_site(site: Site, state: dict[str, Any] | None) -> None:
    """Bring a `Site` instance to the projection a write stored, without marking it changed."""
    for column, value in (state or {}).items():
        set_committed_value(site, column, value)


def event_digest(
    action: str,
    site_key: str,
    track: str | None,
    to_status: str | None,
    measures: dict[str, Any],
    note: str,
    actor: str,
    valid_at: datetime,
    details: dict[str, Any] | None = None,
) -> str:
    """The hash of a site event's content, which a repeated client id must match (the importer's events, which
    carry no details, hash without that key)."""
    body = {
        "action": action,
        "site": site_key,
        "track": track,
        "to_status": to_status,
        "measures": measures,
        "note": note,
        "actor": actor,
        "valid_at": valid_at.isoformat(),
    }
    if details is not None:
        body["details"] = details
    return body_hash(body)


#: a site's history as the fold reads it: its unflagged events, a work order's own steps left out (they carry
#: the order's first site but belong to the order's history, as `ledger.bulk.replay_all` reads them)
_ENTRIES = select(
    EVENT.c.id,
    EVENT.c.action,
    EVENT.c.track,
    EVENT.c.to_status,
    EVENT.c.level,
    EVENT.c.measures,
    EVENT.c.valid_at,
).where(
    EVENT.c.flag.is_(None),
    EVENT.c.site_id == bindparam("site_id"),
    or_(EVENT.c.work_item_id.is_(None), EVENT.c.action.not_in(WORK_ITEM_ACTIONS)),
)


def entries_for(session: Session, site_id: int) -> list[Entry]:
    session.flush()  # events staged through the ORM count too (a no-op when nothing is staged)
    rows = session.connection().execute(_ENTRIES, {"site_id": site_id})
    return [Entry(*row) for row in rows]


def flow_measures(measures: dict) -> dict:
    return {k: v for k, v in measures.items() if MEASURES[k].flow}


def record_site_event(
    session: Session,
    site_id: int,
    *,
    action: str,
    actor: str,
    valid_at: datetime,
    to_status: str | None = None,
    track: str | None = None,
    measures: dict | None = None,
    note: str = "",
    client_id: str | None = None,
    recorded_at: datetime | None = None,
    expected_version: int | None = None,
    user_id: int | None = None,
    position: dict | None = None,
    details: dict | None = None,
    client_id_unused: bool = False,
    decided: bool = False,
    check_site: Callable[[Any], None] | None = None,
    rollup_at_commit: bool = False,
) -> Recorded:
    """Append a site event after checking it against the site's life cycle at its valid time (not committed).

    A repeated `client_id` with the same body returns the stored event and writes nothing; with another
    body it raises IdempotencyError. `client_id_unused` says the caller has already found, under the same
    write lock, that no event carries `client_id` (see `append`). `expected_version` (the client's If-Match)
    is compared under the write lock: a stale one raises PreconditionFailed. A change made before the site
    was closed that arrives after, and that would not fit its history or would reopen it, is stored flagged
    and not applied: a commander decides. `decided` is that decision to apply it: the change is placed at its
    valid time whatever follows it, and never flagged. Nothing is written unless every check passes.

    `check_site(row)`, when given, is called first with the site's row as read under the lock (its
    projection and the columns of `DESCRIBED`) and may raise (the API's scope check); that row comes back
    in `Recorded.site_row`, so that the caller's answer needs no read of the site of its own.
    `rollup_at_commit` writes the roll-up change when the transaction commits (`defer_rollup`), not here.
    """
    if action not in SITE_ACTIONS or action == "report":
        raise ValidationError("Unknown action %(action)s.", action=action)

    def write(txn: Append) -> Recorded:
        session.flush()  # what the caller staged through the ORM is written before the Core statements below
        conn = session.connection()
        site = txn.row(_SITE_ROW if check_site is None else _SITE_ROW_DESCRIBED, {"site_id": site_id})
        if site is None:
            raise NotFoundError("Site %(site)s does not exist.", site=site_id)
        if check_site is not None:
            check_site(site)
        kind = get_kind(site.kind)
        # 已修复 or ＲＥＳＴＯＲＥＤ is read as restored before anything (the digest included) sees it
        status, utility = kind.status_key(to_status), kind.track_key(track)
        cleaned = clean_measures(kind, measures)
        who = clean_text(actor, "actor", 200, required=True)
        text = clean_text(note, "note", 2000)
        extra = dict(details or {})
        if position is not None:
            extra["position"] = position
        txn.claim(event_digest(action, site.key, utility, status, cleaned, text, who, valid_at, extra))
        if expected_version is not None and site.version != expected_version:
            raise PreconditionFailed(
                "The site has changed since you loaded it (your version %(yours)s, now %(now)s).",
                yours=expected_version,
                now=site.version,
            )
        recorded = txn.stamp(valid_at, recorded_at)
        level = kind.capacity_for(status, cleaned) if action in STATUS_CHANGES and status else None
        if action == "check_in":
            _check_once_a_day(conn, site.id, valid_at)
        candidate = Entry(NEW_ID, action, utility, status, level, flow_measures(cleaned), valid_at)
        if site.last_valid_at is None or valid_at >= site.last_valid_at:
            # after every stored event (the normal case): the stored projection is the state it follows
            prior, later = state_of(site), []
        else:
            # a late change: the events up to it give the state it follows; those after it are folded again
            prior, later = _before_and_after(session, kind, site, valid_at)
        effect = _place(kind, _dims(site), site, prior, candidate, later, decided=decided)
        flag = effect.flag
        values = {
            "client_id": client_id,
            "body_hash": txn.digest,
            "action": action,
            "site_id": site.id,
            "work_item_id": None,
            "actor": who,
            "track": utility,
            "from_status": effect.from_status,
            "to_status": status,
            "level": level,
            "measures": cleaned,
            "note": text,
            "valid_at": valid_at,
            "recorded_at": recorded,
            "position_lon": position["lon"] if position else None,
            "position_lat": position["lat"] if position else None,
            "details": extra,
            "user_id": user_id,
            "flag": flag,
        }
        # Core statements on the session's connection: one round trip each, no unit of work
        event_id = _INSERT_EVENT.execute(conn, values)[0]
        site_state = {column: getattr(site, column) for column in PROJECTED}
        if flag is None:
            flows = flow_measures(cleaned)
            if flows:
                _INSERT_MEASURE.execute_many(
                    conn,
                    [
                        {
                            "event_id": event_id,
                            "key": key,
                            "site_id": site.id,
                            "value": value,
                            "valid_at": valid_at,
                            "recorded_at": recorded,
                        }
                        for key, value in flows.items()
                    ],
                )
            site_state = effect.state.as_dict()
            _UPDATE_PROJECTION.execute(conn, {"site": site.id, **site_state})
            (defer_rollup if rollup_at_commit else apply_rollup)(session, effect.rollup)
            held = (
                session.identity_map.get(session.identity_key(Site, (site.id,)))
                if session.identity_map
                else None
            )
            if held is not None:
                sync_site(held, site_state)
        # the stored event as the caller reads it: its values, unchecked (they were checked above), not an ORM
        # instance of the session (constructing a checked `Event` costs more than the rest of the write)
        event = Event.model_construct(id=event_id, **values)
        return Recorded(
            event,
            created=True,
            flagged=flag,
            site_state=site_state,
            site_row=site if check_site is not None else None,
        )

    return append(session, write, client_id=client_id, lookup=not client_id_unused)


def _closed_before(kind, site: Site, valid_at: datetime) -> bool:
    """The site is done now, and the change happened before it was closed (an offline edit synced late)."""
    return site.status == kind.done_status and site.done_at is not None and valid_at <= site.done_at


def _reopens(kind, site: Site, state, valid_at: datetime) -> bool:
    return _closed_before(kind, site, valid_at) and state.status != kind.done_status


#: the id a new event sorts by among stored ones of the same valid time (after them all, as its real id will)
NEW_ID = 2**62


class Effect(NamedTuple):
    """What placing one new event among a site's stored ones does."""

    flag: str | None
    #: the status the new event records it changed from
    from_status: str | None
    #: the site's state after every event, the new one included (None when it is flagged: nothing changes)
    state: SiteState | None
    #: what the roll-up cells gain or lose
    rollup: Counter


_STATUS_EVENT = EVENT.c.action.in_(STATUS_ACTIONS)
_BEFORE_ALL = datetime(1900, 1, 1, tzinfo=UTC)
#: the site's events after a valid time, in their order (a late change folds these again)
_LATER = _ENTRIES.where(EVENT.c.valid_at > bindparam("valid_at")).order_by(EVENT.c.valid_at, EVENT.c.id)
#: the latest event up to a valid time (its valid time is the state's `last_valid_at`)
_LAST = (
    select(EVENT.c.valid_at)
    .where(*_ENTRIES.whereclause.clauses, EVENT.c.valid_at <= bindparam("valid_at"))
    .order_by(EVENT.c.valid_at.desc(), EVENT.c.id.desc())
    .limit(1)
)
#: the latest status event up to a valid time (the status and level then), and the latest that was not to the
#: finished status (the finished status holds since the status event after it)
_LAST_STATUS = (
    select(EVENT.c.id, EVENT.c.action, EVENT.c.to_status, EVENT.c.level, EVENT.c.valid_at)
    .where(*_ENTRIES.whereclause.clauses, _STATUS_EVENT, EVENT.c.valid_at <= bindparam("valid_at"))
    .order_by(EVENT.c.valid_at.desc(), EVENT.c.id.desc())
    .limit(1)
)
_LAST_NOT_DONE = _LAST_STATUS.where(EVENT.c.to_status != bindparam("done"))
_FIRST_STATUS_AFTER = (
    select(EVENT.c.valid_at)
    .where(
        *_ENTRIES.whereclause.clauses,
        _STATUS_EVENT,
        EVENT.c.valid_at <= bindparam("valid_at"),
        or_(
            EVENT.c.valid_at > bindparam("from_at"),
            and_(EVENT.c.valid_at == bindparam("from_at"), EVENT.c.id > bindparam("from_id")),
        ),
    )
    .order_by(EVENT.c.valid_at, EVENT.c.id)
    .limit(1)
)


def _before_and_after(session: Session, kind, site, valid_at: datetime) -> tuple[SiteState, list[Entry]]:
    """For a late change: the site's state just before `valid_at` (after the stored events of that time) and the
    stored events after it.

    Only the events after it are read: the state before it is what a replay up to it would give, read from
    the ledger by index (the latest event and status event up to then, and since when the finished status
    holds) and from the projection (the version less the events after, the report time). A kind whose status
    is per utility reads its whole history and folds it.
    """
    if kind.tracks:
        return _split(kind, entries_for(session, site.id), valid_at)
    conn = session.connection()
    at = {"site_id": site.id, "valid_at": valid_at}
    later = [Entry(*row) for row in conn.execute(_LATER, at)]
    version = site.version - len(later)
    last = conn.execute(_LAST, at).first()
    status = conn.execute(_LAST_STATUS, at).first()
    if version <= 0 or last is None or status is None:
        return SiteState(), later  # before the report: nothing may happen then
    if status.action == "report":
        level = kind.capacity_for(status.to_status, {}) if kind.status_capacity else None
    else:
        level = status.level if kind.status_capacity else None
    done_at = None
    if status.to_status == kind.done_status:
        since = conn.execute(_LAST_NOT_DONE, {**at, "done": kind.done_status}).first()
        from_at, from_id = (since.valid_at, since.id) if since is not None else (_BEFORE_ALL, 0)
        done_at = conn.execute(_FIRST_STATUS_AFTER, {**at, "from_at": from_at, "from_id": from_id}).scalar()
    prior = SiteState(
        status=status.to_status,
        level=level,
        reported_at=site.reported_at,
        done_at=done_at,
        last_valid_at=last.valid_at,
        version=version,
    )
    return prior, later


def _split(kind, entries: list[Entry], valid_at: datetime) -> tuple[SiteState, list[Entry]]:
    """The state after the stored events placed before a new event of this valid time, and the events after."""
    entries = sorted(entries, key=sort_key)
    cut = bisect_right([e.valid_at for e in entries], valid_at)  # stored ones of the same time come first
    state = SiteState()
    for entry in entries[:cut]:
        state = apply(kind, state, entry)
    return state, entries[cut:]


def _place(
    kind,
    dims: Dims,
    site,
    prior: SiteState,
    new: Entry,
    later: list[Entry],
    *,
    decided: bool,
    may_flag: bool = True,
) -> Effect:
    """Place `new` after the state `prior` and before the stored events `later` (none in the normal case).

    The rules are `fold.replay`'s, folded from `prior` rather than from nothing: the new event must follow
    its predecessor (unless `decided`); a stored change after it that it makes a repeat is a no-op, any
    other that no longer fits is refused. A change made before the site was closed that would not fit, or
    that would reopen it, is flagged instead (not applied). The roll-up changes by the new event's own step
    and by the difference the later events' steps make from the new state rather than the old one: work in
    the number of events after it, whatever the site's history before.
    """
    strict = not decided
    try:
        from_status = check(kind, prior, new) if strict else from_status_of(kind, prior, new)
        rollup: Counter = Counter()
        state = step(kind, dims, prior, new, rollup)
        for entry in later:
            if strict:
                try:
                    check(kind, state, entry)
                except TransitionError:
                    if not repeats(kind, state, entry):
                        raise
            state = step(kind, dims, state, entry, rollup)
        if later:
            old = prior
            for entry in later:
                old = step(kind, dims, old, entry, rollup, sign=-1)
        if may_flag and not decided and _reopens(kind, site, state, new.valid_at):
            return Effect("after_close", from_status_of(kind, prior, new), None, Counter())
    except RecoveryError:
        if not may_flag or not _closed_before(kind, site, new.valid_at):
            raise
        return Effect("after_close", from_status_of(kind, prior, new), None, Counter())
    return Effect(None, from_status, state, Counter({k: v for k, v in rollup.items() if v}))


def projection(kind, entries: list[Entry]) -> dict[str, Any]:
    """The site columns of `PROJECTED` after these events."""
    state, _ = replay(kind, entries, strict=False)
    return state.as_dict()


def _dims(site) -> Dims:
    return Dims(site.kind, site.subdistrict or "", site.segment)


def rollup_change(kind, dims: Dims, before: list[Entry], after: list[Entry]) -> Counter:
    """What the roll-up cells gain (or lose) when a site's events go from `before` to `after`."""
    delta = contributions(kind, dims, after)
    delta.subtract(contributions(kind, dims, before))
    return Counter({k: v for k, v in delta.items() if v})


def project_site(session: Session, site: Site, before: list[Entry], after: list[Entry]) -> None:
    """Update the site's projection (an ORM instance) and the roll-up to reflect `after` instead of `before`."""
    kind = get_kind(site.kind)
    for column, value in projection(kind, after).items():
        setattr(site, column, value)
    session.add(site)
    apply_rollup(session, rollup_change(kind, _dims(site), before, after))


def apply_rollup(session: Session, delta: Counter) -> None:
    """Add deltas to the roll-up cells (upsert; concurrent writers add, never overwrite)."""
    if not delta:
        return
    session.flush()  # the roll-up is written by Core on the session's connection, after what the ORM staged
    rows = [
        {
            "day": d,
            "kind": k,
            "subdistrict": s,
            "segment": g,
            "track": t,
            "status": st,
            "quantity": q,
            "delta": v,
        }
        for (d, k, s, g, t, st, q), v in sorted(delta.items())
    ]
    conn = session.connection()
    _rollup_upsert(upsert(conn)).execute_many(conn, rows)


_DEFERRED = "recovery.rollup_at_commit"


def defer_rollup(session: Session, delta: Counter) -> None:
    """Add deltas to the roll-up cells when the session's transaction commits, as its last statement.

    Every change of a day, kind and place adds to the same few cells, and on PostgreSQL an upsert holds their
    rows locked until the transaction ends: written last, they are held for the commit only, not while the
    rest of the transaction (an answer built and stored, say) runs. A rollback drops them with the rest."""
    if delta:
        session.info.setdefault(_DEFERRED, Counter()).update(delta)


@event.listens_for(Session, "before_commit")
def _apply_deferred(session: Session) -> None:
    delta = session.info.pop(_DEFERRED, None)
    if delta:
        apply_rollup(session, Counter({k: v for k, v in delta.items() if v}))


@event.listens_for(Session, "after_transaction_end")
def _drop_deferred(session: Session, transaction) -> None:
    if transaction.parent is None:
        session.info.pop(_DEFERRED, None)


@lru_cache(maxsize=2)
def _rollup_upsert(dialect_insert) -> Direct:
    stmt = dialect_insert(ROLLUP)
    return Direct(
        stmt.on_conflict_do_update(
            index_elements=["day", "kind", "subdistrict", "segment", "track", "status", "quantity"],
            set_={"delta": ROLLUP.c.delta + stmt.excluded.delta},
        )
    )


_CHECK_IN_THAT_DAY = (
    select(EVENT.c.id)
    .where(
        EVENT.c.site_id == bindparam("site_id"),
        EVENT.c.action == "check_in",
        EVENT.c.valid_at >= bindparam("start"),
        EVENT.c.valid_at < bindparam("end"),
    )
    .limit(1)
)


def _check_once_a_day(conn, site_id: int, valid_at: datetime) -> None:
    """Refuse a second check-in of a point on one day (the zone's day); reads that day's events only."""
    day = local_day(valid_at)
    start, end = start_of_day(day), start_of_day(day + timedelta(days=1))
    if conn.execute(_CHECK_IN_THAT_DAY, {"site_id": site_id, "start": start, "end": end}).first() is not None:
        raise ValidationError("This point already has its check-in for %(day)s.", day=day.isoformat())


# -- edits of descriptive fields ------------------------------------------------------------------------------

#: the site columns an `edit` event may change; its details hold {"changes": {column: {"old": …, "new": …}}}
#: with the geometry as full-precision WKT, so that `ledger rebuild` reproduces the site from the ledger alone
EDIT_COLUMNS = ("name", "address", "attributes", "geometry", "subdistrict", "segment")


def _edit_value(column: str, value: Any) -> Any:
    if column == "geometry":
        return shapely.to_wkt(value, rounding_precision=-1)
    return value


def _edited_after(session: Session, site_id: int, valid_at: datetime) -> set[str]:
    """The columns that the site's stored edits after this valid time set."""
    rows = session.execute(
        select(EVENT.c.details).where(
            EVENT.c.site_id == site_id,
            EVENT.c.action == "edit",
            EVENT.c.flag.is_(None),
            EVENT.c.valid_at > valid_at,
        )
    )
    return {column for (details,) in rows for column in (details or {}).get("changes", {})}


def edit_site_columns(values: dict[str, Any]) -> dict[str, Any]:
    """The Site column values that an edit's new values (as stored in its details) set."""
    columns = {c: v for c, v in values.items() if c != "geometry"}
    if "geometry" in values:
        geom = shapely.from_wkt(values["geometry"])
        minx, miny, maxx, maxy = (float(v) for v in geom.bounds)
        columns.update(geom=geom, minx=minx, miny=miny, maxx=maxx, maxy=maxy)
    return columns


def record_site_edit(
    session: Session,
    site_id: int,
    *,
    values: dict[str, Any],
    actor: str,
    valid_at: datetime,
    note: str = "",
    recorded_at: datetime | None = None,
    user_id: int | None = None,
) -> Recorded | None:
    """Append an `edit` event that changes a site's descriptive fields, and apply it (not committed).

    `values` maps columns of `EDIT_COLUMNS` to their new values (the geometry as a shapely geometry, already
    validated; the sub-district and segment derived by the caller). Only the columns that differ are recorded,
    with their old and new values; nothing is written when none differs (returns None). An edit changes no
    status; when it moves the site to another sub-district or segment, the site's whole roll-up contribution
    moves with it, as `ledger rebuild` would compute it.
    """
    unknown = set(values) - set(EDIT_COLUMNS)
    if unknown:
        raise ValueError(f"not an editable column: {sorted(unknown)}")

    def write(txn: Append) -> Recorded | None:
        site = txn.get(Site, site_id)
        if site is None:
            raise NotFoundError("Site %(site)s does not exist.", site=site_id)
        kind = get_kind(site.kind)
        who = clean_text(actor, "actor", 200, required=True)
        text = clean_text(note, "note", 2000)
        new_values = dict(values)
        if "name" in new_values:
            new_values["name"] = clean_text(new_values["name"], "name", 200, required=True)
        if "address" in new_values:
            new_values["address"] = clean_text(new_values["address"], "address", 300)
        current = {
            "name": site.name,
            "address": site.address,
            "attributes": site.attributes or {},
            "geometry": site.geom,
            "subdistrict": site.subdistrict,
            "segment": site.segment,
        }
        changes = {}
        for column, new in new_values.items():
            old = current[column]
            same = old.equals_exact(new, 0.0) if column == "geometry" else old == new
            if not same:
                changes[column] = {"old": _edit_value(column, old), "new": _edit_value(column, new)}
        if not changes:
            return None
        recorded = txn.stamp(valid_at, recorded_at)
        details = {"changes": changes}
        txn.claim(
            body_hash(
                {
                    "action": "edit",
                    "site": site.key,
                    "details": details,
                    "note": text,
                    "actor": who,
                    "valid_at": valid_at.isoformat(),
                }
            )
        )
        candidate = Entry(NEW_ID, "edit", None, None, None, {}, valid_at)
        old_dims = _dims(site)
        in_order = site.last_valid_at is None or valid_at >= site.last_valid_at
        # a late edit sets only the columns no later edit sets (the latest in valid time wins, as in a rebuild)
        later_edits = set() if in_order else _edited_after(session, site.id, valid_at)
        applied = {c: v["new"] for c, v in changes.items() if c not in later_edits}
        new_dims = Dims(
            site.kind,
            applied.get("subdistrict", site.subdistrict) or "",
            applied.get("segment", site.segment),
        )
        before = entries_for(session, site.id) if new_dims != old_dims or not in_order else []
        prior, later = (state_of(site), []) if in_order else _split(kind, before, valid_at)
        effect = _place(kind, new_dims, site, prior, candidate, later, decided=False, may_flag=False)
        event = Event(
            body_hash=txn.digest,
            action="edit",
            site_id=site.id,
            actor=who,
            from_status=effect.from_status,
            measures={},
            note=text,
            valid_at=valid_at,
            recorded_at=recorded,
            user_id=user_id,
            details=details,
        )
        session.add(event)
        session.flush()
        for column, value in edit_site_columns(applied).items():
            setattr(site, column, value)
        if new_dims != old_dims:  # the site's whole contribution moves to its new cells
            moved = contributions(kind, new_dims, before)
            moved.subtract(contributions(kind, old_dims, before))
            moved.update(effect.rollup)
            rollup = Counter({k: v for k, v in moved.items() if v})
        else:
            rollup = effect.rollup
        for column, value in effect.state.as_dict().items():
            setattr(site, column, value)
        session.add(site)
        apply_rollup(session, rollup)
        return Recorded(event, created=True)

    return append(session, write)
