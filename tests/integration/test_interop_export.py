"""Exports: every format, as of a date, filtered; an export imported into an empty database gives the same sites."""

from __future__ import annotations

import json
import zipfile

import pytest
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from recovery.db.engine import make_engine
from recovery.interop.export import FORMATS, write_file
from recovery.interop.importer import apply_import, plan_import
from recovery.ledger.bulk import verify
from recovery.models import Site
from recovery.query.sites import SiteQuery
from recovery.query.sql import select_sites
from recovery.timeutil import parse_as_of


def _state(session) -> dict:
    session.rollback()
    return {
        s.key: (
            s.kind,
            s.name,
            s.address,
            s.status,
            dict(s.track_status),
            s.capacity_pct,
            {k: v for k, v in s.attributes.items()},
            s.geom.wkb,
            s.subdistrict,
        )
        for s in session.scalars(select(Site))
    }


def test_as_of_export_matches_the_article(seeded_session, tmp_path):
    records, matched = select_sites(
        seeded_session, SiteQuery(("road_collapse",), as_of=parse_as_of("2021-07-29")), count=True
    )
    assert matched == 236 and sum(r.status == "restored" for r in records) == 167
    out = write_file(records, "geojson", tmp_path / "rc.geojson", kind="road_collapse")
    data = json.loads(out.read_text(encoding="utf-8"))
    assert "crs" not in data and len(data["features"]) == 236
    assert data["features"][0]["geometry"]["coordinates"][0] > 100  # longitude first
    restored, _ = select_sites(
        seeded_session,
        SiteQuery(("road_collapse",), ("restored",), as_of=parse_as_of("2021-07-29")),
        count=True,
    )
    assert len(restored) == 167


def test_an_as_of_export_carries_when_each_site_was_reported(seeded_session, tmp_path):
    """上报时间 is filled as of a past day in every office format (it was empty for every site), and no site
    reported after that day is in it."""
    import csv

    as_of = parse_as_of("2021-07-22")
    records, _ = select_sites(seeded_session, SiteQuery(("silt_site", "enterprise"), as_of=as_of))
    assert records and all(r.reported_at is not None and r.reported_at <= as_of for r in records)
    now, _ = select_sites(seeded_session, SiteQuery(("silt_site", "enterprise")))
    reported = {r.key: r.reported_at for r in now}
    assert all(r.reported_at == reported[r.key] for r in records)
    text = write_file(records, "csv", tmp_path / "s.csv").read_text(encoding="utf-8-sig")
    rows = list(csv.DictReader(text.splitlines()))
    assert len(rows) == len(records) and all(row["上报时间"].startswith("2021-07-") for row in rows)
    book = load_workbook(write_file(records, "xlsx", tmp_path / "s.xlsx"), read_only=True)
    table = list(book.worksheets[0].iter_rows(values_only=True))
    book.close()
    column = table[0].index("上报时间")
    assert all(row[column] for row in table[1:])
    features = json.loads(write_file(records, "geojson", tmp_path / "s.geojson").read_text("utf-8"))[
        "features"
    ]
    assert all(f["properties"]["reported_at"] for f in features)


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_round_trip_into_an_empty_database(seeded_session, db_url, geodata, tmp_path, fmt):
    kinds = ("road_collapse", "enterprise", "residential_community")
    records = [r for k in kinds for r in select_sites(seeded_session, SiteQuery((k,)))[0][:40]]
    out = write_file(records, fmt, tmp_path / f"sites{FORMATS[fmt].suffix}")
    engine = make_engine(db_url)
    with Session(engine, expire_on_commit=False) as empty:
        plan = plan_import(empty, geodata, out)
        assert not plan.rejected, [(r.number, [str(e) for e in r.errors]) for r in plan.rejected[:3]]
        apply_import(empty, geodata, plan, actor="round-trip")
        expected = {k: v for k, v in _state(seeded_session).items() if k in {r.key for r in records}}
        got = _state(empty)
        assert set(got) == set(expected)
        for key in expected:
            assert got[key][:7] == expected[key][:7], key
            assert got[key][8] == expected[key][8]
        assert verify(empty) == []
        second = plan_import(empty, geodata, out)
        assert second.counts["unchanged"] == len(records)
    engine.dispose()


def test_shapefile_zip_has_cpg_prj_and_field_table(seeded_session, tmp_path):
    records, _ = select_sites(seeded_session, SiteQuery(("municipal_facility",)))
    out = write_file(records, "shapefile", tmp_path / "mf.zip", kind="municipal_facility")
    with zipfile.ZipFile(out) as z:
        names = set(z.namelist())
        assert {
            "municipal_facility.shp",
            "municipal_facility.cpg",
            "municipal_facility.prj",
            "fields.csv",
        } <= names
        assert z.read("municipal_facility.cpg").decode().strip().upper() == "UTF-8"
        assert "fac_type,facility_type,设施类型" in z.read("fields.csv").decode("utf-8-sig")


def test_excel_and_csv_are_chinese_for_offices(seeded_session, tmp_path):
    records, _ = select_sites(seeded_session, SiteQuery(("enterprise",)))
    xlsx = write_file(records[:10], "xlsx", tmp_path / "e.xlsx", kind="enterprise")
    sheet = load_workbook(xlsx).active
    header = [c.value for c in sheet[1]]
    assert header[:5] == ["编号", "类型", "名称", "地址", "状态"]
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref.startswith("A1:")
    assert sheet.cell(2, 2).value == "企业"
    csv_path = write_file(records[:10], "csv", tmp_path / "e.csv", kind="enterprise")
    assert csv_path.read_bytes().startswith(b"\xef\xbb\xbf") and "编号,类型,名称" in csv_path.read_text(
        "utf-8-sig"
    )


def test_export_cli_and_api(seeded_app, seeded_runner, tmp_path):
    from support.accounts import bearer, token_for

    result = seeded_runner.invoke(
        args=[
            "export",
            "--format",
            "geojson",
            "--kind",
            "road_collapse",
            "--as-of",
            "2021-07-29",
            "--out",
            str(tmp_path / "rc.geojson"),
        ]
    )
    assert result.exit_code == 0, result.output
    assert len(json.loads((tmp_path / "rc.geojson").read_text())["features"]) == 236
    client = seeded_app.test_client()
    assert client.get("/api/v1/export?format=geojson").status_code == 401
    field = token_for(seeded_app, "field", "f1")
    assert client.get("/api/v1/export?format=geojson", headers=bearer(field)).status_code == 403
    token = token_for(seeded_app, "reporter")
    response = client.get(
        "/api/v1/export?format=geojson&kind=road_collapse&as_of=2021-07-29&status=restored",
        headers=bearer(token),
    )
    assert response.status_code == 200 and response.mimetype == "application/geo+json"
    assert len(response.get_json()["features"]) == 167
    response = client.get("/api/v1/export?format=gpkg&kind=river_hazard", headers=bearer(token))
    assert response.status_code == 200 and response.data[:16] == b"SQLite format 3\x00"
    bad = client.get("/api/v1/export?format=docx", headers=bearer(token))
    assert bad.status_code == 400 and bad.get_json()["error"]["code"] == "invalid_input"
