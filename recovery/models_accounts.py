"""Tables for people and their uploads: users, their sessions and API tokens, sign-in attempts and throttles,
photos, idempotent responses."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Column, Index, UniqueConstraint, false
from sqlmodel import Field, SQLModel

from recovery.db.types import JSONType, UTCDateTime
from recovery.models import json_field, utc_field
from recovery.timeutil import now
from recovery.vocab import ROLE

#: the roles a user may have, with their labels, are the vocabulary's (recovery.vocab.ROLE)
ROLES: tuple[str, ...] = ROLE.keys


class User(SQLModel, table=True):
    """A person who signs in. Field users may change only sites in their scope (sub-districts or their team)."""

    __tablename__ = "app_user"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=80, unique=True)
    display_name: str = Field(default="", max_length=120)
    role: str = Field(max_length=20)
    scope: list = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    team_id: int | None = Field(default=None, foreign_key="team.id")
    #: the responsible unit (a `recovery.vocab.UNIT` key) whose work orders a user of role `unit` handles
    unit: str | None = Field(default=None, max_length=40)
    password_hash: str = Field(max_length=300)
    active: bool = True
    #: set when the user's role was raised to one that needs a longer password (`recovery.auth.passwords`): a
    #: signed-in browser may open only the password page until a new password is set (migration 0017)
    must_change_password: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    created_at: datetime | None = utc_field(nullable=False)
    last_login_at: datetime | None = utc_field()


def token_lifetime() -> timedelta:
    """How long a new API token lives: RECOVERY_TOKEN_DAYS (the app's value inside an app, else its default)."""
    from flask import current_app, has_app_context

    from recovery.settings import SETTINGS

    if has_app_context() and "RECOVERY" in current_app.config:
        return timedelta(days=current_app.config["RECOVERY"]["TOKEN_DAYS"])
    return timedelta(days=next(s.default for s in SETTINGS if s.name == "TOKEN_DAYS"))


def _token_expiry() -> datetime:
    return now() + token_lifetime()


class ApiToken(SQLModel, table=True):
    """A bearer token for API clients; only its SHA-256 is stored. It works until it expires or is revoked."""

    __tablename__ = "api_token"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id", index=True)
    token_hash: str = Field(max_length=64, unique=True)
    label: str = Field(default="", max_length=120)
    created_at: datetime | None = utc_field(nullable=False)
    last_used_at: datetime | None = utc_field()
    revoked_at: datetime | None = utc_field()
    expires_at: datetime = Field(
        default_factory=_token_expiry, sa_column=Column(UTCDateTime(), nullable=False)
    )


class UserSession(SQLModel, table=True):
    """A signed-in browser. Its cookie carries a random key (only the key's SHA-256 is stored here), and the
    session holds only while this row is unrevoked and unexpired: sign-out ends it on the server."""

    __tablename__ = "user_session"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id", index=True)
    key_hash: str = Field(max_length=64, unique=True)
    remote_addr: str = Field(default="", max_length=64)
    created_at: datetime | None = utc_field(nullable=False)
    expires_at: datetime | None = utc_field(nullable=False)
    revoked_at: datetime | None = utc_field()


class LoginThrottle(SQLModel, table=True):
    """Consecutive failed sign-ins of one user name from one address, and until when the next try waits.

    Kept in the database so that every app process applies the same wait; the row goes on a successful sign-in.
    """

    __tablename__ = "login_throttle"

    username: str = Field(max_length=80, primary_key=True)
    remote_addr: str = Field(max_length=64, primary_key=True)
    failures: int = 0
    last_attempt_at: datetime | None = utc_field()
    blocked_until: datetime | None = utc_field()


class LoginAttempt(SQLModel, table=True):
    """Failed and successful sign-ins, kept in the database so every app process sees the same count."""

    __tablename__ = "login_attempt"
    __table_args__ = (
        Index("ix_login_attempt_user_at", "username", "at"),
        Index("ix_login_attempt_addr_at", "remote_addr", "at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=80)
    remote_addr: str = Field(default="", max_length=64)
    at: datetime | None = utc_field(nullable=False)
    success: bool = False


class Photo(SQLModel, table=True):
    """A photo of a site, or of a work order that concerns no site, uploaded in chunks (resumable) and checked by
    content, not by name. One of `site_id` and `work_item_id` is set (migration 0016)."""

    __table_args__ = (UniqueConstraint("user_id", "upload_id", name="uq_photo_upload"),)

    id: int | None = Field(default=None, primary_key=True)
    upload_id: str = Field(max_length=100)
    site_id: int | None = Field(default=None, foreign_key="site.id", index=True)
    work_item_id: int | None = Field(default=None, foreign_key="work_item.id", index=True)
    event_id: int | None = Field(default=None, foreign_key="event.id")
    user_id: int | None = Field(default=None, foreign_key="app_user.id")
    content_type: str = Field(default="", max_length=40)
    size: int = 0
    received: int = 0
    width: int | None = None
    height: int | None = None
    sha256: str = Field(default="", max_length=64)
    path: str = Field(default="", max_length=300)
    complete: bool = False
    created_at: datetime | None = utc_field(nullable=False)


class Attachment(SQLModel, table=True):
    """A document attached to a work order (`recovery.attachments`): stored once by content, never changed."""

    id: int | None = Field(default=None, primary_key=True)
    work_item_id: int = Field(foreign_key="work_item.id", index=True)
    user_id: int | None = Field(default=None, foreign_key="app_user.id")
    name: str = Field(max_length=200)
    content_type: str = Field(max_length=100)
    size: int = 0
    sha256: str = Field(max_length=64)
    #: relative to the photo folder
    path: str = Field(max_length=300)
    created_at: datetime | None = utc_field(nullable=False)


class IdempotencyRecord(SQLModel, table=True):
    """The response first given to a request with an Idempotency-Key, returned again for a retry."""

    __tablename__ = "idempotency_record"
    __table_args__ = (UniqueConstraint("user_id", "key", name="uq_idempotency_user_key"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id")
    key: str = Field(max_length=200)
    method: str = Field(max_length=10)
    path: str = Field(max_length=300)
    body_hash: str = Field(max_length=64)
    status_code: int
    response: dict = json_field()
    headers: dict = json_field()
    created_at: datetime | None = utc_field(nullable=False)
