"""The map's filters (a SiteQuery) and its server-side clusters: pure functions over a PointTable, no Flask.

Each site falls in exactly one grid cell per zoom (by the centre of its bounding box), so the counts of the
clusters in a box add up to the number of sites in that box, and over the whole zone to the totals.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np

from recovery.geodata import SUBDISTRICT_ORDER
from recovery.map.points import KIND_KEYS, STATUS_KEYS, PointTable
from recovery.query.sites import SiteQuery

#: size of a cluster cell on screen, in pixels of a 256-pixel tile
CELL_PX = 64
#: from this zoom on, or when a view holds at most FEATURE_LIMIT sites, the sites themselves are sent
FEATURE_ZOOM = 16
FEATURE_LIMIT = 400


def select_rows(
    table: PointTable, flt: SiteQuery, at: datetime, text_ids: np.ndarray | None = None
) -> np.ndarray:
    """Boolean mask of the rows the query's filters keep (`text_ids`: the ids matching the free text, from SQL;
    the box is the view's, applied by `in_box`). The same filters as `recovery.query.sql.conditions`."""
    mask = np.ones(len(table), dtype=bool)
    if flt.kinds:
        mask &= _lookup(len(KIND_KEYS) + 1, [KIND_KEYS.index(k) for k in flt.kinds])[table.kind]
    if flt.statuses:
        wanted = np.zeros(len(table), dtype=bool)
        named = [STATUS_KEYS.index(s) for s in flt.statuses if s in STATUS_KEYS]
        if named:
            wanted |= _lookup(len(STATUS_KEYS) + 1, named)[table.status]
        if "done" in flt.statuses:
            wanted |= table.done
        if "open" in flt.statuses:
            wanted |= ~table.done
        mask &= wanted
    if flt.subdistrict:
        mask &= table.subdistrict == SUBDISTRICT_ORDER.index(flt.subdistrict)
    if flt.overdue:
        mask &= table.overdue(at)
    if flt.team is not None:
        mask &= table.team == flt.team
    if flt.text:
        keep = np.zeros(len(table), dtype=bool)
        keep[table.positions(text_ids if text_ids is not None else np.array([], dtype=np.int64))] = True
        mask &= keep
    return mask


def _lookup(size: int, wanted: list[int]) -> np.ndarray:
    """A table from small integer codes to True for the wanted ones (faster than np.isin on a million rows).

    Give it one slot more than there are codes: an unknown code (-1) then reads that last slot, False."""
    table = np.zeros(size, dtype=bool)
    table[wanted] = True
    return table


def in_box(table: PointTable, bbox: tuple[float, float, float, float] | None) -> np.ndarray:
    if bbox is None:
        return np.ones(len(table), dtype=bool)
    minx, miny, maxx, maxy = bbox
    return (table.x >= minx) & (table.x <= maxx) & (table.y >= miny) & (table.y <= maxy)


def cell_degrees(zoom: int) -> float:
    return CELL_PX * 360.0 / (256 * 2**zoom)


def clusters(table: PointTable, rows: np.ndarray, zoom: int, at: datetime | None = None) -> list[dict]:
    """Group the selected rows by (kind, grid cell) at `zoom`: count, sites done, mean position, and with `at`
    the sites overdue at that moment (so that overdue shows at every zoom).

    A cluster of one carries its site's id and status, so it can be drawn and opened as the site itself.
    The cells are the table's, numbered once per zoom (`PointTable.cells`): a request only counts per cell.
    """
    idx = np.flatnonzero(rows)
    if idx.size == 0:
        return []
    codes, keys = table.cells(zoom, cell_degrees(zoom))
    late = table.overdue(at) if at is not None else np.zeros(len(table), dtype=bool)
    if idx.size == len(table):  # every row: no copies
        cell, x, y, done = codes, table.x, table.y, table.done
    else:
        cell, x, y, done, late = codes[idx], table.x[idx], table.y[idx], table.done[idx], late[idx]
    n = len(keys)
    counts = np.bincount(cell, minlength=n)
    present = np.flatnonzero(counts)
    counts = counts[present]
    sum_x = np.bincount(cell, weights=x, minlength=n)[present]
    sum_y = np.bincount(cell, weights=y, minlength=n)[present]
    done = np.bincount(cell, weights=done, minlength=n)[present]
    late = np.bincount(cell, weights=late, minlength=n)[present]
    kinds = (keys[present] >> 44).tolist()
    single = np.full(n, -1, dtype=np.int64)
    single[cell] = idx  # for a cell of one, its row
    single = single[present]
    lon = np.round(sum_x / counts, 6).tolist()
    lat = np.round(sum_y / counts, 6).tolist()
    counts_list, done_list = counts.tolist(), done.astype(np.int64).tolist()
    late_list = late.astype(np.int64).tolist()
    out = []
    for i in range(len(present)):
        item = {
            "kind": KIND_KEYS[kinds[i]],
            "lon": lon[i],
            "lat": lat[i],
            "count": counts_list[i],
            "done": done_list[i],
            "overdue": late_list[i],
        }
        if counts_list[i] == 1:
            row = single[i]
            item["id"] = int(table.ids[row])
            item["status"] = STATUS_KEYS[int(table.status[row])]
        out.append(item)
    return out


def summary(table: PointTable, rows: np.ndarray, at: datetime) -> dict:
    """Totals of the selected rows by kind: sites, done, overdue. These are the figures beside the map."""
    kinds = len(KIND_KEYS)
    # one count per (kind, done, overdue): kind × 4 + done × 2 + overdue
    code = table.kind_done_code() + table.overdue(at)
    code = code if rows.all() else code[rows]
    counts = np.bincount(code, minlength=kinds * 4).reshape(kinds, 4)
    total, of_done, of_late = counts.sum(axis=1), counts[:, 2:].sum(axis=1), counts[:, 1::2].sum(axis=1)
    by_kind = {
        key: {"total": int(total[i]), "done": int(of_done[i]), "overdue": int(of_late[i])}
        for i, key in enumerate(KIND_KEYS)
    }
    return {
        "total": int(code.size),
        "done": int(of_done.sum()),
        "overdue": int(of_late.sum()),
        "by_kind": by_kind,
    }


def status_of(table: PointTable, rows: np.ndarray) -> dict[int, str]:
    """Site id → status key for the selected rows (to colour individual features)."""
    idx = np.flatnonzero(rows)
    return {int(table.ids[i]): STATUS_KEYS[int(table.status[i])] for i in idx}


def overdue_ids(table: PointTable, rows: np.ndarray, at: datetime) -> set[int]:
    """The ids of the selected rows overdue at `at` (to mark individual features)."""
    return {int(i) for i in table.ids[rows & table.overdue(at)]}
