"""The pages: `/notices` (a signed-in user's notices, Chinese first, phone and desk) and `/admin/webhooks` (the
units' webhooks, test sends and the delivery log, for an admin). Forms carry the CSRF token; a refusal shows the
page again with its message and status, nothing written."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for

from recovery.admin import audit
from recovery.auth import current_account
from recovery.db import get_session
from recovery.db.engine import get_engine
from recovery.errors import RecoveryError
from recovery.i18n import current_locale, translate
from recovery.notices import inbox, webhooks
from recovery.notices.formats import ACTION_NAMES, KIND_NAMES, KINDS, MESSAGE_STATUS
from recovery.notices.worker import WorkerConfig, deliver_message
from recovery.numbers import read_whole_number
from recovery.timeutil import zone_minute
from recovery.vocab import label, labels
from recovery.web.policy import SIGNED_IN, allow

bp = Blueprint("notices", __name__)
admin_bp = Blueprint("webhooks_admin", __name__, url_prefix="/admin/webhooks")

PAGE = 50


@bp.get("/notices")
@allow(*SIGNED_IN)
def notices_page():
    unread = request.args.get("unread") == "1"
    before = read_whole_number(request.args.get("before", "")) or None
    session, me, locale = get_session(), current_account(), current_locale()
    rows = inbox.notices(session, me.id, unread=unread, limit=PAGE, before_id=before)
    return render_template(
        "notices/list.html",
        notices=[inbox.notice_dict(n, locale) for n in rows],
        unread_only=unread,
        unread=inbox.unread_count(session, me.id),
        next_before=rows[-1].id if len(rows) == PAGE else None,
        action_name=lambda action: translate(ACTION_NAMES.get(action, action)),
        when=zone_minute,
    )


@bp.post("/notices/read")
@allow(*SIGNED_IN)
def mark_read():
    session, me = get_session(), current_account()
    one = read_whole_number(request.form.get("id", ""))
    inbox.mark_read(session, me.id, [one] if one else None)
    session.commit()
    return redirect(
        url_for("notices.notices_page", unread="1" if request.form.get("unread") == "1" else None)
    )


# -- /admin/webhooks ---------------------------------------------------------------------------------------------


def _actor() -> audit.Actor:
    return audit.actor_of(current_account(), request.remote_addr)


def _page(status: int = 200, **context):
    session, locale = get_session(), current_locale()
    context.setdefault("error", None)
    return (
        render_template(
            "notices/webhooks.html",
            webhooks=[webhooks.webhook_dict(h) for h in webhooks.list_webhooks(session)],
            log=webhooks.delivery_log(session, limit=100),
            outbox=webhooks.outbox_counts(session),
            units=labels("unit", locale),
            kinds={k: translate(KIND_NAMES[k]) for k in KINDS},
            unit_label=lambda key: label("unit", key, locale),
            action_name=lambda action: translate(ACTION_NAMES.get(action, action)),
            status_name=lambda key: translate(MESSAGE_STATUS.get(key, key)),
            when=zone_minute,
            **context,
        ),
        status,
    )


@admin_bp.get("")
@allow("admin")
def webhooks_page():
    return _page()


@admin_bp.post("")
@allow("admin")
def add_webhook():
    form = request.form
    try:
        webhooks.add_webhook(
            get_session(),
            _actor(),
            unit=form.get("unit", ""),
            kind=form.get("kind", ""),
            url=form.get("url", ""),
            secret=form.get("secret", ""),
            name=form.get("name", ""),
            allowed_hosts=current_app.config["RECOVERY"]["WEBHOOK_HOSTS"],
        )
    except RecoveryError as exc:
        return _page(exc.http_status, error=exc.translated(), form=form)
    flash("added")
    return redirect(url_for("webhooks_admin.webhooks_page"))


@admin_bp.post("/<id:webhook_id>")
@allow("admin")
def change_webhook(webhook_id: int):
    what = request.form.get("do", "")
    session = get_session()
    try:
        if what in ("enable", "disable"):
            webhooks.set_enabled(session, _actor(), webhook_id, what == "enable")
            flash(f"{what}d")  # the flash messages admin/_nav.html shows: enabled, disabled
        elif what == "delete":
            webhooks.delete_webhook(session, _actor(), webhook_id)
            flash("deleted")
        elif what == "test":
            message = webhooks.queue_test(session, _actor(), webhook_id)
            config = WorkerConfig.from_settings(current_app.config["RECOVERY"])
            status = deliver_message(get_engine(), config, message.id)
            flash("test_sent" if status == "sent" else "test_failed")
        else:
            return _page(400, error=translate("Unknown action."))
    except RecoveryError as exc:
        return _page(exc.http_status, error=exc.translated())
    return redirect(url_for("webhooks_admin.webhooks_page"))
