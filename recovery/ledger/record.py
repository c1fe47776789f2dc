"""The write path: append one event, and in the same transaction update the site's projection and the roll-up."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import shapely
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from recovery.db.engine import begin_write
from recovery.errors import (
    IdempotencyError,
    NotFoundError,
    PreconditionFailed,
    RecoveryError,
    ValidationError,
)
from recovery.kinds import MEASURES, clean_measures, get_kind
from recovery.ledger.fold import Dims, Entry, contributions, replay
from recovery.models import Event, EventMeasure, RollupDelta, Site
from recovery.text import clean_text
from recovery.timeutil import ZONE, local_day, now

SITE_ACTIONS = ("report", "transition", "reopen", "check_in", "assign", "note")
STATUS_CHANGES = ("transition", "reopen")
#: how far ahead of the server clock a valid time may be (phones' clocks drift)
CLOCK_SKEW = timedelta(minutes=10)


@dataclass(frozen=True)
class Recorded:
    """The outcome of a write: the event, and whether it was new (False for an idempotent replay)."""

    event: Event
    created: bool
    #: why the event was stored but not applied (None when it was applied)
    flagged: str | None = None
    #: the site's projection as the write left it, read and written under the write lock (None for a replay):
    #: a caller holding a `Site` loaded earlier brings it up to date with `sync_site`
    site_state: dict[str, Any] | None = None


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
_SITE_ROW_LOCKED = _SITE_ROW.with_for_update()

# built once: parameters are passed apart, so each statement is compiled once and cached
_INSERT_EVENT = insert(EVENT)
_INSERT_MEASURE = insert(EVENT_MEASURE)
_UPDATE_PROJECTION = (
    update(SITE).where(SITE.c.id == bindparam("site")).values({c: bindparam(c) for c in PROJECTED})
)


def sync_site(site: Site, state: dict[str, Any] | None) -> None:
    """Bring a `Site` instance to the projection a write stored, without marking it changed."""
    for column, value in (state or {}).items():
        set_committed_value(site, column, value)


def body_hash(body: dict[str, Any]) -> str:
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


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


#: the longest client event id the ledger stores; a longer one is refused, never cut (two ids that differ
#: only past the cut would be taken for one event)
CLIENT_ID_MAX = EVENT.c.client_id.type.length


def check_client_id(client_id: str | None) -> None:
    if client_id is not None and not (isinstance(client_id, str) and 0 < len(client_id) <= CLIENT_ID_MAX):
        raise ValidationError("A client event id is 1 to %(limit)s characters.", limit=CLIENT_ID_MAX)


def find_replay(session: Session, client_id: str | None, digest: str) -> Event | None:
    """The event stored earlier under `client_id`, if the body matches; a different body is refused."""
    check_client_id(client_id)
    if not client_id:
        return None
    found = session.connection().execute(_BY_CLIENT_ID, {"client_id": client_id}).first()
    if found is None:
        return None
    if found.body_hash != digest:
        raise IdempotencyError(
            "Client event id %(client_id)s was already used for a different change.", client_id=client_id
        )
    return session.get(Event, found.id)


_BY_CLIENT_ID = select(EVENT.c.id, EVENT.c.body_hash).where(EVENT.c.client_id == bindparam("client_id"))
_ENTRIES = select(
    EVENT.c.id,
    EVENT.c.action,
    EVENT.c.track,
    EVENT.c.to_status,
    EVENT.c.level,
    EVENT.c.measures,
    EVENT.c.valid_at,
).where(EVENT.c.flag.is_(None), EVENT.c.site_id == bindparam("site_id"))


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
    commit: bool = True,
    client_id_unused: bool = False,
) -> Recorded:
    """Append a site event after checking it against the site's life cycle at its valid time.

    A repeated `client_id` with the same body returns the stored event and writes nothing; with another
    body it raises IdempotencyError. `client_id_unused` says the caller has already found, under the same
    write lock, that no event carries `client_id` (the API's idempotency record, kept in the same
    transaction as the event, answers for it): the lookup is skipped, and the unique index still guards.
    `expected_version` (the client's If-Match) is compared under the write lock: a stale one raises
    PreconditionFailed. A change made before the site was closed that arrives after,
    and that would not fit its history or would reopen it, is stored flagged and not applied: a commander
    decides. Nothing is written unless every check passes.
    """
    if action not in SITE_ACTIONS or action == "report":
        raise ValidationError("Unknown action %(action)s.", action=action)
    check_client_id(client_id)
    begin_write(session)
    digest = ""
    try:
        session.flush()  # what the caller staged through the ORM is written before the Core statements below
        conn = session.connection()
        query = _SITE_ROW_LOCKED if conn.dialect.name == "postgresql" else _SITE_ROW
        site = conn.execute(query, {"site_id": site_id}).first()
        if site is None:
            raise NotFoundError("Site %(site)s does not exist.", site=site_id)
        kind = get_kind(site.kind)
        measures = clean_measures(kind, measures)
        actor = clean_text(actor, "actor", 200, required=True)
        note = clean_text(note, "note", 2000)
        details = dict(details or {})
        if position is not None:
            details["position"] = position
        digest = event_digest(action, site.key, track, to_status, measures, note, actor, valid_at, details)
        replayed = None if client_id_unused else find_replay(session, client_id, digest)
        if replayed is not None:
            session.rollback()
            return Recorded(replayed, created=False, flagged=replayed.flag)
        if expected_version is not None and site.version != expected_version:
            raise PreconditionFailed(
                "The site has changed since you loaded it (your version %(yours)s, now %(now)s).",
                yours=expected_version,
                now=site.version,
            )
        recorded_at = recorded_at or now()
        if valid_at > recorded_at + CLOCK_SKEW:
            raise ValidationError(
                "The time it happened (%(valid_at)s) is in the future.", valid_at=_zone(valid_at)
            )
        level = kind.capacity_for(to_status, measures) if action in STATUS_CHANGES and to_status else None
        if action == "check_in":
            _check_once_a_day(session, site, valid_at)
        before = entries_for(session, site.id)
        candidate = Entry(2**62, action, track, to_status, level, flow_measures(measures), valid_at)
        flag = None
        try:
            state, from_statuses = replay(kind, [*before, candidate])
            if _reopens(kind, site, state, valid_at):
                flag = "after_close"
        except RecoveryError:
            if not _closed_before(kind, site, valid_at):
                raise
            flag = "after_close"
            state, from_statuses = replay(kind, [*before, candidate], strict=False)
        ordered = sorted([*before, candidate], key=lambda e: (e.valid_at, e.id))
        values = {
            "client_id": client_id,
            "body_hash": digest,
            "action": action,
            "site_id": site.id,
            "work_item_id": None,
            "actor": actor,
            "track": track,
            "from_status": from_statuses[ordered.index(candidate)],
            "to_status": to_status,
            "level": level,
            "measures": measures,
            "note": note,
            "valid_at": valid_at,
            "recorded_at": recorded_at,
            "position_lon": position["lon"] if position else None,
            "position_lat": position["lat"] if position else None,
            "details": details,
            "user_id": user_id,
            "flag": flag,
        }
        # Core statements on the session's connection: one round trip each, no unit of work
        event_id = conn.execute(_INSERT_EVENT, values).inserted_primary_key[0]
        site_state = {column: getattr(site, column) for column in PROJECTED}
        if flag is None:
            flows = flow_measures(measures)
            if flows:
                conn.execute(
                    _INSERT_MEASURE,
                    [
                        {
                            "event_id": event_id,
                            "key": key,
                            "site_id": site.id,
                            "value": value,
                            "valid_at": valid_at,
                            "recorded_at": recorded_at,
                        }
                        for key, value in flows.items()
                    ],
                )
            after = [*before, candidate._replace(id=event_id)]
            site_state = projection(kind, after)
            conn.execute(_UPDATE_PROJECTION, {"site": site.id, **site_state})
            apply_rollup(session, rollup_change(kind, _dims(site), before, after))
            held = session.identity_map.get(session.identity_key(Site, (site.id,)))
            if held is not None:
                sync_site(held, site_state)
        if commit:
            session.commit()
        return Recorded(Event(id=event_id, **values), created=True, flagged=flag, site_state=site_state)
    except IntegrityError:
        # a concurrent writer stored the same client id first: answer as a replay of theirs
        session.rollback()
        replayed = find_replay(session, client_id, digest) if client_id else None
        if replayed is None:
            raise
        return Recorded(replayed, created=False, flagged=replayed.flag)
    except Exception:
        session.rollback()
        raise


def _closed_before(kind, site: Site, valid_at: datetime) -> bool:
    """The site is done now, and the change happened before it was closed (an offline edit synced late)."""
    return site.status == kind.done_status and site.done_at is not None and valid_at <= site.done_at


def _reopens(kind, site: Site, state, valid_at: datetime) -> bool:
    return _closed_before(kind, site, valid_at) and state.status != kind.done_status


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
    conn.execute(_ROLLUP_UPSERT[conn.dialect.name], rows)


def _rollup_upsert(upsert):
    stmt = upsert(ROLLUP)
    return stmt.on_conflict_do_update(
        index_elements=["day", "kind", "subdistrict", "segment", "track", "status", "quantity"],
        set_={"delta": ROLLUP.c.delta + stmt.excluded.delta},
    )


_ROLLUP_UPSERT = {"sqlite": _rollup_upsert(sqlite.insert), "postgresql": _rollup_upsert(postgresql.insert)}


def _check_once_a_day(session: Session, site: Site, valid_at: datetime) -> None:
    day = local_day(valid_at)
    rows = session.scalars(
        select(Event.valid_at).where(Event.site_id == site.id, Event.action == "check_in")
    ).all()
    if any(local_day(v) == day for v in rows):
        raise ValidationError("This point already has its check-in for %(day)s.", day=day.isoformat())


def _zone(moment: datetime) -> str:
    return moment.astimezone(ZONE).strftime("%Y-%m-%d %H:%M")


# -- edits of descriptive fields ------------------------------------------------------------------------------

#: the site columns an `edit` event may change; its details hold {"changes": {column: {"old": …, "new": …}}}
#: with the geometry as full-precision WKT, so that `ledger rebuild` reproduces the site from the ledger alone
EDIT_COLUMNS = ("name", "address", "attributes", "geometry", "subdistrict", "segment")


def _edit_value(column: str, value: Any) -> Any:
    if column == "geometry":
        return shapely.to_wkt(value, rounding_precision=-1)
    return value


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
    commit: bool = True,
) -> Recorded | None:
    """Append an `edit` event that changes a site's descriptive fields, and apply it in the same transaction.

    `values` maps columns of `EDIT_COLUMNS` to their new values (the geometry as a shapely geometry, already
    validated; the sub-district and segment derived by the caller). Only the columns that differ are recorded,
    with their old and new values; nothing is written when none differs (returns None). An edit changes no
    status; when it moves the site to another sub-district or segment, the site's whole roll-up contribution
    moves with it, as `ledger rebuild` would compute it.
    """
    unknown = set(values) - set(EDIT_COLUMNS)
    if unknown:
        raise ValueError(f"not an editable column: {sorted(unknown)}")
    begin_write(session)
    try:
        site = session.get(Site, site_id, with_for_update=session.bind.dialect.name == "postgresql")
        if site is None:
            raise NotFoundError("Site %(site)s does not exist.", site=site_id)
        kind = get_kind(site.kind)
        actor = clean_text(actor, "actor", 200, required=True)
        note = clean_text(note, "note", 2000)
        if "name" in values:
            values = {**values, "name": clean_text(values["name"], "name", 200, required=True)}
        if "address" in values:
            values = {**values, "address": clean_text(values["address"], "address", 300)}
        current = {
            "name": site.name,
            "address": site.address,
            "attributes": site.attributes or {},
            "geometry": site.geom,
            "subdistrict": site.subdistrict,
            "segment": site.segment,
        }
        changes = {}
        for column, new in values.items():
            old = current[column]
            same = old.equals_exact(new, 0.0) if column == "geometry" else old == new
            if not same:
                changes[column] = {"old": _edit_value(column, old), "new": _edit_value(column, new)}
        if not changes:
            if commit:
                session.commit()
            return None
        recorded_at = recorded_at or now()
        if valid_at > recorded_at + CLOCK_SKEW:
            raise ValidationError(
                "The time it happened (%(valid_at)s) is in the future.", valid_at=_zone(valid_at)
            )
        details = {"changes": changes}
        digest = body_hash(
            {
                "action": "edit",
                "site": site.key,
                "details": details,
                "note": note,
                "actor": actor,
                "valid_at": valid_at.isoformat(),
            }
        )
        before = entries_for(session, site.id)
        candidate = Entry(2**62, "edit", None, None, None, {}, valid_at)
        _state, from_statuses = replay(kind, [*before, candidate])
        ordered = sorted([*before, candidate], key=lambda e: (e.valid_at, e.id))
        event = Event(
            body_hash=digest,
            action="edit",
            site_id=site.id,
            actor=actor,
            from_status=from_statuses[ordered.index(candidate)],
            measures={},
            note=note,
            valid_at=valid_at,
            recorded_at=recorded_at,
            user_id=user_id,
            details=details,
        )
        session.add(event)
        session.flush()
        old_dims = Dims(site.kind, site.subdistrict or "", site.segment)
        for column, value in edit_site_columns({c: v["new"] for c, v in changes.items()}).items():
            setattr(site, column, value)
        new_dims = Dims(site.kind, site.subdistrict or "", site.segment)
        if new_dims != old_dims:
            moved = contributions(kind, new_dims, before)
            moved.subtract(contributions(kind, old_dims, before))
            apply_rollup(session, Counter({k: v for k, v in moved.items() if v}))
        project_site(session, site, before, [*before, candidate._replace(id=event.id)])
        if commit:
            session.commit()
        return Recorded(event, created=True)
    except Exception:
        session.rollback()
        raise
