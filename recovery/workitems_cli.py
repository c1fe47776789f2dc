"""`recovery work-items list|show|open|act` and `recovery units list|set`: the command loop from the shell, with
the same rules as the API (a step is taken as a named user, whose role and unit are checked)."""

from __future__ import annotations

import json

import click
from flask.cli import AppGroup
from sqlalchemy import select

from recovery.cli_support import fail, session
from recovery.errors import NotFoundError, RecoveryError, ValidationError

work_items = AppGroup("work-items", help="Work orders (督查交办): list, show, open, act.")
units = AppGroup("units", help="Responsible units (责任单位): leaders and contacts.")


def _account(username: str):
    from recovery.auth.accounts import account_of
    from recovery.models_accounts import User

    db = session()
    user = db.scalar(select(User).where(User.username == username))
    if user is None or not user.active:
        raise NotFoundError("No active user %(name)s.", name=username)
    return account_of(db, user)


def _print(data: dict, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=1))
        return
    due = data["next_due"]
    click.echo(
        f"{data['key']}\t{data['status_label']}\t{data['unit_label']}\t{data['category_label']}\t"
        f"{'超期 overdue ' if data['overdue'] else ''}{(due or {}).get('text', '')}\t{data['title']}"
    )


@work_items.command("list")
@click.option("--unit", default=None, help="A unit by any of its names (城市管理局, urban_management).")
@click.option("--category", default=None)
@click.option("--status", default=None, help="Statuses, comma-separated (待签收, 被退回, closed …).")
@click.option("--overdue", is_flag=True, default=False, help="Only orders a deadline of which has passed.")
@click.option("--site", default=None, help="Orders that concern this site (id).")
@click.option("--q", default=None, help="Text in the key, title or description.")
@click.option("--limit", default="50", show_default=True)
@click.option("--as", "username", default=None, help="List as this user (a unit user sees their unit's).")
@click.option("--json", "as_json", is_flag=True, default=False)
@click.option("--lang", default="zh", show_default=True)
def list_cmd(unit, category, status, overdue, site, q, limit, username, as_json, lang):
    """Work orders, most urgent first."""
    from recovery.timeutil import now
    from recovery.workitems_read import item_dict, list_items, parse_filter, site_ids_of

    db = session()
    try:
        account = _account(username) if username else _Everyone()
        args = {"unit": unit, "category": category, "status": status, "site": site, "q": q, "limit": limit}
        if overdue:
            args["overdue"] = "yes"
        flt = parse_filter({k: v for k, v in args.items() if v not in (None, "")})
        at = now()
        items, total = list_items(db, account, flt, at)
    except RecoveryError as exc:
        fail(exc)
    links = site_ids_of(db, [i.id for i in items])
    rows = [item_dict(i, lang, at, site_ids=links.get(i.id, [])) for i in items]
    if as_json:
        click.echo(json.dumps({"items": rows, "total": total}, ensure_ascii=False, indent=1))
        return
    for row in rows:
        _print(row, False)
    click.echo(f"共 {total} 件 / {total} work orders")


class _Everyone:
    """The shell reading without a user: every order."""

    role = "admin"
    unit = None


def _find(db, ident: str):
    from recovery.models import WorkItem

    item = db.scalar(select(WorkItem).where(WorkItem.key == ident))
    if item is None and ident.isdigit():
        item = db.get(WorkItem, int(ident))
    if item is None:
        raise NotFoundError("Work item %(item)s does not exist.", item=ident)
    return item


@work_items.command("show")
@click.argument("ident")
@click.option("--lang", default="zh", show_default=True)
def show_cmd(ident: str, lang: str):
    """One order (by key, e.g. WI-000127, or id) with its timeline, as JSON."""
    from recovery.timeutil import now, zone_iso
    from recovery.workitems_read import item_dict, linked_sites, timeline

    db = session()
    try:
        item = _find(db, ident)
    except RecoveryError as exc:
        fail(exc)
    steps, state = timeline(db, item)
    data = item_dict(item, lang, now(), site_ids=[s.id for s in linked_sites(db, item.id)])
    data["timeline"] = [
        {
            "action": s.step,
            "status": s.event.to_status,
            "actor": s.event.actor,
            "valid_at": zone_iso(s.event.valid_at),
            "recorded_at": zone_iso(s.event.recorded_at),
            "note": s.event.note,
            "on_time": s.on_time,
        }
        for s in steps
    ]
    data["returned"] = state.returned
    click.echo(json.dumps(data, ensure_ascii=False, indent=1))


@work_items.command("open")
@click.option("--as", "username", required=True, help="The commander who assigns it.")
@click.option(
    "--category",
    default="supervision",
    show_default=True,
    help="督办, 周观摩问题, 万人助万企, 群众反映, 会议交办",
)
@click.option("--title", required=True)
@click.option("--description", default="")
@click.option("--unit", required=True, help="The lead unit, by any of its names.")
@click.option("--co-unit", "co_units", multiple=True, help="A co-unit (repeat for more).")
@click.option("--severity", default="general", show_default=True, help="general (7 days) or major (30 days).")
@click.option(
    "--site", "site_ids", multiple=True, type=int, help="A site the order concerns (repeat for more)."
)
def open_cmd(username, category, title, description, unit, co_units, severity, site_ids):
    """Open (交办) a work order, as a commander."""
    from recovery.timeutil import now
    from recovery.workitems import COMMAND_ROLES, open_work_item
    from recovery.workitems_read import item_dict

    db = session()
    try:
        account = _account(username)
        if account.role not in COMMAND_ROLES:
            raise ValidationError("Only a commander may take this step.")
        item, _ = open_work_item(
            db,
            category=category,
            title=title,
            description=description,
            responsible_unit=unit,
            co_units=co_units,
            severity=severity,
            site_ids=site_ids,
            actor=account.display_name,
            user_id=account.id,
            valid_at=now(),
        )
        db.commit()
    except RecoveryError as exc:
        db.rollback()
        fail(exc)
    _print(item_dict(item, "zh", now()), False)


@work_items.command("act")
@click.argument("ident")
@click.argument("action")
@click.option("--as", "username", required=True, help="Who takes the step (their role and unit are checked).")
@click.option("--note", default="")
@click.option("--until", default=None, help="request/approve_extension: the new deadline, YYYY-MM-DD.")
@click.option("--to-unit", default=None, help="transfer: the unit the order is handed to.")
def act_cmd(ident, action, username, note, until, to_unit):
    """Take a step: acknowledge, feedback, resolve, verify, return, close, request_extension, approve_extension,
    refuse_extension, transfer, remind, reopen."""
    from recovery import workitems
    from recovery.timeutil import deadline_window, end_of_day, now, parse_day
    from recovery.workitems_read import item_dict

    db = session()
    try:
        account = _account(username)
        item = _find(db, ident)
        changed, _ = workitems.act(
            db,
            item.id,
            action=action,
            account=account,
            valid_at=now(),
            note=note,
            until=end_of_day(parse_day(until, deadline_window())) if until else None,
            to_unit=to_unit,
        )
        db.commit()
    except RecoveryError as exc:
        db.rollback()
        fail(exc)
    _print(item_dict(changed, "zh", now()), False)


@units.command("list")
def units_list():
    """Every responsible unit with its leader and contacts."""
    from recovery.units import unit_rows

    for row in unit_rows(session(), "zh"):
        contacts = "; ".join(
            " ".join(filter(None, (c.get("name"), c.get("title"), c.get("phone")))) for c in row["contacts"]
        )
        click.echo(f"{row['key']:22} {row['label']}\t{row['leader'] or '—'}\t{contacts}")


@units.command("set")
@click.argument("unit")
@click.option("--leader", default=None)
@click.option("--contact", "contacts", multiple=True, help="NAME,PHONE[,TITLE] (repeat; replaces the list).")
@click.option("--note", default=None)
def units_set(unit, leader, contacts, note):
    """Set a unit's leader and contacts (recorded in the audit log)."""
    from recovery.admin.audit import command_line_actor
    from recovery.units import set_unit

    parsed = None
    if contacts:
        parsed = []
        for text in contacts:
            parts = [p.strip() for p in text.replace("，", ",").split(",")]
            parsed.append(
                {"name": parts[0], "phone": parts[1] if len(parts) > 1 else "", "title": ",".join(parts[2:])}
            )
    db = session()
    try:
        row = set_unit(db, command_line_actor(), unit, leader=leader, contacts=parsed, note=note)
        db.commit()
    except RecoveryError as exc:
        db.rollback()
        fail(exc)
    click.echo(f"已修改 / updated {row.key}: {row.leader}")
