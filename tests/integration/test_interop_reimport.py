"""Re-importing a file whose rows changed their name, address, attributes or place: one `edit` event per site
with the old and new values, the site updated in the same transaction, and the ledger able to verify and
rebuild it; a row identical to the stored site writes nothing."""

from __future__ import annotations

import json
from pathlib import Path

import shapely
from sqlalchemy import select, text
from support.databases import fingerprint

from recovery.interop.importer import apply_import, plan_import
from recovery.ledger.bulk import rebuild, stored_rollup, verify
from recovery.models import Event, Site

# two places inside the zone, in different sub-districts (checked below)
A = (113.565305, 34.880557)  # 双桥
B = (113.587278, 34.84)  # 枫杨


def _write(path: Path, rows: list[dict]) -> Path:
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": list(row.pop("at"))},
            "properties": row,
        }
        for row in rows
    ]
    path.write_text(
        json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False), encoding="utf-8"
    )
    return path


def _collapse(name="长椿路塌陷", at=A, road_class="main", status="已围挡", **extra) -> dict:
    return {
        "编号": "RC-9001",
        "名称": name,
        "地址": "郑州市高新区",
        "状态": status,
        "道路等级": road_class,
        "at": at,
    } | extra


def _import(session, geodata, path):
    plan = plan_import(session, geodata, path, kind="road_collapse")
    result = apply_import(session, geodata, plan, actor="tester")
    session.rollback()
    return plan, result


def _site(session) -> Site:
    session.rollback()
    return session.scalars(select(Site).where(Site.key == "RC-9001")).one()


def _edits(session) -> list[Event]:
    session.rollback()
    return list(session.scalars(select(Event).where(Event.action == "edit").order_by(Event.id)))


def test_changed_name_is_an_edit_event_that_verify_and_rebuild_reproduce(session, geodata, tmp_path):
    path = _write(tmp_path / "a.geojson", [_collapse()])
    _import(session, geodata, path)
    version = _site(session).version
    _write(path, [_collapse(name="长椿路塌陷(东段)")])
    plan, result = _import(session, geodata, path)
    assert plan.counts["updated"] == 1 and plan.counts["unchanged"] == 0 and result.events == 1
    site = _site(session)
    assert site.name == "长椿路塌陷(东段)" and site.status == "secured" and site.version == version + 1
    (edit,) = _edits(session)
    assert edit.site_id == site.id and edit.actor == "tester" and edit.to_status is None
    assert edit.from_status == "secured"
    assert edit.details == {"changes": {"name": {"old": "长椿路塌陷", "new": "长椿路塌陷(东段)"}}}
    assert verify(session) == []

    before = fingerprint(session)
    rebuild(session)
    assert _site(session).name == "长椿路塌陷(东段)"
    assert fingerprint(session) == before
    assert verify(session) == []

    # the ledger, not the row, is the truth: a tampered name is found and put back
    session.execute(text("UPDATE site SET name = '篡改' WHERE key = 'RC-9001'"))
    session.commit()
    assert any("name" in problem for problem in verify(session))
    rebuild(session)
    assert _site(session).name == "长椿路塌陷(东段)"
    assert verify(session) == []


def test_identical_row_is_unchanged_and_writes_nothing(session, geodata, tmp_path):
    path = _write(tmp_path / "a.geojson", [_collapse()])
    _import(session, geodata, path)
    before = fingerprint(session)
    plan, result = _import(session, geodata, path)
    assert plan.counts["unchanged"] == 1 and plan.counts["updated"] == 0 and result.events == 0
    assert fingerprint(session) == before and _edits(session) == []


def test_status_and_name_change_together(session, geodata, tmp_path):
    path = _write(tmp_path / "a.geojson", [_collapse()])
    _import(session, geodata, path)
    _write(path, [_collapse(name="新名称", status="已通行")])
    plan, result = _import(session, geodata, path)
    assert plan.counts["updated"] == 1 and result.events == 2 and not plan.rows[0].warnings
    site = _site(session)
    assert site.status == "passable" and site.name == "新名称"
    assert verify(session) == []


def test_moved_site_gets_its_sub_district_again_and_its_roll_up_moves(session, geodata, tmp_path):
    first, second = geodata.subdistrict_of(shapely.Point(A)), geodata.subdistrict_of(shapely.Point(B))
    assert first != second
    path = _write(tmp_path / "a.geojson", [_collapse()])
    _import(session, geodata, path)
    assert _site(session).subdistrict == first
    _write(path, [_collapse(at=B)])
    plan, result = _import(session, geodata, path)
    assert plan.counts["updated"] == 1 and result.events == 1
    site = _site(session)
    assert site.subdistrict == second and site.geom.equals(shapely.Point(B))
    assert (site.minx, site.miny) == B
    (edit,) = _edits(session)
    changes = edit.details["changes"]
    assert set(changes) == {"geometry", "subdistrict"}
    assert changes["subdistrict"] == {"old": first, "new": second}
    assert shapely.from_wkt(changes["geometry"]["new"]).equals_exact(shapely.Point(B), 0)
    rollup = stored_rollup(session)
    assert not any(cell[2] == first for cell in rollup)  # nothing left behind in the old sub-district
    assert any(cell[2] == second and cell[5] == "secured" for cell in rollup)
    assert verify(session) == []
    before = stored_rollup(session)  # (the old cells stay, at zero: rebuild leaves them out)
    rebuild(session)
    assert stored_rollup(session) == before and verify(session) == []
    assert _site(session).subdistrict == second


def test_changed_attribute_moves_the_segment(session, geodata, tmp_path):
    path = _write(tmp_path / "a.geojson", [_collapse()])
    _import(session, geodata, path)
    _write(path, [_collapse(road_class="branch")])
    _import(session, geodata, path)
    site = _site(session)
    assert site.attributes["road_class"] == "branch" and site.segment == "road_class=branch"
    (edit,) = _edits(session)
    assert edit.details["changes"]["attributes"]["old"]["road_class"] == "main"
    assert edit.details["changes"]["segment"] == {"old": "road_class=main", "new": "road_class=branch"}
    assert verify(session) == []


def test_columns_the_file_lacks_are_kept(session, geodata, tmp_path):
    path = _write(tmp_path / "a.geojson", [_collapse(道路名称="长椿路")])
    _import(session, geodata, path)
    row = _collapse(name="改名")
    del row["地址"]
    _write(path, [row])
    plan, _result = _import(session, geodata, path)
    site = _site(session)
    assert site.name == "改名" and site.address == "郑州市高新区"
    assert site.attributes["road_class"] == "main" and site.attributes["road_name"] == "长椿路"
    assert set(_edits(session)[0].details["changes"]) == {"name"}
