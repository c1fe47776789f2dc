"""The commander's queue of flagged changes: edits made before a site was closed that arrived after."""

from __future__ import annotations

from flask import Blueprint, jsonify
from sqlalchemy import select

from recovery.auth import current_account
from recovery.db import get_session
from recovery.errors import NotFoundError, ValidationError
from recovery.i18n import current_locale
from recovery.kinds import get_kind
from recovery.ledger.record import record_site_event
from recovery.models import Event, Site
from recovery.timeutil import now
from recovery.web.features import event_dict, site_feature
from recovery.web.policy import allow
from recovery.web.site_access import check_scope, json_body

bp = Blueprint("conflicts_api", __name__, url_prefix="/api/v1")
COMMANDERS = ("commander", "admin")


def pending_conflicts(session) -> list[Event]:
    """Flagged events that no later event has resolved."""
    flagged = list(session.scalars(select(Event).where(Event.flag.is_not(None)).order_by(Event.id)))
    if not flagged:
        return []
    resolved = set(
        session.scalars(
            select(Event.details["resolves"].as_integer()).where(
                Event.details["resolves"].as_integer().in_([e.id for e in flagged])
            )
        )
    )
    return [e for e in flagged if e.id not in resolved]


@bp.get("/conflicts")
@allow(*COMMANDERS)
def list_conflicts():
    session, zh = get_session(), current_locale().startswith("zh")
    items = []
    for event in pending_conflicts(session):
        site = session.get(Site, event.site_id)
        items.append(
            {"event": event_dict(event, zh, site.kind), "site": site_feature(site, zh, may_change=True)}
        )
    return jsonify({"conflicts": items, "count": len(items)})


@bp.post("/conflicts/<id:event_id>")
@allow(*COMMANDERS)
def decide(event_id: int):
    """`{"decision": "dismiss"}` keeps the site as it is; `"apply"` makes the flagged change now (reopening
    the site if it is closed). Either way the decision is an event in the ledger, with who made it."""
    session, account = get_session(), current_account()
    event = session.get(Event, event_id)
    if event is None or event.flag is None:
        raise NotFoundError("No flagged change %(event)s.", event=event_id)
    if event not in pending_conflicts(session):
        raise ValidationError("This change has already been decided.")
    body = json_body()
    decision = body.get("decision")
    if decision not in ("apply", "dismiss"):
        raise ValidationError("decision must be apply or dismiss.")
    site = session.get(Site, event.site_id)
    check_scope(site)
    kind = get_kind(site.kind)
    details = {"resolves": event.id, "decision": decision}
    note = body.get("note")  # checked as every note is, by the ledger: text, at most 2,000 characters
    if decision == "dismiss":
        recorded = record_site_event(
            session,
            site.id,
            action="note",
            actor=account.display_name,
            valid_at=now(),
            note=note,
            user_id=account.id,
            details=details,
        )
    else:
        action = "reopen" if site.status == kind.done_status else "transition"
        recorded = record_site_event(
            session,
            site.id,
            action=action,
            to_status=event.to_status,
            track=event.track,
            measures=event.measures,
            actor=account.display_name,
            valid_at=now(),
            note=note,
            user_id=account.id,
            details=details,
        )
    session.commit()
    zh = current_locale().startswith("zh")
    return jsonify(
        {
            "event": event_dict(recorded.event, zh, site.kind),
            "site": site_feature(session.get(Site, site.id), zh, may_change=True),
        }
    ), 201
