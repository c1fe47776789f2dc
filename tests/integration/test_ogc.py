"""OGC API – Features at /ogc, through the Flask client and through GDAL's OAPIF driver on a real server."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from support.accounts import bearer, token_for

from recovery.web.policy import policy_of


@pytest.fixture
def reader(seeded_app):
    return bearer(token_for(seeded_app, "reporter"))


def test_every_ogc_route_is_for_readers(seeded_app):
    endpoints = [e for e in seeded_app.view_functions if e.startswith("ogc.")]
    assert len(endpoints) == 7
    assert all(policy_of(seeded_app, e) == {"commander", "reporter", "admin"} for e in endpoints)
    assert seeded_app.test_client().get(
        "/ogc/collections", headers={"Accept": "application/json"}
    ).status_code in (401, 302)


def test_landing_conformance_collections(seeded_client, reader):
    landing = seeded_client.get("/ogc?f=json", headers=reader).get_json()
    assert {link["rel"] for link in landing["links"]} >= {"service-desc", "conformance", "data"}
    conformance = seeded_client.get("/ogc/conformance?f=json", headers=reader).get_json()["conformsTo"]
    assert any(c.endswith("/conf/geojson") for c in conformance) and any(
        c.endswith("/conf/oas30") for c in conformance
    )
    collections = seeded_client.get("/ogc/collections?f=json", headers=reader).get_json()["collections"]
    road = next(c for c in collections if c["id"] == "road_collapse")
    minx, miny, maxx, maxy = road["extent"]["spatial"]["bbox"][0]
    assert 113 < minx < maxx < 114 and 34 < miny < maxy < 35
    assert seeded_client.get("/ogc/api", headers=reader).get_json()["openapi"].startswith("3.0")


def test_items_paging_filters_and_datetime(seeded_client, reader):
    page = seeded_client.get(
        "/ogc/collections/road_collapse/items?limit=100&datetime=2021-07-29", headers=reader
    )
    assert page.mimetype == "application/geo+json"
    doc = page.get_json()
    assert doc["numberMatched"] == 236 and doc["numberReturned"] == 100
    assert any(link["rel"] == "next" for link in doc["links"])
    last = seeded_client.get(
        "/ogc/collections/road_collapse/items?limit=100&offset=200&datetime=2021-07-29", headers=reader
    ).get_json()
    assert last["numberReturned"] == 36 and not any(link["rel"] == "next" for link in last["links"])
    assert any(link["rel"] == "prev" for link in last["links"])
    restored = seeded_client.get(
        "/ogc/collections/road_collapse/items?status=restored&datetime=2021-07-29", headers=reader
    ).get_json()
    assert restored["numberMatched"] == 167
    shifo = seeded_client.get(
        "/ogc/collections/road_collapse/items?subdistrict=shifo&bbox=113,34,114,35", headers=reader
    ).get_json()
    assert 0 < shifo["numberMatched"] < 236
    assert all(f["properties"]["subdistrict"] == "shifo" for f in shifo["features"])
    one = seeded_client.get(
        "/ogc/collections/road_collapse/items/RC-0001?datetime=2021-07-21", headers=reader
    )
    assert one.get_json()["id"] == "RC-0001"
    assert (
        seeded_client.get("/ogc/collections/road_collapse/items/EN-0001", headers=reader).status_code == 404
    )
    for bad in ("limit=0", "limit=10001", "bbox=1,2,3", "datetime=yesterday", "offset=-1", "f=xml"):
        assert (
            seeded_client.get(f"/ogc/collections/road_collapse/items?{bad}", headers=reader).status_code
            == 400
        )
    html = seeded_client.get("/ogc/collections/road_collapse/items?f=html&limit=5", headers=reader)
    assert html.mimetype == "text/html" and "RC-0001" in html.get_data(as_text=True)


def test_gdal_reads_and_copies_a_collection(seeded_app, live_server, tmp_path):
    if shutil.which("ogrinfo") is None:
        pytest.fail("GDAL (gdal-bin) is not installed; scripts/test installs it")
    token = token_for(seeded_app, "commander", "gis")
    config = ["--config", "GDAL_HTTP_HEADERS", f"Authorization: Bearer {token}"]
    listing = subprocess.run(
        ["ogrinfo", "-ro", *config, f"OAPIF:{live_server}/ogc"], capture_output=True, text=True, timeout=120
    )
    assert listing.returncode == 0, listing.stderr
    for kind in ("road_collapse", "enterprise", "residential_community"):
        assert kind in listing.stdout
    summary = subprocess.run(
        ["ogrinfo", "-ro", "-so", *config, f"OAPIF:{live_server}/ogc", "road_collapse"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "Feature Count: 236" in summary.stdout, summary.stdout + summary.stderr
    out = tmp_path / "rc.gpkg"
    copy = subprocess.run(
        ["ogr2ogr", *config, "-f", "GPKG", str(out), f"OAPIF:{live_server}/ogc", "road_collapse"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert copy.returncode == 0, copy.stderr
    import pyogrio

    assert pyogrio.read_info(out, layer="road_collapse")["features"] == 236
