"""The site list of the field API read as plain rows for a writer that makes GeoJSON text without an object per
site: the columns a feature shows, the JSON documents as their stored text, the geometries decoded in one
vectorised call; one page or every matching site (`limit` None). And the state of the sites that the list's
ETag is made from, read without reading the sites."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, NamedTuple

import numpy as np
import shapely
from sqlalchemy import LargeBinary, String, Text, case, cast, func, select, type_coerce
from sqlalchemy.orm import Session

from recovery.db.types import UTCDateTime
from recovery.models import Event, Site
from recovery.query.sites import SiteQuery
from recovery.query.sql import Scope, conditions, list_sites


class FeatureRow(NamedTuple):
    """What a feature of the list shows of a site, with `attributes` and `track_status` as JSON text."""

    id: int
    key: str
    kind: str
    name: str
    address: str | None
    status: str
    track_status_json: str | None
    subdistrict: str | None
    priority: int
    attributes_json: str | None
    deadline: datetime | str | None
    version: int
    team_id: int | None
    last_valid_at: datetime | str | None
    capacity_pct: float | None
    #: the geometry as stored (None where the geometry is given already)
    raw_geometry: bytes | str | None = None


#: the columns of FeatureRow, in its order: the JSON documents cast to text in the database (no parse, no dump),
#: the instants as the driver gives them (SQLite: text; `instant` reads them when they are needed)
ROW_COLUMNS = (
    Site.id,
    Site.key,
    Site.kind,
    Site.name,
    Site.address,
    Site.status,
    cast(Site.track_status, Text),
    Site.subdistrict,
    Site.priority,
    cast(Site.attributes, Text),
    type_coerce(Site.deadline, String),
    Site.version,
    Site.team_id,
    type_coerce(Site.last_valid_at, String),
    Site.capacity_pct,
)
_UTC = UTCDateTime()
#: the geometry as stored, undecoded: WKB bytes (SQLite) or hex EWKB text (PostGIS), decoded for all rows at once
RAW_GEOMETRY = type_coerce(Site.__table__.c.geom, LargeBinary)


@dataclass(frozen=True)
class SiteRows:
    """A list's sites: rows (FeatureRow's fields, in its order), their geometries (shapely, one per row), how
    many match in all, and each row's distance in metres from `near` (None when not asked)."""

    rows: list[Any]
    geometries: np.ndarray
    matched: int
    distances: list[float | None] | None = None


def site_rows(session: Session, q: SiteQuery, scope: Scope | None, urgency) -> SiteRows:
    """The sites of `q` as the API lists them: by id, or for `mine` and `near` most urgent first then nearest
    (the order of `recovery.query.sql.list_sites`, whose rule this takes). `q.limit` None: every matching site
    from `q.offset` on."""
    if q.mine or q.near:
        return _ordered(session, q, scope, urgency)
    where = conditions(session, q, scope)
    stmt = select(*ROW_COLUMNS, RAW_GEOMETRY).where(*where).order_by(Site.id).offset(q.offset)
    if q.limit is not None:
        stmt = stmt.limit(q.limit)
    rows = session.connection().execute(stmt).all()  # FeatureRow's fields
    if q.limit is None and (rows or not q.offset):
        matched = q.offset + len(rows)
    else:
        matched = session.scalar(select(func.count()).select_from(Site).where(*where))
    return SiteRows(rows, decode_geometries([r[-1] for r in rows]), matched)


def instant(raw: datetime | str | None) -> datetime | None:
    """An instant of a FeatureRow as the site table's column type gives it (SQLite's text is parsed here, in
    C, rather than for every row as it is fetched)."""
    if isinstance(raw, str):
        raw = datetime.fromisoformat(raw)
    return _UTC.process_result_value(raw, None)


def decode_geometries(raw: list[bytes | str]) -> np.ndarray:
    """Stored geometries, decoded in one call (hex text is turned into bytes first: GEOS reads hex slowly)."""
    return shapely.from_wkb(
        np.array([bytes.fromhex(g) if isinstance(g, str) else g for g in raw], dtype=object)
    )


def _ordered(session: Session, q: SiteQuery, scope: Scope | None, urgency) -> SiteRows:
    # the urgency order needs each matching site in Python anyway: the list's own rule reads them
    everything = replace(q, limit=sys.maxsize) if q.limit is None else q
    sites, matched, distances = list_sites(session, everything, scope, urgency)
    rows = [
        FeatureRow(
            s.id,
            s.key,
            s.kind,
            s.name,
            s.address,
            s.status,
            _json_text(s.track_status),
            s.subdistrict,
            s.priority,
            _json_text(s.attributes),
            s.deadline,
            s.version,
            s.team_id,
            s.last_valid_at,
            s.capacity_pct,
        )
        for s in sites
    ]
    geometries = np.array([s.geom for s in sites], dtype=object)
    return SiteRows(rows, geometries, matched, [distances.get(s.id) for s in sites] if q.near else None)


def _json_text(document: dict | None) -> str:
    return json.dumps(document or {}, ensure_ascii=False)


def sites_state(session: Session, at: datetime) -> tuple[int, int, int, int]:
    """What the site list's answers depend on besides the request, read in two cheap statements: the ledger's
    last event, and over the site table its rows, the sum of their versions (every event a site gets adds one,
    whatever order concurrent writers commit in) and how many deadlines have passed at `at` (a site turns
    overdue with no event)."""
    last_event = session.scalar(select(func.max(Event.id))) or 0
    count, versions, passed = session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(Site.version), 0),
            func.coalesce(func.sum(case((Site.deadline < at, 1), else_=0)), 0),
        ).select_from(Site)
    ).one()
    return int(last_event), int(count), int(versions), int(passed)
