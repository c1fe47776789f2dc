"""JSON that arrives from outside (a request body, a polygon in a query, a mapping file), parsed into plain
values or refused with a ValidationError (400) — never an exception the app did not mean.

What is refused, and why:
- text that is not JSON (or not UTF-8);
- nesting deeper than `MAX_DEPTH`: Python's parser recurses and a body of 100,000 `[` would raise
  RecursionError; a document just under the interpreter's limit would fail later, when it is hashed or
  echoed, so the bound is far below it (GeoJSON needs 5 levels);
- `NaN`, `Infinity` and numbers that overflow to infinity (not JSON, and no figure can use them);
- integers beyond ±2^53 (I-JSON, RFC 7493: what every client can represent exactly; an id or version that
  large names nothing, and SQLite cannot even bind one from 2^63);
- a NUL character in any key or string (PostgreSQL refuses NUL in text, so it could never be stored);
- a lone surrogate in any key or string (`recovery.text.refuse_lone_surrogates`: no encoder can write one).
"""

from __future__ import annotations

import json
import math
from typing import Any

from recovery.errors import ValidationError
from recovery.text import refuse_lone_surrogates

MAX_DEPTH = 64
MAX_SAFE_INT = 2**53 - 1


def _int(text: str) -> int:
    value = int(text)
    if abs(value) > MAX_SAFE_INT:
        raise ValidationError(
            "The JSON holds a whole number beyond ±%(limit)s: %(value)s.", limit=MAX_SAFE_INT, value=text[:30]
        )
    return value


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValidationError("The JSON holds a number too large to use: %(value)s.", value=text[:30])
    return value


def _constant(name: str) -> float:
    raise ValidationError("The JSON holds %(value)s, which is not a number JSON allows.", value=name)


def loads(text: str | bytes) -> Any:
    """Parse a JSON document from outside; see the module's docstring for what is refused."""
    try:
        document = json.loads(text, parse_int=_int, parse_float=_float, parse_constant=_constant)
    except RecursionError:
        raise _too_deep() from None
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, an int of more than 4,300 digits
        reason = exc.msg if isinstance(exc, json.JSONDecodeError) else type(exc).__name__
        raise ValidationError("Not valid JSON: %(reason)s.", reason=reason) from None
    check_document(document)
    return document


def check_document(document: Any) -> None:
    """Refuse a parsed document nested deeper than MAX_DEPTH or with NUL or a lone surrogate in its text."""
    stack = [(document, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                raise ValidationError("The text contains a NUL character, which cannot be stored.")
        elif isinstance(item, dict | list):
            if depth > MAX_DEPTH:
                raise _too_deep()
            children = [*item.keys(), *item.values()] if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    refuse_lone_surrogates(document)


def _too_deep() -> ValidationError:
    return ValidationError("The JSON is nested more than %(depth)s levels deep.", depth=MAX_DEPTH)
