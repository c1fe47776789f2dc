"""Exporting sites: GeoJSON (RFC 7946) and CSV streamed row by row; GeoPackage, zipped Shapefile, Excel and KML
written to a temporary file. Machine formats carry keys; office formats (CSV, Excel) carry Chinese headers
and labels by default. Every format imports back into the same sites."""

from __future__ import annotations

import tempfile
import zipfile
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pyogrio
import shapely

from recovery.errors import ValidationError
from recovery.geodata import SUBDISTRICT_ORDER
from recovery.i18n import N_, in_locale, locale_for
from recovery.interop.mapping import short_name
from recovery.kinds import KINDS, SiteKind
from recovery.query.sql import SiteRecord
from recovery.timeutil import zone_iso
from recovery.vocab import label
from recovery.writers import csv as csv_file
from recovery.writers import geojson, xlsx


@dataclass(frozen=True)
class Format:
    key: str
    suffix: str
    mimetype: str
    streamed: bool


FORMATS = {
    f.key: f
    for f in (
        Format("geojson", ".geojson", geojson.MEDIA_TYPE, True),
        Format("csv", ".csv", csv_file.MEDIA_TYPE, True),
        Format("gpkg", ".gpkg", "application/geopackage+sqlite3", False),
        Format("shapefile", ".zip", "application/zip", False),
        Format("xlsx", ".xlsx", xlsx.MEDIA_TYPE, False),
        Format("kml", ".kml", "application/vnd.google-earth.kml+xml", False),
    )
}


def get_format(key: str) -> Format:
    if key not in FORMATS:
        raise ValidationError(
            "Unknown export format %(format)s: use %(formats)s.",
            format=str(key)[:20],
            formats=", ".join(FORMATS),
        )
    return FORMATS[key]


@dataclass(frozen=True)
class Field:
    key: str
    zh: str
    en: str
    kind: SiteKind | None = None
    type: type = str
    track: bool = False


def fields_for(kinds: Iterable[SiteKind]) -> list[Field]:
    """The columns of an export of these kinds: common fields, then each kind's utilities and attributes."""
    kinds = list(kinds)
    out = [
        Field("key", "编号", "key"),
        Field("kind", "类型", "kind"),
        Field("name", "名称", "name"),
        Field("address", "地址", "address"),
        Field("status", "状态", "status"),
        Field("status_zh", "状态名称", "status label"),
        Field("subdistrict", "办事处", "sub-district"),
        Field("priority", "优先级", "priority", type=int),
        Field("deadline", "截止时间", "deadline"),
        Field("reported_at", "上报时间", "reported at"),
    ]
    if any(k.status_capacity for k in kinds):
        out.append(Field("capacity_pct", "产能恢复(%)", "capacity restored (%)", type=float))
    seen = {f.key for f in out}
    for kind in kinds:
        for track in kind.tracks:
            if track.key not in seen:
                out.append(Field(track.key, track.zh, track.en, kind, track=True))
                seen.add(track.key)
        for attribute in kind.attributes:
            if attribute.key not in seen:
                out.append(Field(attribute.key, attribute.zh, attribute.en, kind, attribute.type))
                seen.add(attribute.key)
    return out


def headers(fields: list[Field], zh: bool) -> list[str]:
    """Column headers of an office export; a Chinese label two kinds share gets its key, e.g. 点位类型(point_type),
    so that both columns survive and import back to the right attribute."""
    if not zh:
        return [f.key for f in fields]
    counts = Counter(f.zh for f in fields)
    return [f"{f.zh}({f.key})" if counts[f.zh] > 1 else f.zh for f in fields]


def _status_label(record: SiteRecord, zh: bool = True) -> str:
    kind = KINDS[record.kind]
    return kind.status(record.status).label(locale_for(zh))


def values(record: SiteRecord, fields: list[Field], office_zh: bool = False) -> dict[str, Any]:
    """One site's values by field key; `office_zh` gives Chinese labels for kinds, statuses, sub-districts."""
    kind = KINDS[record.kind]
    out: dict[str, Any] = {}
    for f in fields:
        if f.key == "kind":
            value = label("kind", kind.key, "zh") if office_zh else kind.key
        elif f.key == "status":
            value = _status_label(record) if office_zh else record.status
        elif f.key == "status_zh":
            value = _status_label(record)
        elif f.key == "subdistrict":
            # the short form (石佛) under the heading 办事处, as offices write it
            value = (
                label("subdistrict", record.subdistrict, "zh", short=True)
                if office_zh
                else record.subdistrict
            )
        elif f.key in ("deadline", "reported_at"):
            value = zone_iso(getattr(record, f.key))
        elif f.key == "capacity_pct":
            value = record.capacity_pct if kind.status_capacity else None
        elif f.track:
            status = record.track_status.get(f.key)
            labels = {t.key: t.zh for t in kind.track_statuses}
            value = labels.get(status, status) if office_zh else status
        elif f.kind is not None:
            value = record.attributes.get(f.key)
            if isinstance(value, bool):
                key = "true" if value else "false"
                value = label("boolean", key, "zh") if office_zh else key
        else:
            value = getattr(record, f.key)
        out[f.key] = value
    return out


def _kinds_of(records: list[SiteRecord], kind: str | None) -> list[SiteKind]:
    if kind:
        return [KINDS[kind]]
    present = {r.kind for r in records}
    return [k for k in KINDS.values() if k.key in present] or list(KINDS.values())


# -- streamed formats ------------------------------------------------------------------------------------------


def geojson_chunks(records: list[SiteRecord], kind: str | None = None) -> Iterator[str]:
    """RFC 7946: a FeatureCollection in CRS84 (longitude, latitude), no `crs` member, ids as strings."""
    fields = [f for f in fields_for(_kinds_of(records, kind)) if f.key != "key"]

    def feature(record: SiteRecord) -> str:
        properties = {k: v for k, v in values(record, fields).items() if v is not None}
        return geojson.feature(record.key, record.geom, {"key": record.key, **properties})

    return geojson.chunks(feature(record) for record in records)


def office_table(
    records: list[SiteRecord], kinds: list[SiteKind], zh: bool
) -> tuple[list[str], Iterator[list[Any]]]:
    """The header and rows of an office export (CSV, Excel): labels for keys when `zh`; longitude/latitude for
    points, WKT for all."""
    fields = [f for f in fields_for(kinds) if f.key != "status_zh"]
    locale = locale_for(zh)
    header = headers(fields, zh) + [in_locale(name, locale) for name in (N_("lon"), N_("lat"), N_("wkt"))]

    def rows() -> Iterator[list[Any]]:
        for record in records:
            row = values(record, fields, office_zh=zh)
            point = record.geom.geom_type == "Point"
            yield [row[f.key] for f in fields] + [
                record.geom.x if point else None,
                record.geom.y if point else None,
                shapely.to_wkt(record.geom, rounding_precision=-1),
            ]

    return header, rows()


def csv_chunks(records: list[SiteRecord], kind: str | None = None, lang: str = "zh") -> Iterator[str]:
    """CSV in UTF-8 with a BOM (Excel then opens Chinese right)."""
    return csv_file.chunks(*office_table(records, _kinds_of(records, kind), lang == "zh"))


# -- file formats ----------------------------------------------------------------------------------------------


def frame(records: list[SiteRecord], fields: list[Field]) -> gpd.GeoDataFrame:
    rows = [values(r, fields) for r in records]
    data = pd.DataFrame(rows, columns=[f.key for f in fields])
    for f in fields:
        if f.type is int and not f.track:
            data[f.key] = pd.array(data[f.key].tolist(), dtype="Int64")
        elif f.type is float:
            data[f.key] = pd.to_numeric(data[f.key], errors="coerce").astype("float64")
        else:
            data[f.key] = data[f.key].astype(object)
    return gpd.GeoDataFrame(data, geometry=[r.geom for r in records], crs="EPSG:4326")


def write_file(
    records: list[SiteRecord], fmt: str, out: Path, kind: str | None = None, lang: str = "zh"
) -> Path:
    """Write an export to `out` in `fmt` (any format; streamed ones are written chunk by chunk)."""
    out = Path(out)
    spec = get_format(fmt)
    if spec.streamed:
        chunks = geojson_chunks(records, kind) if fmt == "geojson" else csv_chunks(records, kind, lang)
        with out.open("w", encoding="utf-8", newline="") as handle:
            for chunk in chunks:
                handle.write(chunk)
        return out
    kinds = _kinds_of(records, kind)
    if fmt == "xlsx":
        _write_xlsx(records, kinds, out, lang)
    elif fmt == "gpkg":
        _write_gpkg(records, kinds, out)
    elif fmt == "shapefile":
        _write_shapefile_zip(records, kinds, out)
    elif fmt == "kml":
        _write_kml(records, kinds, out)
    return out


def _by_kind(records: list[SiteRecord], kinds: list[SiteKind]) -> Iterator[tuple[SiteKind, list[SiteRecord]]]:
    for kind in kinds:
        subset = [r for r in records if r.kind == kind.key]
        if subset or len(kinds) == 1:
            yield kind, subset


def _write_gpkg(records, kinds, out: Path) -> None:
    """One layer per kind (each kind has its own attribute columns), named by the kind's key."""
    out.unlink(missing_ok=True)
    for kind, subset in _by_kind(records, kinds):
        pyogrio.write_dataframe(
            frame(subset, fields_for([kind])),
            out,
            layer=kind.key,
            driver="GPKG",
            geometry_type="Unknown",
            append=out.exists(),
        )


def _write_kml(records, kinds, out: Path) -> None:
    """KML (LIBKML): one folder per kind; every field kept as ExtendedData."""
    out.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="recovery-export-") as folder:
        target = Path(folder) / "sites.kml"
        for kind, subset in _by_kind(records, kinds):
            data = frame(subset, fields_for([kind]))
            pyogrio.write_dataframe(data, target, layer=kind.key, driver="LIBKML", append=target.exists())
        target.replace(out)


def _write_shapefile_zip(records, kinds, out: Path) -> None:
    """A zip of Shapefiles, one per kind and geometry type (a Shapefile holds one type), each with .cpg (UTF-8)
    and .prj, plus fields.csv: the 10-character field names and the full names and labels they stand for."""
    with tempfile.TemporaryDirectory(prefix="recovery-export-") as folder:
        folder = Path(folder)
        table = {}
        for kind, subset in _by_kind(records, kinds):
            fields = fields_for([kind])
            data = frame(subset, fields).rename(columns={f.key: short_name(f.key) for f in fields})
            table.update({short_name(f.key): f for f in fields})
            families = _families(subset) or [(kind.geometry_types[0].lower(), [True] * len(subset))]
            for family, mask in families:
                part = data[pd.Series(mask, index=data.index)] if len(data) else data
                name = kind.key if len(families) == 1 else f"{kind.key}_{family}"
                pyogrio.write_dataframe(
                    part,
                    folder / f"{name}.shp",
                    driver="ESRI Shapefile",
                    encoding="UTF-8",
                    geometry_type=_shape_type(family),
                )
        csv_file.write(
            folder / "fields.csv",
            ["字段 field", "全名 full name", "中文", "English"],
            ([short, f.key, f.zh, f.en] for short, f in table.items()),
        )
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(folder.iterdir()):
                archive.write(path, path.name)


def _families(records: list[SiteRecord]) -> list[tuple[str, list[bool]]]:
    names = [r.geom.geom_type.removeprefix("Multi").lower() for r in records]
    return [(family, [n == family for n in names]) for family in sorted(set(names))]


def _shape_type(family: str) -> str:
    return {"point": "Point", "linestring": "MultiLineString", "polygon": "MultiPolygon"}.get(
        family, "Unknown"
    )


def _write_xlsx(records, kinds, out: Path, lang: str) -> None:
    """The offices' ledger (台账): Chinese headers, the header row frozen, filters on every column. Written by
    the streaming Excel writer, so memory stays flat however many sites and text is never a formula."""
    zh = lang == "zh"
    header, rows = office_table(records, kinds, zh)
    widths = [max(10, min(40, len(name) * 3)) for name in header]
    with Path(out).open("wb") as handle:
        sheet = in_locale(N_("sites"), locale_for(zh))
        xlsx.write_table(handle, sheet, header, rows, widths, min_filter_rows=2)


def file_name(kind: str | None, as_of_label: str, spec: Format) -> str:
    return f"sites-{kind or 'all'}-{as_of_label}{spec.suffix}"


__all__ = ["FORMATS", "SUBDISTRICT_ORDER", "csv_chunks", "geojson_chunks", "get_format", "write_file"]
