"""Absolute links come from RECOVERY_PUBLIC_URL, never from the Host header (issue 12, finding 14): a request
with `Host: evil.example` gets no link to evil.example from the OGC API or the public Atom feed."""

from __future__ import annotations

import json
from datetime import date
from xml.etree import ElementTree as ET

import pytest
from support.accounts import auth

from recovery import create_app
from recovery.errors import ConfigError
from recovery.reports.publish import publish
from recovery.settings import load_settings

DAY = "2021-07-29"
PUBLIC = "https://recovery.example.gov.cn"
OGC_PATHS = [
    "/ogc",
    "/ogc/conformance",
    "/ogc/api",
    "/ogc/collections",
    "/ogc/collections/road_collapse",
    "/ogc/collections/road_collapse/items?limit=2&offset=2",
    "/ogc/collections/road_collapse/items/RC-0001",
]
ATOM = {"a": "http://www.w3.org/2005/Atom"}
EVIL_HOSTS = ["evil.example", "evil.example:8080", "localhost.evil.example", "localhost@evil.example"]


def hrefs(doc) -> list[str]:
    """Every link in an OGC document (links[].href, servers[].url), however deep."""
    found = []
    if isinstance(doc, dict):
        for key, value in doc.items():
            if key in ("href", "url") and isinstance(value, str):
                found.append(value)
            else:
                found += hrefs(value)
    elif isinstance(doc, list):
        for value in doc:
            found += hrefs(value)
    return found


def ogc_links(client, host: str) -> list[str]:
    links = []
    for path in OGC_PATHS:
        for fmt in ("json", "html"):
            sep = "&" if "?" in path else "?"
            with client.get(f"{path}{sep}f={fmt}", headers={**auth("commander"), "Host": host}) as response:
                assert response.status_code == 200, (path, fmt, response.status_code)
                body = response.get_data(as_text=True)
            assert "evil.example" not in body, (path, fmt)
            if fmt == "json":
                links += hrefs(json.loads(body))
    assert links
    return links


@pytest.fixture
def published(seeded_session):
    """The 29 July report, published once."""
    publish(seeded_session, date.fromisoformat(DAY), "reporter")


def feed_links(client, host: str) -> tuple[str, list[str]]:
    response = client.get("/reports/feed.atom", headers={"Host": host})
    assert response.status_code == 200
    assert b"evil.example" not in response.data
    root = ET.fromstring(response.data)
    links = [link.get("href") for link in root.iter(f"{{{ATOM['a']}}}link")]
    assert len(links) == 4  # self, and each entry's public page, text and JSON
    return root.find("a:id", ATOM).text, links


@pytest.mark.parametrize("host", EVIL_HOSTS)
def test_a_foreign_host_gets_links_relative_to_the_site(seeded_client, published, host):
    assert all(link.startswith("/ogc") for link in ogc_links(seeded_client, host))
    feed_id, links = feed_links(seeded_client, host)
    assert all(link.startswith("/reports/") for link in links)
    assert feed_id.startswith("urn:uuid:")  # an Atom id is an absolute IRI even when the links are relative


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1:5000", "[::1]:8000"])
def test_this_machine_gets_absolute_links(seeded_client, published, host):
    """A fresh install without a public URL: GDAL or QGIS on the same machine follow absolute links."""
    assert all(link.startswith(f"http://{host}/ogc") for link in ogc_links(seeded_client, host))
    feed_id, links = feed_links(seeded_client, host)
    assert feed_id == f"http://{host}/reports/feed.atom"
    assert all(link.startswith(f"http://{host}/reports/") for link in links)


@pytest.fixture
def public_client(seeded_url, tmp_path):
    app = create_app(
        {
            "DATABASE_URL": seeded_url,
            "TESTING": True,
            "SECURE_COOKIES": False,
            "PHOTO_DIR": str(tmp_path / "photos"),
            "PUBLIC_URL": PUBLIC + "/",
        }
    )
    yield app.test_client()
    app.extensions["recovery.engine"].dispose()


@pytest.mark.slow
@pytest.mark.parametrize("host", ["evil.example", "localhost"])
def test_the_public_url_is_the_base_of_every_link(public_client, published, host):
    assert all(link.startswith(f"{PUBLIC}/ogc") for link in ogc_links(public_client, host))
    feed_id, links = feed_links(public_client, host)
    assert feed_id == f"{PUBLIC}/reports/feed.atom"
    assert all(link.startswith(f"{PUBLIC}/reports/daily/{DAY}/published/1") for link in links[1:])


@pytest.mark.parametrize(
    ("text", "expected"),
    [("", ""), (" https://recovery.example.gov.cn/ ", PUBLIC), ("http://10.0.0.5:8000/recovery", None)],
)
def test_public_url_spellings(text, expected):
    assert load_settings({"RECOVERY_PUBLIC_URL": text})["PUBLIC_URL"] == (
        expected if expected is not None else text
    )


@pytest.mark.parametrize(
    "text",
    ["recovery.example.gov.cn", "ftp://recovery.example", "https://", "https://x.cn/?a=1", "https://x.cn/#f"],
)
def test_a_bad_public_url_is_a_config_error_at_start_up(text):
    with pytest.raises(ConfigError, match="RECOVERY_PUBLIC_URL"):
        load_settings({"RECOVERY_PUBLIC_URL": text})
