"""Security headers on every response (issue 12, finding 13): a strict Content-Security-Policy whose only inline
code is the map's, carrying a per-request nonce; no framing; nosniff; same-origin referrers. On SQLite and PostGIS.
That no page breaks the policy in a real Chromium is tests/browser/test_security_headers_browser.py."""

from __future__ import annotations

import re

import pytest
from support.accounts import auth, login

from recovery.web.headers import content_security_policy, tile_origins

DAY = "2021-07-29"
FIXED = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def directives(policy: str) -> dict[str, list[str]]:
    out = {}
    for part in policy.split(";"):
        name, *values = part.split()
        assert name not in out, f"{name} twice"
        out[name] = values
    return out


def check_headers(response) -> dict[str, list[str]]:
    for name, value in FIXED.items():
        assert response.headers.get(name) == value, name
    policy = directives(response.headers["Content-Security-Policy"])
    assert policy["default-src"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["object-src"] == ["'none'"] and policy["base-uri"] == ["'none'"]
    assert policy["form-action"] == ["'self'"]
    for name in ("script-src", "style-src"):
        assert policy[name][0] == "'self'"
        assert all(v.startswith("'nonce-") for v in policy[name][1:]), policy[name]
    # nothing from elsewhere unless a tile server is set; never eval or inline code without the nonce
    everything = " ".join(" ".join(v) for k, v in policy.items() if k != "style-src-attr")
    assert "unsafe" not in everything and "http" not in everything and "*" not in everything
    return policy


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/login", 200),
        ("/", 302),
        ("/static/app.css", 200),
        ("/api/v1/docs", 200),
        ("/api/v1/openapi.json", 200),
        ("/api/v1/sites", 401),
        ("/no/such/page", 404),
        ("/reports/feed.atom", 200),
    ],
)
def test_every_response_carries_the_headers(client, path, status):
    with client.get(path) as response:
        assert response.status_code == status
        policy = check_headers(response)
    assert policy["script-src"] == ["'self'"]  # no inline code on these: no nonce either


@pytest.mark.parametrize(
    "path", ["/", f"/reports/daily/{DAY}", "/field/", "/ogc?f=html", "/map?date=2021-07-29"]
)
def test_signed_in_pages_carry_the_headers(seeded_client, path):
    login(seeded_client, "commander")
    response = seeded_client.get(path)
    assert response.status_code == 200
    check_headers(response)


def test_api_answers_carry_the_headers(seeded_client):
    response = seeded_client.get("/api/v1/sites?limit=1", headers=auth("commander"))
    assert response.status_code == 200
    check_headers(response)


def inline_tags(html: str) -> list[str]:
    """The opening tags of inline scripts and of style blocks (data blocks and external scripts excluded)."""
    tags = []
    for match in re.finditer(r"<(script|style)\b[^>]*>", html):
        tag = match.group(0)
        if match.group(1) == "script" and ("src=" in tag or "application/json" in tag):
            continue
        tags.append(tag)
    return tags


def test_the_maps_inline_code_carries_this_requests_nonce(seeded_client):
    login(seeded_client, "commander")
    nonces = []
    for _ in range(2):
        response = seeded_client.get("/map?date=2021-07-29")
        policy = check_headers(response)
        assert policy["script-src"][1:] == policy["style-src"][1:] and len(policy["script-src"]) == 2
        nonce = policy["script-src"][1].removeprefix("'nonce-").removesuffix("'")
        tags = inline_tags(response.get_data(as_text=True))
        assert len(tags) >= 3  # Folium's map script and its style blocks
        assert all(f'nonce="{nonce}"' in tag for tag in tags), tags
        nonces.append(nonce)
    assert nonces[0] != nonces[1] and len(nonces[0]) >= 22


def test_pages_without_inline_code_need_no_nonce(seeded_client):
    login(seeded_client, "commander")
    for path in ("/", f"/reports/daily/{DAY}", "/field/", "/login"):
        html = seeded_client.get(path).get_data(as_text=True)
        assert inline_tags(html) == [], path


@pytest.mark.parametrize(
    ("server", "expected"),
    [
        ("none", []),
        (
            "osm",
            [
                "https://a.tile.openstreetmap.org",
                "https://b.tile.openstreetmap.org",
                "https://c.tile.openstreetmap.org",
            ],
        ),
        ("amap", [f"https://webrd0{i}.is.autonavi.com" for i in range(1, 5)]),
        ("tianditu", [f"https://t{i}.tianditu.gov.cn" for i in range(8)]),
    ],
)
def test_a_tile_server_is_the_only_other_origin_and_only_for_images(server, expected):
    assert tile_origins(server) == expected
    policy = directives(content_security_policy(None, server))
    assert policy["img-src"] == ["'self'", "data:", "blob:", *expected]
    assert not [v for k, v in policy.items() if k != "img-src" and any("http" in x for x in v)]
