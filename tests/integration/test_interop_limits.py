"""Small hostile imports cost little: columns, rows, cells, expansion and time are checked while a file is read,
before the parser or calamine builds the whole table; the limits are scaled down through `Limits` so the files
stay small. The admin's preview reads an upload once, and a `.json` upload goes through."""

from __future__ import annotations

import io
import json
import resource
import tracemalloc
import zipfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
import shapely
from openpyxl import Workbook
from support.accounts import csrf_token, login
from support.sites import site_keys

from recovery.errors import ValidationError
from recovery.interop import web
from recovery.interop.archive import DEFAULT_LIMITS, Limits
from recovery.interop.readers import read_source
from recovery.settings import PROJECT_ROOT

A = (113.565305, 34.880557)


def _csv(path: Path, columns: int, rows: int) -> Path:
    header = ",".join(f"c{i}" for i in range(columns))
    line = ",".join("1" for _ in range(columns))
    path.write_text("\n".join([header, *[line] * rows]) + "\n", encoding="utf-8")
    return path


def _never(*args, **kwargs):
    raise AssertionError("the full reader was called")


@pytest.mark.parametrize(
    ("columns", "rows", "limits", "message"),
    [
        (51, 1, Limits(max_columns=50), "51 columns"),
        (3, 11, Limits(max_rows=10), "more than 10 rows"),
        (5, 10, Limits(max_cells=40), "more than 40 cells"),
        (3, 5, Limits(max_seconds=0), "took more than"),
    ],
)
def test_csv_limits(tmp_path, columns, rows, limits, message):
    path = _csv(tmp_path / "t.csv", columns, rows)
    with pytest.raises(ValidationError, match=message):
        read_source(path, limits=limits)
    assert len(read_source(path).frame) == rows  # the same file within the default limits


def test_csv_rows_are_counted_while_reading(tmp_path, monkeypatch):
    """A file over the row limit is refused after the chunk that passes it, not after the whole file."""
    from recovery.interop import tables

    path = _csv(tmp_path / "t.csv", 2, 1000)
    from pandas.io.parsers.readers import TextFileReader

    chunks = []
    real = TextFileReader.__next__

    def step(self):
        chunk = real(self)
        chunks.append(len(chunk))
        return chunk

    monkeypatch.setattr(TextFileReader, "__next__", step)
    monkeypatch.setattr(tables, "CHUNK_ROWS", 100)
    with pytest.raises(ValidationError, match="more than 150 rows"):
        read_source(path, limits=Limits(max_rows=150))
    assert chunks and sum(chunks) <= 200


def test_a_long_header_line_is_refused_before_the_parser(tmp_path, monkeypatch):
    path = _csv(tmp_path / "t.csv", 40, 1)
    monkeypatch.setattr(pd, "read_csv", _never)
    with pytest.raises(ValidationError, match="longer than 100 characters"):
        read_source(path, limits=Limits(max_line_bytes=100))


def test_default_limits_refuse_a_million_column_csv_without_building_it(tmp_path):
    """The audit's 9.9 MB CSV of a million columns (113 s, 4.3 GB before): refused from its first line, with a
    few megabytes of memory."""
    path = tmp_path / "wide.csv"
    with path.open("w", encoding="utf-8") as handle:
        for row in range(2):
            for start in range(0, 1_000_000, 10_000):
                cells = (f"c{i}" if row == 0 else "1" for i in range(start, start + 10_000))
                handle.write(("," if start else "") + ",".join(cells))
            handle.write("\n")
    assert path.stat().st_size > 8_000_000
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracemalloc.start()
    try:
        with pytest.raises(ValidationError, match="longer than|columns"):
            read_source(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 32 * 1024 * 1024
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before
    assert grown_kib < 200 * 1024


def _workbook(path: Path, rows: int, columns: int = 3) -> Path:
    book = Workbook()
    sheet = book.active
    sheet.append([f"c{i}" for i in range(columns)])
    for r in range(rows):
        sheet.append([r] * columns)
    book.save(path)
    return path


@pytest.mark.parametrize(
    ("rows", "columns", "limits", "message"),
    [
        (30, 3, Limits(max_rows=20), "more than 20 rows"),
        (30, 3, Limits(max_cells=50), "more than 50 cells"),
        (30, 3, Limits(max_members=3), "at most 3"),
        (30, 3, Limits(max_uncompressed_bytes=2000), "expands to"),
    ],
)
def test_xlsx_is_checked_before_calamine_opens_it(tmp_path, monkeypatch, rows, columns, limits, message):
    path = _workbook(tmp_path / "t.xlsx", rows, columns)
    assert len(read_source(path).frame) == rows
    monkeypatch.setattr(pd, "read_excel", _never)
    with pytest.raises(ValidationError, match=message):
        read_source(path, limits=limits)


def test_xlsx_columns_are_limited(tmp_path):
    path = _workbook(tmp_path / "t.xlsx", 2, 30)
    with pytest.raises(ValidationError, match="30 columns"):
        read_source(path, limits=Limits(max_columns=20))


def _sheet_zip(path: Path, rows: int, prefix: str = "") -> Path:
    """A minimal workbook written by hand: one sheet of `rows` identical rows (compresses very well)."""
    p = f"{prefix}:" if prefix else ""
    ns = f' xmlns:{prefix}="http://schemas.openxmlformats.org/spreadsheetml/2006/main"' if prefix else ""
    row = f'<{p}row><{p}c t="inlineStr"><{p}is><{p}t>x</{p}t></{p}is></{p}c></{p}row>'
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr(
            "xl/worksheets/sheet1.xml",
            f"<{p}worksheet{ns}><{p}sheetData>{row * rows}</{p}sheetData></{p}worksheet>",
        )
    return path


def test_xlsx_zip_bomb_ratio(tmp_path, monkeypatch):
    """The audit's 1.5 MB workbook of 5 million rows, in small: a sheet that expands hundreds of times."""
    path = _sheet_zip(tmp_path / "bomb.xlsx", 50_000)
    monkeypatch.setattr(pd, "read_excel", _never)
    with pytest.raises(ValidationError, match="zip bomb"):
        read_source(path, limits=Limits(max_ratio=50))


@pytest.mark.parametrize("prefix", ["", "x"])
def test_xlsx_rows_are_counted_from_the_stream(tmp_path, monkeypatch, prefix):
    path = _sheet_zip(tmp_path / "rows.xlsx", 3_000, prefix)
    monkeypatch.setattr(pd, "read_excel", _never)
    with pytest.raises(ValidationError, match="more than 2000 rows"):
        read_source(path, limits=Limits(max_rows=2000, max_ratio=10**6))


def test_geojson_fields_are_counted_before_the_features_are_read(tmp_path, monkeypatch):
    """A GeoJSON feature of 100,000 properties took minutes in pyogrio: its fields are counted first."""
    properties = {f"p{i}": 1 for i in range(30)}
    feature = {
        "type": "Feature",
        "properties": properties,
        "geometry": {"type": "Point", "coordinates": list(A)},
    }
    path = tmp_path / "wide.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}), encoding="utf-8")
    monkeypatch.setattr(pyogrio, "read_dataframe", _never)
    with pytest.raises(ValidationError, match="30 columns"):
        read_source(path, limits=Limits(max_columns=20))


def test_geopackage_rows_are_counted_before_reading(tmp_path, monkeypatch):
    path = tmp_path / "t.gpkg"
    frame = gpd.GeoDataFrame({"名称": list("abcde")}, geometry=[shapely.Point(*A)] * 5, crs=4326)
    pyogrio.write_dataframe(frame, path, driver="GPKG", layer="sites")
    monkeypatch.setattr(pyogrio, "read_dataframe", _never)
    with pytest.raises(ValidationError, match="more than 4 rows"):
        read_source(path, limits=Limits(max_rows=4))


def test_default_limits_are_documented():
    text = (PROJECT_ROOT / "docs" / "interop.md").read_text(encoding="utf-8")
    for value in (DEFAULT_LIMITS.max_columns, DEFAULT_LIMITS.max_cells, DEFAULT_LIMITS.max_rows):
        assert f"{value:,}" in text


GEOJSON = {
    "type": "FeatureCollection",
    "features": [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": list(A)},
            "properties": {"编号": "RC-J1", "名称": "科学大道塌陷", "状态": "已上报", "道路等级": "main"},
        }
    ],
}


def _upload(client, content: bytes, name: str):
    token = csrf_token(client.get("/admin/import").get_data(as_text=True))
    data = {"csrf_token": token, "kind": "road_collapse", "file": (io.BytesIO(content), name)}
    return client.post("/admin/import", data=data, content_type="multipart/form-data")


def test_a_json_geojson_upload_is_previewed_and_stored(app, client):
    login(client, "admin")
    response = _upload(client, json.dumps(GEOJSON, ensure_ascii=False).encode(), "点位.json")
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "科学大道塌陷" in page
    assert client.post(response.headers["Location"], data={"csrf_token": csrf_token(page)}).status_code == 200
    assert "RC-J1" in site_keys(app)


def test_the_preview_does_not_read_the_file_again(app, client, monkeypatch):
    login(client, "admin")
    response = _upload(client, json.dumps(GEOJSON, ensure_ascii=False).encode(), "sites.geojson")
    assert response.status_code == 302
    token = response.headers["Location"].rstrip("/").rsplit("/", 1)[-1]
    folder = Path(app.instance_path) / "imports" / token
    assert not list(folder.glob("upload*"))  # the upload itself is not kept, only what was read
    monkeypatch.setattr(web, "read_source", _never)
    monkeypatch.setattr(pyogrio, "read_dataframe", _never)
    for _ in range(3):
        page = client.get(response.headers["Location"]).get_data(as_text=True)
        assert "科学大道塌陷" in page
    assert client.post(response.headers["Location"], data={"csrf_token": csrf_token(page)}).status_code == 200
    assert not folder.exists()
