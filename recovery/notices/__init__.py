"""Notices of work-order steps: in-app notices for the people a step gives something to do, and one outbox message
per enabled webhook of their units, both written in the step's own transaction (`notify`).

The texts are not stored: a notice keeps its action and parameters, rendered in the reader's language when read
(`recovery.notices.formats`); a webhook message is formatted and signed for its robot when `recovery worker`
sends it (`recovery.notices.worker`)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from recovery.db.dialect import upsert
from recovery.models import WorkItem
from recovery.models_accounts import User
from recovery.notices.formats import ACTIONS, content
from recovery.notices.models import Notice, OutboxMessage, Webhook
from recovery.timeutil import now

__all__ = ["ACTIONS", "notify"]


def notify(
    session: Session,
    *,
    event_id: int,
    work_item_id: int,
    action: str,
    item_key: str,
    title: str,
    actor_id: int | None,
    units: Sequence[str] = (),
    roles: Sequence[str] = (),
    user_ids: Sequence[int] = (),
    note: str = "",
) -> None:
    """Called inside the step's transaction (never commits): in-app notices for every active user of those units
    (User.role == "unit" and User.unit in units), of those roles, and those users — never the actor — and one
    outbox message per enabled webhook of each unit in `units` (unique per webhook and event: nothing twice)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown notice action {action!r}")
    at = now()
    item = session.get(WorkItem, work_item_id)
    unit = item.responsible_unit if item is not None else (units[0] if units else "")
    params = content(item_key=item_key, title=title, unit=unit, note=note)
    who = []
    if units:
        who.append(and_(User.role == "unit", User.unit.in_(list(units))))
    if roles:
        who.append(User.role.in_(list(roles)))
    if user_ids:
        who.append(User.id.in_(list(user_ids)))
    if who:
        stmt = select(User.id).where(User.active.is_(True), or_(*who))
        if actor_id is not None:
            stmt = stmt.where(User.id != actor_id)
        rows = [
            {
                "user_id": user_id,
                "event_id": event_id,
                "work_item_id": work_item_id,
                "action": action,
                "params": params,
                "created_at": at,
            }
            for user_id in sorted(set(session.scalars(stmt)))
        ]
        if rows:
            session.execute(
                upsert(session)(Notice.__table__)
                .values(rows)
                .on_conflict_do_nothing(index_elements=["user_id", "event_id"])
            )
    if not units:
        return
    hooks = session.execute(
        select(Webhook.id, Webhook.unit).where(Webhook.enabled.is_(True), Webhook.unit.in_(list(units)))
    ).all()
    if hooks:
        payload = params | {"action": action, "event_id": event_id, "work_item_id": work_item_id}
        session.execute(
            upsert(session)(OutboxMessage.__table__)
            .values(
                [
                    {
                        "webhook_id": hook_id,
                        "event_id": event_id,
                        "payload": payload | {"recipient_unit": hook_unit},
                        "status": "pending",
                        "attempts": 0,
                        "next_attempt_at": at,
                        "created_at": at,
                        "last_error": "",
                    }
                    for hook_id, hook_unit in hooks
                ]
            )
            .on_conflict_do_nothing(index_elements=["webhook_id", "event_id"])
        )
