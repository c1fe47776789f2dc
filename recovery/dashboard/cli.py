"""`recovery supervise`: a supervision order (督办) from the command line, as the map's 督办 dialog issues one."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from recovery.cli_support import fail, session
from recovery.errors import RecoveryError


@click.command("supervise")
@click.option("--title", required=True, help="What must be done.")
@click.option(
    "--unit",
    "responsible_unit",
    required=True,
    help="The responsible unit: key, Chinese or English name or alias, e.g. 城管局, 城市管理局, urban_management.",
)
@click.option("--severity", default="general", show_default=True, help="general (7 days) or major (30 days).")
@click.option("--site", "site_id", type=int, default=None, help="The site the order is about (its id).")
@click.option("--actor", default="命令行", show_default=True, help="Who issues it.")
@with_appcontext
def supervise_cmd(title: str, responsible_unit: str, severity: str, site_id: int | None, actor: str) -> None:
    """Issue a supervision order to a responsible unit, with its 13710 deadlines."""
    from recovery.command import issue_supervision_order
    from recovery.timeutil import zone_iso
    from recovery.vocab import label

    db = session()
    try:
        item = issue_supervision_order(
            db,
            title=title,
            responsible_unit=responsible_unit,
            severity=severity,
            site_id=site_id,
            actor=actor,
        )
        db.commit()
    except RecoveryError as exc:
        db.rollback()
        fail(exc)
    click.echo(
        f"{item.key}\t{label('unit', item.responsible_unit)}\t"
        f"反馈 feedback {zone_iso(item.feedback_due)}\t解决 resolve {zone_iso(item.resolve_due)}"
    )
