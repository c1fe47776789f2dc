"""The field app's pages and files: who may open it, what types they are served as, and that nothing is foreign."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from support.accounts import login

from recovery.settings import PROJECT_ROOT

FIELD_STATIC = PROJECT_ROOT / "recovery" / "static" / "field"
VENDOR = PROJECT_ROOT / "recovery" / "static" / "vendor"
URL = re.compile(r"""https?://[^\s"'`)<>]+""")
#: URLs that name something without loading it: XML namespaces, and Leaflet's own attribution link (turned off)
NOT_LOADED = ("http://www.w3.org/", "https://leafletjs.com")


@pytest.fixture
def client(seeded_client):
    return seeded_client


def fetch(client, path: str):
    """GET a file and close it (a test client's file response holds the file open until closed)."""
    response = client.get(path)
    response.get_data()
    response.close()
    return response


def test_anonymous_is_sent_to_sign_in(client):
    response = client.get("/field/")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]
    assert "next=/field/" in response.headers["Location"]


def test_a_field_user_lands_on_the_field_app_after_signing_in(client):
    response = login(client, "field")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/field/")


@pytest.mark.parametrize(
    ("name", "status"), [("field", 200), ("commander", 200), ("admin", 200), ("reporter", 403)]
)
def test_who_may_open_the_field_app(client, name, status):
    login(client, name)
    response = client.get("/field/")
    assert response.status_code == status
    geodata = client.get("/field/geodata.json")
    assert geodata.status_code == status
    if status == 200:
        page = response.get_data(as_text=True)
        assert '<html lang="zh-CN">' in page
        assert 'rel="manifest"' in page and "/static/field/app.js" in page
        assert response.headers["Cache-Control"] == "no-cache"
        layers = geodata.get_json()
        assert {"subdistricts", "roads"} <= set(layers)
        assert {f["properties"]["key"] for f in layers["subdistricts"]["features"]} >= {"fengyang", "shifo"}


def test_the_page_carries_the_reportable_kinds_in_its_language(client):
    login(client, "field")
    config = _config(client.get("/field/").get_data(as_text=True))
    kinds = {k["key"]: k for k in config["kinds"]}
    assert (
        "road_collapse" in kinds and "residential_community" not in kinds
    )  # polygons are not reported by a tap
    assert kinds["road_collapse"]["label"] == "道路塌陷点"
    road_class = kinds["road_collapse"]["attributes"][0]
    assert road_class["key"] == "road_class" and road_class["label"] == "道路等级"
    assert road_class["choices"] == [
        {"key": "main", "label": "主干道"},
        {"key": "secondary", "label": "次干道"},
        {"key": "branch", "label": "支路"},
    ]  # the choices' labels come from the vocabulary
    english = client.get("/field/?lang=en").get_data(as_text=True)
    assert '<html lang="en">' in english
    assert {k["key"]: k for k in _config(english)["kinds"]}["road_collapse"]["label"] == "road collapse"


def _config(page: str) -> dict:
    match = re.search(r'<script id="field-config" type="application/json">(.*?)</script>', page, re.S)
    return json.loads(match.group(1))


def test_the_manifest_and_the_service_worker(client):
    manifest = fetch(client, "/field/manifest.webmanifest")
    assert manifest.status_code == 200
    assert manifest.mimetype == "application/manifest+json"
    data = json.loads(manifest.get_data(as_text=True))
    assert data["start_url"] == "/field/" and data["display"] == "standalone" and data["scope"] == "/field/"
    sizes = {icon["sizes"] for icon in data["icons"]}
    assert {"192x192", "512x512"} <= sizes
    for icon in data["icons"]:
        served = fetch(client, icon["src"])
        assert served.status_code == 200 and served.mimetype == "image/png"
        assert served.data[:8] == b"\x89PNG\r\n\x1a\n"
    worker = fetch(client, "/field/sw.js")
    assert worker.status_code == 200
    assert worker.mimetype == "text/javascript"
    assert worker.headers["Service-Worker-Allowed"] == "/field/"
    assert "no-cache" in worker.headers["Cache-Control"]


def test_the_service_worker_precaches_every_file_of_the_shell(client):
    """Each file the shell loads is in the worker's list, and each listed file exists, so the app opens offline."""
    worker = (FIELD_STATIC / "sw.js").read_text(encoding="utf-8")
    listed = set(re.findall(r'"(/static/[^"]+)"', worker))
    modules = {f"/static/field/{p.name}" for p in FIELD_STATIC.glob("*.js") if p.name != "sw.js"}
    assert modules <= listed
    assert "/static/field/field.css" in listed and "/static/vendor/leaflet/leaflet.js" in listed
    for path in listed:
        assert fetch(client, path).status_code == 200, path
    for source in FIELD_STATIC.glob("*.js"):
        for imported in re.findall(r'from "\./([\w.]+)"', source.read_text(encoding="utf-8")):
            assert f"/static/field/{imported}" in listed, f"{source.name} imports {imported}"


def _code(text: str) -> str:
    """Source without its comments (links to bug reports in comments load nothing)."""
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return re.sub(r"^\s*//.*$", "", text, flags=re.M)


def _foreign_urls(text: str) -> list[str]:
    return [
        u
        for u in URL.findall(text)
        if not u.startswith(NOT_LOADED) and not re.match(r"https?://127\.0\.0\.1", u)
    ]


def test_nothing_is_loaded_from_another_host(client):
    login(client, "field")
    page = client.get("/field/").get_data(as_text=True)
    assert _foreign_urls(page) == []
    for attr in re.findall(r'(?:src|href)="([^"]+)"', page):
        assert attr.startswith(("/", "?", "#")), attr
    files = [*FIELD_STATIC.glob("*.js"), *FIELD_STATIC.glob("*.css"), *FIELD_STATIC.glob("*.webmanifest")]
    files += [VENDOR / "leaflet" / "leaflet.js", VENDOR / "leaflet" / "leaflet.css"]
    for path in files:
        assert _foreign_urls(_code(path.read_text(encoding="utf-8"))) == [], path.name
    # Leaflet is vendored whole: the script, its stylesheet, its images and its licence
    assert (VENDOR / "leaflet" / "LICENSE").exists()
    assert {p.name for p in (VENDOR / "leaflet" / "images").glob("*.png")} >= {
        "marker-icon.png",
        "layers.png",
    }


def test_user_text_is_never_put_into_the_page_as_html():
    """The app builds the page from elements and text nodes; no innerHTML, outerHTML or document.write."""
    for source in FIELD_STATIC.glob("*.js"):
        text = _code(source.read_text(encoding="utf-8"))
        for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write"):
            assert sink not in text, f"{source.name} uses {sink}"


def test_icons_script_draws_the_committed_sizes(tmp_path: Path):
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_icons", PROJECT_ROOT / "scripts" / "make_icons.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main(tmp_path)
    from PIL import Image

    for size in (192, 512):
        with Image.open(tmp_path / f"icon-{size}.png") as image:
            assert image.size == (size, size)
        assert (FIELD_STATIC / "icons" / f"icon-{size}.png").exists()


# -- issue 17: what the field app's pages and writes give a worker ------------------------------------------------


def test_navigation_links_carry_each_apps_coordinates(client, geodata):
    from support.accounts import auth

    from recovery.coords import from_wgs84

    site = client.get("/api/v1/sites?kind=road_collapse&limit=1&include_done=1", headers=auth("field"))
    feature = site.get_json()["features"][0]
    lon, lat = (
        feature["geometry"]["coordinates"][:2] if feature["geometry"]["type"] == "Point" else (None, None)
    )
    login(client, "field")
    answer = client.get(f"/field/navigation/{feature['id']}.json")
    assert answer.status_code == 200
    links = answer.get_json()
    if lon is not None:
        assert links["wgs84"] == [round(lon, 6), round(lat, 6)]
    wlon, wlat = links["wgs84"]
    assert links["gcj02"] == [round(v, 6) for v in from_wgs84(wlon, wlat, "gcj02")]
    assert links["bd09"] == [round(v, 6) for v in from_wgs84(wlon, wlat, "bd09")]
    assert links["gcj02"] != links["wgs84"] and links["bd09"] != links["gcj02"]
    assert links["geo"].startswith(f"geo:{wlat:.6f},{wlon:.6f}?q=")
    assert f"dlat={links['gcj02'][1]:.6f}" in links["amap"] and "dev=0" in links["amap"]
    assert f"latlng%3A{links['bd09'][1]:.6f}%2C{links['bd09'][0]:.6f}" in links["baidu"]
    assert "coord_type=bd09ll" in links["baidu"]
    assert client.get("/field/navigation/999999999.json").status_code == 404


def test_the_field_app_offers_the_teams_a_field_user_may_choose(client):
    login(client, "field_shifo")
    page = client.get("/field/").get_data(as_text=True)
    config = json.loads(
        re.search(r'<script id="field-config" type="application/json">(.*?)</script>', page).group(1)
    )
    assert config["teams"], "the seed has crews in 石佛"
    assert {t["key"] for t in config["teams"]} <= set(_team_keys_of(client, "shifo"))
    assert str(len(config["teamNames"])) and all(isinstance(v, str) for v in config["teamNames"].values())
    road = next(k for k in config["kinds"] if k["key"] == "road_collapse")
    silt = next(k for k in config["kinds"] if k["key"] == "silt_site")
    assert (road["asks_priority"], silt["asks_priority"]) == (False, True)


def _team_keys_of(client, subdistrict: str) -> list[str]:
    from sqlalchemy import select
    from support.databases import db

    from recovery.models import Team

    with db(client.application) as session:
        return list(session.scalars(select(Team.key).where(Team.subdistrict == subdistrict)))


SHIFO_POINT = {"lon": 113.5650, "lat": 34.8180, "crs": "wgs84"}


def _report(client, who="field_shifo", **extra):
    import uuid

    from support.accounts import auth

    body = {
        "kind": "road_collapse",
        "name": "测试塌陷",
        "attributes": {"road_class": "main"},
        "position": SHIFO_POINT,
    }
    body.update(extra)
    return client.post("/api/v1/sites", json=body, headers={**auth(who), "Idempotency-Key": uuid.uuid4().hex})


@pytest.mark.parametrize(
    ("extra", "deadline", "priority"),
    [
        # a collapse reported before the roads' day is due that day (24:00), its priority its road class's
        ({"valid_at": "2021-07-25T09:00:00+08:00"}, "2021-08-16T00:00:00+08:00", 1),
        (
            {"valid_at": "2021-08-15T23:00:00+08:00", "attributes": {"road_class": "branch"}},
            "2021-08-16T00:00:00+08:00",
            3,
        ),
        # after it, and for other kinds, 13710's seven days from the day it was reported
        ({"valid_at": "2021-08-16T09:00:00+08:00"}, "2021-08-24T00:00:00+08:00", 1),
        (
            {
                "kind": "silt_site",
                "attributes": {"place_type": "street"},
                "valid_at": "2021-07-25T09:00:00+08:00",
                "priority": 3,
            },
            "2021-08-02T00:00:00+08:00",
            3,
        ),
        ({"kind": "disinfection_point", "attributes": {"point_type": "market"}}, None, 2),
    ],
)
def test_a_reported_site_gets_a_deadline_and_a_priority(client, extra, deadline, priority):
    response = _report(client, **extra)
    assert response.status_code == 201, response.get_json()
    props = response.get_json()["site"]["properties"]
    assert (props["deadline"], props["priority"]) == (deadline, priority)


def test_a_reported_site_gets_the_team_chosen_within_the_reporters_reach(client):
    shifo, fengyang = _team_keys_of(client, "shifo"), _team_keys_of(client, "fengyang")
    chosen = _report(client, team=shifo[0])
    assert chosen.status_code == 201, chosen.get_json()
    names = {t: n for t, n in _teams(client)}
    assert chosen.get_json()["site"]["properties"]["team_id"] == names[shifo[0]]

    other = _report(client, team=fengyang[0])
    unknown = _report(client, team="no-such-team")
    wrong_type = _report(client, team=7)
    by_commander = _report(client, who="commander", team=fengyang[0])

    assert other.status_code == 403 and "队伍" in other.get_json()["error"]["message"]
    assert unknown.status_code == 400 and "no-such-team" in unknown.get_json()["error"]["message"]
    assert wrong_type.status_code == 400
    assert by_commander.status_code == 201
    assert by_commander.get_json()["site"]["properties"]["team_id"] == names[fengyang[0]]


def _teams(client):
    from sqlalchemy import select
    from support.databases import db

    from recovery.models import Team

    with db(client.application) as session:
        return list(session.execute(select(Team.key, Team.id)))


def test_a_check_in_keeps_how_far_from_the_point_it_was_made(client):
    import uuid

    from support.accounts import auth

    points = client.get(
        "/api/v1/sites?mine=1&kind=disinfection_point&include_done=1", headers=auth("field_shifo")
    ).get_json()["features"]
    point = next(f for f in points if f["geometry"]["type"] == "Point")
    lon, lat = point["geometry"]["coordinates"]
    # about 111 m north of the point
    body = {"position": {"lon": lon, "lat": lat + 0.001, "crs": "wgs84", "accuracy": 8}}
    response = client.post(
        f"/api/v1/sites/{point['id']}/check-in",
        json=body,
        headers={**auth("field_shifo"), "Idempotency-Key": uuid.uuid4().hex},
    )
    assert response.status_code == 201, response.get_json()
    from support.databases import db

    from recovery.models import Event

    with db(client.application) as session:
        event = session.get(Event, response.get_json()["event"]["id"])
        assert 100 < event.details["distance_m"] < 125
        assert event.details["position"]["accuracy"] == 8
