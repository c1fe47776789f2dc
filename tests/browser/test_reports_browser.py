"""The daily report in a real headless Chromium: no foreign hosts, fits a phone, and prints to an A4 PDF
that carries the figures; a reporter's whole way from signing in to a public page."""

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
    page.click("#confirm-publish")
    page.wait_for_selector("#published-stamp")
    labels = page.eval_on_selector_all(".figure .label", "els => els.map(e => e.textContent.trim())")
    values = page.eval_on_selector_all(".figure .value", "els => els.map(e => e.textContent.trim())")
    # the print layout at A4's printable width (210 mm less 24 mm of margins, at 96 px an inch): no figure card
    # and no chart reaches past the page's right edge, and the charts' 11-unit text prints at 7.5 pt or more
    page.emulate_media(media="print")
    page.set_viewport_size({"width": 703, "height": 1000})
    past_the_edge = page.evaluate(
        """() => [...document.querySelectorAll('.figure, .chart-box')]
             .filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 0.5)
             .map(e => e.dataset.key || e.id)"""
    )
    assert past_the_edge == []
    chart_text_px = page.evaluate(
        """() => Math.min(...[...document.querySelectorAll('.chart-box svg')]
             .map(s => s.getBoundingClientRect().width / s.viewBox.baseVal.width * 11))"""
    )
    assert chart_text_px >= 10, chart_text_px
    pdf = tmp_path / "report.pdf"
    page.pdf(path=str(pdf), format="A4", print_background=True)
    if SHOTS:
        shutil.copy(pdf, SHOTS / "report-2021-07-29.pdf")
    assert pdf.read_bytes().startswith(b"%PDF")
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    first_page = "".join(
        subprocess.run(
            ["pdftotext", "-f", "1", "-l", "1", str(pdf), "-"], capture_output=True, text=True, check=True
        ).stdout.split()
    )
    # every figure card on the first page: its label (a long one wraps, so its first line) and its value
    assert len(labels) == 16 and len(values) == 16
    for label, value in zip(labels, values, strict=True):
        assert label[:8] in first_page, label
        assert value in first_page, (label, value)
    assert "道路塌陷点燃尽图" in first_page  # the first chart follows the cards on page 1
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


@pytest.mark.parametrize(("width", "height"), [(1280, 900), (390, 844)], ids=["desktop", "phone"])
def test_reporter_journey_from_sign_in_to_the_public_page(browser, live_server, tmp_path, width, height):
    """Sign in, land on the reports home, pick 22 July, copy the bulletin, open a figure's records, review and
    publish; then an anonymous reader opens the public page. Nothing is loaded from another host."""
    from urllib.parse import urlparse

    shots = SHOTS or tmp_path
    shots.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": width, "height": height})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server)
    page = context.new_page()
    hosts = []
    page.on("request", lambda request: hosts.append(urlparse(request.url).hostname))
    sign_in(page, live_server, "/login", user="reporter")
    assert page.get_attribute("#latest-report", "href") == "/reports/daily/2021-08-31"
    page.screenshot(path=str(shots / f"reports-home-{width}.png"), full_page=True)

    page.fill("#day-picker", "2021-07-22")
    page.click(".daypicker button[type=submit]")
    page.wait_for_url("**/reports/daily/2021-07-22")
    assert page.input_value("#day-picker") == "2021-07-22"
    page.click("#copy-bulletin")
    page.wait_for_selector("#copy-status.copied")
    assert page.inner_text("#copy-status") == "已复制"
    assert page.evaluate("navigator.clipboard.readText()") == page.inner_text("#bulletin").strip()
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.screenshot(path=str(shots / f"report-0722-{width}.png"), full_page=True)

    page.click('[data-key="road_collapse_handled"] .value')
    page.wait_for_url("**/records/road_collapse_handled**")
    first = page.locator("table.records tbody tr").first
    first_name = first.locator("td").nth(2).inner_text().strip()
    assert first.locator("td.happened").inner_text().startswith("2021-07-")
    assert "T" not in first.locator("td.happened").inner_text()
    href = first.locator("a.site-link").get_attribute("href")
    assert href.startswith("/map?site=") and "date=2021-07-22" in href
    assert "已修复" in first.inner_text()
    page.screenshot(path=str(shots / f"records-{width}.png"), full_page=True)
    # the site's link opens the map on that site, with its card, as of that day
    page.click("table.records tbody tr >> nth=0 >> a.site-link")
    page.wait_for_selector("body[data-focused] .site-popup h3")
    assert page.inner_text(".site-popup h3") == first_name
    page.go_back()
    page.go_back()

    page.click("#publish")
    page.wait_for_selector("#confirm-publish")
    assert "第 1 版" in page.inner_text("#confirm-publish")
    page.screenshot(path=str(shots / f"review-{width}.png"), full_page=True)
    page.click("#confirm-publish")
    page.wait_for_selector("#published-stamp")
    assert "测试reporter" in page.inner_text("#published-stamp")
    context.close()

    reader = browser.new_context(viewport={"width": width, "height": height}).new_page()
    reader.goto(f"{live_server}/reports/")
    reader.click('a[href="/reports/daily/2021-07-22/published/1"]')
    reader.wait_for_selector("#published-stamp")
    assert reader.locator("svg.chart").count() == 3
    assert reader.locator('[data-key="road_collapse_handled"] .value').count() == 1
    assert reader.evaluate("document.documentElement.scrollWidth") <= width
    reader.screenshot(path=str(shots / f"public-{width}.png"), full_page=True)
    reader.context.close()
    assert set(hosts) == {"127.0.0.1"}
