"""The commander's queue of flagged changes: edits made before a site was closed that arrived after."""

from __future__ import annotations

from flask import Blueprint, jsonify

from recovery.auth import current_account
from recovery.db import get_session
from recovery.errors import NotFoundError, ValidationError
from recovery.i18n import current_locale
from recovery.ledger.conflicts import flagged_event, is_pending, pending_conflicts
from recovery.ledger.record import record_site_event
from recovery.query.site import find_site
from recovery.timeutil import now
from recovery.web.apidoc import operation
from recovery.web.declared import DECISION_BODY
from recovery.web.features import event_dict, site_feature
from recovery.web.policy import allow
from recovery.web.site_access import check_scope, json_body

bp = Blueprint("conflicts_api", __name__, url_prefix="/api/v1")
COMMANDERS = ("commander", "admin")


@bp.get("/conflicts")
@operation(
    "Changes held as conflicts, awaiting a commander", tag="field", responses={"200": "conflicts and count"}
)
@allow(*COMMANDERS)
def list_conflicts():
    session, zh = get_session(), current_locale().startswith("zh")
    items = []
    for event in pending_conflicts(session):
        site = find_site(session, event.site_id)
        items.append(
            {"event": event_dict(event, zh, site.kind), "site": site_feature(site, zh, may_change=True)}
        )
    return jsonify({"conflicts": items, "count": len(items)})


@bp.post("/conflicts/<id:event_id>")
@operation(
    "Decide a conflict",
    tag="field",
    body=DECISION_BODY,
    responses={"201": "the decision, recorded in the ledger"},
)
@allow(*COMMANDERS)
def decide(event_id: int):
    """`{"decision": "dismiss"}` keeps the site as it is; `"apply"` places the flagged change at the time it
    happened, as if it had arrived in time: the site's state and the figures of that day and after follow (as
    known from now on; what was known before stays as it was). Either way the decision is an event in the
    ledger, with who made it and when."""
    session, account = get_session(), current_account()
    event = flagged_event(session, event_id)
    if event is None:
        raise NotFoundError("No flagged change %(event)s.", event=event_id)
    if not is_pending(session, event):
        raise ValidationError("This change has already been decided.")
    body = DECISION_BODY.read(json_body())
    decision = body["decision"]
    site = find_site(session, event.site_id)
    check_scope(site)
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
        recorded = record_site_event(
            session,
            site.id,
            action=event.action,
            to_status=event.to_status,
            track=event.track,
            measures=event.measures,
            actor=account.display_name,
            valid_at=event.valid_at,
            note=note,
            user_id=account.id,
            details={**details, "made_by": event.actor},
            decided=True,
        )
    session.commit()
    zh = current_locale().startswith("zh")
    return jsonify(
        {
            "event": event_dict(recorded.event, zh, site.kind),
            "site": site_feature(find_site(session, site.id), zh, may_change=True),
        }
    ), 201
