"""Which column of a file is which field: by Chinese or English name, short Shapefile name, or a mapping file."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from recovery.errors import ValidationError
from recovery.kinds import KINDS, SiteKind
from recovery.vocab import resolve_all, vocabulary

#: the common fields, each with the names offices use for it (compared without case, spaces or _ -)
COMMON_ALIASES: dict[str, tuple[str, ...]] = {
    "key": ("编号", "点位编号", "key", "id", "site_id", "code"),
    "kind": ("类型", "点位类型名称", "kind", "site_kind"),
    "name": ("名称", "点位名称", "name"),
    "address": ("地址", "address", "addr"),
    "lon": ("经度", "lon", "lng", "long", "longitude", "x"),
    "lat": ("纬度", "lat", "latitude", "y"),
    "wkt": ("wkt", "几何", "geometry_wkt", "geom_wkt"),
    "status": ("状态", "status", "当前状态"),
    "subdistrict": ("办事处", "所属办事处", "subdistrict", "subdist"),
    "priority": ("优先级", "priority", "prio"),
    "deadline": ("截止时间", "deadline"),
    "capacity_pct": ("产能恢复", "产能恢复(%)", "capacity_pct", "capacity"),
}
#: columns an export writes that an import knows to be derived or informational, so it ignores them quietly
INFORMATIONAL = (
    "状态名称",
    "status_zh",
    "status_label",
    "上报时间",
    "reported_at",
    "reported",
    "完成时间",
    "done_at",
    "办事处名称",
    "subdistrict_zh",
    "description",
    "类型名称",
    "kind_zh",
)

#: Shapefile field names are at most 10 bytes: the short name of each field that needs one
SHORT_NAMES = {
    "subdistrict": "subdist",
    "capacity_pct": "capacity",
    "facility_type": "fac_type",
    "inside_ring4": "in_ring4",
    "reported_at": "reported",
    "status_zh": "status_zh",
    "households": "households",
}


def normalise(name: str) -> str:
    return re.sub(r"[\s_\-()（）]", "", str(name)).lower()


def short_name(key: str) -> str:
    return SHORT_NAMES.get(key, key[:10])


@dataclass
class ColumnMap:
    """field key -> column name in the file; what was ignored; the tracks (utilities) of a tracked kind."""

    columns: dict[str, str] = field(default_factory=dict)
    attributes: dict[str, str] = field(default_factory=dict)
    tracks: dict[str, str] = field(default_factory=dict)
    ignored: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            **self.columns,
            **{f"attributes.{k}": v for k, v in self.attributes.items()},
            **{f"tracks.{k}": v for k, v in self.tracks.items()},
        }


def _aliases(kinds: Iterable[SiteKind]) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    common = {normalise(a): key for key, names in COMMON_ALIASES.items() for a in names}
    attributes: dict[str, str] = {}
    tracks: dict[str, str] = {}
    for kind in kinds:
        for attribute in kind.attributes:
            # 点位类型(point_type): the header an export gives a Chinese label two kinds share
            names = (attribute.key, f"{attribute.zh}({attribute.key})", attribute.zh, attribute.en)
            for name in (*names, short_name(attribute.key)):
                attributes.setdefault(normalise(name), attribute.key)
        for track in kind.tracks:
            for name in (track.key, track.zh, track.en):
                tracks.setdefault(normalise(name), track.key)
    return common, attributes, tracks


def map_columns(
    columns: Iterable[str], kind: SiteKind | None, explicit: dict[str, str] | None = None
) -> ColumnMap:
    """Match the file's columns to fields; an explicit mapping (field -> column) wins over names."""
    columns = [c for c in columns if c != "geometry"]
    kinds = [kind] if kind is not None else list(KINDS.values())
    common, attributes, tracks = _aliases(kinds)
    result = ColumnMap()
    explicit = dict(explicit or {})
    for target, column in explicit.items():
        if column not in columns:
            raise ValidationError(
                "The mapping names a column the file does not have: %(column)s.", column=column
            )
        if target.startswith("attributes."):
            result.attributes[target.removeprefix("attributes.")] = column
        elif target.startswith("tracks."):
            result.tracks[target.removeprefix("tracks.")] = column
        elif target in COMMON_ALIASES:
            result.columns[target] = column
        else:
            raise ValidationError("The mapping names an unknown field: %(field)s.", field=target)
    used = set(explicit.values())
    informational = {normalise(n) for n in INFORMATIONAL}
    by_norm: dict[str, str] = {}
    for column in columns:
        if column not in used:
            by_norm.setdefault(normalise(column), column)
    # common fields by the order of their names (a `key` column wins over a KML placemark `id`)
    for target, names in COMMON_ALIASES.items():
        if target in result.columns:
            continue
        for name in names:
            column = by_norm.get(normalise(name))
            if column is not None and column not in used:
                result.columns[target] = column
                used.add(column)
                break
    for column in columns:
        if column in used:
            continue
        norm = normalise(column)
        if norm in attributes and attributes[norm] not in result.attributes:
            result.attributes[attributes[norm]] = column
        elif norm in tracks and tracks[norm] not in result.tracks:
            result.tracks[tracks[norm]] = column
        elif norm not in informational and norm not in common:
            result.ignored.append(column)
    return result


def read_mapping_file(path: Path) -> dict[str, str]:
    """A mapping file: JSON `{"name": "单位名称", "attributes.road_class": "等级"}` or CSV lines `field,column`."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError):
        raise ValidationError("The mapping file could not be read as UTF-8 text.") from None
    if text.lstrip().startswith("{"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValidationError(
                "The mapping file is not valid JSON: %(reason)s.", reason=str(exc)
            ) from None
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in data.items()):
            raise ValidationError("The mapping file must map field names to column names.")
        return data
    mapping = {}
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            target, _, column = line.partition(",")
            if not column.strip():
                raise ValidationError("The mapping file must map field names to column names.")
            mapping[target.strip()] = column.strip()
    return mapping


def kind_from_value(value: object) -> SiteKind | None:
    """A kind from its key, label or alias (recovery.vocab); None if unknown."""
    keys = resolve_all("kind", value)
    return KINDS[keys[0]] if keys else None


def status_from_value(kind: SiteKind, value: object, statuses=None) -> str | None:
    """A status key of `kind` (among `statuses`, e.g. its utilities') from its key, label or alias; None if
    unknown."""
    allowed = {s.key for s in (statuses if statuses is not None else kind.statuses)}
    keys = [k for k in vocabulary(f"status.{kind.key}").resolve_all(value) if k in allowed]
    return keys[0] if keys else None


def subdistrict_from_value(value: object) -> str | None:
    """A sub-district key from its key, name (石佛, 石佛办事处, Shifo) or alias; None if unknown."""
    keys = resolve_all("subdistrict", value)
    return keys[0] if keys else None
