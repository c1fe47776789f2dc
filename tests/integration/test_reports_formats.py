"""The 29 July report in every format carries the article's figures; the Excel ledger and the record lists
agree with the figures; reporters read but never write. On SQLite and PostGIS."""

from __future__ import annotations

import io
import json

import pytest
from openpyxl import load_workbook
from support.accounts import auth
from support.article import ARTICLE, ARTICLE_PARAGRAPH

DAY = "2021-07-29"
URL = f"/api/v1/reports/daily/{DAY}"


@pytest.mark.parametrize("fmt", ["txt", "text", "md", "json"])
def test_text_formats_carry_the_article(seeded_client, fmt):
    response = seeded_client.get(f"{URL}?format={fmt}", headers=auth("reporter"))
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert ARTICLE_PARAGRAPH in body
    if fmt == "json":
        figures = {f["key"]: f["printed"] for f in json.loads(body)["figures"]}
        assert {k: figures[k] for k in ARTICLE} == ARTICLE
        assert figures["restart_headcount_rate"] == "99.11"
    if fmt == "md":
        for key, value in ARTICLE.items():
            if key in json.loads(seeded_client.get(URL, headers=auth("reporter")).data)["headline"]:
                assert f"| {value} " in body


def test_unknown_format_is_refused(seeded_client):
    response = seeded_client.get(f"{URL}?format=pdf", headers=auth("reporter"))
    assert response.status_code == 400
    assert response.json["error"]["code"]


@pytest.mark.slow  # 3.2 s on SQLite
def test_excel_ledger_agrees_with_the_figures(seeded_client):
    figures = {f["key"]: f for f in seeded_client.get(URL, headers=auth("reporter")).json["figures"]}
    response = seeded_client.get(f"{URL}?format=xlsx", headers=auth("reporter"))
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.data), read_only=True)
    assert book.sheetnames[0] == "汇总"
    summary = {
        row[5]: row[1] for row in book["汇总"].iter_rows(min_row=2, values_only=True) if row and len(row) > 5
    }
    assert summary["road_collapse_handled"] == 167 and summary["composite_restart_rate"] == 98.75

    def rows(sheet):
        data = list(book[sheet].iter_rows(values_only=True))
        return data[0], data[1:]

    header, roads = rows("道路塌陷点")
    assert header[:4] == ("编号", "名称", "地址", "状态")
    assert len(roads) == figures["road_collapse_total"]["value"] == 236
    assert sum(1 for r in roads if r[3] == "已修复") == 167
    header, silt = rows("清淤点")
    m3, tonnes = header.index("清运淤泥(m³)"), header.index("清运垃圾杂物(t)")
    assert round(sum(r[m3] or 0 for r in silt)) == 2600
    assert round(sum(r[tonnes] or 0 for r in silt)) == 7779
    header, enterprises = rows("企业")
    stopped = [r for r in enterprises if r[3] in ("停产", "部分复工", "全面复工")]
    assert len(stopped) == 7630
    assert sum(1 for r in stopped if r[3] != "停产") == 7562
    lon, lat = header.index("经度"), header.index("纬度")
    assert all(113 < r[lon] < 114 and 34 < r[lat] < 35 for r in enterprises)


@pytest.mark.slow
def test_excel_sheet_layout(seeded_client, tmp_path):
    response = seeded_client.get(f"/reports/daily/{DAY}.xlsx", headers=auth("commander"))
    path = tmp_path / "ledger.xlsx"
    path.write_bytes(response.data)
    book = load_workbook(path)  # full mode: layout is readable
    sheet = book["道路塌陷点"]
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == f"A1:{sheet.cell(1, sheet.max_column).column_letter}237"
    assert sheet.column_dimensions["B"].width == 28


@pytest.mark.slow
def test_geojson_has_one_feature_per_site(seeded_client):
    response = seeded_client.get(f"{URL}?format=geojson", headers=auth("reporter"))
    data = json.loads(response.data)
    roads = [f for f in data["features"] if f["properties"]["kind"] == "road_collapse"]
    assert len(roads) == 236
    assert sum(1 for f in roads if f["properties"]["status"] == "restored") == 167


@pytest.mark.slow  # 4.1 s on SQLite
def test_every_figure_lists_as_many_records(seeded_client):
    payload = seeded_client.get(URL, headers=auth("reporter")).json
    for figure in payload["figures"]:
        key = figure["key"]
        page = seeded_client.get(f"/reports/daily/{DAY}/records/{key}?format=csv", headers=auth("reporter"))
        assert page.status_code == 200
        lines = page.get_data(as_text=True).lstrip("\ufeff").strip().splitlines()[1:]
        values = [float(line.rsplit(",", 1)[1]) for line in lines]
        if figure["denominator"] is None:
            assert sum(values) == pytest.approx(figure["value"]), key
            if not key.endswith(("_m3", "_t")) and key != "rescue_volunteers":
                assert len(values) == figure["value"], key
        else:
            assert sum(values) == pytest.approx(figure["numerator"]), key


def test_records_page_counts_rows(seeded_client):
    html = seeded_client.get(f"/reports/daily/{DAY}/records/road_collapse_handled", headers=auth("reporter"))
    text = html.get_data(as_text=True)
    assert '<strong id="record-count">167</strong>' in text
    assert text.count("<tr><td>") == 167
    xlsx = seeded_client.get(
        f"/reports/daily/{DAY}/records/road_collapse_handled?format=xlsx", headers=auth("reporter")
    )
    assert len(list(load_workbook(io.BytesIO(xlsx.data), read_only=True).active.iter_rows())) == 168


def test_report_page_links_every_figure(seeded_client):
    page = seeded_client.get(f"/reports/daily/{DAY}", headers=auth("reporter")).get_data(as_text=True)
    assert ARTICLE_PARAGRAPH in page
    assert f"/reports/daily/{DAY}/records/road_collapse_handled" in page
    assert "<svg" in page and "8月15日" in page and "综合复工率" in page
    assert "+14" in page  # collapse points handled on 29 July, compared with the 28th


def test_report_page_at_a_time_of_day(seeded_client):
    morning = seeded_client.get(f"/reports/daily/{DAY}?at=06:00&format=json", headers=auth("reporter"))
    assert morning.status_code == 200
    assert "2021-07-29T06:00:00+08:00" in morning.get_data(as_text=True)
    bad = seeded_client.get(f"/reports/daily/{DAY}?at=25:99", headers=auth("reporter"))
    assert bad.status_code == 400


def test_drafts_are_not_public_and_reporters_cannot_write(seeded_client):
    assert seeded_client.get(f"/reports/daily/{DAY}", headers={"Accept": "text/html"}).status_code in (
        302,
        401,
    )
    assert seeded_client.get(f"{URL}?format=txt").status_code == 401
    assert seeded_client.get(f"/reports/daily/{DAY}", headers=auth("field")).status_code == 403
    site = seeded_client.get("/api/v1/sites?kind=road_collapse&limit=1", headers=auth("reporter")).json[
        "features"
    ][0]
    response = seeded_client.post(
        f"/api/v1/sites/{site['id']}/events",
        headers={**auth("reporter"), "If-Match": '"1"'},
        json={"status": "restored"},
    )
    assert response.status_code == 403
    assert seeded_client.post(f"{URL}/publish", headers=auth("field")).status_code == 403


def test_cli_report_formats(seeded_runner, tmp_path):
    out = seeded_runner.invoke(args=["report", "daily", "--date", DAY, "--format", "txt"])
    assert out.exit_code == 0 and ARTICLE_PARAGRAPH in out.output
    target = tmp_path / "ledger.xlsx"
    out = seeded_runner.invoke(
        args=["report", "daily", "--date", DAY, "--format", "xlsx", "--out", str(target)]
    )
    assert out.exit_code == 0, out.output
    book = load_workbook(target, read_only=True)
    assert len(list(book["道路塌陷点"].iter_rows())) == 237
    out = seeded_runner.invoke(args=["report", "daily", "--date", DAY, "--format", "xlsx"])
    assert out.exit_code != 0
