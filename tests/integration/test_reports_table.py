"""Every cell of the report's table by sub-district and kind links to the sites it counted, at the same moment:
the list has exactly as many rows as the cell shows. On SQLite and PostGIS."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import select, update
from support.accounts import auth

from recovery.models import Site

DAY = "2021-07-29"
CELL = re.compile(r'<td data-column="(\w+)"><a href="([^"]+)">(\d+)</a></td>')


def _cells(page: str) -> list[tuple[str, str, int]]:
    return [(column, html.unescape(url), int(value)) for column, url, value in CELL.findall(page)]


def _rows_listed(client, url: str) -> int:
    page = client.get(url, headers=auth("reporter"))
    assert page.status_code == 200, url
    text = page.get_data(as_text=True)
    count = int(re.search(r'<strong id="record-count">(\d+)</strong>', text).group(1))
    assert text.count("<tr><td>") == count
    return count


def _make_overdue(session, n: int = 3) -> list[int]:
    """The seed meets every deadline: move some collapse points' deadline to 25 July, before they were done."""
    ids = session.scalars(
        select(Site.id)
        .where(Site.kind == "road_collapse", Site.done_at > datetime(2021, 7, 30, tzinfo=UTC))
        .order_by(Site.id)
        .limit(n)
    ).all()
    session.execute(update(Site).where(Site.id.in_(ids)).values(deadline=datetime(2021, 7, 25, tzinfo=UTC)))
    session.commit()
    return list(ids)


@pytest.mark.slow
def test_every_table_cell_lists_as_many_sites(seeded_client, seeded_session):
    _make_overdue(seeded_session)
    page = seeded_client.get(f"/reports/daily/{DAY}", headers=auth("reporter")).get_data(as_text=True)
    table = seeded_client.get(f"/api/v1/reports/daily/{DAY}", headers=auth("reporter")).json["kind_table"]
    cells = _cells(page)
    assert len(cells) == 4 * len(table)  # total, done, in progress, overdue: every one is a link
    assert {c for c, _url, _v in cells} == {"total", "done", "in_progress", "overdue"}
    assert any(v > 0 for c, _u, v in cells if c == "overdue") and any(
        v > 0 for c, _u, v in cells if c == "done"
    )
    for column, url, value in cells:
        assert _rows_listed(seeded_client, url) == value, (column, url)
    # the total row of collapse points: 236 in all, 167 handled, as in the article
    roads = next(r for r in table if r["kind"] == "road_collapse" and r["subdistrict"] is None)
    assert (roads["total"], roads["done"], roads["overdue"]) == (236, 167, 3)


def test_cell_lists_download_and_agree(seeded_client):
    url = f"/reports/daily/{DAY}/table/road_collapse/done"
    csv = seeded_client.get(f"{url}?format=csv", headers=auth("reporter")).get_data(as_text=True)
    assert len(csv.lstrip("\ufeff").strip().splitlines()) == 1 + 167
    xlsx = seeded_client.get(f"{url}?format=xlsx", headers=auth("reporter"))
    assert xlsx.status_code == 200 and xlsx.data[:2] == b"PK"
    by_sub = seeded_client.get(f"{url}?subdistrict=shifo&format=csv", headers=auth("reporter"))
    assert by_sub.status_code == 200


def test_unknown_cells_are_not_found(seeded_client):
    for path in ("table/road_collapse/everything", "table/volcano/done", "table/disinfection_point/done"):
        response = seeded_client.get(f"/reports/daily/{DAY}/{path}", headers=auth("reporter"))
        assert response.status_code == 404, path
    assert seeded_client.get(f"/reports/daily/{DAY}/table/road_collapse/done").status_code in (302, 401)
