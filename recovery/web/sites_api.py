"""JSON API for the field: list and read sites, record changes (If-Match, Idempotency-Key), report new sites."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from types import SimpleNamespace

from flask import Blueprint, current_app, jsonify, request, url_for
from shapely.geometry import Point, mapping

from recovery import scope
from recovery.auth import current_account
from recovery.db import get_session
from recovery.errors import PreconditionRequired, ValidationError
from recovery.fields import Param
from recovery.geodata import load_geodata
from recovery.i18n import current_locale, translate
from recovery.kinds import get_kind
from recovery.ledger.record import record_site_event, sync_site
from recovery.ledger.relapse import report_relapse
from recovery.models import Site
from recovery.numbers import read_whole_number
from recovery.photos import unusable_uploads
from recovery.query.collection import site_rows, sites_state
from recovery.query.site import find_site, site_history
from recovery.query.sites import parse_site_query, site_filters
from recovery.sites import distance_from_site, draft_site, new_site_deadline, report_site, team_for_report
from recovery.timeutil import now, zone_iso
from recovery.web import idempotency
from recovery.web.apidoc import json_response, operation
from recovery.web.collection import collection_chunks
from recovery.web.declared import (
    CHECK_IN_BODY,
    EVENT_BODY,
    IDEMPOTENCY_KEY,
    IF_MATCH,
    RELAPSE_BODY,
    SITE_BODY,
)
from recovery.web.features import etag_for, event_dict, site_feature, urgency_key
from recovery.web.params import instant_field
from recovery.web.policy import SIGNED_IN, Forbidden, allow
from recovery.web.site_access import (
    MAX_EVENT_PHOTOS,
    WRITERS,
    check_scope,
    json_body,
    photos_of,
    site_or_404,
)
from recovery.workitems_read import site_work_items

bp = Blueprint("sites_api", __name__, url_prefix="/api/v1")
#: how many sites a list answers by default, and at most in a page
LIST_LIMITS = {"default_limit": 500, "max_limit": 5000}
#: the `limit` that asks for every matching site (no maximum), streamed
WHOLE = "all"
#: the shape of the list's features; changing it changes every ETag
LIST_FORMAT = 1
LIST_ETAG = (
    "Strong: changes when any site, the caller's scope or the language does, or a deadline passes; send it "
    "in If-None-Match to get a 304 while nothing has"
)


def _list_query() -> tuple[Param, ...]:
    """The site filters with the list's limits; `limit` also takes `all`."""
    out = []
    for param in site_filters(**LIST_LIMITS):
        if param.name == "limit":
            bounds = {k: v for k, v in param.schema.items() if k != "type"}
            schema = {"anyOf": [{"type": "integer"}, {"type": "string", "enum": [WHOLE]}], **bounds}
            param = replace(param, schema=schema, description=f"{param.description}; `{WHOLE}`: every one")
        out.append(param)
    return tuple(out)


LIST_QUERY = _list_query()


def _zh() -> bool:
    return current_locale().startswith("zh")


def _geodata():
    return load_geodata(current_app.config["RECOVERY"]["GEODATA_DIR"])


def _position(body: dict) -> dict | None:
    if body.get("position") is None:
        return None
    if not isinstance(body["position"], dict):
        raise ValidationError("position must be an object with lon, lat and crs.")
    from recovery.coords import parse_position

    return parse_position(body["position"], zone_bounds=_geodata().zone.bounds)


def _valid_at(body: dict):
    return instant_field(body, "valid_at") or now()


@bp.get("/me")
@operation("The signed-in user", tag="field", responses={"200": "user name, role, scope"})
@allow(*SIGNED_IN)
def me():
    from flask_wtf.csrf import generate_csrf

    account = current_account()
    return jsonify(
        {
            "username": account.username,
            "display_name": account.display_name,
            "role": account.role,
            "subdistricts": sorted(account.subdistricts),
            "team_ids": sorted(account.team_ids),
            # the page's scripts send it with their writes; a bearer token needs none (and making one signs
            # a session cookie on every call)
            "csrf_token": None if account.via_token else generate_csrf(),
        }
    )


@bp.get("/sites")
@operation(
    "Sites, filtered, most urgent first, then nearest to `near`; `limit=all`: every matching site, streamed",
    tag="field",
    query=LIST_QUERY,
    responses={
        "200": json_response("a GeoJSON FeatureCollection of sites")
        | {"headers": {"ETag": {"description": LIST_ETAG, "schema": {"type": "string"}}}},
        "304": {
            "description": "unchanged: the request's If-None-Match header names the answer's ETag (no body)"
        },
    },
)
@allow(*SIGNED_IN)
def list_sites():
    """GeoJSON of sites; `mine=1` gives the caller's sites, most urgent first, then nearest to `near`;
    `limit=all` every matching site, streamed. An unchanged answer costs a 304 (ETag, If-None-Match)."""
    session, account = get_session(), current_account()
    whole = request.args.get("limit") == WHOLE
    if whole:
        args = request.args.copy()
        args.poplist("limit")
        query = parse_site_query(args)  # no limit: every matching site
    else:
        query = parse_site_query(request.args, **LIST_LIMITS)
    at, zh = now(), _zh()
    tag = _list_etag(sites_state(session, at), query, account)
    headers = {"Cache-Control": "private, no-cache", "Vary": "Accept-Language, Authorization, Cookie"}
    if request.if_none_match.contains_weak(tag):
        response = current_app.response_class(status=304, headers=headers)
    else:
        found = site_rows(session, query, account, urgency_key)
        chunks = collection_chunks(found, zh=zh, may_change=account.may_change, at=at)
        # the chunks need no request: the rows are read and the caller, language and moment fixed already
        body = chunks if whole else "".join(chunks)
        response = current_app.response_class(body, mimetype="application/json", headers=headers)
    response.set_etag(tag)
    return response


def _list_etag(state: tuple, query, account) -> str:
    """The list's strong ETag: the sites' state, the query as parsed (any spelling of a filter gives the same
    tag), who asks (`mine` and `may_change` follow the caller's role and scope) and the language."""
    who = (account.id, account.role, sorted(account.subdistricts), sorted(account.team_ids))
    text = repr((LIST_FORMAT, state, query, who, current_locale()))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


@bp.get("/sites/<id:site_id>")
@operation(
    "One site with its history, work items and photos",
    tag="field",
    responses={"200": "a GeoJSON Feature; its version in the ETag header"},
)
@allow(*SIGNED_IN)
def get_site(site_id: int):
    """One site with its history, photos and work items; the ETag carries its version for If-Match."""
    session, zh = get_session(), _zh()
    site = site_or_404(site_id)
    feature = site_feature(site, zh, may_change=current_account().may_change(site))
    feature["properties"]["history"] = [event_dict(e, zh, site.kind) for e in site_history(session, site.id)]
    feature["properties"]["work_items"] = [
        {
            "id": w.id,
            "key": w.key,
            "title": w.title,
            "status": w.status,
            "severity": w.severity,
            "feedback_due": zone_iso(w.feedback_due),
            "resolve_due": zone_iso(w.resolve_due),
        }
        for w in site_work_items(session, site.id)
    ]
    feature["properties"]["photos"] = photos_of(session, site.id)
    response = jsonify(feature)
    response.headers["ETag"] = etag_for(site)
    return response


def _if_match() -> int:
    raw = request.headers.get("If-Match")
    if raw is None:
        raise PreconditionRequired("Send If-Match with the site's version (its ETag) to change it.")
    version = read_whole_number(raw.strip().removeprefix("W/").strip('"'))
    if version is None:
        raise ValidationError('If-Match must be the site\'s ETag, such as "3".')
    return version


@bp.post("/sites/<id:site_id>/events")
@operation(
    "Record a change (If-Match, Idempotency-Key)",
    tag="field",
    headers=(IF_MATCH, IDEMPOTENCY_KEY),
    body=EVENT_BODY,
    responses={
        "201": "the event; the new ETag in the ETag header",
        "202": "held as a conflict for a commander to decide",
        "200": "replayed",
    },
)
@allow(*WRITERS)
def post_event(site_id: int):
    """Record a change to a site. Needs If-Match; honours Idempotency-Key."""
    session, account = get_session(), current_account()
    expected = _if_match()
    body = EVENT_BODY.read(json_body())
    key = idempotency.idempotency_key()
    action = body.get("action") or "transition"
    if action == "reopen" and account.role not in ("commander", "admin"):
        raise Forbidden("Only a commander may reopen a finished site.")
    photos = _photo_ids(session, account.id, site_id, body)
    digest = idempotency.request_digest({**body, "if_match": expected})
    # everything that needs no lock is parsed before the write lock is taken; the site is read once, under
    # it, by the write itself: its scope checked there (404 and 403 come from that read) and the answer
    # built from the row it read and the projection it stored
    valid_at, position = _valid_at(body), _position(body)

    def work():
        recorded = record_site_event(
            session,
            site_id,
            action=action,
            to_status=body["status"],
            track=body.get("track"),
            measures=body.get("measures"),
            note=body.get("note", ""),
            actor=account.display_name,
            valid_at=valid_at,
            client_id=idempotency.client_event_id(account.id, key),
            expected_version=expected,
            user_id=account.id,
            position=position,
            details={"photos": photos} if photos else None,
            # not looked for first: a retry's event is refused by the ledger's unique client id (or its
            # If-Match by the version the original moved on), and run_once answers with what the original stored
            client_id_unused=key is not None,
            check_site=check_scope,
            rollup_at_commit=True,  # the cells every update shares stay locked for the commit only
        )
        return _answer(recorded, site_id, recorded.site_row)

    return idempotency.run_once(session, account.id, key, digest, work, look_first=False)


def _photo_ids(session, user_id: int, site_id: int, body: dict) -> list[str]:
    """The upload ids an event names: photos of this site that this user has finished uploading."""
    photos = body.get("photos", [])
    if not isinstance(photos, list) or not all(isinstance(p, str) for p in photos):
        raise ValidationError("photos must be a list of upload ids.")
    photos = list(dict.fromkeys(photos))
    if len(photos) > MAX_EVENT_PHOTOS:
        raise ValidationError("A change has at most %(count)s photos.", count=MAX_EVENT_PHOTOS)
    missing = unusable_uploads(session, user_id, site_id, photos)
    if missing:
        raise ValidationError(
            "No finished upload %(upload)s of yours for this site: upload the photo first.",
            upload=missing[0][:100],
        )
    return photos


def _answer(recorded, site_id: int, site=None) -> tuple[int, dict, dict]:
    """The answer to a recorded change: the event and the site as the write left it. `site` is the row the
    write read (`Recorded.site_row`) or a `Site` read before it, brought to the projection the write stored;
    for a replay of an event stored earlier, the site as it is now."""
    if recorded.site_state is None or site is None:
        session = get_session()
        session.flush()
        site = find_site(session, site_id)
    elif isinstance(site, Site):
        sync_site(site, recorded.site_state)
    else:
        site = SimpleNamespace(**{**site._mapping, **recorded.site_state})
    zh = _zh()
    feature = site_feature(site, zh, may_change=True)
    body = {"event": event_dict(recorded.event, zh, site.kind), "site": feature, "flagged": recorded.flagged}
    if recorded.flagged:
        body["message"] = translate(
            "The site was closed after this change was made; it is stored for a "
            "commander to decide and the site stays closed."
        )
        return 202, body, {"ETag": etag_for(site)}
    return 201, body, {"ETag": etag_for(site)}


@bp.post("/sites/<id:site_id>/check-in")
@operation(
    "Daily check-in of a disinfection point",
    tag="field",
    headers=(IDEMPOTENCY_KEY,),
    body=CHECK_IN_BODY,
    responses={"201": "the event", "200": "replayed"},
)
@allow(*WRITERS)
def check_in(site_id: int):
    """Today's visit to a disinfection point: once per point per day."""
    session, account = get_session(), current_account()
    site = site_or_404(site_id)
    check_scope(site)
    body = CHECK_IN_BODY.read(json_body() if request.get_data() else {})
    key = idempotency.idempotency_key()
    digest = idempotency.request_digest(body)
    position, photos = _position(body), _photo_ids(session, account.id, site.id, body)
    # the position proof: how far from the point the visit was made, kept with the event
    details = {"distance_m": distance_from_site(site.geom, position)} if position else {}
    if photos:
        details["photos"] = photos

    def work():
        recorded = record_site_event(
            session,
            site.id,
            action="check_in",
            actor=account.display_name,
            valid_at=_valid_at(body),
            note=body.get("note", ""),
            client_id=idempotency.client_event_id(account.id, key),
            user_id=account.id,
            position=position,
            details=details or None,
        )
        return _answer(recorded, site.id, site)

    return idempotency.run_once(session, account.id, key, digest, work)


@bp.post("/sites")
@operation(
    "Report a new site",
    tag="field",
    headers=(IDEMPOTENCY_KEY,),
    body=SITE_BODY,
    responses={"201": "the site", "200": "replayed"},
)
@allow(*WRITERS)
def post_site():
    """Report a new site where the reporter stands (`position`) or with a drawn `geometry` (WGS-84)."""
    session, account = get_session(), current_account()
    body = SITE_BODY.read(json_body())
    key = idempotency.idempotency_key()
    digest = idempotency.request_digest(body)
    position = _position(body)
    geometry = body.get("geometry")
    if geometry is None:
        if position is None:
            raise ValidationError("Give the site's position or geometry.")
        geometry = mapping(Point(position["lon"], position["lat"]))
    draft = draft_site(
        body.get("kind"),
        body.get("name"),
        geometry,
        address=body.get("address", ""),
        attributes=body.get("attributes"),
        priority=body.get("priority"),
        deadline=new_site_deadline(get_kind(body.get("kind")), _valid_at(body)),
    )
    place = _geodata().subdistrict_of(draft.geom)
    team_places = scope.team_places(session, account.team_ids)
    if not scope.may_report_at(account, place, team_places):
        raise Forbidden("This place is outside your scope.")
    team_id = team_for_report(session, account, body.get("team"), place, team_places)

    def work():
        site, recorded = report_site(
            session,
            draft,
            _geodata(),
            actor=account.display_name,
            valid_at=_valid_at(body),
            note=body.get("note", ""),
            client_id=idempotency.client_event_id(account.id, key),
            user_id=account.id,
            position=position,
            team_id=team_id,
        )
        session.flush()
        zh = _zh()
        headers = {"ETag": etag_for(site), "Location": url_for("sites_api.get_site", site_id=site.id)}
        return (
            201,
            {"site": site_feature(site, zh, may_change=True), "event": event_dict(recorded.event, zh)},
            headers,
        )

    return idempotency.run_once(session, account.id, key, digest, work)


#: a relapse report's body (see `report_relapse`)
@bp.post("/sites/<id:site_id>/relapse")
@operation(
    "Report that a finished site failed again: held for a commander to decide (Idempotency-Key)",
    tag="field",
    headers=(IDEMPOTENCY_KEY,),
    body=RELAPSE_BODY,
    responses={"202": "stored, flagged for a commander; the site is unchanged", "200": "replayed"},
)
@allow(*WRITERS)
def post_relapse(site_id: int):
    """A worker's report that a finished site failed again, stored flagged in the ledger (not applied): a
    commander applies it (the site reopens) or dismisses it from the dashboard's flagged changes."""
    session, account = get_session(), current_account()
    site = site_or_404(site_id)
    check_scope(site)
    body = RELAPSE_BODY.read(json_body())
    key = idempotency.idempotency_key()
    digest = idempotency.request_digest(body)
    photos = _photo_ids(session, account.id, site.id, body)
    valid_at, position = _valid_at(body), _position(body)
    session.expunge(site)

    def work():
        recorded = report_relapse(
            session,
            site.id,
            actor=account.display_name,
            valid_at=valid_at,
            note=body["note"],
            to_status=body.get("status"),
            client_id=idempotency.client_event_id(account.id, key),
            user_id=account.id,
            position=position,
            details={"photos": photos} if photos else None,
            client_id_unused=key is not None,
        )
        session.flush()
        zh = _zh()
        current = find_site(session, site.id)
        message = translate("Stored for a commander to decide; the site stays finished until then.")
        return (
            202,
            {
                "event": event_dict(recorded.event, zh, current.kind),
                "site": site_feature(current, zh, may_change=True),
                "flagged": recorded.flagged,
                "message": message,
            },
            {"ETag": etag_for(current)},
        )

    return idempotency.run_once(session, account.id, key, digest, work)
