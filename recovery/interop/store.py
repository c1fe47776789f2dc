"""Storing an import's new sites: one transaction of Core inserts (sites, their events, the roll-up).

The rows arrive checked by the plan, so nothing is parsed or validated again here. Every new site of an import
starts at the same valid time, so its events, its projection and its roll-up contribution depend only on its
kind and the statuses the file gives: the ledger's fold runs once per distinct life cycle, not once per site,
and the roll-up is that contribution times the number of sites in each sub-district and segment.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import datetime
from itertools import islice
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from sqlalchemy.orm import Session

from recovery.db.dialect import fresh_ids, insert_many, sqlite_cache
from recovery.db.engine import begin_write
from recovery.geodata import Geodata
from recovery.interop.validate import Row
from recovery.kinds import MEASURES, SiteKind
from recovery.ledger import fold
from recovery.ledger.record import apply_rollup, event_digest
from recovery.models import Event, EventMeasure, Site
from recovery.sites import SiteDraft, derive

CHUNK = 5000
#: SQLite's page cache during an import (KiB, as a negative cache_size): the default 2 MB makes every
#: insert into the site's R-tree and indexes a page read once the tables outgrow it
SQLITE_CACHE_KIB = 131072

Progress = Callable[[int], None]
#: one event of a new site's life cycle: (action, track, to_status, measures as sorted items: hashable)
Step = tuple[str, str | None, str, tuple]


def transitions(row: Row, status: str | None, track_status: dict, capacity: float | None) -> list[tuple]:
    """The (track, status, measures) events that bring a site from what it is to what the row says."""
    kind = row.kind
    if kind.tracks:
        return [(t, s, {}) for t, s in sorted(row.tracks.items()) if track_status.get(t) != s]
    if row.status is None:
        return []
    measures = {"capacity_pct": row.capacity_pct} if row.status == "partly_restarted" else {}
    same_level = row.status != "partly_restarted" or (
        capacity is not None and abs(capacity - row.capacity_pct) < 1e-6
    )
    if row.status == status and same_level:
        return []
    return [(None, row.status, measures)]


def new_site_steps(row: Row) -> tuple[Step, ...]:
    """The events that report a new site and bring it to the status the row gives."""
    kind = row.kind
    steps: list[Step] = [("report", None, kind.initial_status, ())]
    for track, status, measures in transitions(row, kind.initial_status, {}, None):
        if status != kind.initial_status or track:
            steps.append(("transition", track, status, tuple(sorted(measures.items()))))
    return tuple(steps)


class _LifeCycle:
    """The fold of one distinct sequence of steps: the projection, each event's from-status and level."""

    def __init__(self, kind: SiteKind, steps: tuple[Step, ...], valid_at: datetime) -> None:
        self.kind = kind
        self.levels = [
            kind.capacity_for(status, dict(measures))
            if action in ("report", "transition") and kind.status_capacity
            else None
            for action, _track, status, measures in steps
        ]
        self.entries = [
            fold.Entry(
                i,
                action,
                track,
                status,
                level,
                {k: v for k, v in measures if MEASURES[k].flow},
                valid_at,
            )
            for i, ((action, track, status, measures), level) in enumerate(
                zip(steps, self.levels, strict=True)
            )
        ]
        state, self.from_statuses = fold.replay(kind, self.entries)
        self.projection = state.as_dict()


def _spatial_order(rows: list[Row]) -> list[Row]:
    """The rows along a Hilbert curve: neighbours are inserted together, so the spatial index stays warm."""
    if len(rows) < 2:
        return rows
    distances = gpd.GeoSeries(
        shapely.point_on_surface(np.array([r.geom for r in rows], dtype=object))
    ).hilbert_distance()
    return [rows[i] for i in np.argsort(distances.to_numpy(), kind="stable")]


def store_new_sites(
    session: Session,
    geodata: Geodata,
    rows: list[Row],
    *,
    actor: str,
    note: str,
    valid_at: datetime,
    recorded_at: datetime,
    progress: Progress | None = None,
) -> int:
    """Insert the sites of `rows` with their events and roll-up, in the session's transaction (not committed).

    Returns the number of events written."""
    tick = progress or (lambda n: None)
    if not rows:
        return 0
    begin_write(session)
    rows = _spatial_order(rows)
    cycles: dict[tuple, _LifeCycle] = {}
    steps_of = []
    for row in rows:
        signature = (row.kind.key, new_site_steps(row))
        if signature not in cycles:
            cycles[signature] = _LifeCycle(row.kind, signature[1], valid_at)
        steps_of.append(signature)
    n_events = sum(len(signature[1]) for signature in steps_of)
    with sqlite_cache(session, SQLITE_CACHE_KIB):
        site_ids = fresh_ids(session, Site, len(rows))
        event_ids = iter(fresh_ids(session, Event, n_events))
        population: Counter = Counter()
        for start in range(0, len(rows), CHUNK):
            chunk = list(islice(zip(rows, steps_of, site_ids, strict=True), start, start + CHUNK))
            drafts = [_draft(row) for row, _s, _i in chunk]
            derive(drafts, geodata)
            site_rows, event_rows, measure_rows = [], [], []
            for (row, signature, site_id), draft in zip(chunk, drafts, strict=True):
                cycle = cycles[signature]
                site_rows.append(draft.row() | {"id": site_id, "team_id": None} | cycle.projection)
                population[(signature, draft.subdistrict or "", draft.segment)] += 1
                for step, level, from_status in zip(
                    signature[1], cycle.levels, cycle.from_statuses, strict=True
                ):
                    event_id = next(event_ids)
                    event_rows.append(
                        _event(
                            step,
                            level,
                            from_status,
                            event_id,
                            site_id,
                            row.key,
                            actor,
                            note,
                            valid_at,
                            recorded_at,
                        )
                    )
                    for key, value in step[3]:
                        if MEASURES[key].flow:
                            measure_rows.append(
                                {
                                    "event_id": event_id,
                                    "key": key,
                                    "site_id": site_id,
                                    "value": value,
                                    "valid_at": valid_at,
                                    "recorded_at": recorded_at,
                                }
                            )
            insert_many(session, Site.__table__, site_rows)
            insert_many(session, Event.__table__, event_rows)
            insert_many(session, EventMeasure.__table__, measure_rows)
            tick(2 * len(chunk))
        rollup: Counter = Counter()
        for (signature, subdistrict, segment), count in population.items():
            cycle = cycles[signature]
            dims = fold.Dims(cycle.kind.key, subdistrict, segment)
            for cell, value in fold.contributions(cycle.kind, dims, cycle.entries).items():
                rollup[cell] += value * count
        apply_rollup(session, Counter({k: v for k, v in rollup.items() if v}))
    return n_events


def _draft(row: Row) -> SiteDraft:
    return SiteDraft(
        kind=row.kind,
        name=row.name,
        address=row.address,
        geom=row.geom,
        attributes=dict(row.attributes),
        priority=row.priority,
        deadline=row.deadline,
        key=row.key,
    )


def _event(
    step: Step,
    level: float | None,
    from_status: str | None,
    event_id: int,
    site_id: int,
    site_key: str,
    actor: str,
    note: str,
    valid_at: datetime,
    recorded_at: datetime,
) -> dict[str, Any]:
    action, track, to_status, items = step
    measures = dict(items)
    return {
        "id": event_id,
        "client_id": None,
        "body_hash": event_digest(action, site_key, track, to_status, measures, note, actor, valid_at),
        "action": action,
        "site_id": site_id,
        "work_item_id": None,
        "actor": actor,
        "track": track,
        "from_status": from_status,
        "to_status": to_status,
        "level": level,
        "measures": measures,
        "note": note,
        "valid_at": valid_at,
        "recorded_at": recorded_at,
        "position_lon": None,
        "position_lat": None,
        "details": {},
        "user_id": None,
        "flag": None,
    }
