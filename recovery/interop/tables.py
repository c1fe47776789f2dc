"""Reading a CSV file or an Excel workbook into a table of text, within the limits, checked while reading.

A CSV file's encoding (UTF-8 or GBK) is found by decoding it in chunks, its header is read with a bounded line
length and counted before pandas sees it, and its rows are read in chunks, each counted against the limits. A
workbook is a zip: its members are checked (count, ratio, total size), then each sheet's rows and cells are
counted from the decompressed XML stream, before calamine loads the first sheet.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import zipfile
from pathlib import Path

import pandas as pd

from recovery.errors import ValidationError
from recovery.interop.archive import Budget, check_members

CHUNK_BYTES = 1 << 20
#: rows per chunk of the CSV parser (fewer for wide files, so that a chunk stays a few million cells)
CHUNK_ROWS = 50_000
_ROW = re.compile(rb"<(?:[A-Za-z_][\w.\-]{0,20}:)?row[\s/>]")
_CELL = re.compile(rb"<(?:[A-Za-z_][\w.\-]{0,20}:)?c[\s/>]")
_CARRY = 32  # longer than any tag the patterns match


def text_encoding(path: Path, budget: Budget) -> str:
    """UTF-8 (with or without BOM) when the whole file decodes as UTF-8; otherwise GB18030 (a superset of GBK)."""
    for encoding in ("utf-8", "gb18030"):
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            with path.open("rb") as handle:
                while chunk := handle.read(CHUNK_BYTES):
                    decoder.decode(chunk)
                    budget.check_time()
                decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            continue
        return "utf-8-sig" if encoding == "utf-8" else "gb18030"
    raise ValidationError("The text is neither UTF-8 nor GBK.")


def read_csv(path: Path, budget: Budget, *, tab: bool = False) -> tuple[pd.DataFrame, str]:
    """The rows as text, and the encoding's name (UTF-8 or GBK)."""
    limits = budget.limits
    encoding = text_encoding(path, budget)
    with path.open(encoding=encoding, newline="") as handle:
        header = handle.readline(limits.max_line_bytes + 1)
    if len(header) > limits.max_line_bytes:
        raise ValidationError(
            "A line of the file is longer than %(limit)s characters: refused.", limit=limits.max_line_bytes
        )
    separator = "\t" if tab or header.count("\t") > header.count(",") else ","
    width = len(next(csv.reader(io.StringIO(header), delimiter=separator), []))
    budget.check_table(0, width)
    chunk_rows = max(1, min(CHUNK_ROWS, limits.max_cells // max(width, 1) // 4))
    frames = []
    rows = 0
    try:
        reader = pd.read_csv(
            path,
            sep=separator,
            encoding=encoding,
            dtype=str,
            keep_default_na=False,
            quoting=csv.QUOTE_MINIMAL,
            skipinitialspace=False,
            index_col=False,  # a row with one field more than the header is an error, not an index
            chunksize=chunk_rows,
        )
        with reader:
            for chunk in reader:
                rows += len(chunk)
                budget.check_table(rows, len(chunk.columns))
                frames.append(chunk)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError, csv.Error) as exc:
        raise ValidationError("The CSV file could not be read: %(reason)s.", reason=str(exc)[:200]) from None
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    return frame, "GBK" if encoding == "gb18030" else "UTF-8"


def read_excel(path: Path, budget: Budget) -> pd.DataFrame:
    """The first sheet, its cells as Python values (text, numbers, dates), empty cells as ""."""
    check_workbook(path, budget)
    limits = budget.limits
    try:
        # calamine (Rust) reads a 100,000-row sheet ten times faster than openpyxl
        frame = pd.read_excel(path, engine="calamine", dtype=object, sheet_name=0, nrows=limits.max_rows + 1)
    except Exception as exc:  # calamine and pandas raise many types for a damaged workbook
        raise ValidationError(
            "The Excel file could not be read: %(reason)s.", reason=str(exc)[:200]
        ) from None
    budget.check_table(len(frame), len(frame.columns))
    return frame.astype(object).where(frame.notna(), "")


def check_workbook(path: Path, budget: Budget) -> None:
    """The workbook's members checked as an archive's, then every sheet's rows and cells counted from its
    XML as it is decompressed: a small file of millions of rows is refused before calamine loads it."""
    try:
        handle = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError):
        raise ValidationError("The Excel file could not be read: %(reason)s.", reason="not a zip") from None
    with handle:
        members = check_members(handle, budget.limits)
        for member in members:
            if member.filename.startswith("xl/worksheets/") and member.filename.endswith(".xml"):
                _count_sheet(handle, member, budget)


def _count_sheet(handle: zipfile.ZipFile, member: zipfile.ZipInfo, budget: Budget) -> None:
    limits = budget.limits
    rows = cells = 0
    carry = b""
    read = 0
    with handle.open(member) as stream:
        while chunk := stream.read(CHUNK_BYTES):
            read += len(chunk)
            if read > limits.max_uncompressed_bytes:  # the declared size may lie
                raise ValidationError(
                    "The archive expands to more than %(limit)s bytes: refused as a zip bomb.",
                    limit=limits.max_uncompressed_bytes,
                )
            buffer = carry + chunk
            cut = max(len(buffer) - _CARRY, 0)  # a tag starting past `cut` is counted with the next chunk
            rows += sum(1 for m in _ROW.finditer(buffer) if m.start() < cut)
            cells += sum(1 for m in _CELL.finditer(buffer) if m.start() < cut)
            carry = buffer[cut:]
            # the header row is a row too: one more than the data rows is allowed
            budget.check_table(max(rows - 1, 0), 0, cells)
    rows += len(_ROW.findall(carry))
    cells += len(_CELL.findall(carry))
    budget.check_table(max(rows - 1, 0), 0, cells)
