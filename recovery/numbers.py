"""Whole numbers read from what a client sent (query parameters, headers, versions, ids in a JSON body).

The one rule: ASCII digits only (`str.isdigit` also takes "²" and "٣", which `int()` then refuses or reads
as something else), and within the databases' integer range, so that no number a client sends can reach a
query as a value the database cannot hold (SQLite stops at 2^63, PostgreSQL's `integer` at 2^31).
"""

from __future__ import annotations

import re

from recovery.errors import ValidationError

#: PostgreSQL's `integer` is 32-bit; SQLite's is 64-bit. The smaller bound holds for both: every id, version
#: and count the app stores fits in it.
MAX_INT = 2**31 - 1
_DIGITS = re.compile(r"[0-9]{1,10}")


def read_whole_number(raw: object) -> int | None:
    """`raw` (text of ASCII digits, or an int from a JSON body) as a whole number from 0 to `MAX_INT`, or None."""
    if isinstance(raw, int) and not isinstance(raw, bool):
        value = raw
    elif isinstance(raw, str) and _DIGITS.fullmatch(raw.strip()):
        value = int(raw.strip())
    else:
        return None
    return value if 0 <= value <= MAX_INT else None


def whole_number(raw: object, name: str, low: int = 0, high: int = MAX_INT) -> int:
    """`raw` as a whole number from `low` to `high` (within 0 .. MAX_INT), or a 400 naming `name`."""
    value = read_whole_number(raw)
    if value is None or not low <= value <= high:
        raise ValidationError(
            "%(name)s must be a whole number from %(low)s to %(high)s.", name=name, low=low, high=high
        )
    return value


def is_record_id(value: object) -> bool:
    """Whether a value from a JSON body can be the id of a stored record (a site, a team): an int from 1 to
    `MAX_INT` (a larger one names nothing, and PostgreSQL would refuse to compare it with an id)."""
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_INT
