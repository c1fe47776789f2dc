"""Sites as GeoJSON features, with labels in the caller's language and what the caller may do next."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shapely.geometry import mapping

from recovery.geodata import SUBDISTRICT_ORDER
from recovery.i18n import locale_for, pick
from recovery.kinds import MEASURES, ROAD_CLASS, get_kind
from recovery.models import Event, Site
from recovery.timeutil import deadline_text, now, zone_iso
from recovery.vocab import SUBDISTRICT, label

#: key → (Chinese, English) label of each sub-district, read from the vocabulary
SUBDISTRICT_LABELS = {t.key: (t.zh, t.en) for t in SUBDISTRICT.terms}
#: 先主后次: main roads first, in the road-class vocabulary's order
ROAD_CLASS_RANK = {key: rank for rank, key in enumerate(ROAD_CLASS)}


def subdistrict_label(key: str | None, zh: bool) -> str | None:
    if key not in SUBDISTRICT:
        return None
    return SUBDISTRICT.label(key, locale_for(zh))


def is_overdue(site: Site, at: datetime | None = None) -> bool:
    kind = get_kind(site.kind)
    return site.deadline is not None and site.status != kind.done_status and (at or now()) > site.deadline


def urgency_key(site: Site, distance_m: float | None = None) -> tuple:
    """Most urgent first: overdue, then main roads before secondary before branches (先主后次), then nearest."""
    road = ROAD_CLASS_RANK.get((site.attributes or {}).get("road_class"), 3)
    return (
        0 if is_overdue(site) else 1,
        road,
        distance_m if distance_m is not None else 0.0,
        site.priority,
        site.id,
    )


def site_properties(
    site: Site, zh: bool, *, may_change: bool = False, distance_m: float | None = None
) -> dict:
    kind = get_kind(site.kind)
    locale = locale_for(zh)
    allowed = kind.allowed_next(site.status) if may_change and not kind.tracks else ()
    props: dict[str, Any] = {
        "id": site.id,
        "key": site.key,
        "kind": site.kind,
        "kind_label": label("kind", kind.key, locale),
        "name": site.name,
        "address": site.address,
        "status": site.status,
        "status_label": kind.status_vocabulary.label(site.status, locale),
        "done": site.status == kind.done_status,
        "track_status": site.track_status or {},
        "tracks": [{"key": t.key, "label": t.label(locale)} for t in kind.tracks],
        "subdistrict": site.subdistrict,
        "subdistrict_label": subdistrict_label(site.subdistrict, zh),
        "priority": site.priority,
        "attributes": site.attributes or {},
        "deadline": zone_iso(site.deadline),
        "deadline_text": deadline_text(site.deadline),
        "overdue": is_overdue(site),
        "version": site.version,
        "team_id": site.team_id,
        "last_valid_at": zone_iso(site.last_valid_at),
        "capacity_pct": site.capacity_pct,
        "may_change": may_change,
        "allowed_next": [{"status": s, "label": kind.status_vocabulary.label(s, locale)} for s in allowed],
        "measures": [
            {"key": m, "label": pick(MEASURES[m].zh, MEASURES[m].en, locale), "unit": MEASURES[m].unit}
            for m in kind.measures
        ],
        "check_in": kind.recurring_check_in,
    }
    if distance_m is not None:
        props["distance_m"] = round(distance_m, 1)
    return props


def site_feature(site: Site, zh: bool, **kwargs: Any) -> dict:
    return {
        "type": "Feature",
        "id": site.id,
        "geometry": mapping(site.geom),
        "properties": site_properties(site, zh, **kwargs),
    }


def event_dict(event: Event, zh: bool, kind_key: str | None = None) -> dict:
    labels: dict[str, str] = {}
    if kind_key:
        kind = get_kind(kind_key)
        labels = {t.key: t.label(locale_for(zh)) for t in kind.status_vocabulary.terms}
    position = (event.details or {}).get("position")
    return {
        "id": event.id,
        "action": event.action,
        "track": event.track,
        "from_status": event.from_status,
        "to_status": event.to_status,
        "from_label": labels.get(event.from_status or "", event.from_status),
        "to_label": labels.get(event.to_status or "", event.to_status),
        "measures": event.measures or {},
        "note": event.note,
        "actor": event.actor,
        "valid_at": zone_iso(event.valid_at),
        "recorded_at": zone_iso(event.recorded_at),
        "flag": event.flag,
        "position": position,
        "photos": (event.details or {}).get("photos", []),
        "distance_m": (event.details or {}).get("distance_m"),
    }


def etag_for(site: Site) -> str:
    return f'"{site.version}"'


def subdistrict_keys() -> tuple[str, ...]:
    return SUBDISTRICT_ORDER
