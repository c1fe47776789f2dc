"""The API as the pages' own scripts call it (session cookie) and as API clients do (bearer token): language, CSRF."""

from __future__ import annotations

from support.accounts import auth, login


def test_the_pages_own_calls_read_the_pages_language_and_api_clients_their_own(client):
    """A signed-in page's script calling the API on an English system gets the page's Chinese; a bearer-token
    client still gets its Accept-Language; ?lang= or the cookie still choose."""
    login(client, "commander")
    english_system = {"Accept": "application/json", "Accept-Language": "en-US,en;q=0.9"}
    bad = client.get("/api/v1/sites?kind=nothing-such", headers=english_system).get_json()
    assert "未知" in bad["error"]["message"] or "不" in bad["error"]["message"], bad
    token_call = client.get(
        "/api/v1/sites?kind=nothing-such", headers={**english_system, **auth("commander")}
    )
    assert not any(
        "\u4e00" <= ch <= "\u9fff"
        for ch in token_call.get_json()["error"]["message"].replace("nothing-such", "")
    )
    chosen = client.get("/api/v1/sites?kind=nothing-such&lang=en", headers=english_system).get_json()
    assert chosen["error"]["message"] == token_call.get_json()["error"]["message"]


def test_me_gives_a_csrf_token_to_the_pages_session_only(client):
    """A bearer-token call needs no CSRF token, and making one would sign a session cookie on every call."""
    by_token = client.get("/api/v1/me", headers=auth("commander"))
    assert by_token.status_code == 200 and by_token.get_json()["csrf_token"] is None
    assert "Set-Cookie" not in by_token.headers
    login(client, "commander")
    by_page = client.get("/api/v1/me", headers={"Accept": "application/json"}).get_json()
    assert by_page["role"] == "commander" and len(by_page["csrf_token"]) > 20
