"""Security headers on every response (issue 12, finding 13): a strict Content-Security-Policy whose only inline
code is the map's, carrying a per-request nonce; no framing; nosniff; same-origin referrers. In a real Chromium,
no page of the app breaks the policy. On SQLite and PostGIS."""

from __future__ import annotations

import re

import pytest
from conftest import TEST_PASSWORD, auth, login

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


# --- in a real browser ----------------------------------------------------------------------------------------

from test_browser import browser, live_server  # noqa: E402, F401  (fixtures)

#: records every policy violation from the first byte of each page on
WATCH = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', (e) =>
  window.__csp.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline') + ' ' + (e.sample || '')));
"""
PAGES = [
    "/?date=2021-07-29",
    "/map?date=2021-07-29",
    "/field/",
    "/reports/",
    f"/reports/daily/{DAY}",
    f"/reports/daily/{DAY}/records/road_collapse_handled",
    "/ogc/collections?f=html",
    "/api/v1/docs",
    "/admin/import",
    "/account/password",
]


@pytest.mark.browser
def test_no_page_breaks_the_policy_in_chromium(browser, live_server):  # noqa: F811
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.add_init_script(WATCH)
    page = context.new_page()
    console = []
    page.on("console", lambda m: console.append(m.text) if "Content Security Policy" in m.text else None)
    page.goto(f"{live_server}/login")
    page.fill("#username", "admin")
    page.fill("#password", TEST_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server}/")
    for path in PAGES:
        response = page.goto(f"{live_server}{path}")
        assert response.status == 200, path
        assert response.headers["x-frame-options"] == "DENY"
        page.wait_for_load_state("networkidle")
        if path.startswith("/map"):
            # Folium's inline script ran (the map and its layers exist) and map.js drew the sites
            page.wait_for_function("() => document.body.dataset.drawn && document.body.dataset.drawn !== '0'")
            folium_map = "JSON.parse(document.getElementById('map-config').textContent).map"
            assert page.evaluate(f"() => window[{folium_map}] instanceof L.Map")
        assert page.evaluate("window.__csp") == [], path
    assert console == []
    context.close()
