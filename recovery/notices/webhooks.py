"""The units' webhooks, administered: list, add, enable or disable, delete and test; each change one transaction
with its audit row, secrets never shown whole. Also the rule every delivery checks again: only http and https
addresses, on the hosts that RECOVERY_WEBHOOK_HOSTS allows."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from recovery.admin import audit
from recovery.admin.audit import Actor
from recovery.db.engine import begin_write
from recovery.errors import NotFoundError, ValidationError
from recovery.notices.formats import KINDS, content
from recovery.notices.models import Delivery, OutboxMessage, Webhook
from recovery.text import clean_text
from recovery.timeutil import now, zone_iso
from recovery.vocab import resolve

#: the names a kind may be given by
KIND_ALIASES = {
    **{k: k for k in KINDS},
    "企业微信": "wecom",
    "wechat_work": "wecom",
    "钉钉": "dingtalk",
    "飞书": "feishu",
    "lark": "feishu",
    "json": "generic",
}
MAX_URL = 1000
MAX_SECRET = 200
MAX_LOG = 200


def resolve_kind(value: Any) -> str:
    kind = KIND_ALIASES.get(str(value or "").strip().lower())
    if kind is None:
        raise ValidationError(
            "A webhook's kind is one of wecom (企业微信), dingtalk (钉钉), feishu (飞书), generic."
        )
    return kind


def host_allowed(host: str, allowed: str) -> bool:
    """Whether `host` is in RECOVERY_WEBHOOK_HOSTS (empty: every host): a name, or *.name for its subdomains."""
    host = host.lower().rstrip(".")
    names = [h for h in (allowed or "").split(",") if h]
    if not names:
        return True
    for name in names:
        if name.startswith("*."):
            if host.endswith(name[1:]):
                return True
        elif host == name:
            return True
    return False


def check_url(url: Any, allowed_hosts: str) -> str:
    """The address, once it is an http(s) URL with a host that the setting allows; a 400 naming the fault."""
    text = clean_text(url, "url", MAX_URL, required=True)
    try:
        parts = urlsplit(text)
        host = parts.hostname or ""
        parts.port  # noqa: B018 - a port that is not a number raises here
    except ValueError:
        raise ValidationError("The webhook address is not a valid URL.") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise ValidationError("A webhook address must start with http:// or https://.")
    if not host or any(c.isspace() for c in text):
        raise ValidationError("The webhook address is not a valid URL.")
    if parts.username or parts.password:
        raise ValidationError("A webhook address may not hold a user name or password.")
    if not host_allowed(host, allowed_hosts):
        raise ValidationError(
            "Webhooks may not send to %(host)s (RECOVERY_WEBHOOK_HOSTS allows %(allowed)s).",
            host=host,
            allowed=allowed_hosts,
        )
    return text


def mask_secret(secret: str) -> str:
    if not secret:
        return ""
    return "••••" + secret[-4:] if len(secret) >= 12 else "••••"


def mask_url(url: str) -> str:
    """The address as shown: query values (WeCom's key, DingTalk's access_token) and a long last path segment
    (Feishu's hook token) hidden."""
    parts = urlsplit(url)
    query = "&".join(f"{k}=•••" for k, _ in parse_qsl(parts.query, keep_blank_values=True))
    head, _, last = parts.path.rpartition("/")
    path = f"{head}/{last[:4]}•••" if len(last) >= 16 else parts.path
    return urlunsplit(parts._replace(path=path, query=query))


def webhook_dict(hook: Webhook) -> dict[str, Any]:
    return {
        "id": hook.id,
        "unit": hook.unit,
        "kind": hook.kind,
        "name": hook.name,
        "url": mask_url(hook.url),
        "secret": mask_secret(hook.secret),
        "signed": bool(hook.secret),
        "enabled": hook.enabled,
        "created_at": zone_iso(hook.created_at),
        "updated_at": zone_iso(hook.updated_at),
    }


def list_webhooks(session: Session, unit: str | None = None) -> list[Webhook]:
    stmt = select(Webhook).order_by(Webhook.unit, Webhook.id)
    if unit:
        stmt = stmt.where(Webhook.unit == resolve("unit", unit))
    return list(session.scalars(stmt))


def find_webhook(session: Session, webhook_id: int) -> Webhook:
    hook = session.get(Webhook, webhook_id)
    if hook is None:
        raise NotFoundError("No webhook %(id)s.", id=str(webhook_id))
    return hook


def _commit_with(session: Session, change):
    begin_write(session)
    try:
        result = change()
        session.commit()
        return result
    except BaseException:
        session.rollback()
        raise


def _target(hook: Webhook) -> str:
    return f"webhook:{hook.id} {hook.unit} {hook.kind}"


def add_webhook(
    session: Session,
    actor: Actor,
    *,
    unit: Any,
    kind: Any,
    url: Any,
    secret: Any = "",
    name: Any = "",
    allowed_hosts: str = "",
) -> Webhook:
    """Register a unit's webhook (enabled). Everything is checked before anything is written."""
    values = {
        "unit": resolve("unit", clean_text(unit, "unit", 80, required=True)),
        "kind": resolve_kind(kind),
        "url": check_url(url, allowed_hosts),
        "secret": clean_text(secret, "secret", MAX_SECRET) or "",
        "name": clean_text(name, "name", 120) or "",
    }
    if values["kind"] == "dingtalk" and values["secret"] and not values["secret"].startswith("SEC"):
        raise ValidationError("A DingTalk robot's signing secret starts with SEC.")

    def change() -> Webhook:
        at = now()
        hook = Webhook(**values, enabled=True, created_at=at, updated_at=at)
        session.add(hook)
        session.flush()
        audit.record(session, actor, "webhook.add", _target(hook), None, webhook_dict(hook))
        return hook

    return _commit_with(session, change)


def set_enabled(session: Session, actor: Actor, webhook_id: int, enabled: bool) -> Webhook:
    def change() -> Webhook:
        hook = find_webhook(session, webhook_id)
        before = webhook_dict(hook)
        hook.enabled, hook.updated_at = bool(enabled), now()
        session.flush()
        audit.record(
            session,
            actor,
            "webhook.enable" if enabled else "webhook.disable",
            _target(hook),
            *audit.changed(before, webhook_dict(hook)),
        )
        return hook

    return _commit_with(session, change)


def delete_webhook(session: Session, actor: Actor, webhook_id: int) -> None:
    """Remove a webhook with its messages and their delivery log (the audit row keeps what it was)."""

    def change() -> None:
        hook = find_webhook(session, webhook_id)
        before = webhook_dict(hook)
        messages = select(OutboxMessage.id).where(OutboxMessage.webhook_id == hook.id)
        session.execute(delete(Delivery).where(Delivery.message_id.in_(messages)))
        session.execute(delete(OutboxMessage).where(OutboxMessage.webhook_id == hook.id))
        session.delete(hook)
        audit.record(session, actor, "webhook.delete", _target(hook), before, None)

    _commit_with(session, change)


def queue_test(session: Session, actor: Actor, webhook_id: int) -> OutboxMessage:
    """Queue a test message to a webhook (enabled or not), recorded in the audit log; the caller may deliver it at
    once (`recovery.notices.worker.deliver_message`)."""

    def change() -> OutboxMessage:
        hook = find_webhook(session, webhook_id)
        at = now()
        payload = content(item_key="", title="", unit=hook.unit) | {
            "action": "test",
            "recipient_unit": hook.unit,
        }
        message = OutboxMessage(
            webhook_id=hook.id, payload=payload, status="pending", next_attempt_at=at, created_at=at
        )
        session.add(message)
        session.flush()
        audit.record(session, actor, "webhook.test", _target(hook), None, {"message_id": message.id})
        return message

    return _commit_with(session, change)


def delivery_log(session: Session, webhook_id: int | None = None, limit: int = 50) -> list[dict[str, Any]]:
    """The newest delivery attempts first, with their message's webhook, step and state."""
    stmt = (
        select(Delivery, OutboxMessage, Webhook)
        .join(OutboxMessage, OutboxMessage.id == Delivery.message_id)
        .join(Webhook, Webhook.id == OutboxMessage.webhook_id)
        .order_by(Delivery.id.desc())
        .limit(max(1, min(limit, MAX_LOG)))
    )
    if webhook_id is not None:
        stmt = stmt.where(OutboxMessage.webhook_id == webhook_id)
    return [
        {
            "id": d.id,
            "message_id": m.id,
            "webhook_id": w.id,
            "unit": w.unit,
            "kind": w.kind,
            "event_id": m.event_id,
            "action": (m.payload or {}).get("action", ""),
            "key": (m.payload or {}).get("key", ""),
            "attempt": d.attempt,
            "at": zone_iso(d.at),
            "http_status": d.http_status,
            "error": d.error,
            "ms": d.ms,
            "message_status": m.status,
        }
        for d, m, w in session.execute(stmt)
    ]


def outbox_counts(session: Session) -> dict[str, int]:
    """How many messages are in each state (for the admin's page)."""
    from sqlalchemy import func

    rows = session.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status))
    return {status: count for status, count in rows}
