"""What the admin's JSON API reads, declared once for its parser and the OpenAPI document."""

from __future__ import annotations

from recovery.fields import Body, Field, Param
from recovery.i18n import N_

TEXT = {"type": "string"}
SCOPE = Field(
    "scope",
    {"type": "array", "items": TEXT},
    "Sub-districts (any of their names) and/or team keys a field user may change",
    message=N_("scope must be a list of sub-districts or team keys."),
)
DISPLAY_NAME = Field(
    "display_name", TEXT, "The name shown on pages and in the ledger, at most 120 characters"
)

USER_BODY = Body(
    (
        Field("username", TEXT, "1 to 80 characters without spaces", required=True),
        Field("role", TEXT, required=True, vocabulary="role"),
        SCOPE,
        DISPLAY_NAME,
        Field("password", TEXT, "Omit to have one generated, returned once"),
    )
)
USER_CHANGE_BODY = Body(
    (Field("role", TEXT, vocabulary="role"), SCOPE, DISPLAY_NAME), "Only the fields given change"
)
TEAM_BODY = Body(
    (
        Field("name", TEXT, "At most 200 characters", required=True),
        Field("type", TEXT, required=True, vocabulary="team_type"),
        Field("subdistrict", TEXT | {"nullable": True}, "Any of its names; empty or null: the whole zone"),
        Field(
            "members",
            {"type": "integer", "minimum": 0},
            "Head count",
            message=N_("members must be a whole number."),
        ),
        Field("key", TEXT, "Default: the next T-NNNN"),
        Field(
            "registered_on",
            {"type": "string", "format": "date"},
            "The day it starts to count; default: every day",
        ),
    )
)
TEAM_CHANGE_BODY = Body(
    (
        Field("name", TEXT, "At most 200 characters"),
        Field("type", TEXT, vocabulary="team_type"),
        Field("subdistrict", TEXT | {"nullable": True}, "Any of its names; empty: the whole zone"),
        Field(
            "members",
            {"type": "integer", "minimum": 0},
            "Head count",
            message=N_("members must be a whole number."),
        ),
    ),
    "Only the fields given change",
)
RETIRE_BODY = Body(
    (Field("on", {"type": "string", "format": "date"}, "The day it stops counting; default: now"),),
    required=False,
)

Q = Param(
    "q",
    TEXT,
    "Text the user name or display name (a team's key or name; an entry's actor or target) contains",
)
RETIRED = Param("retired", {"type": "boolean", "default": True}, "false: leave out the retired teams")
ACTION = Param("action", TEXT, "One action, by any of its names")
LIMIT = Param(
    "limit", {"type": "integer", "minimum": 1, "maximum": 500, "default": 100}, "At most this many rows"
)
BEFORE = Param("before", {"type": "integer", "minimum": 1}, "Only entries older than this id (paging back)")
