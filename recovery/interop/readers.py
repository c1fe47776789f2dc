"""Reading a file into a table: GeoJSON, GeoPackage, (zipped) Shapefile and KML through pyogrio; CSV and Excel
through pandas (Excel with calamine), with the encoding (UTF-8 or GBK) and the separator (comma or tab) found from the bytes."""

from __future__ import annotations

import csv
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape

import geopandas as gpd
import pandas as pd
import pyogrio
from pyogrio.errors import DataLayerError, DataSourceError
from pyproj import CRS

from recovery.errors import ValidationError
from recovery.interop.archive import DEFAULT_LIMITS, Limits, check_file_size, safe_extract

VECTOR_SUFFIXES = (".geojson", ".json", ".gpkg", ".shp", ".kml")
TABLE_SUFFIXES = (".csv", ".tsv", ".txt", ".xlsx")
FORMATS = {
    ".geojson": "GeoJSON",
    ".json": "GeoJSON",
    ".gpkg": "GeoPackage",
    ".shp": "Shapefile",
    ".kml": "KML",
    ".csv": "CSV",
    ".tsv": "CSV",
    ".txt": "CSV",
    ".xlsx": "Excel",
    ".zip": "zip",
}


@dataclass
class Source:
    """What was read: the rows (a GeoDataFrame when the file has geometry), their CRS, and where they came from."""

    frame: pd.DataFrame
    crs: CRS | None
    format: str
    layers: list[str] = field(default_factory=list)
    encoding: str | None = None


def read_source(
    path: Path, *, layer: str | None = None, limits: Limits = DEFAULT_LIMITS, upload: bool = False
) -> Source:
    """Read `path`; a zip is checked and extracted to a private folder first (zipped Shapefile, KMZ, …)."""
    path = Path(path)
    if not path.is_file():
        raise ValidationError("No such file: %(path)s.", path=path.name)
    check_file_size(path, limits, upload=upload)
    suffix = path.suffix.lower()
    if suffix in (".zip", ".kmz"):
        with tempfile.TemporaryDirectory(prefix="recovery-import-") as folder:
            members = safe_extract(path, Path(folder), limits)
            return _read_extracted(members, layer, limits, kmz=suffix == ".kmz")
    return _read_one(path, layer, limits)


def _read_extracted(members: list[Path], layer: str | None, limits: Limits, kmz: bool) -> Source:
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
    sources = [_read_one(m, None, limits) for m in sorted(readable)]
    formats = {s.format for s in sources}
    crss = {s.crs.to_wkt() if s.crs is not None else None for s in sources}
    if len(formats) > 1 or len(crss) > 1:
        raise ValidationError("The archive mixes formats or coordinate systems; import its files one by one.")
    frame = pd.concat([s.frame for s in sources], ignore_index=True)
    if isinstance(sources[0].frame, gpd.GeoDataFrame):
        frame = gpd.GeoDataFrame(frame, geometry="geometry", crs=sources[0].frame.crs)
    return Source(
        frame, sources[0].crs, sources[0].format, [m.stem for m in sorted(readable)], sources[0].encoding
    )


def _read_one(path: Path, layer: str | None, limits: Limits) -> Source:
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv", ".txt"):
        return _read_csv(path, limits)
    if suffix == ".xlsx":
        return _read_excel(path, limits)
    if suffix not in VECTOR_SUFFIXES:
        raise ValidationError(
            "Unsupported file type %(suffix)s: use GeoJSON, GeoPackage, zipped Shapefile, CSV, Excel (.xlsx) or KML.",
            suffix=suffix or "(none)",
        )
    if FORMATS[suffix] == "GeoJSON" and layer is None:
        # one layer, and GDAL parses the whole file to list it: read it straight away
        chosen: list[str | None] = [None]
    else:
        try:
            layers = [str(name) for name, _geom in pyogrio.list_layers(path)]
        except (DataSourceError, DataLayerError, OSError, UnicodeDecodeError):
            raise ValidationError(
                "The file could not be read as %(format)s.", format=FORMATS[suffix]
            ) from None
        if layer is not None and layer not in layers:
            raise ValidationError("The file has no layer %(layer)s.", layer=layer)
        chosen = [layer] if layer is not None else layers
    frames = []
    with tempfile.TemporaryDirectory(prefix="recovery-read-") as folder:
        reads: list[tuple[Path, str | None]] = [(path, name) for name in chosen]
        if FORMATS[suffix] == "KML" and len(chosen) > 1:
            reads = [(_union_vrt(path, chosen, Path(folder)), None)]
        for source, name in reads:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)  # GDAL's notes on odd but readable files
                    # one row past the limit tells that the file is over it, without reading all of it
                    frame = pyogrio.read_dataframe(source, layer=name, max_features=limits.max_rows + 1)
            except (DataSourceError, DataLayerError, OSError, UnicodeDecodeError) as exc:
                raise ValidationError(
                    "The file could not be read as %(format)s: %(reason)s.",
                    format=FORMATS[suffix],
                    reason=str(exc)[:200],
                ) from None
            if len(frame) > limits.max_rows:
                raise ValidationError("The file has more than %(limit)s rows.", limit=limits.max_rows)
            if len(frame):
                frames.append(frame)
    if not frames:
        raise ValidationError("The file has no rows.")
    crs = frames[0].crs
    if any((f.crs is None) != (crs is None) or (crs is not None and not crs.equals(f.crs)) for f in frames):
        raise ValidationError("The file's layers use different coordinate systems; import them one by one.")
    frame = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), geometry="geometry", crs=crs)
    names = [str(n) for n in chosen] if chosen != [None] else [path.stem]
    return Source(frame, CRS.from_user_input(crs) if crs is not None else None, FORMATS[suffix], names)


def _union_vrt(path: Path, layers: list[str], folder: Path) -> Path:
    """A GDAL VRT that reads every layer of `path` as one, opening it once: LIBKML parses the whole document
    on every open, so reading a KML's folders one by one costs one parse per folder."""
    source = escape(str(path.resolve()))
    members = "".join(
        f'<OGRVRTLayer name="layer{i}"><SrcDataSource relativeToVRT="0" shared="1">{source}</SrcDataSource>'
        f"<SrcLayer>{escape(name)}</SrcLayer></OGRVRTLayer>"
        for i, name in enumerate(layers)
    )
    vrt = folder / "layers.vrt"
    vrt.write_text(
        '<OGRVRTDataSource><OGRVRTUnionLayer name="layers"><FieldStrategy>Union</FieldStrategy>'
        f"{members}</OGRVRTUnionLayer></OGRVRTDataSource>",
        encoding="utf-8",
    )
    return vrt


def sniff_encoding(raw: bytes) -> str:
    """UTF-8 (with or without BOM) when the bytes decode as UTF-8; otherwise GB18030, a superset of GBK."""
    try:
        raw.decode("utf-8")
        return "utf-8-sig"
    except UnicodeDecodeError:
        pass
    try:
        raw.decode("gb18030")
        return "gb18030"
    except UnicodeDecodeError:
        raise ValidationError("The text is neither UTF-8 nor GBK.") from None


def _read_csv(path: Path, limits: Limits) -> Source:
    raw = path.read_bytes()
    encoding = sniff_encoding(raw)
    text = raw.decode(encoding)
    first = text.split("\n", 1)[0]
    separator = "\t" if first.count("\t") > first.count(",") else ","
    if path.suffix.lower() == ".tsv":
        separator = "\t"
    try:
        frame = pd.read_csv(
            path,
            sep=separator,
            encoding=encoding,
            dtype=str,
            keep_default_na=False,
            quoting=csv.QUOTE_MINIMAL,
            skipinitialspace=False,
            nrows=limits.max_rows + 1,
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        raise ValidationError("The CSV file could not be read: %(reason)s.", reason=str(exc)[:200]) from None
    return _table(frame, limits, "CSV", "GBK" if encoding == "gb18030" else "UTF-8")


def _read_excel(path: Path, limits: Limits) -> Source:
    try:
        # calamine (Rust) reads a 100,000-row sheet ten times faster than openpyxl
        frame = pd.read_excel(path, engine="calamine", dtype=object, sheet_name=0, nrows=limits.max_rows + 1)
    except Exception as exc:  # calamine and pandas raise many types for a damaged workbook
        raise ValidationError(
            "The Excel file could not be read: %(reason)s.", reason=str(exc)[:200]
        ) from None
    frame = frame.astype(object).where(frame.notna(), "")
    return _table(frame, limits, "Excel", None)


def _table(frame: pd.DataFrame, limits: Limits, fmt: str, encoding: str | None) -> Source:
    if len(frame) > limits.max_rows:
        raise ValidationError("The file has more than %(limit)s rows.", limit=limits.max_rows)
    if frame.empty:
        raise ValidationError("The file has no rows.")
    frame.columns = [str(c).strip() for c in frame.columns]
    return Source(frame, None, fmt, [], encoding)
