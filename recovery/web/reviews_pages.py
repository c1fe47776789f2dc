"""周观摩 (the weekly on-site review): the pages `/reviews` (the list and a new review) and `/reviews/<id>` (the
visit, its problems as they stood a week later and now, and a form that hands out a problem in one step), and
the JSON API `/api/v1/reviews`. Commanders and admins write; reporters read. The rules are `recovery.reviews`'s."""

from __future__ import annotations

import uuid

from flask import Blueprint, redirect, render_template, request, url_for

from recovery import reviews, workitems
from recovery.auth import current_account
from recovery.db import get_session
from recovery.db.engine import begin_write
from recovery.errors import RecoveryError, ValidationError
from recovery.fields import Body, Field, Param
from recovery.i18n import current_locale
from recovery.kinds import get_kind
from recovery.numbers import MAX_INT, read_whole_number
from recovery.timeutil import deadline_text, now, zone_iso, zone_minute
from recovery.vocab import label, labels
from recovery.web import idempotency
from recovery.web.apidoc import operation
from recovery.web.declared import IDEMPOTENCY_KEY
from recovery.web.params import instant_field
from recovery.web.policy import allow
from recovery.web.site_access import json_body
from recovery.workitems import COMMAND_ROLES
from recovery.workitems_read import item_dict

bp = Blueprint("reviews", __name__, url_prefix="/reviews")
api_bp = Blueprint("reviews_api", __name__, url_prefix="/api/v1/reviews")
READERS = ("commander", "admin", "reporter")
WRITERS = COMMAND_ROLES
_IDS = {"type": "array", "items": {"type": "integer", "minimum": 1, "maximum": MAX_INT}, "maxItems": 200}
REVIEW_BODY = Body(
    (
        Field("held_on", {"type": "string", "format": "date"}, "The review's day, YYYY-MM-DD", required=True),
        Field("title", {"type": "string", "maxLength": 300}, required=True),
        Field("site_ids", _IDS, "The sites visited, in the order visited"),
        Field(
            "participants",
            {"type": "array", "items": {"type": "string"}, "maxItems": 100},
            "Who took part",
        ),
        Field("note", {"type": "string", "maxLength": 4000}),
    )
)
PROBLEM_BODY = Body(
    (
        Field("title", {"type": "string", "maxLength": 300}, required=True),
        Field("description", {"type": "string", "maxLength": 4000}),
        Field("unit", {"type": "string"}, "The lead unit (牵头单位)", required=True, vocabulary="unit"),
        Field("severity", {"type": "string", "default": "general"}, vocabulary="severity"),
        Field("site_ids", _IDS, "The sites the problem concerns"),
        Field("valid_at", {"type": "string", "format": "date-time"}, "When it was handed out (default: now)"),
    )
)
PAGING = (
    Param("limit", {"type": "integer", "minimum": 1, "maximum": 500, "default": 100}),
    Param("offset", {"type": "integer", "minimum": 0, "default": 0}),
)


# -- what pages and API share ------------------------------------------------------------------------------------


def _paging(limit, offset) -> tuple[int, int]:
    out = []
    for name, raw, low, high, default in (("limit", limit, 1, 500, 100), ("offset", offset, 0, MAX_INT, 0)):
        if raw in (None, ""):
            out.append(default)
            continue
        value = read_whole_number(raw)
        if value is None or not low <= value <= high:
            raise ValidationError(
                "%(name)s must be a whole number from %(low)s to %(high)s.", name=name, low=low, high=high
            )
        out.append(value)
    return out[0], out[1]


def _review_dict(review, problems: int | None = None) -> dict:
    out = {
        "id": review.id,
        "held_on": review.held_on,
        "title": review.title,
        "site_ids": list(review.site_ids or ()),
        "participants": list(review.participants or ()),
        "note": review.note,
        "created_at": zone_iso(review.created_at),
    }
    if problems is not None:
        out["problems"] = problems
    return out


def _state_dict(state, at, locale: str) -> dict | None:
    if state is None:
        return None
    late_feedback, late_resolve = workitems.overdue(state, at)
    return {
        "as_of": zone_iso(at),
        "status": state.status,
        "status_label": label("work_item_status", state.status, locale),
        "unit": state.unit,
        "unit_label": label("unit", state.unit, locale),
        "resolved_at": zone_iso(state.resolved_at),
        "overdue": bool(late_feedback or late_resolve or workitems.acknowledge_overdue(state, at)),
    }


def _page_dict(page, locale: str) -> dict:
    out = _review_dict(page.review, len(page.problems))
    out["follow_up_at"] = zone_iso(page.follow_up_at)
    out["sites"] = [_site_dict(s, locale) for s in page.sites]
    out["problems"] = [
        {
            **item_dict(p.item, locale, page.at),
            "week_later": _state_dict(p.week_later, page.follow_up_at, locale),
            "now": _state_dict(p.now, page.at, locale),
        }
        for p in page.problems
    ]
    return out


def _site_dict(site, locale: str) -> dict:
    kind = get_kind(site.kind)
    return {
        "id": site.id,
        "key": site.key,
        "name": site.name,
        "kind": site.kind,
        "kind_label": label("kind", site.kind, locale),
        "status": site.status,
        "status_label": kind.status_vocabulary.label(site.status, locale),
        "subdistrict_label": label("subdistrict", site.subdistrict, locale),
    }


# -- pages ---------------------------------------------------------------------------------------------------------


def _list_page(form: dict | None = None, error: str | None = None, status: int = 200):
    session = get_session()
    rows = reviews.list_reviews(session, limit=200)
    return (
        render_template(
            "reviews/list.html",
            rows=rows,
            total=reviews.count_reviews(session),
            form=form or {},
            error=error,
            may_write=current_account().role in WRITERS,
        ),
        status,
    )


@bp.get("")
@allow(*READERS)
def list_page():
    return _list_page()


@bp.post("")
@allow(*WRITERS)
def create_page():
    """The new-review form (CSRFProtect checks its token): the review, then its page."""
    session, account = get_session(), current_account()
    form = request.form
    try:
        begin_write(session)
        review = reviews.create_review(
            session,
            held_on=form.get("held_on", ""),
            title=form.get("title", ""),
            site_ids=form.get("site_ids", ""),
            participants=form.get("participants", ""),
            note=form.get("note", ""),
            user_id=account.id,
        )
        session.commit()
    except RecoveryError as exc:
        session.rollback()
        return _list_page(form.to_dict(), exc.translated(), exc.http_status)
    return redirect(url_for("reviews.review_page", review_id=review.id), code=303)


def _review_page(review_id: int, form: dict | None = None, error: str | None = None, status: int = 200):
    session, locale = get_session(), current_locale()
    page = reviews.review_page(session, review_id)
    data = _page_dict(page, locale)
    return (
        render_template(
            "reviews/review.html",
            page=page,
            data=data,
            form=form or {},
            form_key=(form or {}).get("form_key") or uuid.uuid4().hex,
            error=error,
            may_write=current_account().role in WRITERS,
            unit_labels=labels("unit", locale),
            severity_labels=labels("severity", locale),
            deadline_text=deadline_text,
            zone_minute=zone_minute,
        ),
        status,
    )


@bp.get("/<id:review_id>")
@allow(*READERS)
def review_page(review_id: int):
    return _review_page(review_id)


@bp.post("/<id:review_id>/problems")
@allow(*WRITERS)
def add_problem_page(review_id: int):
    """The problem form: the work order made in one step. The form's key makes a double submission one order."""
    session, account = get_session(), current_account()
    form = request.form
    key = (form.get("form_key") or "")[:64] or None
    try:
        begin_write(session)
        review = reviews.find_review(session, review_id)
        reviews.add_problem(
            session,
            review,
            title=form.get("title", ""),
            description=form.get("description", ""),
            unit=form.get("unit", ""),
            severity=form.get("severity") or "general",
            site_ids=reviews.parse_site_ids(form.getlist("site_ids")),
            account=account,
            valid_at=now(),
            client_id=idempotency.client_event_id(account.id, f"review-problem-{key}") if key else None,
        )
        session.commit()
    except RecoveryError as exc:
        session.rollback()
        return _review_page(review_id, form.to_dict(flat=True), exc.translated(), exc.http_status)
    return redirect(url_for("reviews.review_page", review_id=review_id, _anchor="problems"), code=303)


# -- JSON API ------------------------------------------------------------------------------------------------------


@api_bp.get("")
@operation(
    "Weekly reviews (周观摩), the latest first, each with its number of problems",
    tag="work orders",
    query=PAGING,
    responses={"200": "reviews, total, limit, offset"},
)
@allow(*READERS)
def list_reviews():
    session = get_session()
    limit, offset = _paging(request.args.get("limit"), request.args.get("offset"))
    rows = reviews.list_reviews(session, limit=limit, offset=offset)
    return {
        "reviews": [_review_dict(review, n) for review, n in rows],
        "total": reviews.count_reviews(session),
        "limit": limit,
        "offset": offset,
    }


@api_bp.post("")
@operation(
    "Record a weekly review (Idempotency-Key)",
    tag="work orders",
    headers=(IDEMPOTENCY_KEY,),
    body=REVIEW_BODY,
    responses={"201": "the review", "200": "replayed"},
)
@allow(*WRITERS)
def create_review():
    session, account = get_session(), current_account()
    body = REVIEW_BODY.read(json_body())
    key = idempotency.idempotency_key()

    def work():
        review = reviews.create_review(
            session,
            held_on=body["held_on"],
            title=body["title"],
            site_ids=body.get("site_ids"),
            participants=body.get("participants"),
            note=body.get("note") or "",
            user_id=account.id,
        )
        location = url_for("reviews_api.get_review", review_id=review.id)
        return 201, _review_dict(review, 0), {"Location": location}

    return idempotency.run_once(session, account.id, key, idempotency.request_digest(body), work)


@api_bp.get("/<id:review_id>")
@operation(
    "One weekly review: its sites and its problems, each as it stood a week later and now",
    tag="work orders",
    responses={"200": "the review"},
)
@allow(*READERS)
def get_review(review_id: int):
    return _page_dict(reviews.review_page(get_session(), review_id), current_locale())


@api_bp.post("/<id:review_id>/problems")
@operation(
    "Hand out a problem found at a review as a work order (周观摩问题) in one step (Idempotency-Key)",
    tag="work orders",
    headers=(IDEMPOTENCY_KEY,),
    body=PROBLEM_BODY,
    responses={"201": "the work order", "200": "replayed"},
)
@allow(*WRITERS)
def add_problem(review_id: int):
    session, account = get_session(), current_account()
    review = reviews.find_review(session, review_id)
    body = PROBLEM_BODY.read(json_body())
    key = idempotency.idempotency_key()
    valid_at = instant_field(body, "valid_at") or now()

    def work():
        item, _created = reviews.add_problem(
            session,
            reviews.find_review(session, review.id),
            title=body["title"],
            description=body.get("description") or "",
            unit=body["unit"],
            severity=body.get("severity") or "general",
            site_ids=reviews.parse_site_ids(body.get("site_ids")),
            account=account,
            valid_at=valid_at,
            client_id=idempotency.client_event_id(account.id, key),
        )
        session.flush()
        answer = item_dict(item, current_locale(), now())
        location = url_for("workitems_api.get_work_item", item_id=item.id)
        return 201, answer, {"Location": location, "ETag": f'"{item.version}"'}

    return idempotency.run_once(
        session, account.id, key, idempotency.request_digest({**body, "review": review_id}), work
    )
