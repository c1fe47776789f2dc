"""The site list as GeoJSON text written straight from rows (`recovery.query.collection`): value for value the
features `features.site_feature` makes, without a dict per site or one `json.dumps` of the whole. What the sites
of one kind, status, place, team and deadline share is written once (by `site_properties` itself), the
geometries in one vectorised call, the rest per row into one string; the text comes in chunks that a response
streams."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from json.encoder import encode_basestring
from types import SimpleNamespace
from typing import Any

import shapely

from recovery.query.collection import SiteRows, instant
from recovery.timeutil import zone_iso
from recovery.web.features import is_overdue, site_properties

#: the properties written per site; every other one follows from the site's kind, status, place, team and
#: deadline, and is written once per answer for each of those (`_Parts.of`)
PER_SITE = frozenset(
    ("id", "key", "name", "address", "track_status", "priority", "attributes", "version", "team_id")
    + ("last_valid_at", "capacity_pct", "distance_m")
)
FEATURES_PER_CHUNK = 1000
DISTANCE = '"distance_m":'


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _text(value: str | None) -> str:
    return "null" if value is None else encode_basestring(value)


class _Parts:
    """The pieces of text many rows share, each written once per answer by the rules' own functions."""

    def __init__(self, zh: bool, may_change: Callable[[Any], bool], at: datetime) -> None:
        self.zh, self.may_change, self.at = zh, may_change, at
        self.shared: dict[tuple, str] = {}
        self.hours: dict[str, tuple[str, str] | None] = {}

    def of(self, kind: str, status: str, subdistrict: str | None, team_id: int | None, deadline) -> str:
        """Every property that follows from a site's kind, status, place, team and deadline (labels, next
        statuses, may change, overdue at `at`…), written by `site_properties` itself for a stand-in site."""
        key = (kind, status, subdistrict, team_id, deadline)
        text = self.shared.get(key)
        if text is None:
            stand_in = SimpleNamespace(
                **dict.fromkeys(("id", "key", "name", "address", "last_valid_at", "capacity_pct")),
                kind=kind,
                status=status,
                subdistrict=subdistrict,
                team_id=team_id,
                deadline=instant(deadline),
                track_status={},
                attributes={},
                priority=0,
                version=0,
            )
            props = site_properties(stand_in, self.zh, may_change=self.may_change(stand_in))
            props["overdue"] = is_overdue(stand_in, self.at)  # at the moment the ETag names
            shared = {k: v for k, v in props.items() if k not in PER_SITE}
            text = self.shared[key] = _dumps(shared)[1:-1]
        return text

    def zone_text(self, raw: datetime | str | None) -> str:
        """`zone_iso` of a FeatureRow's instant, in JSON. SQLite's text (`YYYY-MM-DD HH:MM:SS.ffffff`, UTC) is
        rewritten by its hour: the zone's date, hour and offset for each UTC hour are found once (by `zone_iso`),
        the minutes and seconds kept as they are (a parse and a zone lookup per site cost more than the rest of
        its text); anything else goes through `zone_iso`."""
        if raw is None:
            return "null"
        if type(raw) is str and len(raw) == 26:
            hour = self.hours.get(raw[:13])
            if hour is None:
                hour = self.hours[raw[:13]] = self._hour(raw[:13])
            if hour:
                prefix, suffix = hour
                fraction = raw[19:] if raw[20:] != "000000" else ""
                return f'"{prefix}{raw[13:19]}{fraction}{suffix}"'
        return f'"{zone_iso(instant(raw))}"'

    @staticmethod
    def _hour(utc_hour: str) -> tuple[str, str] | None:
        """('2021-07-29T16', '+08:00') for '2021-07-29 08'; None where the offset is not whole hours."""
        local = zone_iso(instant(f"{utc_hour}:00:00"))
        offset = datetime.fromisoformat(local).utcoffset()
        if offset is None or offset % timedelta(hours=1):
            return None
        return local[:13], local[19:]


def collection_chunks(
    found: SiteRows,
    *,
    zh: bool,
    may_change: Callable[[Any], bool],
    at: datetime,
    per_chunk: int = FEATURES_PER_CHUNK,
) -> Iterator[str]:
    """The FeatureCollection of `found` as text: `numberMatched`, `numberReturned`, then the features, each
    `site_feature(site, zh, may_change=may_change(site), distance_m=…)` with `overdue` at `at`."""
    parts = _Parts(zh, may_change, at)
    shared, zone_text = parts.shared, parts.zone_text
    geometries = shapely.to_geojson(found.geometries).tolist() if len(found.rows) else []
    distances = found.distances or [None] * len(found.rows)
    yield (
        f'{{"type":"FeatureCollection","numberMatched":{found.matched},'
        f'"numberReturned":{len(found.rows)},"features":['
    )
    chunk: list[str] = []
    comma = ""
    for row, geometry, distance in zip(found.rows, geometries, distances, strict=True):
        (site_id, key, kind, name, address, status, tracks, sub, priority, attributes, deadline, version) = (
            row[:12]
        )
        (team_id, last_valid_at, capacity) = row[12:15]
        chunk.append(
            f'{comma}{{"type":"Feature","id":{site_id},"geometry":{geometry},"properties":{{"id":{site_id},'
            f'"key":{encode_basestring(key)},"name":{encode_basestring(name)},"address":{_text(address)},'
            f"{shared.get((kind, status, sub, team_id, deadline)) or parts.of(kind, status, sub, team_id, deadline)},"
            f'"track_status":{tracks if tracks and tracks != "null" else "{}"},"priority":{priority},'
            f'"attributes":{attributes if attributes and attributes != "null" else "{}"},'
            f'"version":{version},"team_id":{"null" if team_id is None else team_id},'
            f'"last_valid_at":{zone_text(last_valid_at)},'
            f'"capacity_pct":{"null" if capacity is None else repr(capacity)}'
            f"{'' if distance is None else f',{DISTANCE}{round(distance, 1)!r}'}}}}}"
        )
        comma = ","
        if len(chunk) == per_chunk:
            yield "".join(chunk)
            chunk.clear()
    chunk.append("]}")
    yield "".join(chunk)
