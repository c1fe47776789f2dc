"""Report pages: the daily report for any date and time, its files, the records behind each figure,
publishing, the list of published reports and their Atom feed. Published reports are public; drafts are not."""

from __future__ import annotations

import io
from datetime import date, timedelta

from flask import Blueprint, Flask, Response, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _

from recovery.auth import csrf, current_account
from recovery.db import get_session
from recovery.errors import NotFoundError, ValidationError
from recovery.i18n import current_locale, language
from recovery.kinds import kind_label
from recovery.ledger.asof import last_valid_at
from recovery.metrics import METRICS_BY_KEY
from recovery.metrics.records import records_for, with_labels
from recovery.numbers import read_whole_number
from recovery.query.sites import parse_subdistrict
from recovery.reports import publish as publishing
from recovery.reports.atom import feed
from recovery.reports.build import build_report, figures_by_key, moment
from recovery.reports.charts import all_charts
from recovery.reports.drill import with_happened
from recovery.reports.formats import KIND_LABELS, check_format, records_csv, records_xlsx, sub_label
from recovery.reports.kindtable import CELL_COLUMNS, CELL_DEFINITIONS, cell_records
from recovery.reports.responses import published_response, report_response
from recovery.timeutil import local_day, parse_as_of, parse_day, query_window, zone_iso, zone_minute
from recovery.vocab import label
from recovery.web.apidoc import operation
from recovery.web.declared import DAY
from recovery.web.jsmessages import strings
from recovery.web.policy import READERS, allow
from recovery.web.public_url import public_url
from recovery.writers import csv as csv_file
from recovery.writers import xlsx

bp = Blueprint("reports", __name__, url_prefix="/reports")
api_bp = Blueprint("reports_api", __name__, url_prefix="/api/v1")
PUBLISHERS = ("commander", "reporter", "admin")


def init_app(app: Flask) -> None:
    app.add_template_filter(zone_minute, "minute")
    app.register_blueprint(bp)
    app.register_blueprint(api_bp)
    csrf.exempt(api_bp)  # bearer clients; browser sessions are checked by recovery.auth


def _locale() -> str:
    return language(current_locale())


def _draft(day_text: str) -> tuple:
    """The live report for the request: `?at=HH:MM` within the day, `?known_at=` a record-time cutoff."""
    day = parse_day(day_text)
    at = request.args.get("at") or None
    known_at = request.args.get("known_at")
    payload = build_report(
        get_session(),
        day,
        at=moment(day, at) if at else None,
        known_at=parse_as_of(known_at) if known_at else None,
        locale=_locale(),
    )
    return day, payload


@bp.get("/")
@allow("anonymous")
def index():
    """The reports home: the latest day with data, a date picker (`?day=` opens that day's report) and the list
    of published reports."""
    session = get_session()
    if request.args.get("day") is not None:
        picked = parse_day(request.args["day"])
        return redirect(url_for("reports.daily", day=picked.isoformat()))
    first, last = query_window()
    data_until = last_valid_at(session)
    latest_day = min(max(local_day(data_until), first), last) if data_until else None
    reports = publishing.all_published(session)
    return render_template(
        "reports/index.html",
        reports=reports,
        names=publishing.publisher_names(session, reports, _locale()),
        latest_day=latest_day,
        first_day=first,
        last_day=last,
    )


@bp.get("/feed.atom")
@allow("anonymous")
def atom_feed():
    reports = publishing.all_published(get_session(), limit=50)

    def link(report, fmt):
        if fmt == "html":  # the public page
            return public_url("reports.published_page", day=report.day, version=report.version)
        return public_url("reports.published", day=report.day, version=report.version, fmt=fmt)

    body = feed(reports, public_url("reports.atom_feed"), link)
    return Response(body, mimetype="application/atom+xml")


@bp.get("/daily/<day>")
@allow(*READERS)
def daily(day: str):
    session = get_session()
    parsed = parse_day(day)
    published = publishing.latest(session, parsed)
    live = request.args.get("view") == "draft" or request.args.get("at") or request.args.get("known_at")
    corrections = []
    if published is not None and not live:
        payload = publishing.payload_of(published)
        corrections = publishing.corrections(session, published)
    else:
        parsed, payload = _draft(day)
    figures = figures_by_key(payload)
    known_at = payload.get("known_at")
    record_args = {k: v for k, v in {"at": request.args.get("at") or None, "known_at": known_at}.items() if v}

    def cell_url(row: dict, column: str) -> str:
        where = {} if row["subdistrict"] is None else {"subdistrict": row["subdistrict"]}
        return url_for(
            "reports.table_cell",
            day=parsed.isoformat(),
            kind=row["kind"],
            column=column,
            **record_args,
            **where,
        )

    first, last = query_window()
    return render_template(
        "reports/daily.html",
        day=parsed,
        first_day=first,
        last_day=last,
        publisher=_publisher_name(session, published),
        strings=strings("reports"),
        payload=payload,
        figures=figures,
        headline=[figures[k] for k in payload["headline"]],
        charts=all_charts(payload["series"]),
        published=published,
        showing_published=published is not None and not live,
        corrections=corrections,
        kind_labels=KIND_LABELS,
        sub_label=sub_label,
        record_args=record_args,
        cell_url=cell_url,
        records_link=lambda fig: url_for(
            "reports.records", day=parsed.isoformat(), key=fig["key"], **record_args
        ),
        previous_day=parsed - timedelta(days=1),
        next_day=parsed + timedelta(days=1),
        at=request.args.get("at") or "",
        kind_label=lambda key: kind_label(key, _locale()),
    )


@bp.get("/daily/<day>.<fmt>")
@allow(*READERS)
def daily_file(day: str, fmt: str):
    fmt = check_format(fmt)
    _, payload = _draft(day)
    return report_response(get_session(), payload, fmt, attachment=True)


@bp.route("/daily/<day>/publish", methods=["GET", "POST"])
@allow(*PUBLISHERS)
def publish_page(day: str):
    """Publishing in two steps: the review shows what will be frozen (the day, the bulletin, the headline figures
    as known now) and names the version it will make; only a POST with `confirm` and that version publishes."""
    session = get_session()
    parsed = parse_day(day)
    if request.method == "POST" and request.form.get("confirm") == "1":
        version = read_whole_number(request.form.get("version", ""))
        if version is None or version < 1:
            raise ValidationError("version must be a number or latest.")
        account = current_account()
        publishing.publish_reviewed(
            session, parsed, version, account.username, _locale(), shown_as=_shown_as(account)
        )
        return redirect(url_for("reports.daily", day=parsed.isoformat()))
    payload = build_report(session, parsed, locale=_locale())
    figures = figures_by_key(payload)
    current = publishing.latest(session, parsed)
    return render_template(
        "reports/review.html",
        day=parsed,
        payload=payload,
        headline=[figures[k] for k in payload["headline"]],
        version=(current.version if current else 0) + 1,
    )


@bp.get("/daily/<day>/published/<int:version>")
@allow("anonymous")
def published_page(day: str, version: int):
    """A publication as a page for anyone: its figures, definitions, charts and bulletin, read from the stored
    payload (the charts drawn from its frozen series), never recomputed."""
    session = get_session()
    report = publishing.get_version(session, parse_day(day), version)
    payload = publishing.payload_of(report)
    figures = figures_by_key(payload)
    return render_template(
        "reports/public.html",
        day=date.fromisoformat(report.day),
        report=report,
        payload=payload,
        headline=[figures[k] for k in payload["headline"]],
        charts=all_charts(payload["series"]),
        publisher=_publisher_name(session, report),
    )


@bp.get("/daily/<day>/published/<int:version>.<fmt>")
@allow("anonymous")
def published(day: str, version: int, fmt: str):
    """A publication exactly as published, in every format: the bytes stored when it was published."""
    fmt = check_format(fmt)
    session = get_session()
    return published_response(session, publishing.get_version(session, parse_day(day), version), fmt)


@bp.get("/daily/<day>/records/<key>")
@allow(*READERS)
def records(day: str, key: str):
    """The records one figure counted at the report's moment; `format=csv|xlsx` to download them."""
    if key not in METRICS_BY_KEY:
        raise NotFoundError("Unknown figure %(key)s.", key=key[:60])
    side = request.args.get("side", "numerator")
    if side not in ("numerator", "denominator"):
        raise ValidationError("side must be numerator or denominator.")
    parsed, as_of, known_at = _record_moment(day)
    metric = METRICS_BY_KEY[key]
    selector = metric.numerator if side == "numerator" else metric.denominator
    rows = with_happened(
        get_session(),
        records_for(get_session(), key, as_of, known_at, side=side),
        as_of,
        known_at,
        track=selector.track if selector else None,
    )
    args = {"at": request.args.get("at"), "known_at": request.args.get("known_at"), "side": side}
    return _record_list(
        parsed,
        rows,
        as_of,
        known_at,
        stem=f"records-{key}-{parsed.isoformat()}",
        title=metric.label(_locale()),
        definition=metric.definition_text(_locale()),
        side=side,
        links=lambda fmt: url_for(
            "reports.records",
            day=parsed.isoformat(),
            key=key,
            format=fmt,
            **{k: v for k, v in args.items() if v},
        ),
    )


@bp.get("/daily/<day>/table/<kind>/<column>")
@allow(*READERS)
def table_cell(day: str, kind: str, column: str):
    """The sites one cell of the table by sub-district and kind counted (`?subdistrict=`; none: the total row),
    at the report's moment and record-time cutoff; as many rows as the cell shows."""
    parsed, as_of, known_at = _record_moment(day)
    subdistrict = parse_subdistrict(request.args.get("subdistrict"), outside=True)
    rows = cell_records(get_session(), kind, column, as_of, known_at, subdistrict)
    rows = with_happened(get_session(), rows, as_of, known_at)
    zh = _locale() == "zh"
    where = sub_label(subdistrict) if zh else (label("subdistrict", subdistrict, "en") or _("Total"))
    title = f"{kind_label(kind, _locale())} · {where} · {_(CELL_COLUMNS[column])}"
    args = {
        "at": request.args.get("at"),
        "known_at": request.args.get("known_at"),
        "subdistrict": subdistrict,
    }
    return _record_list(
        parsed,
        rows,
        as_of,
        known_at,
        stem=f"records-{kind}-{column}-{parsed.isoformat()}",
        title=title,
        definition=_(CELL_DEFINITIONS[column]),
        side=None,
        time_label=_("Deadline") if column == "overdue" else None,
        links=lambda fmt: url_for(
            "reports.table_cell",
            day=parsed.isoformat(),
            kind=kind,
            column=column,
            format=fmt,
            **{k: v for k, v in args.items() if v is not None},
        ),
    )


def _shown_as(account) -> str:
    return publishing.public_name(account.display_name, account.role, _locale())


def _publisher_name(session, report) -> str | None:
    if report is None:
        return None
    return publishing.publisher_names(session, [report], _locale())[report.published_by]


def _record_moment(day: str) -> tuple:
    parsed = parse_day(day)
    at = request.args.get("at") or None
    # as on the report page: a day means its end; either way within the incident's window
    known_at = parse_as_of(request.args["known_at"]) if request.args.get("known_at") else None
    return parsed, moment(parsed, at), known_at


def _record_list(parsed, rows, as_of, known_at, *, stem, title, definition, side, links, time_label=None):
    """A record list as a page, or `format=csv|xlsx` to download it."""
    fmt = request.args.get("format", "html")
    # the files' headers are Chinese, so are their labels; the page speaks the reader's language
    rows = with_labels(rows, "zh" if fmt in ("csv", "xlsx") else _locale())
    if fmt == "csv":
        return Response(
            records_csv(rows),
            mimetype=csv_file.MEDIA_TYPE,
            headers={"Content-Disposition": f'attachment; filename="{stem}.csv"'},
        )
    if fmt == "xlsx":
        buffer = io.BytesIO()
        records_xlsx(rows, buffer, title)
        return Response(
            buffer.getvalue(),
            mimetype=xlsx.MEDIA_TYPE,
            headers={"Content-Disposition": f'attachment; filename="{stem}.xlsx"'},
        )
    if fmt != "html":
        raise ValidationError("format must be one of %(formats)s.", formats="html, csv, xlsx")
    return render_template(
        "reports/records.html",
        day=parsed,
        title=title,
        definition=definition,
        rows=rows,
        side=side,
        as_of=as_of,
        known_at=known_at,
        total=sum(r["value"] for r in rows),
        csv_url=links("csv"),
        xlsx_url=links("xlsx"),
        time_label=time_label,
    )


@api_bp.post("/reports/daily/<day>/publish")
@operation(
    "Publish the day's bulletin: freeze its figures and files",
    tag="figures",
    path=(DAY,),
    responses={"201": "the published version, its cut-off and digest"},
)
@allow(*PUBLISHERS)
def publish_api(day: str):
    account = current_account()
    report = publishing.publish(
        get_session(), parse_day(day), account.username, _locale(), shown_as=_shown_as(account)
    )
    url = url_for("reports.published", day=report.day, version=report.version, fmt="json")
    body = {
        "day": report.day,
        "version": report.version,
        "cutoff": zone_iso(report.cutoff),
        "sha256": report.sha256,
        "url": url,
    }
    return jsonify(body), 201, {"Location": url}


@api_bp.get("/reports/daily/<day>/corrections")
@operation(
    "What changed in the figures since the day's bulletin was published",
    tag="figures",
    path=(DAY,),
    responses={"200": "the published version and its corrections"},
)
@allow(*READERS)
def corrections_api(day: str):
    session = get_session()
    report = publishing.latest(session, parse_day(day))
    if report is None:
        raise NotFoundError("No published report for %(day)s.", day=day[:20])
    return jsonify(
        {
            "day": report.day,
            "version": report.version,
            "sha256": report.sha256,
            "corrections": publishing.corrections(session, report),
        }
    )
