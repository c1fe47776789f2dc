"""JSON API, version 1: the figures, the records behind them, and the daily bulletin."""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from recovery.db import get_session
from recovery.errors import NotFoundError, ValidationError
from recovery.i18n import current_locale, language
from recovery.metrics import METRICS_BY_KEY, cube_at, evaluate_all
from recovery.metrics.compute import figures_payload
from recovery.metrics.records import records_for
from recovery.timeutil import parse_day, zone_iso
from recovery.web.apidoc import operation
from recovery.web.declared import DAY, FIGURE_KEY, REPORT_CONTENT, REPORT_FORMAT, REPORT_VERSION, SIDE
from recovery.web.params import KNOWN_AT, MOMENT, SUBDISTRICT, as_of_param, known_at_param, subdistrict_param
from recovery.web.policy import SIGNED_IN, allow

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def _locale() -> str:
    return language(current_locale())


@bp.get("/metrics")
@operation(
    "Every figure at a moment",
    tag="figures",
    query=(*MOMENT, SUBDISTRICT),
    responses={"200": "figures with key, label, value, printed value, definition"},
)
@allow(*SIGNED_IN)
def metrics():
    """Every figure as of `as_of` (a day or an instant), optionally as known at `known_at`."""
    session = get_session()
    as_of, known_at = as_of_param(session), known_at_param()
    cube = cube_at(session, as_of, known_at)
    figures = evaluate_all(cube, subdistrict_param())
    return jsonify(figures_payload(cube, figures, _locale()))


@bp.get("/metrics/<key>/records")
@operation(
    "The records one figure counted",
    tag="figures",
    path=(FIGURE_KEY,),
    query=(*MOMENT, SUBDISTRICT, SIDE),
    responses={"200": "count, total and records"},
)
@allow(*SIGNED_IN)
def metric_records(key: str):
    """The records one figure counted, as of the same moment; `side=denominator` for the other side."""
    if key not in METRICS_BY_KEY:
        raise NotFoundError("Unknown figure %(key)s.", key=key[:60])
    side = request.args.get("side", "numerator")
    if side not in ("numerator", "denominator"):
        raise ValidationError("side must be numerator or denominator.")
    session = get_session()
    as_of, known_at = as_of_param(session), known_at_param()
    rows = records_for(session, key, as_of, known_at, subdistrict=subdistrict_param(), side=side)
    return jsonify(
        {
            "key": key,
            "side": side,
            "as_of": zone_iso(as_of),
            "known_at": zone_iso(known_at),
            "count": len(rows),
            "total": sum(r["value"] for r in rows),
            "records": rows,
        }
    )


@bp.get("/reports/daily/<day>")
@operation(
    "The daily bulletin",
    tag="figures",
    path=(DAY,),
    query=(KNOWN_AT, REPORT_FORMAT, REPORT_VERSION),
    responses={"200": {"description": "the bulletin in `format`", "content": REPORT_CONTENT}},
)
@allow(*SIGNED_IN)
def report_daily(day: str):
    """The daily report; `format=json` (default), `txt` (alias `text`), `md`, `xlsx` or `geojson`;
    `version=N|latest` for a publication exactly as published."""
    from recovery.reports.build import build_report
    from recovery.reports.formats import check_format
    from recovery.reports.publish import select_version
    from recovery.reports.responses import published_response, report_response

    fmt = check_format(request.args.get("format", "json"))
    session = get_session()
    if request.args.get("version"):
        report = select_version(session, parse_day(day), request.args["version"])
        return published_response(session, report, fmt)
    report = build_report(session, parse_day(day), known_at=known_at_param(), locale=_locale())
    return report_response(session, report, fmt)
