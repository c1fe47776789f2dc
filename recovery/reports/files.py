"""A daily report's file outside a request (the command line): a draft as of now, or a publication exactly as
published, as a stream of bytes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

from sqlalchemy.orm import Session

from recovery.reports.build import build_report
from recovery.reports.formats import check_format, xlsx_chunks
from recovery.reports.frozen import SITE_FORMATS, frozen_chunks, rendered_chunks
from recovery.reports.publish import payload_of, select_version
from recovery.reports.sites import iter_sites
from recovery.timeutil import parse_as_of, parse_day, parse_instant

__all__ = ["SITE_FORMATS", "check_format", "report_file", "write_file"]


def report_file(
    session: Session,
    day: str,
    fmt: str,
    *,
    known_at: str | None = None,
    version: str | None = None,
    locale: str = "zh",
    progress: Callable[[int], None] | None = None,
) -> Iterator[bytes]:
    """The report of `day` in `fmt`: with `version` (N or latest) the publication's stored bytes, otherwise
    rendered now (as known at `known_at`, if given). `progress` is told of each thousand sites written."""
    parsed = parse_day(day)
    if version:
        report = select_version(session, parsed, version)
        chunks = frozen_chunks(session, report, fmt)
        return chunks if chunks is not None else rendered_chunks(session, payload_of(report), fmt)
    payload = build_report(
        session, parsed, known_at=parse_as_of(known_at) if known_at else None, locale=locale
    )
    if fmt == "xlsx" and progress is not None:
        as_of = parse_instant(payload["as_of"])
        cutoff = parse_instant(payload["known_at"]) if payload.get("known_at") else None
        return xlsx_chunks(payload, iter_sites(session, as_of, cutoff, geometry=False), progress)
    return rendered_chunks(session, payload, fmt)


def write_file(chunks: Iterator[bytes], out: Path) -> int:
    """Write the chunks to `out`; returns the size in bytes."""
    size = 0
    with out.open("wb") as handle:
        for chunk in chunks:
            handle.write(chunk)
            size += len(chunk)
    return size
