"""Every route declares who may use it, and every role gets exactly what its policy says, whatever the URL."""

from __future__ import annotations

import re

import pytest
from support.accounts import auth

from recovery.web.policy import ROLES, policy_of

ROLE_USERS = {
    "anonymous": None,
    "field": "field",
    "commander": "commander",
    "reporter": "reporter",
    "unit": "unit_urban",
    "admin": "admin",
}
#: example values for URL variables, so that every route can be called
SAMPLE = {
    "site_id": "1",
    "event_id": "1",
    "photo_id": "1",
    "upload_id": "upload-0001",
    "key": "road_collapse_total",
    "day": "2021-07-29",
    "filename": "app.css",
    "collection_id": "road_collapse",
    "feature_id": "1",
    "kind": "road_collapse",
    "item_id": "1",
    "token_id": "1",
    "webhook_id": "1",
    "review_id": "1",
    "attachment_id": "1",
}


def test_every_route_declares_a_policy(app):
    missing = [r.rule for r in app.url_map.iter_rules() if policy_of(app, r.endpoint) is None]
    assert missing == []
    for rule in app.url_map.iter_rules():
        assert set(policy_of(app, rule.endpoint)) <= set(ROLES)


def _url(rule) -> str:
    return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", lambda m: SAMPLE.get(m.group(1), "x"), rule.rule)


@pytest.mark.parametrize("role", list(ROLE_USERS))
def test_access_matrix(app, client, role):
    """Call every route with every method as every role: allowed roles never get 401/403, others always do."""
    checked = 0
    for rule in app.url_map.iter_rules():
        allowed = policy_of(app, rule.endpoint)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            headers = auth(ROLE_USERS[role]) if ROLE_USERS[role] else {}
            response = client.open(
                _url(rule), method=method, headers=headers, json={} if method != "GET" else None
            )
            status = response.status_code
            response.close()
            assert status < 500, (rule.rule, method, role, status)
            if "anonymous" in allowed or role in allowed:
                assert status not in (401, 403), (rule.rule, method, role, status, response.get_data()[:200])
            elif role == "anonymous" and getattr(app.view_functions[rule.endpoint], "allowed_addresses", ""):
                # a machines' route (/metrics) that admits listed addresses: refused, not sent to sign in
                assert status == 403, (rule.rule, method, role, status)
            elif role == "anonymous":
                assert status in (401, 302), (rule.rule, method, role, status)
                if status == 302:
                    assert "/login" in response.headers["Location"]
            else:
                assert status == 403, (rule.rule, method, role, status)
            checked += 1
    assert checked > 20
