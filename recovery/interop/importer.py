"""Importing a file: a plan that checks every row against the kind, the zone and the stored sites (the preview),
then its application through the ledger — new sites in one bulk load, status changes as transition events."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from recovery.errors import RecoveryError, ValidationError
from recovery.geodata import Geodata
from recovery.i18n import N_
from recovery.interop import crs as crs_mod
from recovery.interop import placing
from recovery.interop.archive import DEFAULT_LIMITS, Limits
from recovery.interop.mapping import ColumnMap, map_columns
from recovery.interop.readers import Source, read_source
from recovery.interop.store import store_new_sites, transitions
from recovery.interop.validate import Row, read_row, stable_keys
from recovery.kinds import SiteKind, get_kind
from recovery.ledger.record import clean_text, record_site_edit, record_site_event
from recovery.models import Site
from recovery.sites import SiteDraft, derive
from recovery.timeutil import now
from recovery.writers import csv as csv_file

OUTCOMES = {
    "new": N_("new"),
    "unchanged": N_("unchanged"),
    "updated": N_("updated"),
    "rejected": N_("rejected"),
}
PREVIEW_ROWS = 10


@dataclass
class ImportPlan:
    """Everything an import would do, computed without writing: shown as the preview, then applied."""

    source: Source
    mapping: ColumnMap
    rows: list[Row]
    file_name: str
    crs: str
    preview: list[dict[str, str]] = field(default_factory=list)

    @property
    def rejected(self) -> list[Row]:
        return [r for r in self.rows if not r.ok]

    @property
    def counts(self) -> dict[str, int]:
        counts = Counter("rejected" if not r.ok else r.outcome for r in self.rows)
        return {k: counts.get(k, 0) for k in OUTCOMES}


@dataclass
class ImportResult:
    counts: dict[str, int]
    events: int
    stored: bool


def plan_import(
    session: Session,
    geodata: Geodata,
    path: Path | None,
    *,
    kind: str | None = None,
    crs: str | None = None,
    layer: str | None = None,
    mapping: dict[str, str] | None = None,
    limits: Limits = DEFAULT_LIMITS,
    upload: bool = False,
    file_name: str | None = None,
    source: Source | None = None,
) -> ImportPlan:
    """Read and check every row; compare with the stored sites. Writes nothing.

    `source` is what an earlier `read_source` of the file gave (the admin's preview reads the upload once);
    otherwise `path` is read."""
    site_kind: SiteKind | None = get_kind(kind) if kind else None
    given_crs = crs_mod.parse_crs(crs)
    if source is None:
        source = read_source(path, layer=layer, limits=limits, upload=upload)
    frame = source.frame
    columns = [str(c) for c in frame.columns]
    column_map = map_columns(columns, site_kind, mapping)
    if site_kind is None and "kind" not in column_map.columns:
        raise ValidationError("The site kind is missing: name it with --kind or a kind column.")
    geoms, errors = placing.geometries(source, column_map)
    system = crs_mod.resolve(source.crs, given_crs)
    geoms, shift_errors = placing.to_wgs84(geoms, system)
    geoms, check_errors = placing.check_geometries(geoms)
    errors |= shift_errors | check_errors
    records = _records(frame, column_map)
    offset = 2 if source.format in ("CSV", "Excel") else 1  # the line or feature number a person sees
    rows = []
    for index, (record, geom) in enumerate(zip(records, geoms, strict=True)):
        row = read_row(index + offset, record, geom, column_map, site_kind)
        if index in errors:
            row.errors = [e for e in row.errors if "no geometry" not in e.message] + [errors[index]]
        rows.append(row)
    stable_keys(rows)
    _check_duplicates(rows)
    _check_zone(rows, geodata)
    _check_subdistricts(rows, geodata)
    _compare_stored(session, rows, column_map)
    plan = ImportPlan(
        source,
        column_map,
        rows,
        file_name or Path(path or "").name,
        system if isinstance(system, str) else (system.to_string()),
    )
    head = frame.head(PREVIEW_ROWS).drop(columns=["geometry"], errors="ignore").to_dict("records")
    plan.preview = [
        {c: _cell(r.get(c)) for c in columns if c != "geometry"}
        | ({"geometry": _cell(g)} if "geometry" in columns else {})
        for r, g in zip(head, geoms[:PREVIEW_ROWS], strict=False)
    ]
    return plan


def _records(frame, mapping: ColumnMap) -> list[dict[str, Any]]:
    """The rows as dicts of the mapped columns only (whole columns to lists: far cheaper than to_dict)."""
    used = list(
        dict.fromkeys([*mapping.columns.values(), *mapping.attributes.values(), *mapping.tracks.values()])
    )
    if not used:
        return [{} for _ in range(len(frame))]
    columns = [frame[c].tolist() for c in used]
    return [dict(zip(used, values, strict=True)) for values in zip(*columns, strict=True)]


def _cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if hasattr(value, "wkt"):
        text = value.wkt
        return text if len(text) <= 80 else text[:77] + "…"
    return str(value)


def _check_duplicates(rows: list[Row]) -> None:
    seen: dict[str, int] = {}
    for row in rows:
        if row.key is None:
            continue
        if row.key in seen:
            row.fail(
                ValidationError(
                    "The id %(key)s appears twice in the file (first on row %(row)s).",
                    key=row.key,
                    row=seen[row.key],
                )
            )
        else:
            seen[row.key] = row.number


def _check_zone(rows: list[Row], geodata: Geodata) -> None:
    placed = [r for r in rows if r.geom is not None]
    distances = placing.zone_distances([r.geom for r in placed], geodata)
    for row, distance in zip(placed, distances, strict=True):
        if distance > placing.NEAR_ZONE_M:
            row.fail(placing.outside_error(row.geom, distance))


def _check_subdistricts(rows: list[Row], geodata: Geodata) -> None:
    placed = [r for r in rows if r.geom is not None and r.ok]
    derived = geodata.subdistricts_of([r.geom for r in placed])
    for row, sub in zip(placed, derived, strict=True):
        if row.subdistrict_given and row.subdistrict_given != sub:
            row.warnings.append(
                ValidationError(
                    "The file says sub-district %(given)s, the map says %(derived)s; the map is used.",
                    given=row.subdistrict_given,
                    derived=sub or "-",
                )
            )


def _compare_stored(session: Session, rows: list[Row], mapping: ColumnMap) -> None:
    keyed = {r.key: r for r in rows if r.ok and r.key}
    keys = list(keyed)
    for start in range(0, len(keys), 5000):
        chunk = keys[start : start + 5000]
        for site in session.scalars(select(Site).where(Site.key.in_(chunk))):
            _compare(keyed[site.key], site, mapping)
    verdicts: dict[tuple, RecoveryError | None] = {}  # the check depends on the kind and statuses only
    for row in rows:
        if row.ok and row.site_id is None:
            state = (row.kind.key, row.status, tuple(sorted(row.tracks.items())))
            if state not in verdicts:
                verdicts[state] = _check_new(row)
            if verdicts[state] is not None:
                row.fail(verdicts[state])


def _check_new(row: Row) -> RecoveryError | None:
    kind = row.kind
    try:
        if kind.tracks:
            for track, status in row.tracks.items():
                kind.check_transition(None, status, track)
        elif row.status and row.status != kind.initial_status:
            kind.check_transition(kind.initial_status, row.status)
    except RecoveryError as exc:
        return exc
    return None


def _compare(row: Row, site: Site, mapping: ColumnMap) -> None:
    kind = row.kind
    row.site_id = site.id
    if site.kind != kind.key:
        row.fail(
            ValidationError(
                "The id %(key)s belongs to a site of another kind (%(other)s).", key=row.key, other=site.kind
            )
        )
        return
    changes = transitions(row, site.status, site.track_status or {}, site.capacity_pct)
    try:
        for track, status, _measures in changes:
            current = (site.track_status or {}).get(track) if track else site.status
            kind.check_transition(current, status, track)
    except RecoveryError as exc:
        row.fail(exc)
        return
    row.edits = descriptive_edits(row, site, mapping)
    row.outcome = "updated" if changes or row.edits else "unchanged"


def descriptive_edits(row: Row, site: Site, mapping: ColumnMap) -> dict[str, Any]:
    """What the row changes in the site's name, address, attributes and geometry.

    Only what the file gives is compared: the address when it has an address column, the attributes it has
    columns for (an empty cell removes the attribute); the derived attributes (inside the 4th ring, length)
    follow the geometry. A geometry within about a centimetre (1e-7°) of the stored one is the same."""
    edits: dict[str, Any] = {}
    if row.name != site.name:
        edits["name"] = row.name
    if "address" in mapping.columns and row.address != site.address:
        edits["address"] = row.address
    derived = {a.key for a in row.kind.attributes if a.derived}
    stored = {k: v for k, v in (site.attributes or {}).items() if k not in derived}
    given = set(mapping.attributes) - derived
    attributes = {k: v for k, v in stored.items() if k not in given} | {
        k: v for k, v in row.attributes.items() if k in given
    }
    if attributes != stored:
        edits["attributes"] = attributes
    if not row.geom.equals_exact(site.geom, 1e-7):
        edits["geometry"] = row.geom
    return edits


def apply_import(
    session: Session,
    geodata: Geodata,
    plan: ImportPlan,
    *,
    actor: str,
    skip_invalid: bool = False,
    valid_at: datetime | None = None,
    progress=None,
) -> ImportResult:
    """Store the plan: refuses if any row was rejected, unless `skip_invalid` (then only valid rows)."""
    rejected = plan.rejected
    if rejected and not skip_invalid:
        raise ValidationError("%(count)s rows were rejected; nothing was stored.", count=len(rejected))
    recorded = now()
    valid_at = valid_at or recorded
    if valid_at > recorded:
        raise ValidationError("The time it happened is in the future.")
    note = f"导入 import: {plan.file_name}"[:2000]
    actor = clean_text(actor, "actor", 200, required=True)
    new_rows = [r for r in plan.rows if r.ok and r.site_id is None]
    try:
        count = store_new_sites(
            session,
            geodata,
            new_rows,
            actor=actor,
            note=note,
            valid_at=valid_at,
            recorded_at=recorded,
            progress=progress,
        )
        for row in plan.rows:
            if row.ok and row.outcome == "updated":
                count += _update_site(session, geodata, row, actor=actor, note=note, valid_at=valid_at)
                if progress:
                    progress(1)
        session.commit()
    except Exception:
        session.rollback()
        raise
    return ImportResult(plan.counts, count, True)


def _update_site(
    session: Session, geodata: Geodata, row: Row, *, actor: str, note: str, valid_at: datetime
) -> int:
    """Bring a stored site to what the row says: status changes as transitions, then one `edit` event for
    the descriptive fields, with the sub-district and derived attributes found again from the geometry."""
    site = session.get(Site, row.site_id)
    count = 0
    for track, status, measures in transitions(row, site.status, site.track_status or {}, site.capacity_pct):
        record_site_event(
            session,
            row.site_id,
            action="transition",
            actor=actor,
            valid_at=valid_at,
            to_status=status,
            track=track,
            measures=measures,
            note=note,
        )
        count += 1
    if row.edits:
        draft = SiteDraft(
            kind=row.kind,
            name=row.edits.get("name", site.name),
            address=row.edits.get("address", site.address),
            geom=row.edits.get("geometry", site.geom),
            attributes=dict(row.edits.get("attributes", site.attributes or {})),
            priority=site.priority,
            deadline=site.deadline,
        )
        derive([draft], geodata)
        values = {
            "name": draft.name,
            "address": draft.address,
            "attributes": draft.attributes,
            "geometry": draft.geom,
            "subdistrict": draft.subdistrict,
            "segment": draft.segment,
        }
        edited = record_site_edit(session, site.id, values=values, actor=actor, valid_at=valid_at, note=note)
        count += edited is not None
    return count


def write_rejects(plan: ImportPlan, path: Path, render=str) -> int:
    """The rejected rows and why, as CSV (UTF-8 with BOM for Excel); `render` turns an error into text."""
    # the names are the uploader's text: the CSV writer keeps them from being a live formula in Excel
    return csv_file.write(
        path,
        ["行号 row", "编号 id", "名称 name", "原因 reasons"],
        (
            [row.number, row.key or "", row.name, "; ".join(render(e) for e in row.errors)]
            for row in plan.rejected
        ),
    )
