"""Importing every format from small files written here: the expected sites, or the expected refusal and nothing
stored; the second import of a file changes nothing; status changes go through the ledger (descriptive
changes: tests/integration/test_interop_reimport.py)."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from openpyxl import Workbook
from sqlalchemy import select
from support.databases import fingerprint

from recovery.coords import from_wgs84
from recovery.errors import ValidationError
from recovery.interop.importer import apply_import, plan_import
from recovery.ledger.bulk import verify
from recovery.models import Event, Site

# inside the zone (双桥 and 石佛 areas of the seed)
A = (113.565305, 34.880557)
B = (113.560000, 34.860000)


def _geojson(path: Path, features: list[dict]) -> Path:
    path.write_text(
        json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False), encoding="utf-8"
    )
    return path


def _collapse(key, name, lon, lat, status="已上报", road_class="main"):
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
        "properties": {
            "编号": key,
            "名称": name,
            "地址": "郑州市高新区",
            "状态": status,
            "道路等级": road_class,
        },
    }


def _import(session, geodata, path, **kw):
    skip = kw.pop("skip_invalid", False)
    plan = plan_import(session, geodata, path, **kw)
    return plan, apply_import(session, geodata, plan, actor="tester", skip_invalid=skip)


def _sites(session):
    session.rollback()
    return {s.key: s for s in session.scalars(select(Site))}


def test_geojson_with_chinese_columns_and_statuses(session, geodata, tmp_path):
    path = _geojson(
        tmp_path / "a.geojson",
        [
            _collapse("RC-9001", "长椿路塌陷", *A, "已修复"),
            _collapse("RC-9002", "科学大道塌陷", *B, "抢修中", "secondary"),
        ],
    )
    plan, result = _import(session, geodata, path, kind="road_collapse")
    assert plan.counts["new"] == 2 and not plan.rejected
    sites = _sites(session)
    assert sites["RC-9001"].status == "restored" and sites["RC-9001"].name == "长椿路塌陷"
    assert sites["RC-9002"].status == "repairing" and sites["RC-9002"].attributes["road_class"] == "secondary"
    assert sites["RC-9001"].subdistrict is not None  # derived spatially
    assert result.events == 4  # two reports, two transitions
    assert verify(session) == []


def test_second_import_is_unchanged_then_status_change_is_a_transition(session, geodata, tmp_path):
    path = _geojson(tmp_path / "a.geojson", [_collapse("RC-9001", "长椿路塌陷", *A, "已围挡")])
    _import(session, geodata, path, kind="road_collapse")
    before = fingerprint(session)
    plan, result = _import(session, geodata, path, kind="road_collapse")
    assert plan.counts["unchanged"] == 1 and result.events == 0
    assert fingerprint(session) == before
    _geojson(path, [_collapse("RC-9001", "长椿路塌陷(改名)", *A, "已通行")])
    plan, result = _import(session, geodata, path, kind="road_collapse")
    assert plan.counts["updated"] == 1 and result.events == 2  # the transition and the edit of the name
    site = _sites(session)["RC-9001"]
    assert site.status == "passable" and site.name == "长椿路塌陷(改名)"
    assert not plan.rows[0].warnings
    assert session.scalar(select(Event.from_status).where(Event.to_status == "passable")) == "secured"
    assert verify(session) == []


def test_backward_status_is_rejected_and_nothing_stored(session, geodata, tmp_path):
    path = _geojson(tmp_path / "a.geojson", [_collapse("RC-9001", "长椿路塌陷", *A, "已修复")])
    _import(session, geodata, path, kind="road_collapse")
    before = fingerprint(session)
    _geojson(path, [_collapse("RC-9001", "长椿路塌陷", *A, "已上报")])
    plan = plan_import(session, geodata, path, kind="road_collapse")
    assert plan.counts["rejected"] == 1
    with pytest.raises(ValidationError):
        apply_import(session, geodata, plan, actor="tester")
    assert fingerprint(session) == before


def test_rows_without_id_get_a_stable_key(session, geodata, tmp_path):
    feature = _collapse(None, "无编号塌陷", *A)
    del feature["properties"]["编号"]
    path = _geojson(tmp_path / "a.geojson", [feature])
    plan, _ = _import(session, geodata, path, kind="road_collapse")
    key = plan.rows[0].key
    assert key.startswith("RC-I")
    plan2, result = _import(session, geodata, path, kind="road_collapse")
    assert plan2.rows[0].key == key and plan2.counts["unchanged"] == 1 and result.events == 0
    assert len(_sites(session)) == 1


def test_invalid_rows_refuse_the_whole_file_or_are_skipped(session, geodata, tmp_path):
    bowtie = {
        "type": "Polygon",
        "coordinates": [
            [[A[0], A[1]], [A[0] + 0.01, A[1] + 0.01], [A[0] + 0.01, A[1]], [A[0], A[1] + 0.01], [A[0], A[1]]]
        ],
    }
    features = [
        {"type": "Feature", "geometry": bowtie, "properties": {"名称": "自相交", "点位类型": "garage"}},
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [116.4, 39.9]},
            "properties": {"名称": "北京", "点位类型": "garage"},
        },
        {
            "type": "Feature",
            "geometry": {"type": "LineString", "coordinates": [list(A), list(B)]},
            "properties": {"名称": "线", "点位类型": "garage"},
        },
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": list(A)},
            "properties": {"名称": "", "点位类型": "garage"},
        },
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": list(A)},
            "properties": {"名称": "未知状态", "状态": "飞走了"},
        },
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [A[1], A[0]]},
            "properties": {"名称": "经纬度颠倒"},
        },
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": list(B)},
            "properties": {"名称": "好的点", "状态": "清理中", "办事处": "梧桐"},
        },
    ]
    path = _geojson(tmp_path / "bad.geojson", features)
    before = fingerprint(session)
    plan = plan_import(session, geodata, path, kind="silt_site")
    reasons = {r.number: " ".join(str(e) for e in r.errors) for r in plan.rejected}
    assert set(reasons) == {1, 2, 3, 4, 5, 6}
    assert "invalid" in reasons[1] and "outside the zone" in reasons[2] and "LineString" in reasons[3]
    assert "name is required" in reasons[4] and "Unknown status" in reasons[5] and "swapped" in reasons[6]
    assert plan.rows[6].warnings  # 办事处 given does not match the map: a warning, not a refusal
    with pytest.raises(ValidationError):
        apply_import(session, geodata, plan, actor="tester")
    assert fingerprint(session) == before
    result = apply_import(session, geodata, plan, actor="tester", skip_invalid=True)
    assert result.counts["new"] == 1
    assert [s.name for s in _sites(session).values()] == ["好的点"]


def test_csv_utf8_and_gbk_with_chinese_headers_and_tabs(session, geodata, tmp_path):
    header = "编号,名称,地址,经度,纬度,状态,设施类型\n"
    rows = f"MF-9001,路灯一,长椿路,{A[0]},{A[1]},维修中,street_light\n"
    (tmp_path / "u.csv").write_text(header + rows, encoding="utf-8-sig")
    (tmp_path / "g.csv").write_bytes(
        (header + rows.replace("9001", "9002").replace("路灯一", "路灯二")).encode("gbk")
    )
    (tmp_path / "t.txt").write_text(
        (header + rows.replace("9001", "9003").replace("路灯一", "路灯三")).replace(",", "\t"),
        encoding="utf-8",
    )
    for name in ("u.csv", "g.csv", "t.txt"):
        plan, _ = _import(session, geodata, tmp_path / name, kind="municipal_facility")
        assert not plan.rejected, name
    assert (
        plan_import(session, geodata, tmp_path / "g.csv", kind="municipal_facility").source.encoding == "GBK"
    )
    sites = _sites(session)
    assert {k: s.name for k, s in sites.items()} == {
        "MF-9001": "路灯一",
        "MF-9002": "路灯二",
        "MF-9003": "路灯三",
    }
    assert all(s.status == "repairing" for s in sites.values())


def test_gcj02_csv_is_converted_to_wgs84(session, geodata, tmp_path):
    gx, gy = from_wgs84(*A, "gcj02")
    (tmp_path / "g.csv").write_text(f"name,lon,lat,status\n高德坐标企业,{gx},{gy},停产\n", encoding="utf-8")
    _import(session, geodata, tmp_path / "g.csv", kind="enterprise", crs="gcj02")
    site = next(iter(_sites(session).values()))
    assert site.status == "stopped"
    assert abs(site.geom.x - A[0]) < 1e-6 and abs(site.geom.y - A[1]) < 1e-6
    assert abs(gx - A[0]) > 1e-4  # the shift was real


def test_csv_with_wkt_and_projected_crs(session, geodata, tmp_path):
    from recovery.geometry import to_metric

    metric = to_metric(shapely.LineString([A, B]))
    (tmp_path / "r.csv").write_text(f'名称,河道,WKT\n险情段,贾鲁河,"{metric.wkt}"\n', encoding="utf-8")
    _import(session, geodata, tmp_path / "r.csv", kind="river_hazard", crs="EPSG:4547")
    site = next(iter(_sites(session).values()))
    assert site.geom.geom_type == "LineString" and abs(site.geom.coords[0][0] - A[0]) < 1e-6


def test_excel_ledger(session, geodata, tmp_path):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["企业名称", "名称", "经度", "纬度", "状态", "产能恢复(%)", "规上工业", "职工人数"])
    sheet.append(["x", "郑州某电子公司", A[0], A[1], "部分复工", 60, "是", 120])
    workbook.save(tmp_path / "e.xlsx")
    plan, _ = _import(session, geodata, tmp_path / "e.xlsx", kind="enterprise")
    assert plan.mapping.ignored == ["企业名称"]
    site = next(iter(_sites(session).values()))
    assert site.status == "partly_restarted" and site.capacity_pct == 60
    assert site.attributes == {"above_size": True, "employees": 120}


@pytest.mark.parametrize("encoding", ["GBK", "UTF-8"])
def test_zipped_shapefile_honours_cpg(session, geodata, tmp_path, encoding):
    folder = tmp_path / "shp"
    folder.mkdir()
    frame = gpd.GeoDataFrame(
        {"名称": ["枫杨街塌陷点"], "road_class": ["branch"], "状态": ["已通行"]},
        geometry=[shapely.Point(*A)],
        crs="EPSG:4326",
    )
    frame.to_file(folder / "points.shp", encoding=encoding)
    assert (folder / "points.cpg").read_text().upper().replace("-", "") in (
        encoding.replace("-", ""),
        "936",
        "CP936",
    )
    archive = tmp_path / "points.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for part in folder.iterdir():
            z.write(part, part.name)
    _import(session, geodata, archive, kind="road_collapse")
    site = next(iter(_sites(session).values()))
    assert site.name == "枫杨街塌陷点" and site.status == "passable"


def test_geopackage_and_kml(session, geodata, tmp_path):
    frame = gpd.GeoDataFrame(
        {"name": ["消杀点甲"], "point_type": ["market"]}, geometry=[shapely.Point(*A)], crs="EPSG:4326"
    )
    frame.to_file(tmp_path / "d.gpkg", layer="points", driver="GPKG")
    frame.assign(name=["消杀点乙"]).to_file(tmp_path / "d.kml", driver="LIBKML")
    _import(session, geodata, tmp_path / "d.gpkg", kind="disinfection_point")
    _import(session, geodata, tmp_path / "d.kml", kind="disinfection_point")
    assert sorted(s.name for s in _sites(session).values()) == ["消杀点乙", "消杀点甲"]


def test_mapping_file(session, geodata, tmp_path, runner):
    (tmp_path / "m.csv").write_text("单位,东经,北纬,等级\n塌陷甲,{},{},main\n".format(*A), encoding="utf-8")
    (tmp_path / "map.json").write_text(
        json.dumps(
            {"name": "单位", "lon": "东经", "lat": "北纬", "attributes.road_class": "等级"},
            ensure_ascii=False,
        )
    )
    result = runner.invoke(
        args=[
            "import",
            str(tmp_path / "m.csv"),
            "--kind",
            "road_collapse",
            "--mapping",
            str(tmp_path / "map.json"),
        ]
    )
    assert result.exit_code == 0, result.output
    assert "1 new" in result.output


def test_cli_refuses_invalid_and_writes_rejects(runner, tmp_path):
    (tmp_path / "bad.csv").write_text(f"名称,经度,纬度\n好,{A[0]},{A[1]}\n坏,abc,{A[1]}\n", encoding="utf-8")
    result = runner.invoke(args=["import", str(tmp_path / "bad.csv"), "--kind", "disinfection_point"])
    assert result.exit_code == 1
    rejects = (tmp_path / "bad.csv.rejects.csv").read_text(encoding="utf-8-sig")
    assert "坏" in rejects and "经度和纬度" in rejects  # the reason, in Chinese by default
    result = runner.invoke(
        args=[
            "import",
            str(tmp_path / "bad.csv"),
            "--kind",
            "disinfection_point",
            "--skip-invalid",
            "--rejects",
            str(tmp_path / "r.csv"),
        ]
    )
    assert result.exit_code == 0, result.output
    assert "1 new" in result.output and (tmp_path / "r.csv").exists()


def test_unsupported_and_empty_files_are_refused(session, geodata, tmp_path):
    (tmp_path / "x.docx").write_bytes(b"PK whatever")
    (tmp_path / "e.csv").write_bytes(b"")
    with pytest.raises(ValidationError, match="Unsupported file type"):
        plan_import(session, geodata, tmp_path / "x.docx", kind="enterprise")
    with pytest.raises(ValidationError, match="empty"):
        plan_import(session, geodata, tmp_path / "e.csv", kind="enterprise")
