"""Which sites a request asks for: the filters every door takes (the API, the map and its commands, the exports,
the OGC service, the report tables), read once from query arguments or a JSON filter, with one wording of each
error. Enumerated values are read by any of their names (key, Chinese, English, alias; any case or width).

Parameters (all optional): `kind` and `status` (comma-separated or repeated; a status of a kind's life cycle or
of its utility tracks, or `open` / `done`), `subdistrict`, `team` (an id), `overdue`, `q` (text in the name or
address), `bbox` (minLon,minLat,maxLon,maxLat) and `near` (lon,lat) in `crs` (wgs84, gcj02, bd09), `mine` and
`include_done`, `limit` and `offset`, and the moment: `as_of` or `date` (a day: its end) or `datetime` (OGC: an
instant, a day or an interval, whose end is taken).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from recovery.coords import CRS_NAMES, to_wgs84
from recovery.errors import DateOutOfRange, ValidationError
from recovery.fields import Args, Param, any_name, vocab_schema
from recovery.numbers import read_whole_number, whole_number
from recovery.terms import Term, Vocabulary, fold
from recovery.timeutil import parse_as_of
from recovery.vocab import resolve, resolve_all, vocabulary

#: statuses every kind has in a filter: not yet in its last status, or in it
PROGRESS = Vocabulary(
    "progress", "进度", "progress", (Term("open", "未完成", "open"), Term("done", "已完成", "done"))
)
PSEUDO_STATUSES = PROGRESS.keys
TRUE = ("1", "true", "on", "yes")
MAX_LIMIT = 10_000
FLAG = {"type": "string", "enum": ["1", "true", "on", "yes", "0", "false"]}
MOMENT = "; `as_of`, `date` and `datetime` name one moment, the first given wins"


def site_filters(*, max_limit: int = MAX_LIMIT, default_limit: int | None = None) -> tuple[Param, ...]:
    """The site filter parameters as a door with these limits reads them (the parser below reads exactly
    these names; the OpenAPI document lists them)."""
    limit = {"type": "integer", "minimum": 1, "maximum": max_limit}
    return (
        Param(
            "kind", {"type": "array", "items": vocab_schema("kind")}, any_name("kind") + "; comma-separated"
        ),
        Param(
            "status",
            {"type": "array", "items": vocab_schema("status", *PSEUDO_STATUSES)},
            "A status of the kinds asked for (or of their utilities), or open / done; comma-separated. "
            + any_name("status"),
        ),
        Param("subdistrict", vocab_schema("subdistrict"), any_name("subdistrict")),
        Param("team", {"type": "integer", "minimum": 1}, "A team id"),
        Param("overdue", FLAG, "Only sites past their deadline: 1 or true"),
        Param("q", {"type": "string"}, "Text in the name or address (its first 100 characters)"),
        Param(
            "bbox",
            {"type": "string", "example": "113.5,34.7,113.7,34.9"},
            "minLon,minLat,maxLon,maxLat in `crs`",
        ),
        Param("near", {"type": "string", "example": "113.6,34.8"}, "lon,lat in `crs`: nearest first"),
        Param("crs", {"type": "string", "enum": list(CRS_NAMES)}, "The system of `bbox` and `near`"),
        Param("mine", FLAG, "Only the caller's scope: 1 or true"),
        Param("include_done", FLAG, "Include finished sites: 1 or true"),
        Param(
            "limit", limit | ({"default": default_limit} if default_limit else {}), "At most this many sites"
        ),
        Param("offset", {"type": "integer", "minimum": 0, "maximum": 10_000_000}, "Skip this many sites"),
        Param(
            "as_of",
            {"type": "string", "example": "2021-07-29"},
            "A day (its end, Asia/Shanghai) or an ISO instant" + MOMENT,
        ),
        Param("date", {"type": "string", "format": "date"}, "A day: its end" + MOMENT),
        Param("datetime", {"type": "string"}, "An instant, a day or an interval whose end is taken" + MOMENT),
    )


#: the site filters every door accepts, by name
SITE_FILTERS = site_filters()


@dataclass(frozen=True)
class SiteQuery:
    """The sites asked for. Empty fields filter nothing; `limit` None means every matching site."""

    kinds: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    subdistrict: str | None = None
    team: int | None = None
    overdue: bool = False
    text: str = ""
    bbox: tuple[float, float, float, float] | None = None
    near: tuple[float, float] | None = None
    mine: bool = False
    include_done: bool = False
    as_of: datetime | None = None
    keys: tuple[str, ...] = ()
    limit: int | None = None
    offset: int = 0

    @property
    def kind(self) -> str | None:
        """The one kind asked for (an export's columns and file name follow it), or None."""
        return self.kinds[0] if len(self.kinds) == 1 else None


def parse_site_query(
    args: Mapping[str, Any],
    *,
    crs: str = "wgs84",
    default_limit: int | None = None,
    max_limit: int = MAX_LIMIT,
    kind: str | None = None,
) -> SiteQuery:
    """A SiteQuery from request arguments (a MultiDict) or a JSON filter (a dict of strings, numbers, lists).

    `crs` is the door's coordinate system for `bbox` and `near` (the map's display system) unless the request
    names one; `kind` is a kind the door fixes (an OGC collection). Only the names of SITE_FILTERS are read."""
    args = Args(args, SITE_FILTERS)
    kinds = tuple(dict.fromkeys(resolve("kind", v) for v in _values(args, "kind")))
    if kind is not None:
        kinds = (kind,)
    statuses = tuple(dict.fromkeys(key for v in _values(args, "status") for key in _statuses(v, kinds)))
    sub = _one(args, "subdistrict")
    team = _one(args, "team")
    if team is not None and read_whole_number(team) is None:
        raise ValidationError("team must be a team id.")
    crs = _crs(_one(args, "crs") or crs)
    limit = _one(args, "limit")
    return SiteQuery(
        kinds=kinds,
        statuses=statuses,
        subdistrict=parse_subdistrict(sub),
        team=int(team) if team is not None else None,
        overdue=_flag(args, "overdue"),
        text=(_one(args, "q") or "").strip()[:100],
        bbox=parse_bbox(_one(args, "bbox"), crs),
        near=_near(_one(args, "near"), crs),
        mine=_flag(args, "mine"),
        include_done=_flag(args, "include_done"),
        as_of=_moment(args),
        limit=whole_number(limit, "limit", 1, max_limit) if limit is not None else default_limit,
        offset=whole_number(_one(args, "offset") or 0, "offset", 0, 10_000_000),
    )


#: the names of the area outside every sub-district (the breakdowns' 未分配 row), in any case or width
UNASSIGNED_NAMES = frozenset(fold(n) for n in ("未分配", "unassigned", "not assigned", "not_assigned"))


def parse_subdistrict(raw: str | None, *, outside: bool = False) -> str | None:
    """A sub-district by any of its names (石佛, 石佛办事处, Shifo, shifo, full-width too); None when none is given.
    未分配 (unassigned, not assigned) asks for what lies outside every sub-district, "" (the breakdowns'
    UNASSIGNED); with `outside`, an empty value asks for it too (a table's row)."""
    if raw is None or (raw == "" and not outside):
        return None
    if raw == "" or fold(raw) in UNASSIGNED_NAMES:
        return ""
    return resolve("subdistrict", raw)


def _values(args: Mapping[str, Any], name: str) -> list[str]:
    """Every value of a repeatable, comma-separated parameter (`status=a,b&status=c`, or a JSON list)."""
    raw = args.getlist(name) if hasattr(args, "getlist") else [args.get(name)]
    items = [x for r in raw for x in (r if isinstance(r, list | tuple) else [r]) if x is not None]
    return [v.strip() for item in items for v in str(item).split(",") if v.strip()]


def _one(args: Mapping[str, Any], name: str) -> str | None:
    value = args.get(name)
    if value is None or value == "":
        return None
    return str(value)


def _flag(args: Mapping[str, Any], name: str) -> bool:
    value = args.get(name)
    return value is True or str(value or "").strip().lower() in TRUE


def _statuses(text: str, kinds: tuple[str, ...]) -> tuple[str, ...]:
    """The status keys `text` names; a label two kinds share (已修复) names the status of the kinds asked for,
    or both when no kind is."""
    progress = PROGRESS.resolve_all(text)
    if progress:
        return progress
    if not kinds:
        return resolve_all("status", text) or (resolve("status", text),)
    keys = [k for kind in kinds for k in vocabulary(f"status.{kind}").resolve_all(text)]
    if not keys:
        raise vocabulary(f"status.{kinds[0]}").unknown(text)
    return tuple(dict.fromkeys(keys))


def _crs(text: str) -> str:
    if text not in CRS_NAMES:
        raise ValidationError("crs must be one of %(names)s.", names=", ".join(CRS_NAMES))
    return text


def _numbers(raw: str, count: int, name: str) -> list[float]:
    try:
        values = [float(v) for v in raw.split(",")]
    except ValueError:
        values = []
    if len(values) != count or not all(math.isfinite(v) for v in values):
        raise ValidationError("%(name)s must be %(count)s comma-separated numbers.", name=name, count=count)
    return values


def parse_bbox(raw: str | None, crs: str = "wgs84") -> tuple[float, float, float, float] | None:
    """`minLon,minLat,maxLon,maxLat` in `crs`, as a WGS-84 box."""
    if not raw:
        return None
    minx, miny, maxx, maxy = _numbers(raw, 4, "bbox")
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise ValidationError("bbox must be minLon,minLat,maxLon,maxLat within the world's bounds.")
    if crs != "wgs84":
        (minx, miny), (maxx, maxy) = to_wgs84(minx, miny, crs), to_wgs84(maxx, maxy, crs)
    return minx, miny, maxx, maxy


def _near(raw: str | None, crs: str) -> tuple[float, float] | None:
    if not raw:
        return None
    lon, lat = _numbers(raw, 2, "near")
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise ValidationError("%(name)s must be %(count)s comma-separated numbers.", name="near", count=2)
    return tuple(to_wgs84(lon, lat, crs)) if crs != "wgs84" else (lon, lat)


def _moment(args: Mapping[str, Any]) -> datetime | None:
    raw = _one(args, "as_of") or _one(args, "date")
    if raw is not None:
        return parse_as_of(raw)
    return parse_datetime(_one(args, "datetime"))


def parse_datetime(text: str | None) -> datetime | None:
    """OGC's `datetime`: an instant or a day (its end), or an interval `start/end` whose end is taken ('..' =
    now)."""
    if text is None or text == "":
        return None
    end = text.split("/")[-1].strip()
    if end in ("..", ""):
        if "/" in text:
            return None
        raise _bad_datetime(text)
    try:
        return parse_as_of(end)
    except DateOutOfRange:
        raise
    except ValidationError:
        raise _bad_datetime(text) from None


def _bad_datetime(text: str) -> ValidationError:
    return ValidationError(
        "datetime must be an RFC 3339 instant, a date, or an interval ending in one: %(value)s.",
        value=text[:60],
    )
