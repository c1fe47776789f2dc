"""The home page in a real headless Chromium: it loads nothing from other hosts and reads well on a phone."""

from __future__ import annotations

from urllib.parse import urlparse

import pytest
from support.article import ARTICLE_PARAGRAPH
from support.browser import SHOTS, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.mark.parametrize(("width", "height"), [(1440, 900), (390, 844)], ids=["desktop", "phone"])
def test_home_page_in_chromium(browser, live_server, tmp_path, width, height):
    page = browser.new_page(viewport={"width": width, "height": height})
    hosts = []
    page.on("request", lambda request: hosts.append(urlparse(request.url).hostname))
    # signed out: sent to the sign-in page, and back to the page asked for after signing in
    sign_in(page, live_server, "/?date=2021-07-29")
    assert page.inner_text("#bulletin").strip() == ARTICLE_PARAGRAPH
    assert page.inner_text('[data-key="composite_restart_rate"] .value') == "98.75"
    # every request stays on this server: no CDN, no fonts, no tiles from elsewhere
    assert hosts and set(hosts) == {"127.0.0.1"}
    # nothing wider than the screen (the sub-district table scrolls inside its own box)
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.fill("#date", "2021-07-25")
    page.click(".dayform button[type=submit]")
    page.wait_for_url("**date=2021-07-25**")
    assert "截至7月25日" in page.inner_text("#bulletin")
    shot = (SHOTS or tmp_path) / f"home-{width}x{height}.png"
    shot.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    page.close()
