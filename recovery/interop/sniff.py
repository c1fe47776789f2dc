"""What a file is, decided by its content (magic bytes, structure), checked against what its name says.

An import opens a file with the reader its content calls for, and only when the name agrees: a `.geojson` that
holds an OGR VRT, a `.csv` that holds XML or a `.gpkg` that is some other SQLite database is refused before any
reader sees it.
"""

from __future__ import annotations

import re
import sqlite3
import zipfile
from pathlib import Path
from urllib.parse import quote

from recovery.errors import ValidationError

#: what each accepted suffix promises
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
    ".kmz": "zip",
}
UNSUPPORTED = (
    "Unsupported file type %(suffix)s: use GeoJSON, GeoPackage, zipped Shapefile, CSV, Excel (.xlsx) or KML."
)
HEAD_BYTES = 64 * 1024
SQLITE_MAGIC = b"SQLite format 3\x00"
GEOPACKAGE_IDS = (b"GPKG", b"GP10", b"GP11")  # application_id of GeoPackage 1.2+, 1.0, 1.1
SHAPEFILE_MAGIC = b"\x00\x00\x27\x0a"  # file code 9994, big-endian
ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")
#: the spatial index of a GeoPackage is the only virtual table it may hold (anything else reads elsewhere)
GEOPACKAGE_MODULES = {"rtree"}
_XML_PROLOGUE = re.compile(rb"\s*(?:<\?xml[^>]*\?>|<!--.*?-->|\s+)*", re.S)
_XML_ROOT = re.compile(rb"<([A-Za-z_][\w.\-]*:)?([A-Za-z_][\w.\-]*)")
_VIRTUAL = re.compile(r"^\s*CREATE\s+VIRTUAL\s+TABLE\s+.*?\bUSING\s+(\w+)", re.I | re.S)


def expected_format(name: str) -> str:
    """The format a file name's suffix promises; an unknown suffix is a 400."""
    suffix = Path(name).suffix.lower()
    if suffix not in FORMATS:
        raise ValidationError(UNSUPPORTED, suffix=suffix or "(none)")
    return FORMATS[suffix]


def content_format(path: Path) -> str:
    """What the bytes of `path` are: GeoJSON, GeoPackage, Shapefile, KML, CSV, Excel, zip, or a description of
    something else (never accepted)."""
    with Path(path).open("rb") as handle:
        head = handle.read(HEAD_BYTES)
    if head.startswith(SQLITE_MAGIC):
        return "GeoPackage" if head[68:72] in GEOPACKAGE_IDS else "SQLite database"
    if head[:4] in ZIP_MAGICS:
        return _zip_kind(path)
    if head.startswith(SHAPEFILE_MAGIC) and len(head) >= 100:
        return "Shapefile"
    text = head.removeprefix(b"\xef\xbb\xbf")
    if b"\x00" in text:
        return "binary data"
    stripped = text.lstrip()
    if stripped.startswith(b"{"):
        return "GeoJSON"
    if stripped.startswith(b"<"):
        return _xml_kind(text)
    if stripped.startswith(b"["):
        return "JSON array"
    return "CSV"


def check_format(path: Path, name: str | None = None) -> str:
    """The file's format when its content is what its name (default: its own) says; otherwise a 400."""
    name = name or Path(path).name
    expected = expected_format(name)
    found = content_format(path)
    if found != expected:
        raise ValidationError(
            "The file's content is %(found)s, not the %(expected)s its name %(name)s says: refused.",
            found=found,
            expected=expected,
            name=Path(name).name[:100],
        )
    if found == "GeoPackage":
        check_geopackage(path)
    return found


def check_geopackage(path: Path) -> None:
    """A GeoPackage must hold only itself: no virtual table but its R-tree index (VirtualOGR and the like read
    other files), no attached databases. Read from the schema with SQLite itself, read-only and immutable."""
    uri = f"file:{quote(str(Path(path).resolve()))}?mode=ro&immutable=1"
    try:
        connection = sqlite3.connect(uri, uri=True)
    except sqlite3.Error:
        raise ValidationError("The file could not be read as %(format)s.", format="GeoPackage") from None
    try:
        rows = connection.execute("SELECT type, name, sql FROM sqlite_master").fetchall()
    except sqlite3.Error:
        raise ValidationError("The file could not be read as %(format)s.", format="GeoPackage") from None
    finally:
        connection.close()
    for _type, name, sql in rows:
        match = _VIRTUAL.match(sql or "")
        if match and match.group(1).lower() not in GEOPACKAGE_MODULES:
            raise ValidationError(
                "The GeoPackage holds a virtual table %(name)s (%(module)s), which reads outside the file: "
                "refused.",
                name=str(name)[:100],
                module=match.group(1)[:40],
            )


def _zip_kind(path: Path) -> str:
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return "a damaged zip archive"
    return "Excel" if "xl/workbook.xml" in names else "zip"


def _xml_kind(text: bytes) -> str:
    """KML when the first element is <kml>; a DOCTYPE (entities) is never accepted."""
    if b"<!DOCTYPE" in text.upper() or b"<!ENTITY" in text.upper():
        return "XML with a DOCTYPE"
    start = _XML_PROLOGUE.match(text).end()
    root = _XML_ROOT.match(text, start)
    if root is None:
        return "XML"
    local = root.group(2).decode("ascii", "replace")
    return "KML" if local.lower() == "kml" else f"XML <{local[:40]}>"


def check_layer_name(layer: str | None) -> None:
    """A layer is a name inside the file, never a path or a URL (GDAL would open those)."""
    if layer is None:
        return
    text = layer.strip()
    lowered = text.lower()
    if (
        lowered.startswith(("/", "\\"))
        or "/vsi" in lowered
        or "://" in text
        or re.match(r"^[a-z]:[\\/]", lowered)
        or ".." in re.split(r"[\\/]", text)
        or "\x00" in text
    ):
        raise ValidationError(
            "The layer %(layer)s looks like a path: a layer is a name inside the file.", layer=layer[:100]
        )


def check_local_path(path: Path, within: Path | None = None) -> Path:
    """The real path of a file to read: never a GDAL virtual path (/vsicurl/, /vsizip/ …) or a URL, and inside
    `within` when given (the upload folder), symbolic links resolved first."""
    text = str(path)
    if text.lower().startswith(("/vsi", "\\vsi")) or "://" in text:
        raise ValidationError("The file %(path)s is not a local file: refused.", path=text[:100])
    real = Path(path).resolve()
    if not real.is_file():
        raise ValidationError("No such file: %(path)s.", path=Path(path).name)
    if within is not None and not real.is_relative_to(Path(within).resolve()):
        raise ValidationError(
            "The file %(path)s is outside the upload folder: refused.", path=Path(path).name
        )
    if str(real).lower().startswith("/vsi"):
        raise ValidationError("The file %(path)s is not a local file: refused.", path=text[:100])
    return real
