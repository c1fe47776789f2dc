"""What a record list shows beside the rows a figure counted: when each site came to count (the valid time of
its latest status event at the moment) and which site a row belongs to, so a reader can open it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from recovery.ledger.asof import latest_status_events
from recovery.models import Site
from recovery.timeutil import zone_iso

#: ids per IN list: well under SQLite's and PostgreSQL's parameter limits
_CHUNK = 500


def with_happened(
    session: Session,
    rows: list[dict],
    as_of: datetime,
    known_at: datetime | None,
    track: str | None = None,
) -> list[dict]:
    """`rows` with `site_id` on every row about a site (a site, or an event at one) and `valid_at` on each
    site row that lacks one: when the status event that made it count happened (for a community, the latest of
    its utilities' events, or of `track`'s)."""
    by_key = _site_ids(session, {r["key"] for r in rows if r.get("type") == "event" and r.get("key")})
    site_rows = [r for r in rows if r.get("type") == "site" and not r.get("valid_at")]
    happened = _happened(session, [r["id"] for r in site_rows], as_of, known_at, track)
    out = []
    for row in rows:
        row = dict(row)
        if row.get("type") == "site":
            row["site_id"] = row["id"]
            if not row.get("valid_at"):
                row["valid_at"] = zone_iso(happened.get(row["id"]))
        elif row.get("type") == "event":
            row["site_id"] = by_key.get(row.get("key"))
        out.append(row)
    return out


def _site_ids(session: Session, keys: set[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    ordered = sorted(keys)
    for start in range(0, len(ordered), _CHUNK):
        chunk = ordered[start : start + _CHUNK]
        found.update(tuple(r) for r in session.execute(select(Site.key, Site.id).where(Site.key.in_(chunk))))
    return found


def _happened(session, site_ids, as_of, known_at, track) -> dict[int, datetime]:
    latest = latest_status_events(as_of, known_at)
    conditions = [latest.c.rn == 1]
    if track:
        conditions.append(latest.c.track == track)
    # a short list filters in the query; a long one reads the window once rather than once per chunk
    if len(site_ids) <= _CHUNK:
        conditions.append(latest.c.site_id.in_(site_ids))
    query = select(latest.c.site_id, func.max(latest.c.valid_at)).where(*conditions)
    wanted = set(site_ids)
    return {
        site_id: valid_at
        for site_id, valid_at in session.execute(query.group_by(latest.c.site_id))
        if site_id in wanted
    }
