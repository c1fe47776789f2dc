"""JSON API of work orders (督查交办): list, open, read, and take a step (If-Match, Idempotency-Key), a unit's
inbox and the commander's board. The rules are `recovery.workitems`'s; the reads `recovery.workitems_read`'s."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request, send_file, url_for

from recovery import attachments, workitems
from recovery.auth import current_account
from recovery.db import get_session
from recovery.errors import NotFoundError, PreconditionRequired, ValidationError
from recovery.fields import Args, Param
from recovery.geodata import load_geodata
from recovery.i18n import current_locale
from recovery.models import WorkItem
from recovery.numbers import read_whole_number
from recovery.photos import unusable_uploads
from recovery.timeutil import deadline_window, end_of_day, now, parse_day, zone_iso
from recovery.vocab import resolve
from recovery.web import idempotency
from recovery.web.apidoc import operation
from recovery.web.declared import (
    IDEMPOTENCY_KEY,
    WORK_ITEM_BODY,
    WORK_ITEM_IF_MATCH,
    WORK_ITEM_QUERY,
    WORK_ITEM_STEP_BODY,
)
from recovery.web.limits import body_limit
from recovery.web.params import instant_field
from recovery.web.policy import allow
from recovery.web.site_access import attachment_dict, json_body, photo_dict, photo_store, work_item_or_404
from recovery.workitems_read import (
    board,
    inbox,
    item_dict,
    linked_sites,
    list_items,
    parse_filter,
    site_ids_of,
    timeline,
)

bp = Blueprint("workitems_api", __name__, url_prefix="/api/v1/work-items")
READERS = workitems.READERS
COMMANDERS = workitems.COMMAND_ROLES


def _locale() -> str:
    return current_locale()


def _etag(item: WorkItem) -> str:
    return f'"{item.version}"'


@bp.get("")
@operation(
    "Work orders the caller may see, most urgent first (filters, paging)",
    tag="work orders",
    query=WORK_ITEM_QUERY,
    responses={"200": "items, total, limit, offset"},
)
@allow(*READERS)
def list_work_items():
    session, at = get_session(), now()
    flt = parse_filter(Args(request.args, WORK_ITEM_QUERY))
    items, total = list_items(session, current_account(), flt, at)
    links = site_ids_of(session, [i.id for i in items])
    locale = _locale()
    return jsonify(
        {
            "items": [item_dict(i, locale, at, site_ids=links.get(i.id, [])) for i in items],
            "total": total,
            "limit": flt.limit,
            "offset": flt.offset,
        }
    )


@bp.post("")
@operation(
    "Open (交办) a work order (Idempotency-Key)",
    tag="work orders",
    headers=(IDEMPOTENCY_KEY,),
    body=WORK_ITEM_BODY,
    responses={"201": "the order with its id, status and deadlines", "200": "replayed"},
)
@allow(*COMMANDERS)
def create_work_item():
    session, account = get_session(), current_account()
    body = WORK_ITEM_BODY.read(json_body())
    key = idempotency.idempotency_key()
    digest = idempotency.request_digest(body)
    valid_at = instant_field(body, "valid_at") or now()

    def work():
        item, recorded = workitems.open_work_item(
            session,
            category=body["category"],
            title=body["title"],
            description=body.get("description") or "",
            responsible_unit=body["unit"],
            co_units=body.get("co_units") or (),
            severity=body.get("severity") or "general",
            site_ids=body.get("site_ids") or (),
            milestones=body.get("milestones"),
            review_id=body.get("review_id"),
            actor=account.display_name,
            user_id=account.id,
            valid_at=valid_at,
            note=body.get("note") or "",
            client_id=idempotency.client_event_id(account.id, key),
        )
        session.flush()
        links = site_ids_of(session, [item.id])
        answer = item_dict(item, _locale(), now(), site_ids=links.get(item.id, []))
        headers = {"ETag": _etag(item), "Location": url_for("workitems_api.get_work_item", item_id=item.id)}
        return 201, answer, headers

    return idempotency.run_once(session, account.id, key, digest, work)


@bp.get("/<id:item_id>")
@operation(
    "One work order with its timeline, sites and the steps the caller may take; its version in the ETag",
    tag="work orders",
    responses={"200": "the order"},
)
@allow(*READERS)
def get_work_item(item_id: int):
    session, account, at = get_session(), current_account(), now()
    item = work_item_or_404(item_id)
    steps, state = timeline(session, item)
    sites = linked_sites(session, item.id)
    locale = _locale()
    body = item_dict(item, locale, at, site_ids=[s.id for s in sites])
    body["timeline"] = [
        {
            "id": s.event.id,
            "action": s.step,
            "status": s.event.to_status,
            "actor": s.event.actor,
            "valid_at": zone_iso(s.event.valid_at),
            "recorded_at": zone_iso(s.event.recorded_at),
            "note": s.event.note,
            "on_time": s.on_time,
            "details": {k: v for k, v in (s.event.details or {}).items() if k != "photos"},
            "photos": [photo_dict(p) for p in s.photos],
        }
        for s in steps
    ]
    body["returned"] = state.returned
    body["reminders"] = state.reminders
    body["actions"] = workitems.allowed_steps(account, item)
    body["attachments"] = [attachment_dict(a) for a in attachments.of_order(session, item.id)]
    response = jsonify(body)
    response.headers["ETag"] = _etag(item)
    return response


@bp.post("/<id:item_id>/attachments")
@body_limit("photo")  # a document is held to the photo's size limit
@operation(
    "Attach a document (PDF, Word, Excel, PowerPoint) to a work order; the raw file is the body",
    tag="work orders",
    query=(Param("name", {"type": "string", "maxLength": 200}, "The file's name, as shown and offered"),),
    content={"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
    responses={"201": "the attachment", "200": "the same file was attached already"},
)
@allow(*workitems.CONTRIBUTORS)
def attach(item_id: int):
    """The commanders who check an order and the units that work on it attach documents; readers do not."""
    session, account = get_session(), current_account()
    work_item_or_404(item_id)
    data, filename = _document()
    name = request.args.get("name") or filename
    row, new = attachments.attach(
        session, photo_store().root, work_item_id=item_id, data=data, name=name, user_id=account.id
    )
    session.commit()
    return jsonify(attachment_dict(row)), 201 if new else 200


def _document() -> tuple[bytes, str | None]:
    """The uploaded document, and its name when a form's `file` field carries one (else `?name=` names it)."""
    if request.mimetype == "multipart/form-data":
        upload = request.files.get("file")
        if upload is None:
            raise ValidationError("Send the document in the form's field named file.")
        return upload.read(), upload.filename
    if request.mimetype == "application/x-www-form-urlencoded":
        raise ValidationError(
            "Send the document itself as the body (Content-Type: application/octet-stream) or as a form's file field."
        )
    return request.get_data(), None


@bp.get("/<id:item_id>/attachments/<id:attachment_id>")
@operation(
    "A work order's attachment, as a download",
    tag="work orders",
    responses={"200": {"description": "the file", "content": {"application/octet-stream": {}}}},
)
@allow(*READERS)
def attachment_file(item_id: int, attachment_id: int):
    work_item_or_404(item_id)
    row = attachments.find(get_session(), item_id, attachment_id)
    if row is None:
        raise NotFoundError("Attachment %(attachment)s does not exist.", attachment=attachment_id)
    response = send_file(
        attachments.file_of(photo_store().root, row),
        mimetype=row.content_type,
        as_attachment=True,
        download_name=row.name,
        max_age=0,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _if_match() -> int:
    raw = request.headers.get("If-Match")
    if raw is None:
        raise PreconditionRequired("Send If-Match with the order's version (its ETag) to change it.")
    version = read_whole_number(raw.strip().removeprefix("W/").strip('"'))
    if version is None:
        raise ValidationError('If-Match must be the order\'s ETag, such as "3".')
    return version


def _day(body: dict, name: str):
    raw = body.get(name)
    if raw in (None, ""):
        return None
    return end_of_day(parse_day(str(raw), deadline_window()))


def _position(body: dict):
    if body.get("position") is None:
        return None
    from recovery.coords import parse_position

    zone = load_geodata(current_app.config["RECOVERY"]["GEODATA_DIR"]).zone.bounds
    parsed = parse_position(body["position"], zone_bounds=zone)
    return (parsed["lon"], parsed["lat"]) if parsed else None


def _photos(session, account, item: WorkItem, body: dict) -> list[str]:
    photos = list(dict.fromkeys(body.get("photos") or []))
    if not photos:
        return []
    # uploaded to one of the order's sites, or to the order itself (`POST /api/v1/work-items/<id>/photos`)
    missing = set(unusable_uploads(session, account.id, None, photos, work_item_id=item.id))
    for site in linked_sites(session, item.id):
        missing &= set(unusable_uploads(session, account.id, site.id, sorted(missing)))
    if missing:
        raise ValidationError(
            "No finished upload %(upload)s of yours for this order or its sites: upload the photo first.",
            upload=sorted(missing)[0][:100],
        )
    return photos


@bp.post("/<id:item_id>/events")
@operation(
    "Take a step on a work order (If-Match, Idempotency-Key)",
    tag="work orders",
    headers=(WORK_ITEM_IF_MATCH, IDEMPOTENCY_KEY),
    body=WORK_ITEM_STEP_BODY,
    responses={"201": "the step and the order; the new ETag", "200": "replayed"},
)
@allow(*READERS)
def post_step(item_id: int):
    session, account = get_session(), current_account()
    item = work_item_or_404(item_id)
    expected = _if_match()
    body = WORK_ITEM_STEP_BODY.read(json_body())
    step = workitems.STEPS[body["action"]]
    workitems.check_may_take(account, item, step)  # a 403 before anything else is read
    key = idempotency.idempotency_key()
    digest = idempotency.request_digest({**body, "if_match": expected})
    valid_at = instant_field(body, "valid_at") or now()
    photos = _photos(session, account, item, body)
    until, position = _day(body, "until"), _position(body)
    session.expunge(item)

    def work():
        changed, recorded = workitems.act(
            session,
            item_id,
            action=body["action"],
            account=account,
            valid_at=valid_at,
            note=body.get("note") or "",
            photos=photos,
            until=until,
            to_unit=body.get("to_unit"),
            position=position,
            expected_version=expected,
            client_id=idempotency.client_event_id(account.id, key),
        )
        session.flush()
        links = site_ids_of(session, [changed.id])
        answer = {
            "event": {
                "id": recorded.event.id,
                "action": workitems.STEP_OF_EVENT[recorded.event.action],
                "status": recorded.event.to_status,
                "valid_at": zone_iso(recorded.event.valid_at),
                "recorded_at": zone_iso(recorded.event.recorded_at),
            },
            "item": item_dict(changed, _locale(), now(), site_ids=links.get(changed.id, [])),
        }
        return 201, answer, {"ETag": _etag(changed)}

    return idempotency.run_once(session, account.id, key, digest, work)


#: how many orders a tab of the inbox, or a unit of the board, lists (its count is of all): the most urgent
PER_TAB = Param(
    "limit",
    {"type": "integer", "minimum": 1, "maximum": 500, "default": 50},
    "At most this many orders per tab (the board: per unit), the most urgent first; the counts are of all",
)


def _per_tab(raw) -> int:
    return 50 if raw in (None, "") else parse_filter({"limit": raw}).limit


@bp.get("/inbox")
@operation(
    "A unit's inbox: 待签收, 待反馈, 待办结, 被退回, 已办结 (a unit user: their unit; others: ?unit=)",
    tag="work orders",
    query=(WORK_ITEM_QUERY[0], PER_TAB),
    responses={"200": "tabs of orders with counts"},
)
@allow(*READERS)
def get_inbox():
    session, account, at = get_session(), current_account(), now()
    raw = request.args.get("unit")
    unit = None if account.role == "unit" or not raw else resolve("unit", raw)
    box = inbox(session, account, at, unit=unit, per_tab=_per_tab(request.args.get("limit")))
    ids = [i.id for items in box.tabs.values() for i in items]
    links = site_ids_of(session, ids)
    locale = _locale()
    return jsonify(
        {
            "unit": account.unit if account.role == "unit" else unit,
            "counts": box.counts,
            "tabs": {
                tab: [item_dict(i, locale, at, site_ids=links.get(i.id, [])) for i in items]
                for tab, items in box.tabs.items()
            },
        }
    )


@bp.get("/board")
@operation(
    "The 督查 board: open orders by unit, overdue first, 黄牌/红牌, the units' on-time rates",
    tag="work orders",
    query=(PER_TAB,),
    responses={"200": "units"},
)
@allow("commander", "admin", "reporter")
def get_board():
    session, at = get_session(), now()
    locale = _locale()
    from recovery.vocab import label

    rows = board(session, at, per_unit=_per_tab(request.args.get("limit")))
    ids = [item.id for row in rows for item, _mark in row.items]
    links = site_ids_of(session, ids)
    return jsonify(
        {
            "units": [
                {
                    "unit": row.unit,
                    "unit_label": label("unit", row.unit, locale),
                    "open": row.open,
                    "red": row.red,
                    "yellow": row.yellow,
                    "to_check": row.to_check,
                    "closed": row.closed,
                    "on_time": row.on_time,
                    "due": row.due,
                    "on_time_rate": row.on_time_rate,
                    "items": [
                        item_dict(item, locale, at, site_ids=links.get(item.id, [])) for item, _ in row.items
                    ],
                }
                for row in rows
            ]
        }
    )
