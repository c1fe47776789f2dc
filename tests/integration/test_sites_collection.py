"""The site list's whole collection (`limit=all`: no 5,000 cap, streamed), written from rows, equal feature for
feature to `site_feature`; pages as before; and its ETag: an unchanged answer costs a 304 with no body."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import event, select, update
from support.accounts import auth
from support.databases import BACKENDS, db, module_app
from support.sites import new_site, post_event

from recovery.models import Site
from recovery.query.collection import sites_state
from recovery.timeutil import parse_instant
from recovery.web.features import site_feature

ALL = "/api/v1/sites?limit=all"


@pytest.fixture(scope="module", params=BACKENDS)
def shared_app(request, tmp_path_factory):
    """One seeded app per backend for the tests that only read."""
    yield from module_app(request, tmp_path_factory)


@pytest.fixture(scope="module")
def api(shared_app):
    return shared_app.test_client()


def _get(api, path, who="commander", **headers):
    return api.get(path, headers={**auth(who), **headers})


def _features(response) -> list[dict]:
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return json.loads(response.get_data())["features"]


@pytest.mark.slow
@pytest.mark.parametrize(("lang", "zh"), [("zh", True), ("en", False)])
def test_the_whole_seed_is_listed_as_site_feature_makes_each_site(shared_app, api, lang, zh):
    response = _get(api, ALL, **{"Accept-Language": lang})
    assert response.status_code == 200 and response.is_streamed
    assert "Content-Length" not in response.headers
    body = json.loads(response.get_data())
    with db(shared_app) as session:
        sites = {s.id: s for s in session.scalars(select(Site))}
        with shared_app.test_request_context():
            expected = [
                json.loads(json.dumps(site_feature(sites[i], zh, may_change=True))) for i in sorted(sites)
            ]
    assert len(sites) == 9756 > 5000
    assert body["numberMatched"] == body["numberReturned"] == len(sites)
    assert body["type"] == "FeatureCollection"
    assert body["features"] == expected


def test_the_whole_collection_is_its_pages_end_to_end(api):
    whole = json.loads(_get(api, ALL).get_data())
    first = json.loads(_get(api, "/api/v1/sites?limit=5000").get_data())
    rest = json.loads(_get(api, "/api/v1/sites?limit=5000&offset=5000").get_data())
    assert first["numberMatched"] == rest["numberMatched"] == whole["numberMatched"] == 9756
    assert (first["numberReturned"], rest["numberReturned"]) == (5000, 4756)
    assert first["features"] + rest["features"] == whole["features"]
    default = json.loads(_get(api, "/api/v1/sites").get_data())
    assert default["features"] == whole["features"][:500] and default["numberReturned"] == 500
    tail = json.loads(_get(api, "/api/v1/sites?limit=all&offset=9750").get_data())
    assert tail["features"] == whole["features"][-6:] and tail["numberMatched"] == 9756
    beyond = json.loads(_get(api, "/api/v1/sites?limit=all&offset=20000").get_data())
    assert beyond["features"] == [] and beyond["numberMatched"] == 9756


@pytest.mark.parametrize(
    "filters",
    [
        "kind=road_collapse",
        "kind=enterprise,silt_site&status=open",
        "status=done&subdistrict=石佛",
        "subdistrict=fengyang&overdue=1",
        "bbox=113.55,34.80,113.58,34.83",
        "bbox=113.55,34.80,113.58,34.83&crs=gcj02",
        "q=路",
        "team=1",
        "as_of=2021-07-29&overdue=1",
        "kind=disinfection_point&mine=1&include_done=1&near=113.59,34.81",
        "mine=1",
        "kind=road_collapse&q=没有这个名字",
    ],
)
def test_every_filter_gives_the_same_sites_whole_as_in_a_page(api, filters):
    whole = _get(api, f"{ALL}&{filters}", who="field")
    page = _get(api, f"/api/v1/sites?limit=5000&{filters}", who="field")
    assert whole.status_code == page.status_code == 200
    assert json.loads(whole.get_data()) == json.loads(page.get_data())


@pytest.mark.slow
def test_near_orders_the_whole_collection_as_its_pages(api):
    near = "near=113.59,34.81"
    whole = _features(_get(api, f"{ALL}&{near}"))
    pages = _features(_get(api, f"/api/v1/sites?limit=5000&{near}")) + _features(
        _get(api, f"/api/v1/sites?limit=5000&offset=5000&{near}")
    )
    assert len(whole) == 9756 and whole == pages
    distances = [f["properties"]["distance_m"] for f in whole]
    assert all(isinstance(d, float) for d in distances)


@pytest.mark.parametrize(
    "query",
    [
        "limit=ALL",
        "limit=all5",
        "limit=0",
        "limit=5001",
        "limit=-1",
        "limit=all&offset=-1",
        "limit=all&kind=volcano",
    ],
)
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_bad_paging_is_refused_with_a_message_in_the_callers_language(api, query, lang):
    response = _get(api, f"/api/v1/sites?{query}", **{"Accept-Language": lang})
    assert response.status_code == 400
    message = response.get_json()["error"]["message"]
    assert message and ("limit" in message or "offset" in message or "volcano" in message)
    has_chinese = any("\u4e00" <= ch <= "\u9fff" for ch in message)
    assert has_chinese == (lang == "zh")


def test_the_limits_of_a_page_are_as_before(api):
    assert _get(api, "/api/v1/sites?limit=5000").status_code == 200
    assert _get(api, "/api/v1/sites?limit=5001").get_json()["error"]["code"] == "invalid_input"


def test_an_empty_database_lists_nothing(client):
    for path in (ALL, "/api/v1/sites", "/api/v1/sites?limit=all&offset=3"):
        response = client.get(path, headers=auth("commander"))
        body = json.loads(response.get_data())
        assert response.status_code == 200
        assert (body["features"], body["numberMatched"], body["numberReturned"]) == ([], 0, 0)
        assert response.headers["ETag"]


def test_an_unchanged_list_answers_304_with_no_body_and_reads_no_site(shared_app, api):
    first = _get(api, f"{ALL}&kind=road_collapse")
    tag = first.headers["ETag"]
    assert first.status_code == 200 and tag.startswith('"') and not tag.startswith("W/")
    assert first.headers["Cache-Control"] == "private, no-cache"
    statements: list[str] = []
    engine = shared_app.extensions["recovery.engine"]
    listen = lambda conn, cursor, statement, *rest: statements.append(statement)  # noqa: E731
    event.listen(engine, "before_cursor_execute", listen)
    try:
        again = _get(api, f"{ALL}&kind=road_collapse", **{"If-None-Match": tag})
    finally:
        event.remove(engine, "before_cursor_execute", listen)
    assert again.status_code == 304 and again.get_data() == b"" and again.headers["ETag"] == tag
    assert not [s for s in statements if "site.name" in s]
    for header in (f"W/{tag}", "*", f'"other", {tag}'):
        assert _get(api, f"{ALL}&kind=road_collapse", **{"If-None-Match": header}).status_code == 304, header
    for header in ('"other"', f'"{tag}"', ""):
        assert _get(api, f"{ALL}&kind=road_collapse", **{"If-None-Match": header}).status_code == 200, header
    # a page has its own tag and honours it too
    page = _get(api, "/api/v1/sites?kind=road_collapse&limit=10")
    assert page.headers["ETag"] != tag
    assert (
        _get(
            api, "/api/v1/sites?kind=road_collapse&limit=10", **{"If-None-Match": page.headers["ETag"]}
        ).status_code
        == 304
    )


def test_the_tag_follows_the_query_as_parsed_the_caller_and_the_language(api):
    def tag(path, who="commander", lang="zh"):
        return _get(api, path, who, **{"Accept-Language": lang}).headers["ETag"]

    assert (
        tag(f"{ALL}&subdistrict=石佛") == tag(f"{ALL}&subdistrict=shifo") == tag(f"{ALL}&subdistrict=Shifo")
    )
    assert tag(f"{ALL}&subdistrict=shifo") != tag(f"{ALL}&subdistrict=fengyang")
    assert tag(ALL) != tag(ALL, lang="en")
    assert tag(ALL) != tag(ALL, who="field") != tag(ALL, who="field_shifo")
    assert tag(ALL) != tag("/api/v1/sites")


def test_a_change_to_any_site_changes_the_tag(client, geodata):
    point = geodata.subdistrict("fengyang").geometry.representative_point()
    site = new_site(client, position={"lon": point.x, "lat": point.y})
    first = client.get(ALL, headers=auth("field"))
    tag = first.headers["ETag"]
    changed = post_event(client, site["properties"]["id"], {"status": "secured"}, version=1)
    assert changed.status_code == 201
    after = client.get(ALL, headers={**auth("field"), "If-None-Match": tag})
    assert after.status_code == 200 and after.headers["ETag"] != tag
    assert _features(after)[0]["properties"]["status"] == "secured"
    assert (
        client.get(ALL, headers={**auth("field"), "If-None-Match": after.headers["ETag"]}).status_code == 304
    )


def test_a_deadline_passing_changes_the_tag_and_the_overdue_flags(app, client, geodata, monkeypatch):
    """No event, but an open site's deadline passes: a new tag, and the site now overdue."""
    point = geodata.subdistrict("fengyang").geometry.representative_point()
    site_id = new_site(client, position={"lon": point.x, "lat": point.y})["properties"]["id"]
    deadline = parse_instant("2021-08-15T00:00:00+08:00")
    with db(app) as session:
        session.execute(update(Site).where(Site.id == site_id).values(deadline=deadline))
        session.commit()
        before = sites_state(session, deadline - timedelta(seconds=1))
        after = sites_state(session, deadline + timedelta(seconds=1))
    assert before[:3] == after[:3] and (before[3], after[3]) == (0, 1)

    import recovery.web.sites_api as sites_api

    answers = {}
    for label, moment in (
        ("before", deadline - timedelta(seconds=1)),
        ("after", deadline + timedelta(seconds=1)),
    ):
        monkeypatch.setattr(sites_api, "now", lambda moment=moment: moment)
        answers[label] = client.get(ALL, headers=auth("field"))
    assert answers["before"].headers["ETag"] != answers["after"].headers["ETag"]
    overdue = {label: _features(answer)[0]["properties"]["overdue"] for label, answer in answers.items()}
    assert overdue == {"before": False, "after": True}


def test_the_document_declares_limit_all_the_etag_and_the_304(shared_app):
    from recovery.web.apidoc import document

    operation = document(shared_app)["paths"]["/sites"]["get"]
    limit = next(p for p in operation["parameters"] if p["name"] == "limit")
    assert {"type": "string", "enum": ["all"]} in limit["schema"]["anyOf"]
    assert limit["schema"]["maximum"] == 5000 and limit["schema"]["default"] == 500
    assert "ETag" in operation["responses"]["200"]["headers"]
    assert "If-None-Match" in operation["responses"]["304"]["description"]
