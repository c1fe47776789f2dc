"""`/api/v1/notices` (a user's own notices, the unread count, marking read) and `/api/v1/admin/webhooks` (the
units' webhooks and the delivery log, for an admin), as JSON."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request

from recovery.admin import audit
from recovery.auth import current_account
from recovery.db import get_session
from recovery.db.engine import get_engine
from recovery.errors import ValidationError
from recovery.fields import Body, Field, Param
from recovery.i18n import N_, current_locale, translate
from recovery.notices import inbox, webhooks
from recovery.notices.formats import ACTION_NAMES, KIND_NAMES, MESSAGE_STATUS
from recovery.notices.worker import WorkerConfig, deliver_message
from recovery.numbers import whole_number
from recovery.vocab import label
from recovery.web.apidoc import operation
from recovery.web.policy import SIGNED_IN, allow
from recovery.web.site_access import json_body

bp = Blueprint("notices_api", __name__, url_prefix="/api/v1/notices")
admin_bp = Blueprint("webhooks_api", __name__, url_prefix="/api/v1/admin/webhooks")

TEXT = {"type": "string"}
UNREAD = Param("unread", {"type": "string", "enum": ["0", "1"]}, "1: only the unread notices")
LIMIT = Param("limit", {"type": "integer", "minimum": 1, "maximum": 200, "default": 50}, "At most this many")
BEFORE = Param("before", {"type": "integer", "minimum": 1}, "Only notices older than this id (paging back)")
UNIT = Param("unit", TEXT, "One responsible unit, by any of its names")
WEBHOOK = Param("webhook", {"type": "integer", "minimum": 1}, "One webhook's attempts only")
LOG_LIMIT = Param(
    "limit", {"type": "integer", "minimum": 1, "maximum": 200, "default": 50}, "At most this many"
)
READ_BODY = Body(
    (
        Field(
            "ids",
            {"type": "array", "items": {"type": "integer"}},
            "The notices to mark read (one's own; others' are ignored)",
            message=N_("ids must be a list of notice ids, at most 1000."),
        ),
        Field("all", {"type": "boolean"}, "true: mark every notice read"),
    ),
    "Either ids or all",
)
WEBHOOK_BODY = Body(
    (
        Field("unit", TEXT, required=True, vocabulary="unit"),
        Field("kind", TEXT, "wecom (企业微信), dingtalk (钉钉), feishu (飞书) or generic", required=True),
        Field(
            "url", TEXT, "http:// or https:// only, on a host RECOVERY_WEBHOOK_HOSTS allows", required=True
        ),
        Field(
            "secret", TEXT, "The signing secret (钉钉 SEC…, 飞书, the generic HMAC key); never shown again"
        ),
        Field("name", TEXT, "A name for the admins, at most 120 characters"),
    )
)


@bp.get("")
@operation(
    "My notices, newest first",
    tag="notices",
    query=(UNREAD, LIMIT, BEFORE),
    responses={"200": "notices (text in the caller's language, link to the work order), unread count"},
)
@allow(*SIGNED_IN)
def list_notices():
    unread = request.args.get("unread", "0").strip()
    if unread not in ("0", "1", "true", "false", ""):
        raise ValidationError("unread must be 1 or 0.")
    limit = whole_number(request.args.get("limit", "50"), "limit", 1, inbox.MAX_PAGE)
    before = whole_number(request.args["before"], "before", 1) if request.args.get("before") else None
    session, me, locale = get_session(), current_account(), current_locale()
    rows = inbox.notices(session, me.id, unread=unread in ("1", "true"), limit=limit, before_id=before)
    return jsonify(
        {
            "notices": [inbox.notice_dict(n, locale) for n in rows],
            "count": len(rows),
            "unread": inbox.unread_count(session, me.id),
            "next_before": rows[-1].id if len(rows) == limit else None,
        }
    )


@bp.get("/unread")
@operation("How many of my notices are unread", tag="notices", responses={"200": "unread"})
@allow(*SIGNED_IN)
def unread_count():
    return jsonify({"unread": inbox.unread_count(get_session(), current_account().id)})


@bp.post("/read")
@operation(
    "Mark my notices read",
    tag="notices",
    body=READ_BODY,
    responses={"200": "how many were marked, and the unread count"},
)
@allow(*SIGNED_IN)
def mark_read():
    body = READ_BODY.read(json_body())
    if body.get("all") is True:
        ids = None
    elif "ids" in body:
        ids = inbox.read_ids(body["ids"])
    else:
        raise ValidationError('Give "ids" (a list of notice ids) or "all": true.')
    session, me = get_session(), current_account()
    marked = inbox.mark_read(session, me.id, ids)
    session.commit()
    return jsonify({"marked": marked, "unread": inbox.unread_count(session, me.id)})


# -- the units' webhooks (admin) ---------------------------------------------------------------------------------


def _actor() -> audit.Actor:
    return audit.actor_of(current_account(), request.remote_addr)


def _webhook(hook) -> dict:
    locale = current_locale()
    return webhooks.webhook_dict(hook) | {
        "unit_label": label("unit", hook.unit, locale),
        "kind_label": translate(KIND_NAMES[hook.kind]),
    }


def _delivery(row: dict) -> dict:
    return row | {
        "unit_label": label("unit", row["unit"], current_locale()),
        "action_label": translate(ACTION_NAMES.get(row["action"], row["action"])),
        "message_status_label": translate(MESSAGE_STATUS.get(row["message_status"], row["message_status"])),
    }


@admin_bp.get("")
@operation("The units' webhooks", tag="admin", query=(UNIT,), responses={"200": "webhooks, secrets masked"})
@allow("admin")
def list_webhooks():
    session = get_session()
    found = webhooks.list_webhooks(session, request.args.get("unit") or None)
    return jsonify(
        {
            "webhooks": [_webhook(h) for h in found],
            "count": len(found),
            "outbox": webhooks.outbox_counts(session),
        }
    )


@admin_bp.post("")
@operation("Add a unit's webhook", tag="admin", body=WEBHOOK_BODY, responses={"201": "the webhook"})
@allow("admin")
def add_webhook():
    body = WEBHOOK_BODY.read(json_body())
    hook = webhooks.add_webhook(
        get_session(),
        _actor(),
        unit=body.get("unit"),
        kind=body.get("kind"),
        url=body.get("url"),
        secret=body.get("secret") or "",
        name=body.get("name") or "",
        allowed_hosts=current_app.config["RECOVERY"]["WEBHOOK_HOSTS"],
    )
    return jsonify({"webhook": _webhook(hook)}), 201


@admin_bp.post("/<id:webhook_id>/enable")
@operation("Enable a webhook", tag="admin", responses={"200": "the webhook"})
@allow("admin")
def enable_webhook(webhook_id: int):
    return jsonify({"webhook": _webhook(webhooks.set_enabled(get_session(), _actor(), webhook_id, True))})


@admin_bp.post("/<id:webhook_id>/disable")
@operation(
    "Disable a webhook: its messages wait until it is enabled", tag="admin", responses={"200": "the webhook"}
)
@allow("admin")
def disable_webhook(webhook_id: int):
    return jsonify({"webhook": _webhook(webhooks.set_enabled(get_session(), _actor(), webhook_id, False))})


@admin_bp.delete("/<id:webhook_id>")
@operation("Delete a webhook with its messages and delivery log", tag="admin", responses={"200": "deleted"})
@allow("admin")
def delete_webhook(webhook_id: int):
    webhooks.delete_webhook(get_session(), _actor(), webhook_id)
    return jsonify({"deleted": webhook_id})


@admin_bp.post("/<id:webhook_id>/test")
@operation(
    "Send a test message to a webhook now",
    tag="admin",
    responses={"200": "the message's state and its attempt"},
)
@allow("admin")
def test_webhook(webhook_id: int):
    session = get_session()
    message = webhooks.queue_test(session, _actor(), webhook_id)
    config = WorkerConfig.from_settings(current_app.config["RECOVERY"])
    status = deliver_message(get_engine(), config, message.id)
    attempts = [
        _delivery(d) for d in webhooks.delivery_log(session, webhook_id, 5) if d["message_id"] == message.id
    ]
    return jsonify({"message_id": message.id, "status": status, "deliveries": attempts})


@admin_bp.get("/deliveries")
@operation(
    "The delivery log, newest first", tag="admin", query=(WEBHOOK, LOG_LIMIT), responses={"200": "attempts"}
)
@allow("admin")
def deliveries():
    hook = request.args.get("webhook")
    limit = whole_number(request.args.get("limit", "50"), "limit", 1, webhooks.MAX_LOG)
    rows = webhooks.delivery_log(get_session(), whole_number(hook, "webhook", 1) if hook else None, limit)
    return jsonify({"deliveries": [_delivery(r) for r in rows], "count": len(rows)})
