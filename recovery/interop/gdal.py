"""GDAL locked down for imports: only the vector drivers an import uses, no network, no indirection.

pyogrio opens a file with whatever driver claims it first and does not expose GDALOpenEx's list of allowed
drivers, so a file named `.geojson` holding an OGR VRT would be read by the VRT driver (which reads any path or
URL the VRT names). Here every other driver is deregistered, once per process and before any read, through the
libgdal that pyogrio itself loaded; the network file systems and the SQLite/GeoPackage escape hatches are
switched off by configuration. The same drivers write the exports (GPKG, LIBKML, ESRI Shapefile).
"""

from __future__ import annotations

import ctypes
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

import pyogrio

#: the only drivers left registered: what the import reads and the export writes
KEPT_DRIVERS = ("GeoJSON", "GPKG", "ESRI Shapefile", "LIBKML", "KML")

#: set before any read; a name no request can match makes /vsicurl/ (and /vsis3/, /vsigs/, /vsiaz/, … which
#: share its checks) refuse every file before any connection is made
CONFIG = {
    "CPL_VSIL_CURL_ALLOWED_FILENAME": "/recovery/no-network",
    "CPL_VSIL_CURL_ALLOWED_EXTENSIONS": ".recovery-no-network",
    "GDAL_HTTP_MAX_RETRY": "0",
    "GDAL_HTTP_TIMEOUT": "1",
    "CPL_ALLOW_VSISTDIN": "NO",
    "GDAL_ALLOW_REMOTE_RESOURCE_TO_ACCESS_LOCAL_FILE": "NO",
    # GeoPackage (SQLite): no VirtualOGR tables, no SQL functions that read files, no extensions
    "OGR_SQLITE_ALLOW_EXTERNAL_ACCESS": "NO",
    "OGR_SQLITE_LIST_VIRTUAL_OGR": "NO",
    "OGR_SQLITE_DIALECT_ALLOW_CREATE_VIRTUAL_TABLE": "NO",
    "ALLOW_VIRTUAL_OGR_FROM_TRIGGER_AND_VIEW": "NO",
    "ALLOW_OGR_SQL_FUNCTIONS_FROM_TRIGGER_AND_VIEW": "NO",
    "OGR_SQLITE_LOAD_EXTENSIONS": "",
    # KML: no style files fetched from elsewhere
    "LIBKML_EXTERNAL_STYLE": "NO",
    "LIBKML_RESOLVE_STYLE": "NO",
    "GDAL_VRT_ENABLE_PYTHON": "NO",
}

_OF_READONLY = 0x00
_OF_VECTOR = 0x04
_lock = threading.Lock()
_done = False


class LockDownError(RuntimeError):
    """GDAL could not be locked down (its library was not found): imports must not run."""


def lock_down() -> None:
    """Deregister every GDAL driver but `KEPT_DRIVERS` and set `CONFIG`; idempotent, thread-safe."""
    global _done
    if _done:
        return
    with _lock:
        if _done:
            return
        gdal = _libgdal()
        names = [_driver_name(gdal, i) for i in range(gdal.GDALGetDriverCount())]
        dropped = [n for n in names if n not in KEPT_DRIVERS]
        # GDAL_SKIP makes a later GDALAllRegister (by any library in the process) skip them again
        pyogrio.set_gdal_config_options(
            CONFIG | {"GDAL_SKIP": " ".join(n.replace(" ", "_") for n in dropped)}
        )
        for name in dropped:
            driver = gdal.GDALGetDriverByName(name.encode())
            if driver:
                gdal.GDALDeregisterDriver(driver)  # not destroyed: a handle may still be held elsewhere
        left = {_driver_name(gdal, i) for i in range(gdal.GDALGetDriverCount())}
        if not left <= set(KEPT_DRIVERS):
            raise LockDownError(f"GDAL drivers still registered: {sorted(left - set(KEPT_DRIVERS))}")
        _done = True


@dataclass(frozen=True)
class LayerInfo:
    name: str
    fields: tuple[str, ...]
    features: int  # -1 when the driver cannot tell without reading every feature


def describe(path: Path, driver: str) -> list[LayerInfo] | None:
    """The layers of `path` opened with `driver` and no other (GDALOpenEx's allowed-drivers list), each with
    its number of fields and, when known cheaply, of features; None when that driver cannot open it."""
    lock_down()
    gdal = _libgdal()
    allowed = (ctypes.c_char_p * 2)(driver.encode(), None)
    dataset = gdal.GDALOpenEx(str(path).encode(), _OF_VECTOR | _OF_READONLY, allowed, None, None)
    if not dataset:
        return None
    try:
        opened = gdal.GDALGetDriverShortName(gdal.GDALGetDatasetDriver(dataset)).decode()
        if opened != driver:
            return None
        layers = []
        for index in range(gdal.GDALDatasetGetLayerCount(dataset)):
            layer = gdal.GDALDatasetGetLayer(dataset, index)
            name = gdal.OGR_L_GetName(layer).decode("utf-8", "replace")
            definition = gdal.OGR_L_GetLayerDefn(layer)
            fields = tuple(
                gdal.OGR_Fld_GetNameRef(gdal.OGR_FD_GetFieldDefn(definition, i)).decode("utf-8", "replace")
                for i in range(gdal.OGR_FD_GetFieldCount(definition))
            )
            layers.append(LayerInfo(name, fields, gdal.OGR_L_GetFeatureCount(layer, 0)))
        return layers
    finally:
        gdal.GDALClose(dataset)


def registered_drivers() -> list[str]:
    gdal = _libgdal()
    return sorted(_driver_name(gdal, i) for i in range(gdal.GDALGetDriverCount()))


def _driver_name(gdal, index: int) -> str:
    return gdal.GDALGetDriverShortName(gdal.GDALGetDriver(index)).decode()


_handle = None


def _libgdal():
    """The libgdal pyogrio loaded (its wheel bundles one): dlopen of the same file returns the same library."""
    global _handle
    if _handle is not None:
        return _handle
    import pyogrio._io  # noqa: F401  (loads libgdal and registers the drivers)

    path = _loaded_path()
    if path is None:
        raise LockDownError("The GDAL library loaded by pyogrio was not found; imports are disabled.")
    gdal = ctypes.CDLL(path)
    gdal.GDALGetDriverCount.restype = ctypes.c_int
    gdal.GDALGetDriver.restype = ctypes.c_void_p
    gdal.GDALGetDriver.argtypes = [ctypes.c_int]
    gdal.GDALGetDriverShortName.restype = ctypes.c_char_p
    gdal.GDALGetDriverShortName.argtypes = [ctypes.c_void_p]
    gdal.GDALGetDriverByName.restype = ctypes.c_void_p
    gdal.GDALGetDriverByName.argtypes = [ctypes.c_char_p]
    gdal.GDALDeregisterDriver.restype = None
    gdal.GDALDeregisterDriver.argtypes = [ctypes.c_void_p]
    gdal.GDALOpenEx.restype = ctypes.c_void_p
    gdal.GDALOpenEx.argtypes = [
        ctypes.c_char_p,
        ctypes.c_uint,
        ctypes.POINTER(ctypes.c_char_p),
        ctypes.c_void_p,
        ctypes.c_void_p,
    ]
    gdal.GDALClose.argtypes = [ctypes.c_void_p]
    gdal.GDALGetDatasetDriver.restype = ctypes.c_void_p
    gdal.GDALGetDatasetDriver.argtypes = [ctypes.c_void_p]
    gdal.GDALDatasetGetLayerCount.restype = ctypes.c_int
    gdal.GDALDatasetGetLayerCount.argtypes = [ctypes.c_void_p]
    gdal.GDALDatasetGetLayer.restype = ctypes.c_void_p
    gdal.GDALDatasetGetLayer.argtypes = [ctypes.c_void_p, ctypes.c_int]
    gdal.OGR_L_GetName.restype = ctypes.c_char_p
    gdal.OGR_L_GetName.argtypes = [ctypes.c_void_p]
    gdal.OGR_L_GetLayerDefn.restype = ctypes.c_void_p
    gdal.OGR_L_GetLayerDefn.argtypes = [ctypes.c_void_p]
    gdal.OGR_FD_GetFieldCount.restype = ctypes.c_int
    gdal.OGR_FD_GetFieldCount.argtypes = [ctypes.c_void_p]
    gdal.OGR_FD_GetFieldDefn.restype = ctypes.c_void_p
    gdal.OGR_FD_GetFieldDefn.argtypes = [ctypes.c_void_p, ctypes.c_int]
    gdal.OGR_Fld_GetNameRef.restype = ctypes.c_char_p
    gdal.OGR_Fld_GetNameRef.argtypes = [ctypes.c_void_p]
    gdal.OGR_L_GetFeatureCount.restype = ctypes.c_int64
    gdal.OGR_L_GetFeatureCount.argtypes = [ctypes.c_void_p, ctypes.c_int]
    _handle = gdal
    return gdal


def _loaded_path() -> str | None:
    maps = Path("/proc/self/maps")
    if maps.exists():  # Linux: the very file mapped in this process
        for line in maps.read_text().splitlines():
            name = line.split()[-1] if line.split() else ""
            if "/libgdal" in name:
                return name
    package = Path(pyogrio.__file__).parent
    patterns = ("../pyogrio.libs/libgdal*", ".dylibs/libgdal*", "gdal*.dll", "../pyogrio.libs/gdal*.dll")
    for pattern in patterns:
        found = sorted(package.glob(pattern))
        if found:
            return str(found[0].resolve())
    if sys.platform == "darwin":
        return None
    import ctypes.util

    return ctypes.util.find_library("gdal")
