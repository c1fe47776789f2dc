"""The language of the API's answers: a page's own scripts read the page's language, API clients their own."""

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
