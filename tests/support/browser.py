"""What the headless-Chromium tests share: where Chromium is, where screenshots go, and signing in on the form."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

from support.accounts import TEST_PASSWORD

CHROMIUM = os.environ.get("RECOVERY_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-quic",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
]
#: where screenshots are kept for the README when RECOVERY_SCREENSHOTS is set; else each test's tmp_path
SHOTS = Path(os.environ.get("RECOVERY_SCREENSHOTS", "")) if os.environ.get("RECOVERY_SCREENSHOTS") else None


def sign_in(page, base: str, path: str = "/login", *, user: str = "commander") -> None:
    """Open `path` signed out, sign in as the test user `user` on the form it leads to, and wait to be back on
    `path` (address and query as asked; from `/login` itself, on the user's home page).

    Landing on the page asked for is checked as the redirect arrives, before a page's script may rewrite its
    query (the map keeps its view in the address)."""
    page.goto(f"{base}{path}")
    assert urlsplit(page.url).path == "/login", page.url  # signed out: sent to the sign-in page
    page.fill("#username", user)
    page.fill("#password", TEST_PASSWORD)
    page.click("button[type=submit]")
    if path == "/login":
        path = "/field/" if user.startswith("field") else "/reports/" if user == "reporter" else "/"
    wanted = urlsplit(f"{base}{path}")
    page.wait_for_url(lambda url: urlsplit(url)[:4] == wanted[:4])
