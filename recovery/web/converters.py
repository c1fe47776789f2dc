"""URL converters: record ids within the databases' integer range, so an absurd id is a 404, not a crash."""

from __future__ import annotations

from werkzeug.routing import IntegerConverter

#: PostgreSQL's `integer` is 32-bit; SQLite's is 64-bit. The smaller bound holds for both.
MAX_ID = 2**31 - 1


class IdConverter(IntegerConverter):
    """`<id:site_id>`: a positive whole number no larger than MAX_ID; anything else does not match (404)."""

    def __init__(self, map, **kwargs) -> None:  # noqa: A002 - werkzeug's name
        super().__init__(map, min=1, max=MAX_ID, **kwargs)
