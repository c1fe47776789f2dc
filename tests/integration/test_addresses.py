"""Addresses people type or browsers ask for: /map/ with its slash, /favicon.ico on every host."""

from __future__ import annotations

from support.accounts import auth, login


def test_the_map_with_a_slash_is_the_map_with_its_query(client):
    login(client, "commander")
    response = client.get("/map/?date=2021-07-29&site=12")
    assert response.status_code == 301
    assert response.headers["Location"].startswith("/map?")
    assert "date=2021-07-29" in response.headers["Location"] and "site=12" in response.headers["Location"]
    assert client.get(response.headers["Location"]).status_code == 200


def test_the_map_with_a_slash_still_needs_a_sign_in(client):
    response = client.get("/map/")
    assert response.status_code in (302, 401)
    assert "/map?" not in response.headers.get("Location", "")


def test_favicon_is_the_apps_icon_for_anyone(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    with client.get(response.headers["Location"]) as icon:
        assert icon.status_code == 200 and icon.mimetype == "image/png"
        assert icon.data.startswith(b"\x89PNG")


def test_every_page_names_its_icon(client):
    login(client, "commander")
    page = client.get("/", headers=auth("commander")).get_data(as_text=True)
    assert 'rel="icon"' in page and "icons/icon-192.png" in page
