"""The CSV writer: UTF-8 with a byte-order mark (Excel then opens Chinese right), streamed in batches of rows.

Every cell goes through the one formula rule (`recovery.spreadsheet.csv_cell`): None is empty, formula-like text
is quoted, numbers stay numbers. An instant is written as an ISO 8601 instant in the zone (`zone_iso`), a day as
YYYY-MM-DD, so a CSV and the API agree on how time is written.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

from recovery.spreadsheet import csv_cell
from recovery.timeutil import zone_iso

MEDIA_TYPE = "text/csv; charset=utf-8"
BOM = "\ufeff"
#: rows per chunk of a stream: large enough that a chunk is worth a write, small enough to keep memory flat
BATCH = 2000


def cell(value: Any) -> Any:
    """A value as the csv module should get it."""
    if isinstance(value, datetime):
        return zone_iso(value)
    if isinstance(value, date):
        return value.isoformat()
    return csv_cell(value)


def chunks(header: Sequence[Any], rows: Iterable[Sequence[Any]], batch: int = BATCH) -> Iterator[str]:
    """The file as text: the BOM and the header row first, then `batch` rows at a time."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([cell(v) for v in header])
    yield BOM + buffer.getvalue()
    pending = 0
    buffer.seek(0)
    buffer.truncate()
    for row in rows:
        writer.writerow([cell(v) for v in row])
        pending += 1
        if pending == batch:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
            pending = 0
    if pending:
        yield buffer.getvalue()


def text(header: Sequence[Any], rows: Iterable[Sequence[Any]]) -> str:
    """The whole file as one string (small files: a record list)."""
    return "".join(chunks(header, rows))


def write(path: Path | str, header: Sequence[Any], rows: Iterable[Sequence[Any]]) -> int:
    """The file written to `path`; returns the rows written, the header not counted."""
    count = 0

    def counted() -> Iterator[Sequence[Any]]:
        nonlocal count
        for row in rows:
            count += 1
            yield row

    with Path(path).open("w", encoding="utf-8", newline="") as handle:
        for chunk in chunks(header, counted()):
            handle.write(chunk)
    return count
