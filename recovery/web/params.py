"""Parsing the query parameters the pages and the API share (dates, as-of times, sub-districts)."""

from __future__ import annotations

from datetime import date, datetime

from flask import request
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from recovery.errors import ValidationError
from recovery.geodata import SUBDISTRICT_ORDER
from recovery.models import Event
from recovery.timeutil import end_of_day, local_day, now, parse_as_of, parse_day, parse_instant


def default_day(session: Session) -> date:
    """Today, or the last day the ledger knows of when its data ends earlier (the demo's 2021 data)."""
    last = session.scalar(select(func.max(Event.valid_at)))
    today = local_day(now())
    return min(today, local_day(last)) if last else today


def day_param(session: Session, name: str = "date") -> date:
    raw = request.args.get(name)
    return parse_day(raw) if raw else default_day(session)


def as_of_param(session: Session) -> datetime:
    raw = request.args.get("as_of") or request.args.get("date")
    if raw:
        return parse_as_of(raw)
    return end_of_day(default_day(session))


def known_at_param() -> datetime | None:
    raw = request.args.get("known_at")
    return parse_as_of(raw) if raw else None


def subdistrict_param() -> str | None:
    raw = request.args.get("subdistrict")
    if raw in (None, ""):
        return None
    if raw not in SUBDISTRICT_ORDER:
        raise ValidationError("Unknown sub-district %(value)s.", value=raw[:40])
    return raw


def instant_field(body: dict, name: str = "valid_at") -> datetime | None:
    """An instant given in a JSON body: None only when the field is absent. Anything given must be a date and
    time: an empty value ("", 0, [], {}, null) is refused, never taken for "now"."""
    if name not in body:
        return None
    value = body[name]
    if not isinstance(value, str) or not value.strip():
        raise ValidationError("%(name)s must be a date and time (ISO 8601), or left out.", name=name)
    return parse_instant(value)
