"""Reading a file into a table: GeoJSON, GeoPackage, (zipped) Shapefile and KML through pyogrio; CSV and Excel
through pandas (`recovery.interop.tables`).

Every file is opened with the reader its content calls for (`recovery.interop.sniff`), only when its name
agrees, only from a local path (inside the upload folder for an upload), with GDAL locked down to those few
drivers and no network (`recovery.interop.gdal`); rows, columns, cells and time are checked while reading."""

from __future__ import annotations

import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
from pyogrio.errors import DataLayerError, DataSourceError
from pyproj import CRS

from recovery.errors import ValidationError
from recovery.interop import gdal, tables
from recovery.interop.archive import DEFAULT_LIMITS, Budget, Limits, check_file_size, safe_extract
from recovery.interop.sniff import FORMATS, check_format, check_layer_name, check_local_path

VECTOR_SUFFIXES = (".geojson", ".json", ".gpkg", ".shp", ".kml")
TABLE_SUFFIXES = (".csv", ".tsv", ".txt", ".xlsx")
#: the one GDAL driver each vector format is opened with
DRIVERS = {"GeoJSON": "GeoJSON", "GeoPackage": "GPKG", "Shapefile": "ESRI Shapefile", "KML": "LIBKML"}
__all__ = ["FORMATS", "Source", "read_source"]


@dataclass
class Source:
    """What was read: the rows (a GeoDataFrame when the file has geometry), their CRS, and where they came from."""

    frame: pd.DataFrame
    crs: CRS | None
    format: str
    layers: list[str] = field(default_factory=list)
    encoding: str | None = None


def read_source(
    path: Path,
    *,
    layer: str | None = None,
    limits: Limits = DEFAULT_LIMITS,
    upload: bool = False,
    within: Path | None = None,
) -> Source:
    """Read `path` (inside `within` when given); a zip is checked and extracted to a private folder first
    (zipped Shapefile, KMZ, …)."""
    check_layer_name(layer)
    path = check_local_path(Path(path), within)
    check_file_size(path, limits, upload=upload)
    fmt = check_format(path)
    gdal.lock_down()
    budget = Budget(limits)
    if fmt == "zip":
        with tempfile.TemporaryDirectory(prefix="recovery-import-") as folder:
            members = safe_extract(path, Path(folder), limits)
            return _read_extracted(members, Path(folder), layer, budget)
    return _read_one(path, fmt, layer, budget)


def _read_extracted(members: list[Path], folder: Path, layer: str | None, budget: Budget) -> Source:
    readable = [
        m
        for m in members
        if m.suffix.lower() in VECTOR_SUFFIXES + TABLE_SUFFIXES
        and not m.name.startswith(".")
        and "__MACOSX" not in m.parts
        and m.name != "fields.csv"
    ]
    if not readable:
        raise ValidationError(
            "The archive holds no file that can be imported (.shp, .gpkg, .geojson, .csv, …)."
        )
    if layer is not None:
        chosen = [m for m in readable if m.stem == layer or m.name == layer]
        if not chosen:
            raise ValidationError("The archive has no layer %(layer)s.", layer=layer)
        readable = chosen
    sources = []
    for member in sorted(readable):
        member = check_local_path(member, folder)
        sources.append(_read_one(member, check_format(member), None, budget))
    formats = {s.format for s in sources}
    crss = {s.crs.to_wkt() if s.crs is not None else None for s in sources}
    if len(formats) > 1 or len(crss) > 1:
        raise ValidationError("The archive mixes formats or coordinate systems; import its files one by one.")
    frame = pd.concat([s.frame for s in sources], ignore_index=True)
    budget.check_table(len(frame), len(frame.columns))
    if isinstance(sources[0].frame, gpd.GeoDataFrame):
        frame = gpd.GeoDataFrame(frame, geometry="geometry", crs=sources[0].frame.crs)
    return Source(
        frame, sources[0].crs, sources[0].format, [m.stem for m in sorted(readable)], sources[0].encoding
    )


def _read_one(path: Path, fmt: str, layer: str | None, budget: Budget) -> Source:
    if fmt == "CSV":
        frame, encoding = tables.read_csv(path, budget, tab=path.suffix.lower() == ".tsv")
        return _table(frame, "CSV", encoding)
    if fmt == "Excel":
        return _table(tables.read_excel(path, budget), "Excel", None)
    if fmt not in DRIVERS:
        raise ValidationError(
            "Unsupported file type %(suffix)s: use GeoJSON, GeoPackage, zipped Shapefile, CSV, Excel (.xlsx) or KML.",
            suffix=path.suffix.lower() or "(none)",
        )
    infos = gdal.describe(path, DRIVERS[fmt])
    if infos is None:
        raise ValidationError("The file could not be read as %(format)s.", format=fmt)
    names = [i.name for i in infos]
    if layer is not None and layer not in names:
        raise ValidationError("The file has no layer %(layer)s.", layer=layer)
    chosen = [i for i in infos if layer is None or i.name == layer]
    # what the file declares, before anything is read: fields, features (when the driver knows them cheaply)
    for info in chosen:
        budget.check_table(max(info.features, 0), len(info.fields))
    single = fmt == "GeoJSON" and layer is None  # one layer, read as the file
    frames = []
    rows = 0
    # LIBKML parses the whole document on every open: a KML's folders are read in one query, opening it once
    reads = (
        [(None, _union_sql(chosen))] if fmt == "KML" and len(chosen) > 1 else [(i.name, None) for i in chosen]
    )
    for name, sql in reads:
        frame = _read_layer(path, fmt, None if single else name, budget, rows, sql)
        rows += len(frame)
        budget.check_table(rows, len(frame.columns) - 1)
        if len(frame):
            frames.append(frame)
    if not frames:
        raise ValidationError("The file has no rows.")
    crs = frames[0].crs
    if any((f.crs is None) != (crs is None) or (crs is not None and not crs.equals(f.crs)) for f in frames):
        raise ValidationError("The file's layers use different coordinate systems; import them one by one.")
    frame = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), geometry="geometry", crs=crs)
    layers = [path.stem] if single else [i.name for i in chosen]
    return Source(frame, CRS.from_user_input(crs) if crs is not None else None, fmt, layers)


def _union_sql(layers: list[gdal.LayerInfo]) -> str:
    """Every layer as one (SQLite dialect, on the file itself: no VRT), each missing field as NULL; the names
    are quoted as SQL identifiers, so a layer's name is never read as another data source."""
    fields = list(dict.fromkeys(f for info in layers for f in info.fields))
    selects = []
    for info in layers:
        columns = [_quote(f) if f in info.fields else f"NULL AS {_quote(f)}" for f in fields]
        selects.append(f"SELECT {', '.join([*columns, 'GEOMETRY'])} FROM {_quote(info.name)}")
    return " UNION ALL ".join(selects)


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _read_layer(
    path: Path, fmt: str, name: str | None, budget: Budget, before: int, sql: str | None = None
) -> gpd.GeoDataFrame:
    """One layer (or the query `sql`); one row past the limit tells that the file is over it, without
    reading all of it."""
    limit = budget.limits.max_rows - before + 1
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # GDAL's notes on odd but readable files
            if sql is not None:
                return pyogrio.read_dataframe(path, sql=sql, sql_dialect="SQLITE", max_features=limit)
            return pyogrio.read_dataframe(path, layer=name, max_features=limit)
    except (DataSourceError, DataLayerError, OSError, UnicodeDecodeError) as exc:
        raise ValidationError(
            "The file could not be read as %(format)s: %(reason)s.", format=fmt, reason=str(exc)[:200]
        ) from None


def _table(frame: pd.DataFrame, fmt: str, encoding: str | None) -> Source:
    if frame.empty:
        raise ValidationError("The file has no rows.")
    frame.columns = [str(c).strip() for c in frame.columns]
    return Source(frame, None, fmt, [], encoding)
