"""Pages of the command loop (督查交办): a unit's inbox, the commander's 督查 board, one work order's page and the
form that opens one. Actions post to the JSON API (`recovery/web/workitems_api.py`) from the page's script."""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, redirect, render_template, request, url_for

from recovery import attachments, workitems, workitems_read
from recovery.auth import current_account
from recovery.db import get_session
from recovery.fields import Args
from recovery.i18n import current_locale
from recovery.timeutil import deadline_text, now, zone_minute
from recovery.vocab import label, labels
from recovery.web.declared import WORK_ITEM_QUERY
from recovery.web.jsmessages import strings
from recovery.web.policy import allow
from recovery.web.site_access import attachment_dict, work_item_or_404
from recovery.workitems_read import (
    INBOX_TABS,
    board,
    item_dict,
    linked_sites,
    list_items,
    parse_filter,
    site_ids_of,
    timeline,
    unit_summary,
)

bp = Blueprint("work_pages", __name__, url_prefix="/work-items")
#: orders a tab of the inbox page shows (a phone's worth); the rest are in the paged list
INBOX_PER_TAB = 50
#: orders the board page shows per unit, most urgent first (as the API's default); the rest in the paged list
BOARD_PER_UNIT = 50


def _common() -> dict:
    locale = current_locale()
    return {
        "locale": locale,
        "strings": strings("workorders"),
        "unit_labels": labels("unit", locale),
        "status_labels": labels("work_item_status", locale),
        "category_labels": labels("category", locale),
        "severity_labels": labels("severity", locale),
        "step_labels": step_labels(),
        "action_labels": step_labels(workitems.ACTION_NAMES),
        "deadline_text": deadline_text,
        "until_text": lambda text: deadline_text(datetime.fromisoformat(text)),
        "zone_minute": zone_minute,
    }


def step_labels(names: dict[str, str] = workitems.STEP_NAMES) -> dict[str, str]:
    """The steps by their names in the reader's language (交办, 签收, 反馈 …)."""
    from recovery.i18n import translate

    return {step: translate(message) for step, message in names.items()}


@bp.get("/")
@allow(*workitems.READERS)
def inbox_page():
    return redirect(url_for("work_pages.inbox"))


@bp.get("/inbox")
@allow(*workitems.READERS)
def inbox():
    """A unit's inbox (a unit user: theirs; others pick a unit, or see the list of all)."""
    session, account, at = get_session(), current_account(), now()
    args = Args(request.args, WORK_ITEM_QUERY)
    unit = account.unit if account.role == "unit" else parse_filter(args).unit
    if unit is None and account.role != "unit":
        return _list_page(parse_filter(args), at)
    box = workitems_read.inbox(session, account, at, unit=unit, per_tab=INBOX_PER_TAB)
    locale = current_locale()
    tabs = {tab: [item_dict(i, locale, at) for i in items] for tab, items in box.tabs.items()}
    return render_template(
        "workorders/inbox.html",
        unit=unit,
        unit_label=label("unit", unit, locale),
        tabs=tabs,
        counts=box.counts,
        tab_names=list(INBOX_TABS),
        # a tab shows its first orders; the rest are one link away, in the paged list
        tab_more={
            tab: url_for("work_pages.list_page", unit=unit, status=",".join(statuses))
            for tab, statuses in INBOX_TABS.items()
            if box.counts[tab] > len(tabs[tab])
        },
        **_common(),
    )


@bp.get("/list")
@allow(*workitems.READERS)
def list_page():
    """Every order the reader may see that matches the filters (a unit's included), a page at a time."""
    args = Args(request.args, WORK_ITEM_QUERY)
    return _list_page(parse_filter(args), now())


def _list_page(flt, at: datetime):
    session, account = get_session(), current_account()
    items, total = list_items(session, account, flt, at)
    links = site_ids_of(session, [i.id for i in items])
    rows = [item_dict(i, current_locale(), at, site_ids=links.get(i.id, [])) for i in items]
    kept = {k: v for k, v in request.args.items() if k != "offset"}
    return render_template(
        "workorders/list.html",
        rows=rows,
        total=total,
        flt=flt,
        summary=unit_summary(session, at),
        next_url=url_for("work_pages.list_page", **kept, offset=flt.offset + flt.limit)
        if total > flt.offset + flt.limit
        else None,
        previous_url=url_for("work_pages.list_page", **kept, offset=max(0, flt.offset - flt.limit))
        if flt.offset
        else None,
        **_common(),
    )


@bp.get("/board")
@allow("commander", "admin", "reporter")
def board_page():
    session, at = get_session(), now()
    locale = current_locale()
    rows = board(session, at, per_unit=BOARD_PER_UNIT)
    waiting = ",".join((*workitems.ACTIVE, *workitems.TO_CHECK))
    return render_template(
        "workorders/board.html",
        rows=[(row, [(item_dict(item, locale, at), mark) for item, mark in row.items]) for row in rows],
        # a unit with more orders than the board shows: the rest in the paged list
        more={
            row.unit: url_for("work_pages.list_page", unit=row.unit, status=waiting)
            for row in rows
            if row.open + row.to_check > len(row.items)
        },
        summary=unit_summary(session, at),
        active=workitems.ACTIVE,
        to_check=workitems.TO_CHECK,
        **_common(),
    )


@bp.get("/new")
@allow(*workitems.COMMAND_ROLES)
def new_page():
    """The form that opens (交办) an order; `?site=ID` (the map, a site page) fills in the site."""
    site_ids = [s for s in request.args.get("site", "").split(",") if s.strip().isdigit()][:200]
    return render_template(
        "workorders/new.html",
        site_ids=",".join(site_ids),
        category=request.args.get("category", "supervision"),
        **_common(),
    )


@bp.get("/<id:item_id>")
@allow(*workitems.READERS)
def item_page(item_id: int):
    session, account, at = get_session(), current_account(), now()
    item = work_item_or_404(item_id)
    steps, state = timeline(session, item)
    sites = linked_sites(session, item.id)
    locale = current_locale()
    return render_template(
        "workorders/item.html",
        item=item,
        data=item_dict(item, locale, at, site_ids=[s.id for s in sites]),
        steps=steps,
        state=state,
        sites=[
            {
                "id": s.id,
                "key": s.key,
                "kind": label("kind", s.kind, locale),
                "status": label(f"status.{s.kind}", s.status, locale),
                "lon": s.geom.centroid.x,
                "lat": s.geom.centroid.y,
            }
            for s in sites
        ],
        actions=workitems.allowed_steps(account, item),
        attachments=[attachment_dict(a) for a in attachments.of_order(session, item.id)],
        may_attach=account.role in workitems.CONTRIBUTORS,
        **_common(),
    )
