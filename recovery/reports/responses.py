"""Turning a report into an HTTP response in any format; shared by the report pages and the JSON API."""

from __future__ import annotations

from collections.abc import Iterator

from flask import Response, stream_with_context
from sqlalchemy.orm import Session

from recovery.reports.formats import FORMATS, file_name
from recovery.reports.frozen import frozen_chunks, rendered_chunks
from recovery.reports.models import PublishedReport
from recovery.reports.publish import payload_of


def report_response(session: Session, payload: dict, fmt: str, *, attachment: bool = False) -> Response:
    """`payload` rendered as `fmt`. The site files (.xlsx, .geojson) list the sites as of the payload's moment and
    record-time cutoff, so their rows agree with its figures; they are streamed as they are written."""
    return _response(rendered_chunks(session, payload, fmt), payload, fmt, attachment)


def published_response(session: Session, report: PublishedReport, fmt: str) -> Response:
    """A publication in `fmt` exactly as published: the bytes stored at publication, streamed chunk by chunk.
    A report published before files were stored (migration 0006) is rendered from its frozen payload."""
    payload = payload_of(report)
    chunks = frozen_chunks(session, report, fmt)
    if chunks is None:
        chunks = rendered_chunks(session, payload, fmt)
    response = _response(chunks, payload, fmt, attachment=False)
    response.headers["X-Content-SHA256"] = report.sha256  # the hash of the published figures (the .json)
    response.headers["ETag"] = f'"{report.sha256}"' if fmt == "json" else f'"{report.sha256}-{fmt}"'
    return response


def _response(chunks: Iterator[bytes], payload: dict, fmt: str, attachment: bool) -> Response:
    """The site files are streamed as they are produced; the others are small and sent whole."""
    streamed = fmt in ("xlsx", "geojson")
    body = stream_with_context(chunks) if streamed else b"".join(chunks)
    response = Response(body, mimetype=FORMATS[fmt][1])
    if attachment or streamed:
        response.headers["Content-Disposition"] = f'attachment; filename="{file_name(payload, fmt)}"'
    return response
