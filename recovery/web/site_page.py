"""The desktop site page (`/sites/<id>`) for commanders, reporters and admins: the site's status, deadline and team,
a small map, every change with its photos, its work orders and what the viewer may do (open it on the map, issue
a 督办 order through the work-order API). The reads are `recovery.site_page`'s."""

from __future__ import annotations

from flask import Blueprint, render_template

from recovery import site_page as reads
from recovery import workitems
from recovery.auth import current_account
from recovery.db import get_session
from recovery.errors import NotFoundError
from recovery.i18n import current_locale, is_chinese, locale_for, pick, translate
from recovery.kinds import MEASURES, get_kind
from recovery.timeutil import deadline_text, now, zone_minute
from recovery.vocab import labels
from recovery.web.features import site_properties
from recovery.web.jsmessages import strings
from recovery.web.policy import allow
from recovery.workitems_read import item_dict

bp = Blueprint("site_page", __name__)
VIEWERS = reads.READERS


@bp.get("/sites/<id:site_id>")
@allow(*VIEWERS)
def site_page(site_id: int):
    session, account, at = get_session(), current_account(), now()
    page = reads.site_page(session, site_id)
    if page is None:
        raise NotFoundError("Site %(site)s does not exist.", site=site_id)
    locale = current_locale()
    zh = is_chinese(locale)
    site, kind = page.site, get_kind(page.site.kind)
    props = site_properties(site, zh, may_change=account.may_change(site))
    centre = site.geom.representative_point() if site.geom.geom_type == "Polygon" else site.geom.centroid
    statuses = kind.status_vocabulary
    history = [
        {
            "entry": entry,
            "what": _what(entry, statuses, locale),
            "measures": [
                (_measure_label(key, locale), value, MEASURES[key].unit if key in MEASURES else "")
                for key, value in (entry.event.measures or {}).items()
            ],
        }
        for entry in reversed(page.history)
    ]
    return render_template(
        "site_page.html",
        site=site,
        props=props,
        team=page.team,
        history=history,
        loose_photos=page.loose_photos,
        orders=[item_dict(item, locale, at) for item in page.work_items],
        map_sites=[
            {
                "id": site.id,
                "key": site.key,
                "kind": props["kind_label"],
                "status": props["status_label"],
                "lon": centre.x,
                "lat": centre.y,
            }
        ],
        may_issue=account.role in workitems.COMMAND_ROLES,
        unit_labels=labels("unit", locale),
        severity_labels=labels("severity", locale),
        track_labels={t.key: t.label(locale_for(zh)) for t in kind.tracks},
        status_label=lambda key: statuses.label(key, locale),
        strings=strings("workorders"),
        deadline_text=deadline_text,
        zone_minute=zone_minute,
    )


def _measure_label(key: str, locale: str) -> str:
    measure = MEASURES.get(key)
    return pick(measure.zh, measure.en, locale) if measure else key


def _what(entry: reads.HistoryEntry, statuses, locale: str) -> str:
    """What an event did, in the reader's language: a work-order step, or the site's change with its statuses."""
    event = entry.event
    if entry.work_step is not None:
        return translate(workitems.STEP_NAMES[entry.work_step])
    name = translate(reads.SITE_ACTIONS[event.action]) if event.action in reads.SITE_ACTIONS else event.action
    if event.to_status and event.to_status != event.from_status:
        to = statuses.label(event.to_status, locale)
        if event.from_status:
            return f"{name}: {statuses.label(event.from_status, locale)} → {to}"
        return f"{name}: {to}"
    return name
