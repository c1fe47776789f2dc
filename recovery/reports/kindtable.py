"""The report's table by sub-district and kind: total, done, in progress, overdue and completion rate."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy.orm import Session

from recovery.errors import NotFoundError
from recovery.geodata import SUBDISTRICT_ORDER
from recovery.i18n import N_
from recovery.kinds import KINDS
from recovery.ledger import asof
from recovery.metrics.cube import Cube
from recovery.metrics.records import overdue_counts, overdue_records, records_for_selector
from recovery.metrics.registry import Selector

#: kinds with a life cycle that ends (disinfection points recur daily and have no "done")
TABLE_KINDS = (
    "road_collapse",
    "silt_site",
    "municipal_facility",
    "river_hazard",
    "enterprise",
    "residential_community",
)
#: the cells of a row that count sites, each linked to the sites it counted: column → label
CELL_COLUMNS = {
    "total": N_("Total"),
    "done": N_("Done"),
    "in_progress": N_("In progress"),
    "overdue": N_("Overdue"),
}
CELL_DEFINITIONS = {
    "total": N_("Sites of this kind at the report's moment (enterprises: those that stopped)."),
    "done": N_("Sites in their last status (done) at the report's moment."),
    "in_progress": N_(
        "Sites past their first status and not yet done at the report's moment (a residential community: "
        "one utility restored while another is still cut)."
    ),
    "overdue": N_("Sites whose deadline had passed at the report's moment and that were not done by then."),
}
#: an enterprise that never stopped is not part of the recovery
_NOT_AFFECTED = {"enterprise": ("operating",)}


def kind_table(session: Session, cube: Cube, as_of: datetime) -> list[dict]:
    """One row per (sub-district, kind) and a total row per kind (`subdistrict` None; "" is the row of sites
    outside every sub-district). Counts come from the same cube as the figures; overdue = not done at `as_of`
    although its deadline has passed, as known at the cube's record-time cutoff."""
    counts: dict[tuple[str, str], dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for (kind, sub, _segment, track, status, quantity), value in cube.cells.items():
        if kind not in TABLE_KINDS or quantity != "n" or track or not status:
            continue
        if status in _NOT_AFFECTED.get(kind, ()):
            continue
        spec = KINDS[kind]
        cell = counts[(sub, kind)]
        cell["total"] += value
        if status == spec.done_status:
            cell["done"] += value
        elif status != spec.initial_status:
            cell["in_progress"] += value
    # a kind kept per track (a community's water, power, gas) is in progress once one of them is restored
    # while another is still cut: its overall status stays the first until all are, so the cube cannot tell
    for kind in TABLE_KINDS:
        if KINDS[kind].tracks:
            for record in _partly_done(session, kind, as_of, cube.known_at):
                counts[(record["subdistrict"] or "", kind)]["in_progress"] += 1
    overdue = overdue_counts(session, as_of, cube.known_at, TABLE_KINDS)
    rows = []
    for kind in TABLE_KINDS:
        subs = [s for s in SUBDISTRICT_ORDER] + sorted(
            {s for s, k in counts if k == kind} - set(SUBDISTRICT_ORDER)
        )
        total_row = {"subdistrict": None, "kind": kind, "total": 0, "done": 0, "in_progress": 0, "overdue": 0}
        for sub in subs:
            cell = counts.get((sub, kind), {})
            row = {
                "subdistrict": sub,
                "kind": kind,
                "total": round(cell.get("total", 0)),
                "done": round(cell.get("done", 0)),
                "in_progress": round(cell.get("in_progress", 0)),
                "overdue": overdue.get((sub, kind), 0),
            }
            if not row["total"] and not row["overdue"]:
                continue
            for k in ("total", "done", "in_progress", "overdue"):
                total_row[k] += row[k]
            rows.append(_rate(row))
        rows.append(_rate(total_row))
    return rows


def _rate(row: dict) -> dict:
    row["completion_rate"] = round(100 * row["done"] / row["total"], 2) if row["total"] else None
    return row


def cell_records(
    session: Session,
    kind: str,
    column: str,
    as_of: datetime,
    known_at: datetime | None = None,
    subdistrict: str | None = None,
) -> list[dict]:
    """The sites one cell of the table counted (`subdistrict` None: the kind's total row), at the same moment
    and record-time cutoff: as many rows as the cell shows."""
    if kind not in TABLE_KINDS or column not in CELL_COLUMNS:
        raise NotFoundError("No such cell in the table: %(cell)s.", cell=f"{kind[:30]}/{column[:20]}")
    if column == "overdue":
        return overdue_records(session, as_of, known_at, (kind,), subdistrict=subdistrict)
    spec = KINDS[kind]
    excluded = _NOT_AFFECTED.get(kind, ())
    if column == "done":
        selector = Selector(kind=kind, status=(spec.done_status,))
    elif column == "in_progress" and spec.tracks:
        return _partly_done(session, kind, as_of, known_at, subdistrict)
    elif column == "in_progress":
        selector = Selector(kind=kind, exclude_status=(spec.done_status, spec.initial_status, *excluded))
    else:
        selector = Selector(kind=kind, exclude_status=excluded)
    return records_for_selector(session, selector, as_of, known_at, subdistrict=subdistrict)


def _partly_done(
    session: Session, kind: str, as_of: datetime, known_at: datetime | None, subdistrict: str | None = None
) -> list[dict]:
    """The sites of a kind kept per track that are not done but have a track in its last status (a community
    with its power restored and its water still cut)."""
    spec = KINDS[kind]
    pending = records_for_selector(
        session,
        Selector(kind=kind, exclude_status=(spec.done_status,)),
        as_of,
        known_at,
        subdistrict=subdistrict,
    )
    tracks = asof.track_statuses(session, [r["id"] for r in pending], as_of, known_at)
    last = spec.track_statuses[-1].key
    return [r for r in pending if any(t and v == last for t, v in tracks.get(r["id"], {}).items())]
