"""`recovery users …`: add, disable and enable users, reset passwords, issue, list and revoke API tokens, and
make the demo's one user per role."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup
from sqlalchemy import select

from recovery.errors import RecoveryError

users = AppGroup("users", help="Users, roles and API tokens.")

DEMO_USERS = (
    ("commander", "commander", "指挥中心值班员", None),
    ("reporter", "reporter", "新闻中心记者", None),
    ("admin", "admin", "系统管理员", None),
    ("field_shifo", "field", "石佛办事处巡查员", "石佛"),
    ("field_fengyang", "field", "枫杨办事处巡查员", "枫杨"),
    # users of responsible units (the last column names their unit)
    ("unit_urban", "unit", "城市管理局督办联络员", "urban_management"),
    ("unit_fengyang", "unit", "枫杨办事处督办联络员", "fengyang"),
)


def _session():
    from recovery.db import get_session

    return get_session()


def _fail(message: str) -> None:
    click.echo(f"错误 / error: {message}", err=True)
    sys.exit(2)


def _user(name: str):
    from recovery.models_accounts import User

    user = _session().scalar(select(User).where(User.username == name))
    if user is None:
        _fail(f"没有用户 / no user {name}")
    return user


def _when(moment) -> str:
    from recovery.timeutil import zone_minute

    return zone_minute(moment) or "-"


@users.command("add")
@click.argument("name")
@click.option(
    "--role",
    required=True,
    help="field, commander, reporter, unit or admin (or 一线人员, 指挥人员, 报道人员, 责任单位人员, 管理员)",
)
@click.option(
    "--scope", default="", help="Sub-districts or team keys a field user may change, e.g. 石佛,枫杨"
)
@click.option("--team", "team_key", default=None, help="The team (key) the user belongs to.")
@click.option("--unit", default=None, help="The responsible unit of a user of role unit, e.g. 城市管理局.")
@click.option("--display-name", default="")
@click.option("--password", default=None, help="Omit to generate one (printed once).")
def add_user(
    name: str,
    role: str,
    scope: str,
    team_key: str | None,
    unit: str | None,
    display_name: str,
    password: str | None,
):
    """Add a user with a role (and, for field users, a scope)."""
    from recovery.admin.users import add_user as add

    _user_made, generated = _audited(
        lambda session, actor: add(
            session,
            actor,
            name,
            role,
            scope=scope,
            display_name=display_name,
            password=password,
            team_key=team_key,
            unit=unit,
        )
    )
    click.echo(
        f"已添加 / added {name} ({_user_made.role})" + (f", password: {generated}" if generated else "")
    )


@users.command("token")
@click.argument("name")
@click.option("--label", default="")
@click.option("--days", type=int, default=None, help="Days the token lives. Default: RECOVERY_TOKEN_DAYS.")
def token(name: str, label: str, days: int | None):
    """Print a new API token for a user (shown once; only its hash is stored; the audit log keeps its id)."""
    from recovery.admin.users import issue_token

    _row, issued = _audited(lambda session, actor: issue_token(session, actor, name, label, days))
    click.echo(issued)


@users.command("tokens")
@click.argument("name")
def list_tokens(name: str):
    """List a user's API tokens: id, label, created, last used, expiry and state."""
    from recovery.auth.accounts import token_state, tokens_of

    click.echo(f"{'id':>6}  {'label':20} {'created':16}  {'last used':16}  {'expires':16}  state")
    for row in tokens_of(_session(), _user(name)):
        click.echo(
            f"{row.id:>6}  {row.label[:20]:20} {_when(row.created_at):16}  {_when(row.last_used_at):16}  "
            f"{_when(row.expires_at):16}  {token_state(row)}"
        )


@users.command("revoke")
@click.argument("token_id", type=int)
def revoke(token_id: int):
    """Revoke an API token by its id (see `recovery users tokens NAME`); it stops working at once."""
    from recovery.admin.users import revoke as revoke_token

    row = _audited(lambda session, actor: revoke_token(session, actor, token_id))
    click.echo(f"已吊销 / revoked token {row.id}")


@users.command("disable")
@click.argument("name")
def disable(name: str):
    """Disable a user: every session and API token of theirs ends at once."""
    from recovery.admin.users import set_user_active

    _audited(lambda session, actor: set_user_active(session, actor, name, False))
    click.echo(f"已停用 / disabled {name}")


@users.command("enable")
@click.argument("name")
def enable(name: str):
    """Enable a disabled user again (they sign in anew; old sessions and tokens stay ended)."""
    from recovery.admin.users import set_user_active

    _audited(lambda session, actor: set_user_active(session, actor, name, True))
    click.echo(f"已启用 / enabled {name}")


@users.command("set-role")
@click.argument("name")
@click.argument("role")
@click.option("--unit", default=None, help="The responsible unit, for the role unit (e.g. 城市管理局).")
def set_role(name: str, role: str, unit: str | None):
    """Give a user another role (field, commander, reporter, unit, admin, or their Chinese names)."""
    from recovery.admin.users import edit_user
    from recovery.auth.passwords import least_length

    user = _audited(lambda session, actor: edit_user(session, actor, name, role=role, unit=unit))
    click.echo(f"已修改 / {name}: role {user.role}")
    if user.must_change_password:
        n = least_length(user.role)
        click.echo(
            f"{name} 须先设置至少 {n} 个字符的新密码才能继续使用网页（API 令牌不受影响） / "
            f"{name} must choose a new password of at least {n} characters before using the pages again "
            "(API tokens keep working)"
        )


@users.command("set-scope")
@click.argument("name")
@click.argument("scope")
def set_scope(name: str, scope: str):
    """Give a user another scope: sub-districts and/or team keys, e.g. 石佛,枫杨 or T-0601."""
    from recovery.admin.users import edit_user

    user = _audited(lambda session, actor: edit_user(session, actor, name, scope=scope))
    click.echo(f"已修改 / {name}: scope {','.join(user.scope) or '-'}")


@users.command("reset-password")
@click.argument("name")
def reset_password(name: str):
    """Give a user a new random password, printed once; every session and API token of theirs ends."""
    from recovery.admin.users import reset_password as reset

    password = _audited(lambda session, actor: reset(session, actor, name))
    click.echo(f"新密码 / new password for {name}: {password}")


def _audited(change):
    """Run an administrative change as the command line (recorded in the audit log); a refusal exits with 2."""
    from recovery.admin.audit import command_line_actor

    try:
        return change(_session(), command_line_actor())
    except RecoveryError as exc:
        _fail(str(exc))


@users.command("list")
def list_users():
    """List users with their role and scope (and `disabled` for those who are)."""
    from recovery.models_accounts import User

    for user in _session().scalars(select(User).order_by(User.id)):
        state = ("" if user.active else "  disabled") + (
            "  must-change-password" if user.must_change_password else ""
        )
        click.echo(f"{user.username:20} {user.role:10} {','.join(user.scope) or user.unit or ''}{state}")


@users.command("demo")
def demo():
    """Make (or reset) one user per role for the demo and print their names and new passwords."""
    from recovery.auth.accounts import create_user, parse_scope, set_password
    from recovery.auth.passwords import generate_password
    from recovery.models_accounts import User

    session = _session()
    click.echo("演示账号 / demo users (passwords are new on every run):")
    for name, role, display, scope in DEMO_USERS:
        password = generate_password(role, name)
        user = session.scalar(select(User).where(User.username == name))
        if user is None:
            if role == "unit":
                create_user(session, name, role, password, display_name=display, unit=scope)
            else:
                create_user(
                    session, name, role, password, scope=parse_scope(session, scope), display_name=display
                )
        else:
            set_password(session, user, password)
        click.echo(f"  {name:16} {role:10} {password}   {display}")
