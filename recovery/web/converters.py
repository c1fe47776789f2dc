"""URL converters: record ids within the databases' integer range, so an absurd id is a 404, not a crash."""

from __future__ import annotations

from werkzeug.routing import IntegerConverter

from recovery.numbers import MAX_INT

#: the largest id a URL may name (recovery.numbers.MAX_INT: PostgreSQL's 32-bit `integer`)
MAX_ID = MAX_INT

#: 1 .. 2147483647 without leading zeros, as a pattern. The range is checked by the pattern and not only in
#: `to_python`: Werkzeug's matcher picks a rule by method before it converts, so an id refused by `to_python`
#: on a path that other methods also serve would answer 405 instead of 404.
_ID_PATTERN = (
    r"(?:[1-9]\d{0,8}|1\d{9}|20\d{8}|21[0-3]\d{7}|214[0-6]\d{6}|2147[0-3]\d{5}|21474[0-7]\d{4}"
    r"|214748[0-2]\d{3}|2147483[0-5]\d{2}|21474836[0-3]\d|214748364[0-7])"
)


class IdConverter(IntegerConverter):
    """`<id:site_id>`: a positive whole number no larger than MAX_ID; anything else does not match (404).

    It is registered under `int` as well (`register`), so that no `<int:…>` path, such as a report's version,
    can carry an unbounded number to the database."""

    regex = _ID_PATTERN

    def __init__(self, map, **kwargs) -> None:  # noqa: A002 - werkzeug's name
        super().__init__(map, min=1, max=MAX_ID, **kwargs)


def register(app) -> None:
    """Every whole number in a path is an id or a version: bounded alike, whichever name the route uses."""
    app.url_map.converters["id"] = IdConverter
    app.url_map.converters["int"] = IdConverter
