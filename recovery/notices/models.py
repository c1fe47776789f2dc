"""The notices' tables: in-app notices per user, the units' webhooks, the outbox of messages to send and the log of
every delivery attempt (migration 0014)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

import recovery.models_accounts  # noqa: F401  (app_user, which user_id refers to)
from recovery.db.types import JSONType
from recovery.models import utc_field


class Notice(SQLModel, table=True):
    """One user's notice of one step of a work order. The text is not stored: the action and its parameters are,
    and the reader's language renders them at read time."""

    __tablename__ = "notice"
    __table_args__ = (
        # a step tells a user once, whatever retries the step's door sees
        UniqueConstraint("user_id", "event_id", name="uq_notice_user_event"),
        # the newest first, and the unread count, read from these alone
        Index("ix_notice_user_id", "user_id", "id"),
        Index("ix_notice_user_unread", "user_id", "read_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id")
    event_id: int = Field(foreign_key="event.id")
    work_item_id: int = Field(foreign_key="work_item.id", index=True)
    action: str = Field(max_length=30)
    #: what the text is made of: the item's key and title, the unit, the note (`recovery.notices.formats`)
    params: Any = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))
    created_at: datetime | None = utc_field(nullable=False)
    read_at: datetime | None = utc_field()


class Webhook(SQLModel, table=True):
    """An outbound webhook of a responsible unit: a group robot (企业微信, 钉钉, 飞书) or a generic JSON receiver."""

    __tablename__ = "webhook"
    id: int | None = Field(default=None, primary_key=True)
    unit: str = Field(max_length=40, index=True)  # a recovery.vocab.UNIT key
    kind: str = Field(max_length=20)  # wecom, dingtalk, feishu, generic
    name: str = Field(default="", max_length=120)
    url: str = Field(max_length=1000)
    #: the signing secret (钉钉's SEC…, 飞书's key, the generic HMAC key); empty: unsigned; never shown whole
    secret: str = Field(default="", max_length=200)
    enabled: bool = True
    created_at: datetime | None = utc_field(nullable=False)
    updated_at: datetime | None = utc_field(nullable=False)


class OutboxMessage(SQLModel, table=True):
    """A message to send to one webhook for one step, written in the step's transaction; a worker claims it with a
    lease, sends it and records the outcome."""

    __tablename__ = "outbox_message"
    __table_args__ = (
        # nothing twice: one message per webhook and step
        UniqueConstraint("webhook_id", "event_id", name="uq_outbox_webhook_event"),
        # what is due, read from this index alone
        Index("ix_outbox_due", "status", "next_attempt_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    webhook_id: int = Field(foreign_key="webhook.id", index=True)
    event_id: int | None = Field(default=None, foreign_key="event.id")  # None: an admin's test message
    #: the step's content, formatted and signed for the webhook's kind when sent (recovery.notices.formats)
    payload: Any = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))
    status: str = Field(default="pending", max_length=10)  # pending, sending, sent, dead
    attempts: int = 0
    next_attempt_at: datetime | None = utc_field(nullable=False)
    lease_owner: str | None = Field(default=None, max_length=80)
    lease_expires_at: datetime | None = utc_field()
    created_at: datetime | None = utc_field(nullable=False)
    sent_at: datetime | None = utc_field()
    last_error: str = Field(default="", max_length=500)


class Delivery(SQLModel, table=True):
    """The log: one row per attempt to send a message, with its outcome."""

    __tablename__ = "delivery"
    id: int | None = Field(default=None, primary_key=True)
    message_id: int = Field(foreign_key="outbox_message.id", index=True)
    attempt: int
    at: datetime | None = utc_field(nullable=False)
    http_status: int | None = None
    error: str = Field(default="", max_length=500)
    ms: int = 0
    worker: str = Field(default="", max_length=80)
