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
