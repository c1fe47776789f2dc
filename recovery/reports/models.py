"""Published daily reports: the frozen figures of a day, their record-time cutoff and content hash."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, LargeBinary, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from recovery.db.types import UTCDateTime


class PublishedReport(SQLModel, table=True):
    """One publication of a day's report. `content` is the canonical JSON exactly as published (its bytes are
    what `sha256` hashes); rows are only ever inserted: publishing again makes a new version."""

    __tablename__ = "published_report"
    __table_args__ = (UniqueConstraint("day", "version", name="uq_published_report_day_version"),)

    id: int | None = Field(default=None, primary_key=True)
    day: str = Field(max_length=10, index=True)  # YYYY-MM-DD in the zone's time zone
    version: int = 1
    cutoff: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    published_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))
    published_by: str = Field(max_length=80)
    sha256: str = Field(max_length=64)
    content: str = Field(sa_column=Column(Text, nullable=False))


class PublishedReportFile(SQLModel, table=True):
    """The files of a publication exactly as published (.txt, .md, .xlsx, .geojson), in chunks of about 1 MB so
    that writing and serving them keeps memory flat. `.geojson` chunks are zlib-compressed; `.xlsx` is a zip
    already. The `.json` is `PublishedReport.content` itself."""

    __tablename__ = "published_report_file"

    report_id: int = Field(foreign_key="published_report.id", primary_key=True)
    format: str = Field(max_length=10, primary_key=True)
    seq: int = Field(primary_key=True)
    content: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
