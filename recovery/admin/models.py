"""The audit log's table: one row per administrative action, never changed nor removed (triggers refuse it)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, Index
from sqlmodel import Field, SQLModel

import recovery.models_accounts  # noqa: F401  (app_user, which actor_id refers to)
from recovery.db.types import JSONType
from recovery.models import utc_field


class AuditEntry(SQLModel, table=True):
    """Who did what to which target, the state before and after (JSON), when and from which address."""

    __tablename__ = "audit_entry"
    __table_args__ = (Index("ix_audit_entry_at", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    at: datetime | None = utc_field(nullable=False)
    actor_id: int | None = Field(default=None, foreign_key="app_user.id")
    actor: str = Field(max_length=120)
    action: str = Field(max_length=40)
    target: str = Field(max_length=200)
    before: Any = Field(default=None, sa_column=Column(JSONType, nullable=True))
    after: Any = Field(default=None, sa_column=Column(JSONType, nullable=True))
    remote_addr: str = Field(default="", max_length=64)
