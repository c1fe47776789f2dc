"""`recovery worker`'s work: claim a due outbox message under a lease, send it (with a timeout, no redirects
followed), record the attempt, and retry with exponential backoff until it is sent or dead.

Safety, in order of the steps:
- claim: one transaction takes the message (PostgreSQL: `FOR UPDATE SKIP LOCKED`, so several workers take
  different messages; SQLite: under the database's write lock, `BEGIN IMMEDIATE`), marks it `sending`, counts the
  attempt and writes a lease (owner, expiry), and commits before anything is sent;
- send: outside any transaction;
- record: one transaction writes the delivery log row and the outcome: `sent`, or back to `pending` at the next
  attempt's time, or `dead` after RECOVERY_WEBHOOK_MAX_ATTEMPTS.
A worker killed between claim and record leaves the message `sending`; when its lease expires another worker
claims it and sends it again. A message recorded `sent` is never claimed again. The one window that remains is
a worker killed after the receiver took the message and before the record: the message is then sent twice, with
the same delivery id (`X-Recovery-Delivery`, the message's id) so that a receiver can drop the repeat.
"""

from __future__ import annotations

import http.client
import logging
import os
import socket
import ssl
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from recovery.db.engine import begin_write
from recovery.errors import RecoveryError
from recovery.notices.formats import Request, accepted, build, work_item_path
from recovery.notices.models import Delivery, OutboxMessage, Webhook
from recovery.notices.webhooks import check_url
from recovery.timeutil import now

log = logging.getLogger("recovery.worker")

#: the longest wait between two attempts
MAX_BACKOFF = 3600
#: the most of a receiver's answer read (robots answer a few bytes of JSON)
MAX_ANSWER = 64 * 1024


@dataclass(frozen=True)
class WorkerConfig:
    timeout: float = 10
    max_attempts: int = 8
    backoff: float = 30
    lease: float = 120
    allowed_hosts: str = ""
    public_url: str = ""

    @classmethod
    def from_settings(cls, settings: dict[str, Any]) -> WorkerConfig:
        return cls(
            timeout=settings["WEBHOOK_TIMEOUT_SECONDS"],
            max_attempts=settings["WEBHOOK_MAX_ATTEMPTS"],
            backoff=settings["WEBHOOK_BACKOFF_SECONDS"],
            lease=settings["WEBHOOK_LEASE_SECONDS"],
            allowed_hosts=settings["WEBHOOK_HOSTS"] or "",
            public_url=settings["PUBLIC_URL"] or "",
        )


def worker_name() -> str:
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def backoff_delay(attempts: int, base: float) -> timedelta:
    """The wait after the `attempts`-th failed attempt: base, 2×base, 4×base… at most an hour."""
    return timedelta(seconds=min(base * 2 ** max(attempts - 1, 0), MAX_BACKOFF))


@dataclass(frozen=True)
class Claimed:
    """What a worker holds while it sends: the message's id, its attempt number, content and webhook."""

    message_id: int
    attempt: int
    payload: dict[str, Any]
    kind: str
    url: str
    secret: str


@dataclass
class Outcome:
    ok: bool
    http_status: int | None = None
    error: str = ""
    ms: int = 0
    #: a fault no retry mends (an address no longer allowed)
    permanent: bool = False


def claim(
    session: Session,
    config: WorkerConfig,
    owner: str,
    *,
    at: datetime | None = None,
    message_id: int | None = None,
) -> Claimed | None:
    """Take the next due message (or the one given, if pending) under a lease, and commit; None when none is due."""
    at = at or now()
    begin_write(session)
    try:
        stmt = select(OutboxMessage).limit(1).with_for_update(skip_locked=True)
        if message_id is None:
            stmt = (
                stmt.join(Webhook, Webhook.id == OutboxMessage.webhook_id)
                .where(
                    OutboxMessage.status.in_(("pending", "sending")),
                    OutboxMessage.next_attempt_at <= at,
                    Webhook.enabled.is_(True),
                )
                .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
                .with_for_update(skip_locked=True, of=OutboxMessage)
            )
        else:
            stmt = stmt.where(OutboxMessage.id == message_id, OutboxMessage.status == "pending")
        message = session.scalar(stmt)
        if message is None:
            session.rollback()
            return None
        hook = session.get(Webhook, message.webhook_id)
        message.status = "sending"
        message.attempts += 1
        message.lease_owner = owner
        message.lease_expires_at = at + timedelta(seconds=config.lease)
        # an expired lease makes the message due again: the same index finds it
        message.next_attempt_at = message.lease_expires_at
        claimed = Claimed(
            message.id, message.attempts, dict(message.payload or {}), hook.kind, hook.url, hook.secret
        )
        session.commit()
        return claimed
    except BaseException:
        session.rollback()
        raise


def send(request: Request, timeout: float, kind: str = "generic") -> Outcome:
    """POST the request; a 3xx is a failure (no redirect is followed), as is anything slower than `timeout`."""
    parts = urlsplit(request.url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    started = time.monotonic()
    connection: http.client.HTTPConnection
    if parts.scheme == "https":
        connection = http.client.HTTPSConnection(
            parts.hostname, parts.port, timeout=timeout, context=ssl.create_default_context()
        )
    else:
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        connection.request(
            "POST", path, body=request.body, headers=request.headers | {"User-Agent": "recovery-worker"}
        )
        response = connection.getresponse()
        answer = response.read(MAX_ANSWER)
        status = response.status
    except (OSError, http.client.HTTPException) as exc:
        return Outcome(False, None, f"{type(exc).__name__}: {exc}"[:300], _ms(started))
    finally:
        connection.close()
    if 300 <= status < 400:
        return Outcome(False, status, f"HTTP {status}: redirect not followed", _ms(started))
    ok, why = accepted(kind, status, answer)
    return Outcome(ok, status, why, _ms(started))


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def deliver(claimed: Claimed, config: WorkerConfig) -> Outcome:
    """Format, sign and send a claimed message; an address the setting no longer allows is not sent."""
    try:
        url = check_url(claimed.url, config.allowed_hosts)
    except RecoveryError as exc:
        return Outcome(False, None, str(exc)[:300], 0, permanent=True)
    path = work_item_path(claimed.payload.get("work_item_id"))
    link = f"{config.public_url.rstrip('/')}{path}" if config.public_url else path
    request = build(
        claimed.kind, url, claimed.secret, claimed.payload, delivery_id=str(claimed.message_id), link=link
    )
    return send(request, config.timeout, claimed.kind)


def record(
    session: Session,
    claimed: Claimed,
    outcome: Outcome,
    config: WorkerConfig,
    owner: str,
    *,
    at: datetime | None = None,
) -> str | None:
    """Write the attempt to the log and the message's new state; its status, or None if the message is gone."""
    at = at or now()
    begin_write(session)
    try:
        message = session.scalar(
            select(OutboxMessage).where(OutboxMessage.id == claimed.message_id).with_for_update()
        )
        if message is None:  # its webhook was deleted meanwhile
            session.rollback()
            return None
        session.add(
            Delivery(
                message_id=message.id,
                attempt=claimed.attempt,
                at=at,
                http_status=outcome.http_status,
                error=outcome.error[:500],
                ms=outcome.ms,
                worker=owner[:80],
            )
        )
        if outcome.ok:
            if message.status != "sent":
                message.status, message.sent_at, message.last_error = "sent", at, ""
                message.lease_owner = message.lease_expires_at = None
        elif message.status == "sending" and message.lease_owner == owner:
            # only the lease's holder decides; a worker whose lease expired leaves that to the one that took over
            message.last_error = outcome.error[:500]
            message.lease_owner = message.lease_expires_at = None
            if outcome.permanent or message.attempts >= config.max_attempts:
                message.status = "dead"
            else:
                message.status = "pending"
                message.next_attempt_at = at + backoff_delay(message.attempts, config.backoff)
        status = message.status
        session.commit()
        return status
    except BaseException:
        session.rollback()
        raise


@dataclass
class Tally:
    sent: int = 0
    failed: int = 0
    dead: int = 0
    statuses: list[str] = field(default_factory=list)


def deliver_message(
    engine: Engine, config: WorkerConfig, message_id: int, owner: str | None = None
) -> str | None:
    """Claim, send and record one pending message now (an admin's test); its status afterwards."""
    owner = owner or worker_name()
    with Session(engine, expire_on_commit=False) as session:
        claimed = claim(session, config, owner, message_id=message_id)
        if claimed is None:
            return None
        return record(session, claimed, deliver(claimed, config), config, owner)


def run(
    engine: Engine,
    config: WorkerConfig,
    *,
    once: bool = True,
    poll: float = 2.0,
    owner: str | None = None,
    clock: Callable[[], datetime] = now,
    stop: threading.Event | None = None,
) -> Tally:
    """Send due messages one by one; `once`: until none is due, then return; otherwise until `stop` is set."""
    owner = owner or worker_name()
    stop = stop or threading.Event()
    tally = Tally()
    while not stop.is_set():
        with Session(engine, expire_on_commit=False) as session:
            claimed = claim(session, config, owner, at=clock())
            if claimed is None:
                if once:
                    break
                session.close()
                stop.wait(poll)
                continue
            outcome = deliver(claimed, config)
            status = record(session, claimed, outcome, config, owner, at=clock())
        log.info(
            "webhook message %s attempt %s: %s %s",
            claimed.message_id,
            claimed.attempt,
            status,
            outcome.error or outcome.http_status,
        )
        tally.statuses.append(status or "gone")
        if outcome.ok:
            tally.sent += 1
        else:
            tally.failed += 1
            tally.dead += status == "dead"
    return tally
