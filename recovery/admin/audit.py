"""The audit log: every administrative action written with the change it records (in the same transaction), and
read back newest first. Rows are only ever added: the database refuses UPDATE and DELETE (migration 0012)."""

from __future__ import annotations

import getpass
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from recovery.admin.models import AuditEntry
from recovery.timeutil import now
from recovery.vocab import resolve

#: the most rows one read returns
MAX_ROWS = 500


@dataclass(frozen=True)
class Actor:
    """Who acts: a signed-in user (id, user name) from an address, or the command line (no id)."""

    id: int | None
    name: str
    remote_addr: str = ""

    @property
    def is_command_line(self) -> bool:
        return self.id is None


def command_line_actor() -> Actor:
    """The command line acts as the operating-system user who runs it (no address)."""
    try:
        who = getpass.getuser()
    except (KeyError, OSError):  # pragma: no cover - no user name in this environment
        who = "?"
    return Actor(None, f"cli:{who}"[:120])


def record(
    session: Session, actor: Actor, action: str, target: str, before: Any = None, after: Any = None
) -> AuditEntry:
    """Add one row for `action` (a key of the `audit_action` vocabulary) to the session; it is committed with the
    change it records, or rolled back with it."""
    entry = AuditEntry(
        at=now(),
        actor_id=actor.id,
        actor=actor.name[:120],
        action=resolve("audit_action", action),
        target=target[:200],
        before=before,
        after=after,
        remote_addr=(actor.remote_addr or "")[:64],
    )
    session.add(entry)
    return entry


def entries(
    session: Session,
    *,
    action: str | None = None,
    q: str = "",
    limit: int = 100,
    before_id: int | None = None,
) -> list[AuditEntry]:
    """The newest rows first: of one action (any of its names) and/or whose actor or target contains `q`;
    `before_id` pages back."""
    stmt = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(max(1, min(limit, MAX_ROWS)))
    if action:
        stmt = stmt.where(AuditEntry.action == resolve("audit_action", action))
    if q:
        pattern = f"%{q.lower()}%"
        stmt = stmt.where(
            or_(func.lower(AuditEntry.actor).like(pattern), func.lower(AuditEntry.target).like(pattern))
        )
    if before_id is not None:
        stmt = stmt.where(AuditEntry.id < before_id)
    return list(session.scalars(stmt))


def entry_dict(entry: AuditEntry) -> dict[str, Any]:
    from recovery.timeutil import zone_iso

    return {
        "id": entry.id,
        "at": zone_iso(entry.at),
        "actor": entry.actor,
        "actor_id": entry.actor_id,
        "action": entry.action,
        "target": entry.target,
        "before": entry.before,
        "after": entry.after,
        "remote_addr": entry.remote_addr,
    }


def actor_of(account, remote_addr: str | None) -> Actor:
    """The actor of a request: its signed-in account (by session or token) and the client's address."""
    return Actor(account.id, account.username, remote_addr or "")


def changed(before: Any, after: Any) -> tuple[Any, Any]:
    """Only what an action changed: the keys whose values differ (everything, when one side is empty)."""
    if not isinstance(before, dict) or not isinstance(after, dict):
        return before, after
    keys = [k for k in after if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after[k] for k in keys}
