"""Import and export of 100,000 sites per format, beside GeoPandas' own read and write of the same file.

A synthetic data set (`recovery.seeding.load_synthetic`, one event per site) is loaded once into a source
database. For each format the script times, in the same run:

* export — `recovery.interop.export.write_file` of every site (after one `select_sites`, timed apart);
* GeoPandas read — `geopandas.read_file` of that file, every layer (pyogrio engine; GDAL's CSV and XLSX
  drivers for CSV and Excel);
* GeoPandas write — `GeoDataFrame.to_file` of what it read, to a new file of the same format;
* import, check — `plan_import` of the file into a fresh empty database (reading, mapping, every row checked,
  compared with the stored sites: the preview);
* import, store — `apply_import` of that plan (sites and their events through `recovery.ledger.bulk`).

It prints a table with the times and the ratios ours/GeoPandas; nothing is asserted.

    /tmp/venv/bin/python bench/interop.py                              # 100,000 sites, every format, SQLite
    /tmp/venv/bin/python bench/interop.py --sites 2000 --formats csv geojson   # smoke test
    /tmp/venv/bin/python bench/interop.py --reuse --json bench/results/interop.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
import zipfile
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pyogrio
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = BENCH_DIR.parent
sys.path.insert(0, str(PROJECT_ROOT))

from recovery.db.engine import make_engine  # noqa: E402
from recovery.db.migrate import upgrade  # noqa: E402
from recovery.geodata import load_geodata  # noqa: E402
from recovery.interop.archive import Limits  # noqa: E402
from recovery.interop.export import FORMATS, write_file  # noqa: E402
from recovery.interop.importer import apply_import, plan_import  # noqa: E402
from recovery.models import Site  # noqa: E402
from recovery.query.sites import SiteQuery  # noqa: E402
from recovery.query.sql import select_sites  # noqa: E402
from recovery.seeding import load_synthetic  # noqa: E402

DATA_DIR = BENCH_DIR / ".data"
ORDER = ["geojson", "gpkg", "shapefile", "csv", "xlsx", "kml"]
LABELS = {
    "geojson": "GeoJSON",
    "gpkg": "GeoPackage",
    "shapefile": "Shapefile (zip)",
    "csv": "CSV",
    "xlsx": "Excel",
    "kml": "KML",
}
#: GDAL drivers GeoPandas writes each format with
DRIVERS = {
    "geojson": "GeoJSON",
    "gpkg": "GPKG",
    "shapefile": "ESRI Shapefile",
    "csv": "CSV",
    "xlsx": "XLSX",
    "kml": "LIBKML",
}
#: a large benchmark file is not an attack: let the importer read it
BENCH_LIMITS = Limits(max_file_bytes=4 * 1024**3, max_uncompressed_bytes=8 * 1024**3)


def timed(fn, *args, **kwargs) -> tuple[float, Any]:
    start = time.perf_counter()
    value = fn(*args, **kwargs)
    return time.perf_counter() - start, value


def source_database(n_sites: int, reuse: bool) -> str:
    """A SQLite database with `n_sites` synthetic sites (one report event each)."""
    path = DATA_DIR / f"interop_source_{n_sites}.sqlite3"
    url = f"sqlite:///{path}"
    if reuse and path.exists():
        engine = make_engine(url)
        with Session(engine) as session:
            count = session.scalar(select(func.count()).select_from(Site))
        engine.dispose()
        if count == n_sites:
            return url
    path.unlink(missing_ok=True)
    engine = make_engine(url, synchronous="OFF")
    upgrade(engine)
    with Session(engine) as session:
        seconds, _ = timed(load_synthetic, session, load_geodata(PROJECT_ROOT / "geodata"), n_sites, n_sites)
    engine.dispose()
    print(f"source database: {n_sites:,} sites loaded in {seconds:.1f} s ({path})", flush=True)
    return url


_TEMPLATES: list[Path] = []


def empty_template() -> Path:
    """A migrated empty SQLite database, made once per run (so that it has every migration of the code)."""
    path = DATA_DIR / "interop_empty.sqlite3"
    if not _TEMPLATES:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        _TEMPLATES.append(path)
        engine = make_engine(f"sqlite:///{path}")
        upgrade(engine)
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        engine.dispose()
    return path


def fresh_target(backend: str, pg_url: str, folder: Path) -> str:
    if backend == "sqlite":
        target = folder / "target.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{target}{suffix}").unlink(missing_ok=True)
        shutil.copyfile(empty_template(), target)
        return f"sqlite:///{target}"
    admin = make_engine(pg_url.rsplit("/", 1)[0] + "/postgres")
    name = pg_url.rsplit("/", 1)[1]
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        conn.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()
    engine = make_engine(pg_url)
    upgrade(engine)
    engine.dispose()
    return pg_url


def geopandas_read(path: Path, fmt: str) -> list[tuple[str, gpd.GeoDataFrame]]:
    """Every layer of the file, as GeoPandas reads it (a zip through GDAL's /vsizip/)."""
    if fmt == "shapefile":
        with zipfile.ZipFile(path) as archive:
            names = [n for n in archive.namelist() if n.endswith(".shp")]
        return [(Path(n).stem, gpd.read_file(f"zip://{path}!{n}", engine="pyogrio")) for n in names]
    options = {"GEOM_POSSIBLE_NAMES": "WKT", "X_POSSIBLE_NAMES": "lon", "Y_POSSIBLE_NAMES": "lat"}
    extra = options if fmt == "csv" else {}
    layers = [str(name) for name, _ in pyogrio.list_layers(path)]
    out = [(layer, gpd.read_file(path, layer=layer, engine="pyogrio", **extra)) for layer in layers]
    if fmt == "xlsx":  # GDAL's XLSX driver reads a table: the geometry is the WKT column
        out = [
            (name, gpd.GeoDataFrame(data, geometry=gpd.GeoSeries.from_wkt(data["WKT"]))) for name, data in out
        ]
    return out


def geopandas_write(layers: list[tuple[str, gpd.GeoDataFrame]], fmt: str, folder: Path) -> None:
    """The same layers written back with `to_file` to a new file of the same format."""
    driver = DRIVERS[fmt]
    if fmt == "shapefile":
        out = folder / "gpd_shp"
        out.mkdir()
        for name, data in layers:
            data.to_file(out / f"{name}.shp", driver=driver, engine="pyogrio", encoding="UTF-8")
        with zipfile.ZipFile(folder / "gpd.zip", "w", zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(out.iterdir()):
                archive.write(path, path.name)
        return
    target = folder / f"gpd{FORMATS[fmt].suffix}"
    for index, (name, data) in enumerate(layers):
        if fmt == "xlsx":  # a spreadsheet holds no geometry: the WKT column stands for it, as it was read
            pyogrio.write_dataframe(
                pd.DataFrame(data.drop(columns="geometry")), target, driver=driver, layer=name
            )
            continue
        extra = {"layer_options": {"GEOMETRY": "AS_WKT"}} if fmt == "csv" else {}
        data.to_file(target, driver=driver, engine="pyogrio", layer=name, append=index > 0, **extra)


def geopandas_baseline(path: Path, fmt: str, folder: Path) -> dict[str, Any]:
    """GeoPandas' read and write of the file, timed in a process of its own.

    An import locks GDAL down for the rest of its process (`recovery.interop.gdal`: five drivers, no CSV or XLSX
    driver, no /vsizip/), so the baseline, which reads CSV, Excel and zips through GDAL as a GIS analyst would,
    cannot run in the process that imports.
    """
    command = [sys.executable, __file__, "--gpd-baseline", str(path), fmt, str(folder)]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def _gpd_baseline_main(path: str, fmt: str, folder: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        read_s, layers = timed(geopandas_read, Path(path), fmt)
        rows = sum(len(data) for _, data in layers)
        write_s, _ = timed(geopandas_write, layers, fmt, Path(folder))
    print(json.dumps({"gpd_read_s": read_s, "gpd_rows": rows, "gpd_write_s": write_s}))


def run_format(fmt: str, records, args, folder: Path) -> dict[str, Any]:
    geodata = load_geodata(PROJECT_ROOT / "geodata")
    path = folder / f"sites{FORMATS[fmt].suffix}"
    row: dict[str, Any] = {"format": fmt}
    row["export_s"], _ = timed(write_file, records, fmt, path)
    row["bytes"] = path.stat().st_size
    row.update(geopandas_baseline(path, fmt, folder))
    engine = make_engine(fresh_target(args.backend, args.pg_url, folder))
    with Session(engine) as session:
        row["check_s"], plan = timed(plan_import, session, geodata, path, limits=BENCH_LIMITS)
        row["counts"] = plan.counts
        if plan.rejected:
            first = plan.rejected[0]
            row["first_reject"] = f"row {first.number}: {[e.message for e in first.errors]}"
        row["store_s"], result = timed(apply_import, session, geodata, plan, actor="bench", skip_invalid=True)
        row["events"] = result.events
        row["stored"] = session.scalar(select(func.count()).select_from(Site))
    engine.dispose()
    row["import_s"] = row["check_s"] + row["store_s"]
    row["ratio_export"] = row["export_s"] / row["gpd_write_s"]
    row["ratio_import"] = row["import_s"] / row["gpd_read_s"]
    row["ratio_check"] = row["check_s"] / row["gpd_read_s"]
    return row


def print_table(rows: list[dict[str, Any]], n_sites: int, select_s: float) -> None:
    print(f"\n{n_sites:,} sites; select_sites (shared by every export): {select_s:.1f} s\n")
    print(
        "| format | file MB | export s | GeoPandas write s | export ÷ write | import s (check + store) "
        "| GeoPandas read s | import ÷ read | check ÷ read | stored |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {LABELS[r['format']]} | {r['bytes'] / 1e6:.1f} | {r['export_s']:.1f} | {r['gpd_write_s']:.1f} "
            f"| {r['ratio_export']:.1f}× | {r['import_s']:.1f} ({r['check_s']:.1f} + {r['store_s']:.1f}) "
            f"| {r['gpd_read_s']:.1f} | {r['ratio_import']:.1f}× | {r['ratio_check']:.1f}× | {r['stored']:,} |"
        )
    for r in rows:
        if r.get("first_reject"):
            print(f"  {LABELS[r['format']]}: {r['counts']['rejected']} rejected; first {r['first_reject']}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sites", type=int, default=100_000)
    parser.add_argument("--formats", nargs="+", choices=ORDER, default=ORDER)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument(
        "--pg-url",
        default=os.environ.get(
            "RECOVERY_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/recovery_bench_interop"
        ),
    )
    parser.add_argument("--reuse", action="store_true", help="reuse the source database if it has --sites")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    DATA_DIR.mkdir(exist_ok=True)
    print(
        f"{platform.node()}: Python {platform.python_version()}, GeoPandas {gpd.__version__}, "
        f"pyogrio {pyogrio.__version__}, GDAL {pyogrio.__gdal_version_string__}, pandas {pd.__version__}, "
        f"{os.cpu_count()} CPUs; target backend {args.backend}",
        flush=True,
    )
    engine = make_engine(source_database(args.sites, args.reuse))
    with Session(engine) as session:
        select_s, (records, _) = timed(select_sites, session, SiteQuery())
    engine.dispose()
    rows = []
    for fmt in args.formats:
        with tempfile.TemporaryDirectory(prefix=f"bench-interop-{fmt}-", dir=DATA_DIR) as folder:
            row = run_format(fmt, records, args, Path(folder))
        rows.append(row)
        print(
            f"{LABELS[fmt]}: export {row['export_s']:.1f} s, GeoPandas write {row['gpd_write_s']:.1f} s, "
            f"check {row['check_s']:.1f} s, store {row['store_s']:.1f} s, GeoPandas read "
            f"{row['gpd_read_s']:.1f} s, counts {row['counts']}",
            flush=True,
        )
    print_table(rows, args.sites, select_s)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"sites": args.sites, "select_s": select_s, "rows": rows}, indent=1))


if __name__ == "__main__":
    if sys.argv[1:2] == ["--gpd-baseline"]:
        _gpd_baseline_main(*sys.argv[2:5])
    else:
        main()
