"""`recovery users …`: add users, issue API tokens, list them, and make the demo's one user per role."""

from __future__ import annotations

import secrets
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
)


def _session():
    from recovery.db import get_session

    return get_session()


@users.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(["field", "commander", "reporter", "admin"]), required=True)
@click.option(
    "--scope", default="", help="Sub-districts or team keys a field user may change, e.g. 石佛,枫杨"
)
@click.option("--team", "team_key", default=None, help="The team (key) the user belongs to.")
@click.option("--display-name", default="")
@click.option("--password", default=None, help="Omit to generate one (printed once).")
def add_user(name: str, role: str, scope: str, team_key: str | None, display_name: str, password: str | None):
    """Add a user with a role (and, for field users, a scope)."""
    from recovery.auth.accounts import create_user, parse_scope

    generated = password is None
    password = password or secrets.token_urlsafe(12)
    try:
        create_user(
            _session(),
            name,
            role,
            password,
            scope=parse_scope(_session(), scope),
            display_name=display_name,
            team_key=team_key,
        )
    except RecoveryError as exc:
        click.echo(f"错误 / error: {exc}", err=True)
        sys.exit(2)
    click.echo(f"已添加 / added {name} ({role})" + (f", password: {password}" if generated else ""))


@users.command("token")
@click.argument("name")
@click.option("--label", default="")
def token(name: str, label: str):
    """Print a new API token for a user (shown once; only its hash is stored)."""
    from recovery.auth.accounts import issue_token
    from recovery.models_accounts import User

    user = _session().scalar(select(User).where(User.username == name))
    if user is None:
        click.echo(f"错误 / error: no user {name}", err=True)
        sys.exit(2)
    click.echo(issue_token(_session(), user, label))


@users.command("list")
def list_users():
    """List users with their role and scope."""
    from recovery.models_accounts import User

    for user in _session().scalars(select(User).order_by(User.id)):
        click.echo(f"{user.username:20} {user.role:10} {','.join(user.scope)}")


@users.command("demo")
def demo():
    """Make (or reset) one user per role for the demo and print their names and new passwords."""
    from recovery.auth.accounts import create_user, parse_scope, set_password
    from recovery.models_accounts import User

    session = _session()
    click.echo("演示账号 / demo users (passwords are new on every run):")
    for name, role, display, scope in DEMO_USERS:
        password = secrets.token_urlsafe(9)
        user = session.scalar(select(User).where(User.username == name))
        if user is None:
            create_user(
                session, name, role, password, scope=parse_scope(session, scope), display_name=display
            )
        else:
            set_password(session, user, password)
        click.echo(f"  {name:16} {role:10} {password}   {display}")
