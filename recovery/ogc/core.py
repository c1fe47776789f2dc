"""OGC API – Features, Part 1 (Core), without Flask: each function takes a session, the service's base URL and
plain parameters, and returns the JSON document. The Flask adapter in views.py adds HTML and access rules."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from shapely.geometry import mapping
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from recovery.errors import NotFoundError
from recovery.i18n import N_, in_locale, locale_for
from recovery.incident import current_incident
from recovery.interop.export import fields_for, values
from recovery.kinds import KIND, KINDS, get_kind
from recovery.models import Site
from recovery.query.sites import SiteQuery
from recovery.query.sql import SiteRecord, select_sites
from recovery.timeutil import now, zone_iso

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
GREGORIAN = "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
]
DEFAULT_LIMIT = 100
MAX_LIMIT = 10_000
GEOJSON = "application/geo+json"
JSON = "application/json"
HTML = "text/html"


def _link(href: str, rel: str, type_: str, title: str | None = None) -> dict[str, str]:
    link = {"href": href, "rel": rel, "type": type_}
    if title:
        link["title"] = title
    return link


def landing(base: str, zh: bool) -> dict[str, Any]:
    """The landing page: titled by the incident in force (the 7·20 flood by default)."""
    locale, incident = locale_for(zh), current_incident()
    return {
        "title": in_locale(N_("%(incident)s: recovery sites"), locale)
        % {"incident": incident.name.get(locale)},
        "description": in_locale(
            N_("%(zone)s recovery sites, one collection per kind; any past state"), locale
        )
        % {"zone": incident.zone.get(locale)},
        "links": [
            _link(f"{base}?f=json", "self", JSON, "this document"),
            _link(f"{base}?f=html", "alternate", HTML, "this document as HTML"),
            _link(
                f"{base}/api",
                "service-desc",
                "application/vnd.oai.openapi+json;version=3.0",
                "the API definition",
            ),
            _link(f"{base}/api?f=html", "service-doc", HTML, "the API documentation"),
            _link(f"{base}/conformance", "conformance", JSON, "conformance classes"),
            _link(f"{base}/collections", "data", JSON, "the collections"),
        ],
    }


def conformance() -> dict[str, Any]:
    return {"conformsTo": CONFORMANCE}


def _extents(session: Session) -> dict[str, tuple]:
    rows = session.execute(
        select(
            Site.kind,
            func.min(Site.minx),
            func.min(Site.miny),
            func.max(Site.maxx),
            func.max(Site.maxy),
            func.min(Site.reported_at),
            func.max(Site.last_valid_at),
        ).group_by(Site.kind)
    ).all()
    return {row[0]: row[1:] for row in rows}


def collection(base: str, kind_key: str, extent: tuple | None, zh: bool) -> dict[str, Any]:
    kind = get_kind(kind_key)
    href = f"{base}/collections/{kind.key}"
    doc: dict[str, Any] = {
        "id": kind.key,
        "title": KIND.label(kind.key, locale_for(zh)),
        "description": f"{kind.zh} · {kind.en}: " + " → ".join(f"{s.zh} {s.key}" for s in kind.statuses),
        "itemType": "feature",
        "crs": [CRS84],
        "links": [
            _link(href, "self", JSON, "this collection"),
            _link(f"{href}?f=html", "alternate", HTML, "this collection as HTML"),
            _link(f"{href}/items", "items", GEOJSON, "the sites"),
            _link(f"{href}/items?f=html", "items", HTML, "the sites as HTML"),
        ],
    }
    if extent and extent[0] is not None:
        minx, miny, maxx, maxy, first, last = extent
        doc["extent"] = {
            "spatial": {"bbox": [[minx, miny, maxx, maxy]], "crs": CRS84},
            "temporal": {"interval": [[zone_iso(first), zone_iso(last)]], "trs": GREGORIAN},
        }
    return doc


def collections(session: Session, base: str, zh: bool) -> dict[str, Any]:
    extents = _extents(session)
    return {
        "links": [
            _link(f"{base}/collections", "self", JSON),
            _link(f"{base}/collections?f=html", "alternate", HTML),
        ],
        "collections": [collection(base, key, extents.get(key), zh) for key in KINDS],
    }


def one_collection(session: Session, base: str, kind_key: str, zh: bool) -> dict[str, Any]:
    if kind_key not in KINDS:
        raise NotFoundError("Unknown collection %(collection)s.", collection=kind_key[:40])
    return collection(base, kind_key, _extents(session).get(kind_key), zh)


def feature(record: SiteRecord, base: str, fields) -> dict[str, Any]:
    properties = {k: v for k, v in values(record, fields).items() if v is not None and k != "key"}
    href = f"{base}/collections/{record.kind}/items/{record.key}"
    return {
        "type": "Feature",
        "id": record.key,
        "geometry": mapping(record.geom),
        "properties": {"key": record.key, **properties},
        "links": [
            _link(href, "self", GEOJSON),
            _link(f"{base}/collections/{record.kind}", "collection", JSON),
        ],
    }


def items(
    session: Session,
    base: str,
    kind_key: str,
    site_query: SiteQuery,
    query: dict[str, str],
) -> dict[str, Any]:
    """One page of a collection's features, with numberMatched/numberReturned and next/prev links."""
    if kind_key not in KINDS:
        raise NotFoundError("Unknown collection %(collection)s.", collection=kind_key[:40])
    records, matched = select_sites(session, site_query, count=True)
    limit, offset = site_query.limit or DEFAULT_LIMIT, site_query.offset
    fields = fields_for([KINDS[kind_key]])
    href = f"{base}/collections/{kind_key}/items"

    def page(new_offset: int, fmt: str | None = None) -> str:
        args = {k: v for k, v in query.items() if k not in ("offset", "f")}
        args["limit"] = str(limit)
        args["offset"] = str(new_offset)
        if fmt:
            args["f"] = fmt
        return f"{href}?{urlencode(args)}"

    links = [_link(page(offset, "json"), "self", GEOJSON), _link(page(offset, "html"), "alternate", HTML)]
    if offset + len(records) < (matched or 0):
        links.append(_link(page(offset + limit, "json"), "next", GEOJSON, "next page"))
    if offset > 0:
        links.append(_link(page(max(0, offset - limit), "json"), "prev", GEOJSON, "previous page"))
    return {
        "type": "FeatureCollection",
        "features": [feature(r, base, fields) for r in records],
        "numberMatched": matched,
        "numberReturned": len(records),
        "timeStamp": now().isoformat().replace("+00:00", "Z"),
        "links": links,
    }


def item(session: Session, base: str, kind_key: str, key: str, as_of: datetime | None) -> dict[str, Any]:
    if kind_key not in KINDS:
        raise NotFoundError("Unknown collection %(collection)s.", collection=kind_key[:40])
    records, _ = select_sites(session, SiteQuery(kinds=(kind_key,), as_of=as_of, keys=(key,)))
    if not records:
        raise NotFoundError("Site %(site)s does not exist.", site=key[:40])
    return feature(records[0], base, fields_for([KINDS[kind_key]]))
