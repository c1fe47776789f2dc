"""The one writer per format (recovery.writers): what a CSV, Excel or GeoJSON file holds is decided there, tested
here once; then every door that hands out such a file is shown to write it with that writer."""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from datetime import UTC, date, datetime

import pytest
from openpyxl import load_workbook
from shapely.geometry import LineString, Point
from support.accounts import auth

from recovery.settings import PROJECT_ROOT
from recovery.spreadsheet import from_csv_cell
from recovery.writers import csv as csv_file
from recovery.writers import geojson, xlsx

ROOT = PROJECT_ROOT
DAY = "2021-07-29"
HEADER = ["编号", "名称", "数量(m³)", "上报时间"]
#: 10:30 on 29 July 2021 in the zone (UTC+8)
MOMENT = datetime(2021, 7, 29, 2, 30, tzinfo=UTC)
ROWS = [
    ["RC-001", '=HYPERLINK("http://evil.example","点击")', 12, MOMENT],
    ["RC-002", "＋1+2", -2.5, None],
    ["RC-003", "石佛办事处", "-5", date(2021, 8, 15)],
]


# --- CSV ------------------------------------------------------------------------------------------------------


def _read_csv(text: str) -> list[list[str]]:
    assert text.startswith("\ufeff")  # Excel reads UTF-8 (and so Chinese) only with the mark
    return list(csv.reader(io.StringIO(text[1:])))


def test_csv_keeps_chinese_headers_numbers_and_text_and_quotes_formulas():
    rows = _read_csv(csv_file.text(HEADER, ROWS))
    assert rows[0] == HEADER
    assert rows[1][:3] == ["RC-001", "'" + ROWS[0][1], "12"]
    assert from_csv_cell(rows[1][1]) == ROWS[0][1]
    assert rows[2][1:4] == ["'＋1+2", "-2.5", ""]  # a negative number is a number; None is an empty cell
    assert rows[3][1:3] == ["石佛办事处", "-5"]


def test_csv_writes_instants_in_the_zone_and_days_as_dates():
    rows = _read_csv(csv_file.text(HEADER, ROWS))
    assert rows[1][3] == "2021-07-29T10:30:00+08:00"
    assert rows[3][3] == "2021-08-15"


def test_csv_streams_in_batches_and_writes_files(tmp_path):
    many = [[f"K{i}", i] for i in range(5)]
    chunks = list(csv_file.chunks(["编号", "n"], many, batch=2))
    assert len(chunks) == 4 and chunks[0] == "\ufeff编号,n\r\n"  # header, then 2 + 2 + 1 rows
    assert "".join(chunks) == csv_file.text(["编号", "n"], many)
    assert csv_file.write(tmp_path / "out.csv", ["编号", "n"], iter(many)) == 5
    assert (tmp_path / "out.csv").read_bytes().decode("utf-8") == "".join(chunks)


# --- Excel ----------------------------------------------------------------------------------------------------


def test_excel_keeps_chinese_headers_numbers_dates_and_never_writes_a_formula(tmp_path):
    out = tmp_path / "t.xlsx"
    with out.open("wb") as handle:
        written = xlsx.write_table(handle, xlsx.sheet_name("道路/塌陷:点[1]"), HEADER, ROWS, [14, 28, 12, 18])
    assert written == 3
    with zipfile.ZipFile(out) as archive:
        assert not re.search(rb"<f[ >]", archive.read("xl/worksheets/sheet1.xml"))
    book = load_workbook(out)
    sheet = book["道路_塌陷_点_1_"]  # what a sheet's name may not hold is replaced
    assert [c.value for c in sheet[1]] == HEADER and sheet[1][0].font.b
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref == "A1:D4"
    hostile = sheet["B2"]
    assert hostile.value == ROWS[0][1] and hostile.data_type == "s" and hostile.quotePrefix
    assert sheet["C2"].value == 12 and sheet["C3"].value == -2.5
    assert sheet["C4"].value == "-5" and not sheet["C4"].quotePrefix  # text that is a number stays as given
    assert sheet["D2"].value == datetime(2021, 7, 29, 10, 30)  # the zone's local time, as a date cell
    assert sheet["D2"].number_format == "yyyy-mm-dd hh:mm"
    assert sheet["D3"].value is None


def test_excel_bytes_depend_on_the_rows_only():
    def one() -> bytes:
        buffer = io.BytesIO()
        xlsx.write_table(buffer, "表", HEADER, ROWS, [10] * 4)
        return buffer.getvalue()

    assert one() == one()


def test_sheet_names():
    assert xlsx.sheet_name("x" * 40) == "x" * 31
    assert xlsx.sheet_name("", "records") == "records"


# --- GeoJSON --------------------------------------------------------------------------------------------------


def test_geojson_collection_is_rfc_7946():
    features = [
        geojson.feature("RC-001", Point(113.6, 34.8), {"name": "石佛", "n": 3}),
        geojson.feature("RC-002", {"type": "Point", "coordinates": [113.7, 34.7]}, {"name": None}),
        geojson.feature("RD-1", LineString([(113.6, 34.8), (113.7, 34.9)]), {}),
    ]
    text = "".join(geojson.chunks(features))
    assert "石佛" in text and text.endswith("]}\n")  # UTF-8, not \\u escapes
    data = json.loads(text)
    assert data["type"] == "FeatureCollection" and "crs" not in data
    assert [f["id"] for f in data["features"]] == ["RC-001", "RC-002", "RD-1"]
    assert data["features"][0]["geometry"] == {"type": "Point", "coordinates": [113.6, 34.8]}
    assert data["features"][0]["properties"] == {"name": "石佛", "n": 3}
    assert data["features"][2]["geometry"]["type"] == "LineString"
    assert json.loads("".join(geojson.chunks([]))) == {"type": "FeatureCollection", "features": []}


def test_pushed_collection_equals_streamed_one():
    features = [geojson.feature(str(i), Point(i, i), {"i": i}) for i in range(3)]
    parts: list[str] = []
    collection = geojson.Collection(parts.append)
    for f in features:
        collection.add(f)
    collection.close()
    assert "".join(parts) == "".join(geojson.chunks(features))


# --- every door uses the writer -------------------------------------------------------------------------------


@pytest.fixture
def used(monkeypatch):
    """Counts the calls of each writer's primitive: a CSV cell, an Excel workbook closed, a GeoJSON feature."""
    calls = {"csv": 0, "xlsx": 0, "geojson": 0}

    def spy(owner, name, key):
        real = getattr(owner, name)

        def counted(*args, **kwargs):
            calls[key] += 1
            return real(*args, **kwargs)

        monkeypatch.setattr(owner, name, counted)

    spy(csv_file, "cell", "csv")
    spy(xlsx.StreamingWorkbook, "close", "xlsx")
    spy(geojson.Collection, "add", "geojson")
    return calls


DOORS = [
    ("csv", "/api/v1/export?format=csv&kind=road_collapse", "commander"),
    ("csv", f"/reports/daily/{DAY}/records/road_collapse_total?format=csv", "reporter"),
    ("csv", f"/reports/daily/{DAY}/table/road_collapse/total?format=csv", "reporter"),
    ("xlsx", "/api/v1/export?format=xlsx&kind=road_collapse", "commander"),
    ("xlsx", f"/api/v1/reports/daily/{DAY}?format=xlsx", "reporter"),
    ("xlsx", f"/reports/daily/{DAY}/records/road_collapse_total?format=xlsx", "reporter"),
    ("geojson", "/api/v1/export?format=geojson&kind=road_collapse", "commander"),
    ("geojson", f"/api/v1/reports/daily/{DAY}?format=geojson", "reporter"),
]


@pytest.mark.slow
def test_every_download_uses_the_writer_of_its_format(seeded_client, used):
    for fmt, path, user in DOORS:
        before = dict(used)
        response = seeded_client.get(path, headers=auth(user))
        assert response.status_code == 200, path
        response.get_data()  # a streamed body is written as it is read
        assert used[fmt] > before[fmt], path


@pytest.mark.slow
def test_a_publication_and_the_command_line_use_the_writers(seeded_client, seeded_runner, tmp_path, used):
    published = seeded_client.post(f"/api/v1/reports/daily/{DAY}/publish", headers=auth("reporter"))
    assert published.status_code == 201
    assert used["xlsx"] == 1 and used["geojson"] > 0  # the publication's stored ledger and GeoJSON
    out = tmp_path / "rc.zip"
    result = seeded_runner.invoke(
        args=["export", "--format", "shapefile", "--kind", "road_collapse", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert used["csv"] > 0  # the Shapefile's table of field names
    with zipfile.ZipFile(out) as archive:
        assert archive.read("fields.csv").startswith("\ufeff字段 field".encode())


def test_the_import_rejects_file_uses_the_csv_writer(tmp_path, used):
    from types import SimpleNamespace

    from recovery.interop.importer import write_rejects
    from recovery.interop.validate import Row

    plan = SimpleNamespace(rejected=[Row(number=2, key="K", name="=1+2", errors=["bad"])])
    assert write_rejects(plan, tmp_path / "rejects.csv") == 1
    assert used["csv"] > 0


#: what writes a CSV, Excel or streamed GeoJSON file by itself
WRITES_A_FILE = re.compile(
    r"csv\.writer|DictWriter|openpyxl import Workbook|\.to_csv\(|\.to_excel\(|xlsxwriter"
    r"|spreadsheetml|'\{\"type\":\"FeatureCollection\""
)


def test_only_the_writers_write_files():
    """No module outside recovery/writers writes CSV, Excel or a streamed GeoJSON collection on its own."""
    writers = {
        path.relative_to(ROOT).as_posix()
        for path in (ROOT / "recovery").rglob("*.py")
        if WRITES_A_FILE.search(path.read_text(encoding="utf-8"))
    }
    assert {"recovery/writers/csv.py", "recovery/writers/xlsx.py", "recovery/writers/geojson.py"} <= writers
    assert {w for w in writers if not w.startswith("recovery/writers/")} == set()
