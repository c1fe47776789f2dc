"""`recovery teams …` (add, rename, retire, list) and `recovery audit` (read the audit log). Every change is
recorded in the audit log as made by the command line."""

from __future__ import annotations

import json

import click
from flask.cli import AppGroup, with_appcontext

from recovery.cli_support import fail, session
from recovery.errors import RecoveryError

teams = AppGroup("teams", help="Teams: register, rename, retire, list.")


def _audited(change):
    from recovery.admin.audit import command_line_actor

    try:
        return change(session(), command_line_actor())
    except RecoveryError as exc:
        fail(exc)


def _line(team) -> str:
    from recovery.timeutil import local_day
    from recovery.vocab import label

    retired = f"  retired {local_day(team.retired_at)}" if team.retired_at else ""
    where = label("subdistrict", team.subdistrict, "zh", short=True) or "全区"
    return (
        f"{team.key:10} {label('team_type', team.type):8} {where:6} {team.members:>6}  {team.name}{retired}"
    )


@teams.command("add")
@click.argument("name")
@click.option(
    "--type",
    "team_type",
    required=True,
    help="party_org, enterprise, social_group, volunteer, crew (or 基层党组织…)",
)
@click.option("--subdistrict", default="", help="A sub-district by any name; omit for the whole zone.")
@click.option("--members", default="0", help="Head count.")
@click.option("--key", default=None, help="Default: the next T-NNNN.")
@click.option("--registered-on", default=None, help="The day it starts to count (default: every day).")
def add(
    name: str, team_type: str, subdistrict: str, members: str, key: str | None, registered_on: str | None
):
    """Register a team; the rescue-force figures count it."""
    from recovery.admin.teams import add_team

    team = _audited(
        lambda s, actor: add_team(
            s,
            actor,
            name=name,
            type=team_type,
            subdistrict=subdistrict,
            members=members,
            key=key,
            registered_on=registered_on,
        )
    )
    click.echo(f"已添加 / added {_line(team)}")


@teams.command("rename")
@click.argument("key")
@click.argument("name")
def rename(key: str, name: str):
    """Give a team another name."""
    from recovery.admin.teams import edit_team

    team = _audited(lambda s, actor: edit_team(s, actor, key, name=name))
    click.echo(f"已修改 / renamed {_line(team)}")


@teams.command("retire")
@click.argument("key")
@click.option("--on", "on", default=None, help="The day it stops counting (default: now).")
def retire(key: str, on: str | None):
    """Retire a team: kept in the records, counted on the days it served only."""
    from recovery.admin.teams import retire_team

    team = _audited(lambda s, actor: retire_team(s, actor, key, on))
    click.echo(f"已撤销 / retired {_line(team)}")


@teams.command("list")
@click.option("--q", "q", default="", help="Text the key or name contains.")
@click.option("--active", is_flag=True, help="Leave out the retired teams.")
def list_cmd(q: str, active: bool):
    """List teams: key, type, sub-district, head count, name."""
    from recovery.admin.teams import list_teams

    try:
        found = list_teams(session(), q, retired=not active)
    except RecoveryError as exc:
        fail(exc)
    for team in found:
        click.echo(_line(team))


@click.command("audit")
@with_appcontext
@click.option("--action", default=None, help="One action, e.g. user.disable or 停用用户.")
@click.option("--q", "q", default="", help="Text the actor or target contains.")
@click.option("--limit", default=50, type=click.IntRange(1, 500))
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def audit_cmd(action: str | None, q: str, limit: int, as_json: bool):
    """Read the audit log, newest first."""
    from recovery.admin.audit import entries, entry_dict
    from recovery.timeutil import zone_minute
    from recovery.vocab import label

    try:
        rows = entries(session(), action=action, q=q, limit=limit)
    except RecoveryError as exc:
        fail(exc)
    for entry in rows:
        if as_json:
            click.echo(json.dumps(entry_dict(entry), ensure_ascii=False))
            continue
        click.echo(
            f"{entry.id:>6}  {zone_minute(entry.at)}  {entry.actor:16} {label('audit_action', entry.action):10} "
            f"{entry.target:24} {entry.remote_addr or '-'}"
        )
