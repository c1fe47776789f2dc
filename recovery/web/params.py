"""Parsing the query parameters the pages and the API share (dates, as-of times, sub-districts), each read by its
declaration (`Param`, documented as declared by the OpenAPI document), and the one check every request's text
passes first (`refuse_unstorable_text`)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime

from flask import Flask, request
from sqlalchemy.orm import Session

from recovery.errors import ValidationError
from recovery.fields import Param
from recovery.ledger.asof import last_valid_at
from recovery.query.sites import SITE_FILTERS, parse_subdistrict
from recovery.text import refuse_lone_surrogates
from recovery.timeutil import (
    end_of_day,
    instant_in_window,
    local_day,
    now,
    parse_as_of,
    parse_day,
    parse_instant,
)

_FILTERS = {p.name: p for p in SITE_FILTERS}
#: the moment as every door reads it (the site filters' declaration), with the default of the figures' pages
AS_OF = replace(
    _FILTERS["as_of"],
    description="A day (its end, Asia/Shanghai) or an ISO instant; default the last day with data",
)
DATE = replace(_FILTERS["date"], description="A day (its end), when `as_of` is not given")
KNOWN_AT = Param("known_at", {"type": "string"}, "Count only what the server had recorded by then")
SUBDISTRICT = _FILTERS["subdistrict"]
#: the moment a figure is read at, and as known when
MOMENT = (AS_OF, DATE, KNOWN_AT)


def init_app(app: Flask) -> None:
    app.before_request(refuse_unstorable_text)


def refuse_unstorable_text() -> None:
    """A 400 for a request whose address, query, headers or form fields hold a NUL character (PostgreSQL refuses
    NUL in text, so any of them reaching a query would be a 500) or a lone surrogate. JSON bodies are checked
    by their parser (`recovery.jsondoc`); uploaded files by their readers."""
    environ = request.environ
    # the headers as the WSGI server gave them (what `request.headers` reads), without building that view
    texts = [request.path, *(v for k, v in environ.items() if k.startswith("HTTP_") or k in _BODY_HEADERS)]
    if environ.get("QUERY_STRING"):
        for key, value in request.args.items(multi=True):
            texts += (key, value)
    if environ.get("CONTENT_TYPE") and request.mimetype in _FORMS:
        for key, value in request.form.items(multi=True):  # bounded as it is read (recovery.web.limits)
            texts += (key, value)
    text = "\n".join(texts)  # one search of everything, not one per piece
    if "\x00" in text:
        raise ValidationError("The text contains a NUL character, which cannot be stored.")
    refuse_lone_surrogates(text)


#: the two headers WSGI keeps without the HTTP_ prefix
_BODY_HEADERS = frozenset({"CONTENT_TYPE", "CONTENT_LENGTH"})
_FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")


def default_day(session: Session) -> date:
    """Today, or the last day the ledger knows of when its data ends earlier (the demo's 2021 data)."""
    last = last_valid_at(session)
    today = local_day(now())
    return min(today, local_day(last)) if last else today


def day_param(session: Session, name: str = "date") -> date:
    raw = request.args.get(name)
    return parse_day(raw) if raw else default_day(session)


def as_of_param(session: Session) -> datetime:
    raw = request.args.get(AS_OF.name) or request.args.get(DATE.name)
    if raw:
        return parse_as_of(raw)
    return end_of_day(default_day(session))


def known_at_param() -> datetime | None:
    raw = request.args.get(KNOWN_AT.name)
    return parse_as_of(raw) if raw else None


def subdistrict_param() -> str | None:
    return parse_subdistrict(request.args.get(SUBDISTRICT.name))


def instant_field(body: dict, name: str = "valid_at") -> datetime | None:
    """An instant given in a JSON body: None only when the field is absent. Anything given must be a date and
    time: an empty value ("", 0, [], {}, null) is refused, never taken for "now"."""
    if name not in body:
        return None
    value = body[name]
    if not isinstance(value, str) or not value.strip():
        raise ValidationError("%(name)s must be a date and time (ISO 8601), or left out.", name=name)
    # an event happens within the incident's window like every date a request names (the future is refused
    # later, against the server's clock with its allowance for skew)
    return instant_in_window(parse_instant(value), value)
