"""月考核评比 (the monthly evaluation): the page `/assessment?month=YYYY-MM`, its JSON `/api/v1/assessment` and its
Excel ledger (台账) `/assessment/export.xlsx`. The figures and their definitions are `recovery.assessment`'s."""

from __future__ import annotations

from io import BytesIO

from flask import Blueprint, Response, render_template, request

from recovery import assessment
from recovery.db import get_session
from recovery.errors import RecoveryError
from recovery.fields import Param
from recovery.i18n import catalogue_locale, current_locale
from recovery.web.apidoc import operation
from recovery.web.policy import allow
from recovery.writers.xlsx import MEDIA_TYPE

bp = Blueprint("assessment", __name__)
READERS = ("commander", "admin", "reporter")
MONTH = Param(
    "month", {"type": "string", "pattern": r"^\d{4}-\d{2}$", "example": "2021-08"}, "A month, YYYY-MM"
)


def _assess(month: str | None):
    session = get_session()
    return assessment.assess(session, assessment.parse_month(month, session))


@bp.get("/assessment")
@allow(*READERS)
def page():
    locale = current_locale()
    raw = request.args.get("month", "")
    try:
        result = _assess(raw)
    except RecoveryError as exc:
        if exc.http_status >= 500:
            raise
        return render_template("assessment/page.html", data=None, month=raw[:7], error=exc.translated()), (
            exc.http_status
        )
    data = assessment.as_dict(result, locale)
    return render_template("assessment/page.html", data=data, month=data["month"], error=None)


@bp.get("/api/v1/assessment")
@operation(
    "月考核评比: the month's ranking of the responsible units and sub-districts, with the figures' definitions",
    tag="work orders",
    query=(MONTH,),
    responses={"200": "month, units, subdistricts, definitions"},
)
@allow(*READERS)
def api():
    return assessment.as_dict(_assess(request.args.get("month")), current_locale())


@bp.get("/assessment/export.xlsx")
@allow(*READERS)
def export():
    """The month's ledger as an Excel workbook, Chinese headers unless `lang=en`."""
    result = _assess(request.args.get("month"))
    locale = catalogue_locale(request.args.get("lang") or "zh_CN")
    out = BytesIO()
    assessment.write_xlsx(out, result, locale)
    disposition = f'attachment; filename="assessment-{result.month.key}.xlsx"'
    return Response(out.getvalue(), mimetype=MEDIA_TYPE, headers={"Content-Disposition": disposition})
