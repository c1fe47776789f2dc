"""Turning a report payload into an HTTP response in any format; shared by the report pages and the JSON API."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from datetime import date, datetime

from flask import Response, stream_with_context
from sqlalchemy.orm import Session

from recovery.reports.formats import FORMATS, file_name, geojson_chunks, to_json, to_md, to_txt, write_xlsx
from recovery.reports.sites import iter_sites
from recovery.timeutil import parse_instant


def _moment(payload: dict, field: str) -> datetime | None:
    value = payload.get(field)
    return parse_instant(value) if value else None


def report_response(session: Session, payload: dict, fmt: str, *, attachment: bool = False) -> Response:
    """`payload` rendered as `fmt`. The site files (.xlsx, .geojson) list the sites as of the payload's moment and
    record-time cutoff, so their rows agree with its figures."""
    suffix, mimetype = FORMATS[fmt]
    as_of, known_at = _moment(payload, "as_of"), _moment(payload, "known_at")
    if fmt == "txt":
        response = Response(to_txt(payload), mimetype=mimetype)
    elif fmt == "md":
        response = Response(to_md(payload), mimetype=mimetype)
    elif fmt == "json":
        response = Response(to_json(payload), mimetype=mimetype)
    elif fmt == "geojson":
        response = Response(
            stream_with_context(geojson_chunks(iter_sites(session, as_of, known_at))), mimetype=mimetype
        )
    else:
        response = Response(_xlsx_stream(session, payload, as_of, known_at), mimetype=mimetype)
    if attachment or fmt in ("xlsx", "geojson"):
        response.headers["Content-Disposition"] = f'attachment; filename="{file_name(payload, fmt)}"'
    return response


def _xlsx_stream(session: Session, payload: dict, as_of, known_at) -> Iterator[bytes]:
    """The workbook is written to a temporary file (write-only openpyxl, flat memory), then sent in chunks."""
    handle, path = tempfile.mkstemp(prefix="recovery-report-", suffix=".xlsx")
    os.close(handle)
    try:
        write_xlsx(payload, iter_sites(session, as_of, known_at), path)
    except BaseException:
        os.unlink(path)
        raise

    def chunks() -> Iterator[bytes]:
        try:
            with open(path, "rb") as source:
                while block := source.read(256 * 1024):
                    yield block
        finally:
            os.unlink(path)

    return chunks()


def published_payload_day(payload: dict) -> date:
    return date.fromisoformat(payload["date"])
