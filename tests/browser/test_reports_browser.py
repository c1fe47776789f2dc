"""The daily report in a real headless Chromium: no foreign hosts, fits a phone, and prints to an A4 PDF
that carries the figures."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from support.article import ARTICLE
from support.browser import SHOTS, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]
DAY = "2021-07-29"


@pytest.mark.parametrize(("width", "height"), [(1440, 900), (390, 844)], ids=["desktop", "phone"])
def test_report_page_in_chromium(browser, live_server, tmp_path, width, height):
    from urllib.parse import urlparse

    page = browser.new_page(viewport={"width": width, "height": height})
    hosts = []
    page.on("request", lambda request: hosts.append(urlparse(request.url).hostname))
    sign_in(page, live_server, f"/reports/daily/{DAY}", user="reporter")
    assert page.inner_text('[data-key="road_collapse_handled"] .value') == "167"
    assert page.inner_text('[data-key="road_collapse_handled"] .change') == "+14"
    assert page.locator("svg.chart").count() == 3
    assert set(hosts) == {"127.0.0.1"}
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.click('[data-key="road_collapse_handled"] .value')
    page.wait_for_url("**/records/road_collapse_handled**")
    assert page.inner_text("#record-count") == "167"
    page.go_back()
    shot = (SHOTS or tmp_path) / f"report-{width}x{height}.png"
    shot.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shot), full_page=True)
    page.close()


def test_report_prints_to_pdf_with_the_figures(browser, live_server, tmp_path):
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    sign_in(page, live_server, f"/reports/daily/{DAY}", user="reporter")
    page.click("#publish")
    page.wait_for_selector("#published-stamp")
    pdf = tmp_path / "report.pdf"
    page.pdf(path=str(pdf), format="A4", print_background=True)
    if SHOTS:
        shutil.copy(pdf, SHOTS / "report-2021-07-29.pdf")
    assert pdf.read_bytes().startswith(b"%PDF")
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    compact = "".join(text.split())
    for key in (
        "road_collapse_total",
        "road_collapse_handled",
        "silt_m3",
        "garbage_t",
        "composite_restart_rate",
    ):
        assert ARTICLE[key] in compact, key
    assert "塌陷点236个已处理完成167个" in compact
    assert "综合复工率98.75%" in compact
    assert "退出" not in compact and "Sign out" not in compact  # the page chrome is not printed
    page.close()
