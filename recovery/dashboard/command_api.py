"""JSON endpoints for commanders: preview, make and undo an assignment of sites (by id, the map's filters or a
drawn shape), issue a 督办 order."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
from flask import Blueprint, current_app, jsonify, url_for
from flask_babel import gettext

from recovery import command
from recovery.auth import current_account
from recovery.db import get_session
from recovery.errors import ValidationError
from recovery.map.build import display_crs
from recovery.map.points import point_table
from recovery.map.selection import parse_polygon, select_within
from recovery.query.sites import parse_site_query
from recovery.timeutil import deadline_text, deadline_window, end_of_day, now, parse_day, zone_iso
from recovery.web.apidoc import operation
from recovery.web.declared import ASSIGN_BODY, SUPERVISE_BODY
from recovery.web.policy import allow
from recovery.web.site_access import json_body

bp = Blueprint("command_api", __name__, url_prefix="/api/v1/command")
COMMANDERS = ("commander", "admin")


def _site_ids(body: dict) -> list[int]:
    """The ids sent, or the sites the map's filter (and date) keeps, inside the drawn polygon if one is sent."""
    if body.get("site_ids") is not None:  # a list of ids (ASSIGN_BODY)
        return body["site_ids"]
    raw = body.get("filter")
    polygon = body.get("polygon")
    if raw is None and polygon is not None:
        raw = {}
    if not isinstance(raw, dict):
        raise ValidationError("Send site_ids or the map's filter.")
    crs = display_crs(current_app.config["RECOVERY"].get("TILE_SERVER", "none"))
    flt = parse_site_query(raw, crs=crs)
    # the sites as the map showed them: as of its date (the end of that day) or now
    as_of = flt.as_of
    if polygon is not None:
        polygon = parse_polygon(polygon, crs)
    session = get_session()
    cache = current_app.extensions.setdefault("recovery.map_tables", OrderedDict())
    table = point_table(cache, session, as_of, fresh=True)  # what is assigned is what is there now
    rows = select_within(session, table, flt, as_of or now(), polygon)
    return [int(i) for i in table.ids[np.flatnonzero(rows)]]


def _assignment_args(body: dict) -> dict:
    """The sites, the team and the deadline an assignment body names (a day: the end of it, Asia/Shanghai)."""
    deadline = body.get("deadline")
    # a deadline is a day ahead, not a day to look at: it may lie up to a year past today
    deadline = end_of_day(parse_day(str(deadline), deadline_window())) if deadline else None
    return {
        "site_ids": _site_ids(body),
        "team_id": body["team_id"],
        "deadline": deadline,
        "clear_deadlines": bool(body.get("clear_deadlines")),
    }


@bp.post("/assign/preview")
@operation(
    "What an assignment would do, changing nothing: how many sites, which teams lose them, which deadlines change",
    tag="command",
    body=ASSIGN_BODY,
    responses={"200": "the preview"},
)
@allow(*COMMANDERS)
def preview():
    """The same body as `/assign`: the commander sees this, then confirms with `expected_count`."""
    preview = command.preview_assignment(get_session(), **_assignment_args(ASSIGN_BODY.read(json_body())))
    get_session().rollback()
    return jsonify(
        {
            "count": len(preview.site_ids),
            "team": {"id": preview.team.id, "name": preview.team.name},
            "already": preview.already,
            "losing": [{"team_id": t.team_id, "name": t.name, "count": t.count} for t in preview.losing],
            "deadline": zone_iso(preview.deadline),
            "deadline_text": deadline_text(preview.deadline),
            "clear_deadlines": preview.clear_deadlines,
            "deadlines_changed": preview.deadlines_changed,
            "deadlines_kept": preview.deadlines_kept,
            "past_deadline": preview.past_deadline,
        }
    )


@bp.post("/assign")
@operation(
    "Assign sites to a team with a deadline (by id, the map's filter or a drawn polygon)",
    tag="command",
    body=ASSIGN_BODY,
    responses={"201": "the assignment (its key, to undo it), the sites assigned and their events"},
)
@allow(*COMMANDERS)
def assign():
    """`{"site_ids": [..]}`, or `{"filter": {kind, status, subdistrict, overdue, team, q, date}}` and/or
    `{"polygon": <GeoJSON Polygon drawn on the map>}`, with `team_id` and `deadline` (a day: the end of it,
    Asia/Shanghai; none keeps each site's deadline, `clear_deadlines` removes them). A past deadline needs
    `confirm_past_deadline`; `expected_count` (the preview's count) refuses a selection that changed since."""
    body = ASSIGN_BODY.read(json_body())
    account = current_account()
    result = command.assign_sites(
        get_session(),
        **_assignment_args(body),
        confirm_past_deadline=bool(body.get("confirm_past_deadline")),
        expected_count=body.get("expected_count"),
        actor=account.display_name,
        user_id=account.id,
    )
    get_session().commit()
    return jsonify(
        {
            "assignment": result.key,
            "undo_url": url_for("command_api.undo", key=result.key),
            "site_ids": list(result.site_ids),
            "event_ids": list(result.event_ids),
            "team": {"id": result.team.id, "name": result.team.name},
            "deadline": zone_iso(result.deadline),
            "message": gettext(
                "%(count)s sites assigned to %(team)s.", count=len(result.site_ids), team=result.team.name
            ),
        }
    ), 201


@bp.post("/assignments/<key>/undo")
@operation(
    "Undo an assignment: each site gets back its previous team and deadline, as a new assignment on record",
    tag="command",
    responses={"201": "the undoing assignment", "404": "no such assignment", "409": "undone already"},
)
@allow(*COMMANDERS)
def undo(key: str):
    """Sites assigned again since keep that later assignment (`kept`)."""
    account = current_account()
    result = command.undo_assignment(get_session(), key, actor=account.display_name, user_id=account.id)
    get_session().commit()
    message = gettext(
        "Assignment undone: %(count)s sites have their previous team and deadline again.",
        count=len(result.site_ids),
    )
    if result.kept:
        message += " " + gettext(
            "%(count)s sites assigned again since were left as they are.", count=len(result.kept)
        )
    return jsonify(
        {
            "assignment": result.key,
            "undoes": result.undoes,
            "site_ids": list(result.site_ids),
            "event_ids": list(result.event_ids),
            "kept": list(result.kept),
            "message": message,
        }
    ), 201


@bp.post("/supervise")
@operation(
    "Issue a supervision order (督办) to a responsible unit",
    tag="command",
    body=SUPERVISE_BODY,
    responses={"201": "the work item with its 13710 deadlines"},
)
@allow(*COMMANDERS)
def supervise():
    """`{"title", "responsible_unit", "severity": "general"|"major", "site_id"}`: a 督办 work item."""
    body = SUPERVISE_BODY.read(json_body())
    site_id = body.get("site_id")
    item = command.issue_supervision_order(
        get_session(),
        title=str(body.get("title") or ""),
        responsible_unit=str(body.get("responsible_unit") or ""),
        severity=str(body.get("severity") or "general"),
        site_id=site_id,
        actor=current_account().display_name,
        user_id=current_account().id,
    )
    get_session().commit()
    return jsonify(
        {
            "id": item.id,
            "key": item.key,
            # the order's page, where it is followed to 销号 (the map links to it)
            "url": url_for("work_pages.item_page", item_id=item.id),
            "feedback_due": zone_iso(item.feedback_due),
            "resolve_due": zone_iso(item.resolve_due),
            "message": gettext("Supervision order %(key)s issued.", key=item.key),
        }
    ), 201
