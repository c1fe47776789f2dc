"""The flow measures' cells (migration 0007): each `event_measure` row carries the number of its site's (kind,
sub-district, segment) in `measure_cell`, kept by triggers. This module sums the flows by cell, rewrites the
numbers and checks them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import text
from sqlalchemy.orm import Session

from recovery.db.types import bind_instants

#: the cell number each measure should carry, by its site's dims as they stand
_EXPECTED = """SELECT m.event_id, m.key, c.id AS cell FROM event_measure m JOIN site s ON s.id = m.site_id
LEFT JOIN measure_cell c ON c.kind = s.kind AND c.subdistrict = coalesce(s.subdistrict, '') AND c.segment = s.segment"""


def flows(session: Session, T: datetime, R: datetime | None = None) -> list[tuple[str, str, str, str, float]]:
    """(kind, sub-district, segment, key, sum) of the flow measures with valid_at < T (recorded by R): grouped
    by cell number from `ix_event_measure_cell` alone, in its order, then named (a few dozen groups)."""
    cutoff = " AND recorded_at <= :known_at" if R is not None else ""
    stmt = text(
        "SELECT c.kind, c.subdistrict, c.segment, g.key, g.total FROM ("
        "SELECT cell, key, sum(value) AS total FROM event_measure "
        f"WHERE valid_at < :as_of{cutoff} GROUP BY cell, key) AS g "
        "JOIN measure_cell c ON c.id = g.cell"
    )
    stmt = bind_instants(stmt, as_of=T, known_at=R)
    return [
        (kind, sub, segment, key, float(total)) for kind, sub, segment, key, total in session.execute(stmt)
    ]


def refill(session: Session) -> None:
    """Give every measure the cell number of its site as it stands (inside the caller's transaction)."""
    postgres = session.bind.dialect.name == "postgresql"
    verb, conflict = ("INSERT", "ON CONFLICT DO NOTHING") if postgres else ("INSERT OR IGNORE", "")
    session.execute(
        text(
            f"{verb} INTO measure_cell (kind, subdistrict, segment) SELECT DISTINCT kind, "
            f"coalesce(subdistrict, ''), segment FROM site WHERE id IN (SELECT site_id FROM event_measure) {conflict}"
        )
    )
    session.execute(
        text(
            "UPDATE event_measure SET cell = (SELECT c.id FROM site s JOIN measure_cell c ON c.kind = s.kind "
            "AND c.subdistrict = coalesce(s.subdistrict, '') AND c.segment = s.segment "
            "WHERE s.id = event_measure.site_id)"
        )
    )


def differences(session: Session, limit: int = 20) -> list[str]:
    """Measures whose stored cell number is not their site's."""
    rows = session.execute(
        text(
            f"SELECT e.event_id, e.key, m.cell, e.cell FROM ({_EXPECTED}) AS e "
            "JOIN event_measure m ON m.event_id = e.event_id AND m.key = e.key "
            f"WHERE m.cell IS NULL OR e.cell IS NULL OR m.cell <> e.cell ORDER BY e.event_id, e.key LIMIT {limit}"
        )
    ).all()
    return [
        f"measure {key} of event {event_id}: cell stored {stored!r}, its site's is {expected!r}"
        for event_id, key, stored, expected in rows
    ]
