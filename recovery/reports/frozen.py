"""A publication's files frozen at publication: .txt, .md, .xlsx and .geojson are rendered once, from the
figures and the sites as known at the cutoff, and stored in chunks; fetching a published version returns
those bytes, whatever happened since (late events, edits of sites, a new version of the code)."""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from recovery.reports.formats import geojson_chunks, geojson_feature, to_json, to_md, to_txt, xlsx_chunks
from recovery.reports.models import PublishedReport, PublishedReportFile
from recovery.reports.sites import ReportSite, iter_sites
from recovery.timeutil import parse_instant
from recovery.writers.geojson import Collection

#: stored chunk size, before compression
CHUNK = 1 << 20
#: formats rendered from the figures alone, and those that list every site
TEXT_FORMATS = {"txt": to_txt, "md": to_md}
SITE_FORMATS = ("xlsx", "geojson")


class _Chunker:
    """Collects one format's bytes and stores them as rows of about CHUNK bytes."""

    def __init__(self, session: Session, report_id: int, fmt: str, compress: bool) -> None:
        self.session, self.report_id, self.fmt, self.compress = session, report_id, fmt, compress
        self.parts: list[bytes] = []
        self.size = 0
        self.seq = 0

    def write(self, data: bytes) -> None:
        self.parts.append(data)
        self.size += len(data)
        if self.size >= CHUNK:
            self.flush()

    def flush(self) -> None:
        if not self.parts and self.seq:
            return
        data = b"".join(self.parts)
        # a Core insert: no ORM object stays in the session, so memory stays at one chunk
        self.session.execute(
            insert(PublishedReportFile).values(
                report_id=self.report_id,
                format=self.fmt,
                seq=self.seq,
                content=zlib.compress(data, 6) if self.compress else data,
            )
        )
        self.parts, self.size, self.seq = [], 0, self.seq + 1


def freeze(
    session: Session, report: PublishedReport, payload: dict, progress: Callable[[int], None] | None = None
) -> None:
    """Render and store every file of the publication: one pass over the sites as of the report's moment and
    as known at the cutoff feeds both the Excel ledger and the GeoJSON. Call inside the publishing transaction."""
    for fmt, render in TEXT_FORMATS.items():
        chunker = _Chunker(session, report.id, fmt, compress=True)
        chunker.write(render(payload).encode())
        chunker.flush()
    geojson = _Chunker(session, report.id, "geojson", compress=True)
    features = Collection(lambda text: geojson.write(text.encode()))
    xlsx = _Chunker(session, report.id, "xlsx", compress=False)
    sites = iter_sites(session, parse_instant(payload["as_of"]), report.cutoff)

    def tee() -> Iterator[ReportSite]:
        for site in sites:
            features.add(geojson_feature(site))
            yield site

    for chunk in xlsx_chunks(payload, tee(), progress):
        xlsx.write(chunk)
    xlsx.flush()
    features.close()
    geojson.flush()


def frozen_chunks(session: Session, report: PublishedReport, fmt: str) -> Iterator[bytes] | None:
    """The stored bytes of one format of a publication, chunk by chunk; None if it has none (a report published
    before its files were stored, migration 0006)."""
    if fmt == "json":
        return iter((report.content.encode(),))
    first = session.scalar(
        select(PublishedReportFile.seq).where(
            PublishedReportFile.report_id == report.id, PublishedReportFile.format == fmt
        )
    )
    if first is None:
        return None
    return _chunks(session, report.id, fmt)


def _chunks(session: Session, report_id: int, fmt: str) -> Iterator[bytes]:
    seqs = session.scalars(
        select(PublishedReportFile.seq)
        .where(PublishedReportFile.report_id == report_id, PublishedReportFile.format == fmt)
        .order_by(PublishedReportFile.seq)
    ).all()
    for seq in seqs:  # one row at a time: memory stays at one chunk
        data = session.scalar(
            select(PublishedReportFile.content).where(
                PublishedReportFile.report_id == report_id,
                PublishedReportFile.format == fmt,
                PublishedReportFile.seq == seq,
            )
        )
        yield data if fmt == "xlsx" else zlib.decompress(data)


def rendered_chunks(session: Session, payload: dict, fmt: str) -> Iterator[bytes]:
    """A report's file rendered now from its payload (drafts, and publications without stored files)."""
    if fmt in TEXT_FORMATS:
        return iter((TEXT_FORMATS[fmt](payload).encode(),))
    if fmt == "json":
        return iter((to_json(payload).encode(),))
    as_of = parse_instant(payload["as_of"])
    known_at = parse_instant(payload["known_at"]) if payload.get("known_at") else None
    if fmt == "geojson":
        return (chunk.encode() for chunk in geojson_chunks(iter_sites(session, as_of, known_at)))
    return xlsx_chunks(payload, iter_sites(session, as_of, known_at, geometry=False))
