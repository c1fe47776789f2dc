"""The map's data: clusters whose counts add up to the registry's totals, as of any day, with the filters."""

from __future__ import annotations

import re

import pytest
from support.accounts import auth, login

from recovery.metrics import cube_at, evaluate_all
from recovery.timeutil import end_of_day, parse_day

READER = auth("reporter")


def _data(client, **params):
    query = "&".join(f"{k}={v}" for k, v in params.items())
    response = client.get(f"/map/clusters?{query}", headers={**READER, "Accept": "application/json"})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def _drawn(data) -> int:
    return sum(c["count"] for c in data["clusters"]) + len(data["features"])


def _registry(app, day: str, subdistrict: str | None = None):
    from recovery.db import get_session

    with app.test_request_context():
        cube = cube_at(get_session(), end_of_day(parse_day(day)))
        return {k: f.value for k, f in evaluate_all(cube, subdistrict).items()}


@pytest.mark.parametrize("zoom", [10, 12, 14])
def test_cluster_counts_add_up_to_the_registry_totals(seeded_app, seeded_client, zoom):
    figures = _registry(seeded_app, "2021-07-29")
    data = _data(seeded_client, z=zoom, date="2021-07-29")
    assert data["mode"] == "clusters"
    assert _drawn(data) == data["in_view"] == data["summary"]["total"]
    by_kind = data["summary"]["by_kind"]
    assert by_kind["road_collapse"]["total"] == figures["road_collapse_total"] == 236
    assert by_kind["road_collapse"]["done"] == figures["road_collapse_handled"] == 167
    assert by_kind["silt_site"]["total"] == figures["silt_total"]
    assert by_kind["river_hazard"]["done"] == figures["river_hazards_secured"]
    assert by_kind["residential_community"]["total"] == figures["community_total"]
    assert by_kind["residential_community"]["done"] == figures["community_restored"]
    for kind, counts in by_kind.items():
        assert sum(c["count"] for c in data["clusters"] if c["kind"] == kind) == counts["total"]
    road = _data(seeded_client, z=zoom, date="2021-07-29", kind="road_collapse")
    kinds = {c["kind"] for c in road["clusters"]} | {f["properties"]["kind"] for f in road["features"]}
    assert _drawn(road) == 236 and kinds == {"road_collapse"}


def test_the_map_as_of_an_earlier_day_follows_the_ledger(seeded_app, seeded_client):
    early, late = _data(seeded_client, z=12, date="2021-07-22"), _data(seeded_client, z=12, date="2021-07-29")
    figures = _registry(seeded_app, "2021-07-22")
    assert early["summary"]["by_kind"]["road_collapse"]["done"] == figures["road_collapse_handled"]
    assert (
        early["summary"]["by_kind"]["road_collapse"]["done"]
        < late["summary"]["by_kind"]["road_collapse"]["done"]
    )
    assert early["summary"]["total"] == _drawn(early)
    assert early["as_of"].startswith("2021-07-23T00:00")


def test_filters_by_subdistrict_status_and_text(seeded_app, seeded_client):
    figures = _registry(seeded_app, "2021-07-29", "shifo")
    shifo = _data(seeded_client, z=12, date="2021-07-29", subdistrict="shifo", kind="road_collapse")
    assert shifo["summary"]["total"] == figures["road_collapse_total"] == _drawn(shifo)
    done = _data(seeded_client, z=12, date="2021-07-29", kind="road_collapse", status="restored")
    assert done["summary"]["total"] == 167
    open_ = _data(seeded_client, z=12, date="2021-07-29", kind="road_collapse", status="open")
    assert open_["summary"]["total"] == 236 - 167
    nothing = _data(seeded_client, z=12, q="no-such-site-name-anywhere")
    assert nothing["summary"]["total"] == 0 and nothing["clusters"] == [] and nothing["features"] == []


def test_a_small_view_sends_the_sites_with_their_own_geometry(seeded_client):
    data = _data(seeded_client, z=17, kind="river_hazard", bbox="113.3,34.6,113.9,35.0")
    assert data["mode"] == "features" and data["features"]
    assert {f["geometry"]["type"] for f in data["features"]} == {"LineString"}
    assert len(data["features"]) == data["in_view"]


def test_bbox_counts_only_the_view(seeded_client):
    whole = _data(seeded_client, z=12)
    part = _data(seeded_client, z=12, bbox="113.50,34.75,113.56,34.82")
    assert 0 < part["in_view"] < whole["in_view"]
    assert _drawn(part) == part["in_view"]
    assert part["summary"]["total"] == whole["summary"]["total"]  # the figures beside the map are the zone's


@pytest.mark.parametrize(
    "query",
    [
        "z=abc",
        "z=40",
        "bbox=1,2,3",
        "bbox=10,10,0,0",
        "kind=volcano",
        "status=melting",
        "subdistrict=x",
        "date=bad",
    ],
)
def test_bad_parameters_are_refused(seeded_client, query):
    response = seeded_client.get(f"/map/clusters?{query}", headers={**READER, "Accept": "application/json"})
    assert response.status_code == 400
    assert response.get_json()["error"]["status"] == 400


def test_map_page_loads_only_from_this_server(seeded_client):
    login(seeded_client, "reporter")
    response = seeded_client.get("/map?date=2021-07-29")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    # every source on this server: a path, never a host (`//cdn…` or a scheme); not a search for "cdn", which a
    # random CSRF token or nonce in the page may spell
    assert sources and all(s.startswith(("/", "#")) and not s.startswith("//") for s in sources), sources
    assert "://" not in html and not re.search(r"""url\(\s*['"]?//""", html)
    assert "/static/vendor/leaflet/leaflet.js" in html
    assert "石佛办事处" in html and "道路塌陷点" in html


def test_a_gcj02_tile_server_shifts_the_data_for_display(seeded_url, tmp_path):
    from support.databases import app_on

    app = next(app_on(seeded_url, tmp_path))
    plain = _data(app.test_client(), z=12, kind="silt_site", date="2021-07-29")
    app.config["RECOVERY"] = {**app.config["RECOVERY"], "TILE_SERVER": "amap"}
    shifted = _data(app.test_client(), z=12, kind="silt_site", date="2021-07-29")
    assert _drawn(shifted) == _drawn(plain)
    a, b = plain["clusters"][0], shifted["clusters"][0]
    assert 0.001 < abs(b["lon"] - a["lon"]) + abs(b["lat"] - a["lat"]) < 0.02  # GCJ-02 moves ~500 m here
    client = app.test_client()
    login(client, "reporter")
    assert "autonavi.com" in client.get("/map").get_data(as_text=True)
    app.extensions["recovery.engine"].dispose()


def test_the_live_map_sees_writes_here_at_once_and_elsewhere_within_the_version_time(
    seeded_client, seeded_session, monkeypatch
):
    from sqlalchemy import select
    from support.ledger import assign_sites

    import recovery.map.points as points
    from recovery.models import Site, Team

    clock = [5000.0]
    monkeypatch.setattr(points, "_clock", lambda: clock[0])
    crew = seeded_session.scalar(select(Team).where(Team.type == "crew").order_by(Team.id.desc()))
    already = set(seeded_session.scalars(select(Site.id).where(Site.id <= 5, Site.team_id == crew.id)))
    seeded_session.rollback()
    before = _data(seeded_client, z=12, team=crew.id)
    # through this app (this process): seen by the next request
    response = seeded_client.post(
        "/api/v1/command/assign",
        headers=auth("commander"),
        json={"site_ids": [1, 2, 3], "team_id": crew.id},
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    here = _data(seeded_client, z=12, team=crew.id)
    assert here["version"] > before["version"]
    assert here["in_view"] == before["in_view"] + len({1, 2, 3} - already)
    # through another engine (another process): within VERSION_SECONDS
    assign_sites(seeded_session, [4, 5], team_id=crew.id, deadline=None, actor="另一进程")
    assert _data(seeded_client, z=12, team=crew.id)["version"] == here["version"]
    clock[0] += points.VERSION_SECONDS + 0.1
    later = _data(seeded_client, z=12, team=crew.id)
    assert later["version"] > here["version"]
    assert later["in_view"] == here["in_view"] + len({4, 5} - already)


def test_overdue_shows_in_clusters_and_features(seeded_client, seeded_session):
    """Every cluster carries its number of overdue sites, adding up to the overdue count beside the map, and a
    site drawn on its own says whether it is overdue."""
    from sqlalchemy import select

    from recovery.models import Site, Team

    ids = list(
        seeded_session.scalars(
            select(Site.id)
            .where(Site.kind == "enterprise", Site.status == "stopped")
            .order_by(Site.id)
            .limit(3)
        )
    )
    crew = seeded_session.scalars(select(Team.id).where(Team.type == "crew")).first()
    body = {"site_ids": ids, "team_id": crew, "deadline": "2021-08-01", "confirm_past_deadline": True}
    assert (
        seeded_client.post("/api/v1/command/assign", headers=auth("commander"), json=body).status_code == 201
    )
    zoomed_out = _data(seeded_client, z=11)
    assert zoomed_out["mode"] == "clusters" and zoomed_out["summary"]["overdue"] == 3
    assert sum(c["overdue"] for c in zoomed_out["clusters"]) == 3
    assert all(0 <= c["overdue"] <= c["count"] for c in zoomed_out["clusters"])
    few = _data(seeded_client, z=11, kind="enterprise", status="stopped")
    assert few["mode"] == "features"
    assert sorted(f["id"] for f in few["features"] if f["properties"]["overdue"]) == sorted(ids)
