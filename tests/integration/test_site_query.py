"""One site query (issue 13): the same filter sent through every door (the API's list, the map's clusters, the
export, the OGC items, the report's table) selects the same sites; every name of a value is accepted; a bogus
value is named in the error."""

from __future__ import annotations

import csv
import io
import json

import pytest
from sqlalchemy import func, select
from support.accounts import auth

from recovery.models import Event, Site
from recovery.query.sites import parse_site_query
from recovery.timeutil import local_day


def _last_day(session) -> str:
    """The last day the seed records: its end is the state now, so the doors that read the ledger as of a day
    and those that read the sites as they stand answer for the same moment."""
    return local_day(session.scalar(select(func.max(Event.valid_at)))).isoformat()


def _keys_of_ids(session, ids) -> set[str]:
    return set(session.scalars(select(Site.key).where(Site.id.in_(list(ids)))).all()) if ids else set()


def _through_every_door(client, session, filters: dict, table: tuple[str, str] | None) -> dict[str, set[str]]:
    headers = auth("commander")
    day = _last_day(session)
    doors = {}
    api = client.get("/api/v1/sites", query_string={**filters, "limit": 5000}, headers=headers)
    assert api.status_code == 200, api.get_json()
    doors["api"] = {f["properties"]["key"] for f in api.get_json()["features"]}
    clusters = client.get("/map/clusters", query_string={**filters, "z": 22, "date": day}, headers=headers)
    assert clusters.status_code == 200, clusters.get_json()
    assert clusters.get_json()["mode"] == "features"
    doors["map"] = _keys_of_ids(session, [f["id"] for f in clusters.get_json()["features"]])
    export = client.get(
        "/api/v1/export", query_string={**filters, "format": "geojson", "as_of": day}, headers=headers
    )
    assert export.status_code == 200, export.get_data(as_text=True)[:300]
    doors["export"] = {f["properties"]["key"] for f in json.loads(export.get_data())["features"]}
    kind = parse_site_query(filters).kind
    ogc_args = {k: v for k, v in filters.items() if k != "kind"}
    ogc = client.get(
        f"/ogc/collections/{kind}/items",
        query_string={**ogc_args, "datetime": day, "limit": 10_000, "f": "json"},
        headers=headers,
    )
    assert ogc.status_code == 200, ogc.get_json()
    doors["ogc"] = {f["id"] for f in ogc.get_json()["features"]}
    if table is not None:
        table_kind, column = table
        where = {"subdistrict": filters["subdistrict"]} if "subdistrict" in filters else {}
        cell = client.get(
            f"/reports/daily/{day}/table/{table_kind}/{column}",
            query_string={**where, "format": "csv"},
            headers=headers,
        )
        assert cell.status_code == 200, cell.get_data(as_text=True)[:300]
        rows = list(csv.DictReader(io.StringIO(cell.get_data(as_text=True).lstrip("\ufeff"))))
        doors["report table"] = {row["编号"] for row in rows}
    return doors


FILTERS = [
    # (filters sent, the report table's cell that counts the same sites, if one does)
    ({"kind": "road_collapse", "subdistrict": "shifo"}, ("road_collapse", "total")),
    ({"kind": "道路塌陷点", "subdistrict": "石佛"}, ("road_collapse", "total")),
    ({"kind": "Road Collapse", "subdistrict": "石佛办事处"}, ("road_collapse", "total")),
    ({"kind": "ｒｏａｄ＿ｃｏｌｌａｐｓｅ", "subdistrict": "ＳＨＩＦＯ"}, ("road_collapse", "total")),
    ({"kind": "road_collapse", "status": "done", "subdistrict": "Fengyang"}, ("road_collapse", "done")),
    ({"kind": "road_collapse", "status": "已修复", "subdistrict": "枫杨"}, ("road_collapse", "done")),
    ({"kind": "residential_community", "status": "已全部恢复"}, ("residential_community", "done")),
    ({"kind": "enterprise", "status": "停产,partly restarted", "q": "科技"}, None),
    ({"kind": "enterprise", "status": "open", "bbox": "113.0,34.0,114.5,35.5"}, None),
    ({"kind": "river_hazard", "status": "secured", "subdistrict": "沟赵"}, None),
]


@pytest.mark.slow
@pytest.mark.parametrize(("filters", "table"), FILTERS, ids=[json.dumps(f[0]) for f in FILTERS])
def test_the_same_filter_selects_the_same_sites_through_every_door(
    seeded_client, seeded_session, filters, table
):
    doors = _through_every_door(seeded_client, seeded_session, filters, table)
    assert doors["api"], "the filter selects no site: a weak test"
    assert all(keys == doors["api"] for keys in doors.values()), {k: len(v) for k, v in doors.items()}


@pytest.mark.slow
def test_every_alias_selects_what_the_key_selects(seeded_client):
    headers = auth("commander")

    def keys(**args):
        response = seeded_client.get("/api/v1/sites", query_string={**args, "limit": 5000}, headers=headers)
        assert response.status_code == 200, response.get_json()
        return {f["properties"]["key"] for f in response.get_json()["features"]}

    shifo = keys(subdistrict="shifo")
    assert shifo
    for alias in ("石佛", "石佛办事处", "Shifo", "SHIFO", "ｓｈｉｆｏ", " shifo "):
        assert keys(subdistrict=alias) == shifo, alias
    restored = keys(kind="road_collapse", status="restored")
    for alias in ("已修复", "RESTORED", "done"):
        assert keys(kind="道路塌陷点", status=alias) == restored, alias


@pytest.mark.parametrize(
    ("path", "args", "bogus"),
    [
        ("/api/v1/sites", {"status": "open,bogus"}, "bogus"),
        ("/api/v1/sites", {"subdistrict": "石佛镇"}, "石佛镇"),
        ("/api/v1/sites", {"kind": "road_collapse,volcano"}, "volcano"),
        ("/map/clusters", {"status": "open,bogus"}, "bogus"),
        ("/map/clusters", {"kind": "volcano"}, "volcano"),
        ("/api/v1/export", {"status": "restored,nonsense"}, "nonsense"),
        ("/ogc/collections/road_collapse/items", {"status": "cut"}, "cut"),
        ("/ogc/collections/road_collapse/items", {"subdistrict": "nowhere"}, "nowhere"),
        ("/reports/daily/2021-07-29/table/road_collapse/total", {"subdistrict": "nowhere"}, "nowhere"),
    ],
)
def test_a_bogus_value_is_named_in_the_error(seeded_client, path, args, bogus):
    response = seeded_client.get(path, query_string={**args, "f": "json"}, headers=auth("commander"))
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert bogus in body
    if "open" in args.get("status", ""):
        assert "Unknown status open" not in body and "未知的状态 open" not in body


def test_a_filter_posted_to_the_assign_command_is_read_like_the_map(seeded_client, seeded_session):
    """The map's filter in a JSON body (values may be lists and booleans) reads as in the query string."""
    body = {"filter": {"kind": ["道路塌陷点"], "subdistrict": "石佛", "status": "open", "overdue": False}}
    from_body = parse_site_query(body["filter"])
    from_args = parse_site_query({"kind": "road_collapse", "subdistrict": "shifo", "status": "open"})
    assert from_body == from_args
