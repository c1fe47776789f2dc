"""`recovery worker`: deliver the outbox's webhook messages, forever (under systemd) or until none is due."""

from __future__ import annotations

import signal
import threading

import click
from flask import current_app
from flask.cli import with_appcontext

from recovery.db.engine import get_engine
from recovery.notices.worker import WorkerConfig, run, worker_name


@click.command("worker")
@click.option("--once", is_flag=True, help="Send every message due now, then exit (tests, cron).")
@click.option(
    "--poll",
    default=2.0,
    show_default=True,
    type=click.FloatRange(0.1, 3600),
    help="Seconds between looks at an empty outbox.",
)
@with_appcontext
def worker_cmd(once: bool, poll: float) -> None:
    """Deliver the units' webhook messages from the outbox, with retries and backoff; several workers may run."""
    config = WorkerConfig.from_settings(current_app.config["RECOVERY"])
    stop = threading.Event()
    if not once:
        # systemd's stop (TERM) and Ctrl-C end the loop after the message in hand is recorded
        for number in (signal.SIGTERM, signal.SIGINT):
            signal.signal(number, lambda *_: stop.set())
    name = worker_name()
    click.echo(f"worker {name} {'draining the outbox' if once else 'started'}", err=True)
    tally = run(get_engine(), config, once=once, poll=poll, owner=name, stop=stop)
    click.echo(f"sent {tally.sent}, failed attempts {tally.failed}, given up {tally.dead}")
