"""Every page and JSON read, for every role, on the data that breaks pages: overdue work items, an empty
database, and dates at the incident's edges. The dashboard once answered 500 to every role as soon as one work
item was overdue, because the seed never has one; these tests make sure no page depends on that luck."""

from __future__ import annotations

import re

import pytest
from support.accounts import TEST_USERS, auth, login
from support.ledger import add_overdue_items

from recovery.settings import PROJECT_ROOT

TEMPLATES = PROJECT_ROOT / "templates"

#: attribute names that, read from a dict in Jinja (`x.items`), give the dict's method instead of its value
DICT_METHODS = ("items", "keys", "values", "get", "pop", "popitem", "update", "copy", "setdefault", "clear")

#: the days every page is drawn at: the flood's first day and the seed's last (the items below are overdue on both)
DAYS = ("2021-07-20", "2021-08-31")


def _get_urls(day: str) -> list[str]:
    """GET pages and JSON reads that take no id, at `day` where they take one."""
    return [
        "/",
        f"/?date={day}",
        "/map",
        f"/map?date={day}",
        "/field/",
        "/reports/",
        f"/reports/daily/{day}",
        f"/reports/daily/{day}.xlsx",
        f"/reports/daily/{day}.geojson",
        f"/reports/daily/{day}/records/road_collapse_handled",
        f"/reports/daily/{day}/records/work_items_overdue_feedback",
        f"/reports/daily/{day}/records/work_items_overdue_resolve",
        "/reports/feed.atom",
        "/admin/import",
        "/ogc",
        "/ogc/api",
        "/ogc/collections",
        "/ogc/collections/road_collapse/items?limit=5",
        "/api/v1/me",
        "/api/v1/metrics",
        f"/api/v1/metrics?date={day}",
        f"/api/v1/metrics/work_items_overdue_feedback/records?date={day}",
        f"/api/v1/reports/daily/{day}",
        "/api/v1/sites?limit=5",
        "/api/v1/conflicts",
        f"/map/clusters?date={day}&bbox=113.4,34.7,113.7,34.9&zoom=12",
    ]


def _status(client, url: str, headers: dict) -> int:
    """The status of GET `url`, with the body read to its end (streamed files are generated then)."""
    response = client.get(url, headers=headers)
    try:
        response.get_data()
    finally:
        response.close()
    return response.status_code


def test_no_template_reads_a_dict_method_as_a_value():
    """`unit.items` on a dict is the method: a template must call it or use a name that is not a method's."""
    pattern = re.compile(r"\b\w+(?:\[[^\]]*\])?\.(" + "|".join(DICT_METHODS) + r")\b(?!\s*\()")
    found = []
    for path in TEMPLATES.rglob("*.html"):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            found += [f"{path.relative_to(TEMPLATES)}:{number}: {m.group(0)}" for m in pattern.finditer(line)]
    assert found == []


@pytest.mark.slow  # 4–5.4 s for commander, reporter and admin on SQLite, under 2 s for the field users
@pytest.mark.parametrize("role", sorted(TEST_USERS))
def test_every_page_renders_with_overdue_work_items(seeded_app, seeded_url, role):
    titles = add_overdue_items(seeded_url)
    client = seeded_app.test_client()
    login(client, role)
    for day in DAYS:
        for url in _get_urls(day):
            assert _status(client, url, auth(role) if url.startswith("/api/") else {}) < 500, url
    if role in ("commander", "admin", "reporter"):
        page = client.get("/?date=2021-08-31").get_data(as_text=True)
        assert "逾期事项0&lt;b&gt;粗体&lt;/b&gt;" in page  # listed, and escaped
        assert all(t.replace("<b>", "&lt;b&gt;").replace("</b>", "&lt;/b&gt;") in page for t in titles)
        assert "城市管理局" in page and "商务局" in page
        counts = dict(re.findall(r'data-list="(\w+)">(\d+)<', page))
        assert counts == {"feedback": "4", "general": "2", "major": "2"}


@pytest.mark.parametrize("role", sorted(TEST_USERS))
def test_every_page_renders_on_an_empty_database(app, role):
    client = app.test_client()
    login(client, role)
    for day in DAYS:
        for url in _get_urls(day):
            assert _status(client, url, auth(role) if url.startswith("/api/") else {}) < 500, url


def test_every_page_renders_anonymously_without_a_500(seeded_client):
    for day in DAYS:
        for url in _get_urls(day):
            assert _status(seeded_client, url, {}) < 500, url
