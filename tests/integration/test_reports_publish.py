"""Publishing freezes a day's figures: a late event valid before the day's end changes the live figures but not
the published ones, and shows as a correction with its cause. The feed lists what was published."""

from __future__ import annotations

import hashlib
import html
import io
import json
import re
from datetime import date
from xml.etree import ElementTree as ET

import pytest
from openpyxl import load_workbook
from sqlalchemy import text
from support.accounts import auth

DAY = "2021-07-29"


def _stopped_enterprise(session) -> int:
    """An enterprise still stopped at the end of the seed, whose last event is before 29 July."""
    return session.execute(
        text(
            "SELECT id FROM site WHERE kind = 'enterprise' AND status = 'stopped' "
            "AND last_valid_at < :t ORDER BY id LIMIT 1"
        ),
        {"t": "2021-07-28"},
    ).scalar_one()


@pytest.mark.slow  # 3.7 s on SQLite
def test_published_report_stays_as_published(seeded_client, seeded_session):
    published = seeded_client.post(f"/api/v1/reports/daily/{DAY}/publish", headers=auth("reporter"))
    assert published.status_code == 201
    meta = published.json
    frozen = seeded_client.get(meta["url"])  # public: published figures are public information
    assert frozen.status_code == 200
    assert hashlib.sha256(frozen.data).hexdigest() == meta["sha256"] == frozen.headers["X-Content-SHA256"]
    before = {f["key"]: f for f in json.loads(frozen.data)["figures"]}
    assert before["enterprises_restarted"]["printed"] == "7562"

    # a field team's offline update arrives late: the enterprise restarted on the morning of 29 July
    site_id = _stopped_enterprise(seeded_session)
    etag = seeded_client.get(f"/api/v1/sites/{site_id}", headers=auth("commander")).headers["ETag"]
    late = seeded_client.post(
        f"/api/v1/sites/{site_id}/events",
        headers={**auth("commander"), "If-Match": etag, "Idempotency-Key": "late-restart-0729"},
        json={"status": "restarted", "valid_at": "2021-07-29T10:00:00+08:00", "note": "离线补报"},
    )
    assert late.status_code in (200, 201), late.get_data(as_text=True)

    live = {
        f["key"]: f
        for f in seeded_client.get(f"/api/v1/reports/daily/{DAY}", headers=auth("reporter")).json["figures"]
    }
    assert live["enterprises_restarted"]["printed"] == "7563"
    again = seeded_client.get(meta["url"])
    assert again.data == frozen.data  # the same bytes, the same hash
    assert json.loads(again.data)["bulletin"].count("已经恢复7562家") == 1

    # the page shows the published version, and the correction with its cause
    page = seeded_client.get(f"/reports/daily/{DAY}", headers=auth("reporter")).get_data(as_text=True)
    assert 'id="published-stamp"' in page and "已经恢复7562家" in page
    assert 'id="corrections"' in page and 'data-key="enterprises_restarted"' in page
    corrections = seeded_client.get(f"/api/v1/reports/daily/{DAY}/corrections", headers=auth("reporter")).json
    by_key = {c["key"]: c for c in corrections["corrections"]}
    fix = by_key["enterprises_restarted"]
    assert (fix["published"], fix["now"], fix["delta"]) == ("7562", "7563", 1)
    assert [e["site_key"] for e in fix["events"]] == [
        seeded_client.get(f"/api/v1/sites/{site_id}", headers=auth("reporter")).json["properties"]["key"]
    ]
    assert fix["events"][0]["valid_at"].startswith("2021-07-29T10:00")
    assert "composite_restart_rate" in by_key

    # the live draft is one click away, and publishing again makes version 2 with the new figures
    draft = seeded_client.get(f"/reports/daily/{DAY}?view=draft", headers=auth("reporter")).get_data(
        as_text=True
    )
    assert "已经恢复7563家" in draft
    second = seeded_client.post(f"/api/v1/reports/daily/{DAY}/publish", headers=auth("commander")).json
    assert second["version"] == 2 and second["sha256"] != meta["sha256"]
    assert seeded_client.get(meta["url"]).data == frozen.data


@pytest.mark.slow
def test_feed_lists_published_reports(seeded_client):
    seeded_client.post(f"/api/v1/reports/daily/{DAY}/publish", headers=auth("reporter"))
    response = seeded_client.get("/reports/feed.atom")
    assert response.status_code == 200
    assert response.mimetype == "application/atom+xml"
    root = ET.fromstring(response.data)
    ns = {"a": "http://www.w3.org/2005/Atom"}
    entries = root.findall("a:entry", ns)
    assert len(entries) == 1
    assert DAY in entries[0].find("a:title", ns).text
    assert "综合复工率98.75%" in entries[0].find("a:summary", ns).text
    listing = seeded_client.get("/reports/").get_data(as_text=True)
    assert DAY in listing


@pytest.mark.slow
def test_publish_needs_csrf_on_the_page(seeded_client):
    from support.accounts import login

    login(seeded_client, "reporter")
    assert seeded_client.post(f"/reports/daily/{DAY}/publish").status_code == 400  # no CSRF token
    page = seeded_client.get(f"/reports/daily/{DAY}").get_data(as_text=True)
    import re

    assert 'id="published-stamp"' not in page
    review = seeded_client.get(f"/reports/daily/{DAY}/publish").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', review).group(1)
    version = re.search(r'name="version" value="(\d+)"', review).group(1)
    done = seeded_client.post(
        f"/reports/daily/{DAY}/publish", data={"csrf_token": token, "version": version, "confirm": "1"}
    )
    assert done.status_code == 302
    assert 'id="published-stamp"' in seeded_client.get(f"/reports/daily/{DAY}").get_data(as_text=True)


FORMATS = ("json", "txt", "md", "xlsx", "geojson")


def _all_formats(client, runner, tmp_path, tag: str) -> dict[str, dict[str, bytes]]:
    """Every format of version 1, from the public URL, the API and the command line."""
    out: dict[str, dict[str, bytes]] = {}
    for fmt in FORMATS:
        # buffered: a streamed response holds its request context until it is closed
        page = client.get(f"/reports/daily/{DAY}/published/1.{fmt}", buffered=True)
        api = client.get(
            f"/api/v1/reports/daily/{DAY}?format={fmt}&version=1", headers=auth("reporter"), buffered=True
        )
        assert page.status_code == api.status_code == 200, fmt
        target = tmp_path / f"{tag}.{fmt}"
        result = runner.invoke(
            args=[
                "report",
                "daily",
                "--date",
                DAY,
                "--format",
                fmt,
                "--version",
                "latest",
                "--out",
                str(target),
            ]
        )
        assert result.exit_code == 0, result.output
        out[fmt] = {"page": page.data, "api": api.data, "cli": target.read_bytes()}
    return out


def _cells(data: bytes) -> dict[str, list[tuple]]:
    book = load_workbook(io.BytesIO(data), read_only=True)
    return {name: list(book[name].iter_rows(values_only=True)) for name in book.sheetnames}


@pytest.mark.slow  # 11 s on SQLite
def test_every_format_stays_exactly_as_published(seeded_client, seeded_runner, seeded_session, tmp_path):
    meta = seeded_client.post(f"/api/v1/reports/daily/{DAY}/publish", headers=auth("reporter")).json
    before = _all_formats(seeded_client, seeded_runner, tmp_path, "before")
    for fmt, sources in before.items():
        assert sources["page"] == sources["api"] == sources["cli"], fmt
    assert hashlib.sha256(before["json"]["page"]).hexdigest() == meta["sha256"]
    published = json.loads(before["json"]["page"])
    ledger = _cells(before["xlsx"]["page"])
    stopped = [r for r in ledger["企业"][1:] if r[3] == "停产"]
    assert len(ledger["企业"]) - 1 == 7630 and len(stopped) == 7630 - 7562

    # after publication: an enterprise's late restart (valid on the 29th), and its name is corrected
    site_id = _stopped_enterprise(seeded_session)
    key = seeded_session.execute(text("SELECT key FROM site WHERE id = :i"), {"i": site_id}).scalar_one()
    seeded_session.rollback()  # end the read: the app writes next
    etag = seeded_client.get(f"/api/v1/sites/{site_id}", headers=auth("commander")).headers["ETag"]
    late = seeded_client.post(
        f"/api/v1/sites/{site_id}/events",
        headers={**auth("commander"), "If-Match": etag, "Idempotency-Key": "late-restart-formats"},
        json={"status": "restarted", "valid_at": "2021-07-29T10:00:00+08:00", "note": "离线补报"},
    )
    assert late.status_code in (200, 201)
    seeded_session.execute(text("UPDATE site SET name = '改名后的企业' WHERE id = :i"), {"i": site_id})
    seeded_session.commit()

    after = _all_formats(seeded_client, seeded_runner, tmp_path, "after")
    for fmt in FORMATS:
        assert after[fmt] == before[fmt], fmt  # byte for byte, from every door
    assert _cells(after["xlsx"]["page"]) == ledger

    # the drafts did change: the late event is in them, the published files never show it
    draft = seeded_client.get(
        f"/api/v1/reports/daily/{DAY}?format=geojson", headers=auth("reporter"), buffered=True
    )
    status = {f["id"]: f["properties"]["status"] for f in json.loads(draft.data)["features"]}
    frozen = {f["id"]: f["properties"] for f in json.loads(before["geojson"]["page"])["features"]}
    assert status[key] == "restarted" and frozen[key]["status"] == "stopped"
    assert frozen[key]["name"] != "改名后的企业"

    # the chart series and the table were as known at the cutoff: computing them again as known then agrees
    from recovery.reports.build import build_report
    from recovery.timeutil import parse_instant

    cutoff = parse_instant(published["known_at"])
    again = build_report(seeded_session, date.fromisoformat(DAY), known_at=cutoff)
    assert again["series"] == published["series"] and again["kind_table"] == published["kind_table"]
    live = build_report(seeded_session, date.fromisoformat(DAY))
    assert live["series"]["cumulative"]["enterprises_restarted"][-1] == 7563
    assert published["series"]["cumulative"]["enterprises_restarted"][-1] == 7562

    # the published page's table still links to exactly the sites each cell counted
    page = seeded_client.get(f"/reports/daily/{DAY}", headers=auth("reporter")).get_data(as_text=True)
    links = re.findall(r'<td data-column="(\w+)"><a href="([^"]+)">(\d+)</a></td>', page)
    enterprise_total = [u for c, u, v in links if "/table/enterprise/total" in u and "subdistrict" not in u]
    assert enterprise_total and "known_at=" in enterprise_total[0]
    for _column, url, value in [link for link in links if "/table/enterprise/" in link[1]]:
        listed = seeded_client.get(html.unescape(url), headers=auth("reporter")).get_data(as_text=True)
        assert re.search(r'id="record-count">(\d+)<', listed).group(1) == value, url
    # and the correction shows, with its cause
    corrections = seeded_client.get(f"/api/v1/reports/daily/{DAY}/corrections", headers=auth("reporter")).json
    fix = {c["key"]: c for c in corrections["corrections"]}["enterprises_restarted"]
    assert fix["delta"] == 1 and [e["site_key"] for e in fix["events"]] == [key]


def test_unknown_versions(seeded_client):
    url = f"/api/v1/reports/daily/{DAY}?format=txt&version="
    assert seeded_client.get(url + "latest", headers=auth("reporter")).status_code == 404
    assert seeded_client.get(url + "v1", headers=auth("reporter")).status_code == 400
    assert seeded_client.get(f"/reports/daily/{DAY}/published/3.md").status_code == 404
