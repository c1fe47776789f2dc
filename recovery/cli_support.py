"""What every command group of the command line shares: the session, the zone's geodata, failing with a
message, a progress bar. Groups import this, never each other."""

from __future__ import annotations

import sys

import click
from flask import current_app
from tqdm import tqdm

from recovery.errors import RecoveryError


def session():
    from recovery.db import get_session

    return get_session()


def geodata():
    from recovery.geodata import load_geodata

    return load_geodata(current_app.config["RECOVERY"]["GEODATA_DIR"])


def fail(exc: RecoveryError) -> None:
    click.echo(f"错误 / error: {exc}", err=True)
    sys.exit(2)


def bar(total: int | None, desc: str) -> tqdm:
    return tqdm(total=total, desc=desc, unit="条", file=sys.stderr, dynamic_ncols=True, mininterval=0.5)
