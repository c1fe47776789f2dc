"""What the API's views read from a request besides the site filters, declared once: the JSON bodies (checked by
`Body.read` where a view reads one, shown by the OpenAPI document), the headers and a few query parameters."""

from __future__ import annotations

from recovery.coords import CRS_NAMES
from recovery.fields import Body, Field, Param
from recovery.i18n import N_
from recovery.interop.export import FORMATS as EXPORT_FORMATS
from recovery.numbers import MAX_INT
from recovery.query.sites import SITE_FILTERS
from recovery.reports.formats import ALIASES as REPORT_ALIASES
from recovery.reports.formats import FORMATS as REPORT_FORMATS
from recovery.web.apidoc import header, path

IF_MATCH = header(
    "If-Match", 'The site\'s ETag (its version, e.g. "3"); without it 428, when stale 412', True
)
IDEMPOTENCY_KEY = header(
    "Idempotency-Key", "A fresh key per change: a retry with the same key and body replays the first answer"
)
CONTENT_RANGE = header("Content-Range", "For a chunk of a resumable upload: bytes first-last/total")
UPLOAD_ID = header("Upload-Id", "The upload's id (8 to 64 letters, digits, - or _) when the address has none")

DAY = path("day", {"format": "date", "example": "2021-07-29"}, "A day, YYYY-MM-DD")
RECORD_ID = {"type": "integer", "minimum": 1, "maximum": MAX_INT}
TEXT = {"type": "string"}
OBJECT = {"type": "object"}

POSITION = Field(
    "position",
    {
        "type": "object",
        "required": ["lon", "lat"],
        "properties": {
            "lon": {"type": "number"},
            "lat": {"type": "number"},
            "crs": {"type": "string", "enum": list(CRS_NAMES), "default": "wgs84"},
            "accuracy": {"type": "number", "minimum": 0},
        },
    },
    "Where the reporter stands: lon, lat, crs and accuracy in metres",
    message=N_("position must be an object with lon, lat and crs."),
)
NOTE = Field("note", TEXT, "A note, at most 2,000 characters")
VALID_AT = Field(
    "valid_at",
    {"type": "string", "format": "date-time"},
    "When it happened (ISO 8601); default now",
    message=N_("%(name)s must be a date and time (ISO 8601), or left out."),
)

EVENT_BODY = Body(
    (
        Field(
            "action",
            {"type": "string", "enum": ["transition", "reopen"], "default": "transition"},
            "reopen: a commander reopens a finished site",
            message=N_("Unknown action %(action)s."),
        ),
        Field(
            "status",
            TEXT,
            "The new status (any of its names)",
            required=True,
            message=N_("status is required."),
        ),
        Field("track", {"type": "string", "nullable": True}, "The utility the status is of, if any"),
        Field("measures", OBJECT, "Measured quantities", message=N_("measures must be an object.")),
        NOTE,
        VALID_AT,
        POSITION,
        Field(
            "photos",
            {"type": "array", "items": TEXT},
            "Upload ids of this user's finished uploads of this site",
            message=N_("photos must be a list of upload ids."),
        ),
    )
)
SITE_BODY = Body(
    (
        Field("kind", TEXT, required=True, vocabulary="kind"),
        Field("name", {"type": "string", "maxLength": 200}, required=True),
        Field("address", {"type": "string", "maxLength": 300}),
        Field("geometry", OBJECT, "A GeoJSON geometry in WGS-84; without it, a point at `position`"),
        Field("attributes", OBJECT, "The kind's attributes", message=N_("Attributes must be an object.")),
        Field(
            "priority",
            {"type": "integer", "minimum": 1, "maximum": 3, "default": 2},
            "1 is the most urgent",
            message=N_("Priority must be 1 (most urgent), 2 or 3."),
        ),
        NOTE,
        VALID_AT,
        POSITION,
    ),
    "Give `geometry` or `position`",
)
CHECK_IN_BODY = Body((NOTE, VALID_AT, POSITION), required=False)
DECISION_BODY = Body(
    (
        Field(
            "decision",
            {"type": "string", "enum": ["apply", "dismiss"]},
            "apply makes the held change now; dismiss keeps the site as it is",
            required=True,
            message=N_("decision must be apply or dismiss."),
        ),
        NOTE,
    )
)
ASSIGN_BODY = Body(
    (
        Field(
            "site_ids",
            {"type": "array", "items": RECORD_ID},
            "The sites, by id",
            message=N_("site_ids must be a list of site ids."),
        ),
        Field(
            "filter",
            {"type": "object", "properties": {p.name: p.schema for p in SITE_FILTERS}},
            "Without site_ids: the map's filter (the site filters, as JSON)",
            message=N_("Send site_ids or the map's filter."),
        ),
        Field("polygon", OBJECT, "A GeoJSON Polygon drawn on the map (in the map's system)"),
        Field("team_id", RECORD_ID, required=True, message=N_("team_id must be a team id.")),
        Field(
            "deadline",
            {"type": "string", "format": "date"},
            "A day (its end, Asia/Shanghai); without it each site keeps its deadline",
        ),
        Field(
            "clear_deadlines",
            {"type": "boolean", "default": False},
            "Remove the sites' deadlines (without a deadline)",
            message=N_("clear_deadlines must be true or false."),
        ),
        Field(
            "confirm_past_deadline",
            {"type": "boolean", "default": False},
            "The deadline has passed and the commander confirmed it",
            message=N_("confirm_past_deadline must be true or false."),
        ),
        Field(
            "expected_count",
            {"type": "integer", "minimum": 1, "maximum": MAX_INT, "nullable": True},
            "The count the preview showed: a selection that changed since is refused (409)",
            message=N_("expected_count must be the number of sites the preview showed."),
        ),
    ),
    "site_ids, or the map's filter and/or a drawn polygon",
)
SUPERVISE_BODY = Body(
    (
        Field("title", {"type": "string", "maxLength": 200}, required=True),
        Field("responsible_unit", TEXT, "A responsible unit (责任单位) by any of its names", required=True),
        Field("severity", {"type": "string", "default": "general"}, vocabulary="severity"),
        Field("site_id", RECORD_ID | {"nullable": True}, message=N_("site_id must be a site id.")),
    )
)

SIDE = Param(
    "side",
    {"type": "string", "enum": ["numerator", "denominator"], "default": "numerator"},
    "The records of the figure's numerator (default) or denominator",
)
FIGURE_KEY = path("key", {"example": "road_collapse_handled"}, "A figure's key")
REPORT_FORMAT = Param(
    "format",
    {"type": "string", "enum": [*REPORT_FORMATS, *REPORT_ALIASES], "default": "json"},
    "json, txt (or text), md, xlsx or geojson",
)
REPORT_VERSION = Param("version", {"type": "string"}, "A published version (a number) or latest")
EXPORT_FORMAT = Param(
    "format", {"type": "string", "enum": list(EXPORT_FORMATS), "default": "geojson"}, "The file's format"
)
EXPORT_HEADERS = Param(
    "headers", {"type": "string", "enum": ["zh", "en"]}, "CSV/Excel headers in Chinese or English"
)


def _content(mimetypes) -> dict:
    """Media type → schema for files of these types: JSON ones are objects, the others text or bytes."""
    out = {}
    for mimetype in mimetypes:
        kind = mimetype.split(";")[0]
        binary = {"type": "string", "format": "binary"}
        schema = OBJECT if "json" in kind else {"type": "string"} if kind.startswith("text/") else binary
        out[kind] = {"schema": schema}
    return out


REPORT_CONTENT = _content(mime for _suffix, mime in REPORT_FORMATS.values())
EXPORT_CONTENT = _content(spec.mimetype for spec in EXPORT_FORMATS.values())

RELAPSE_BODY = Body(
    (
        Field(
            "note",
            TEXT,
            "What failed again (required)",
            required=True,
            message=N_("Say what failed again (a note)."),
        ),
        Field("status", TEXT, "The status the site would go back to; by default its first"),
        VALID_AT,
        POSITION,
        Field("photos", {"type": "array", "items": TEXT}, "Upload ids of this user's finished uploads"),
    )
)

# -- work orders (督查交办) ------------------------------------------------------------------------------------------

WORK_ITEM_QUERY = (
    Param(
        "unit", {"type": "string"}, "A responsible unit by any of its names: its orders (as lead or co-unit)"
    ),
    Param("category", {"type": "string"}, "A category by any of its names (督办, 周观摩问题, 万人助万企 …)"),
    Param(
        "status", {"type": "string"}, "Statuses, comma-separated, by any of their names (待签收, 被退回 …)"
    ),
    Param("overdue", {"type": "string"}, "yes: only orders a deadline of which has passed; no: the others"),
    Param("site", RECORD_ID, "Orders that concern this site"),
    Param("review", RECORD_ID, "Orders found at this weekly review"),
    Param("q", TEXT, "Text in the key, title or description"),
    Param("limit", {"type": "integer", "minimum": 1, "maximum": 500, "default": 50}, "Page size"),
    Param("offset", {"type": "integer", "minimum": 0, "default": 0}, "Orders to skip"),
)
WORK_ITEM_BODY = Body(
    (
        Field("category", TEXT, required=True, vocabulary="category"),
        Field("title", {"type": "string", "maxLength": 300}, required=True),
        Field("description", {"type": "string", "maxLength": 4000}),
        Field(
            "site_ids",
            {"type": "array", "items": RECORD_ID, "maxItems": 200},
            "The sites the order concerns (none or more)",
            message=N_("site_ids must be a list of site ids."),
        ),
        Field("unit", TEXT, "The lead unit (牵头单位)", required=True, vocabulary="unit"),
        Field(
            "co_units",
            {"type": "array", "items": TEXT, "maxItems": 20},
            "Co-units (配合单位), by any of their names",
            message=N_("co_units must be a list of units."),
        ),
        Field("severity", {"type": "string", "default": "general"}, vocabulary="severity"),
        Field(
            "milestones",
            {"type": "array", "items": OBJECT, "maxItems": 30},
            "网络计划: [{title, due: YYYY-MM-DD}]",
            message=N_("milestones must be a list of at most 30 {title, due} objects."),
        ),
        Field("review_id", RECORD_ID | {"nullable": True}, "The weekly review it was found at"),
        NOTE,
        VALID_AT,
    )
)
WORK_ITEM_STEP_BODY = Body(
    (
        Field(
            "action",
            {
                "type": "string",
                "enum": [
                    "acknowledge",
                    "feedback",
                    "resolve",
                    "verify",
                    "return",
                    "close",
                    "request_extension",
                    "approve_extension",
                    "refuse_extension",
                    "transfer",
                    "remind",
                    "reopen",
                ],
            },
            "The step",
            required=True,
            message=N_("Unknown action %(action)s."),
        ),
        NOTE,
        Field(
            "photos",
            {"type": "array", "items": TEXT, "maxItems": 20},
            "Upload ids of photos of a linked site, uploaded first",
            message=N_("photos must be a list of upload ids."),
        ),
        Field(
            "until",
            {"type": "string", "format": "date"},
            "request/approve_extension: the new deadline (a day)",
        ),
        Field("to_unit", TEXT, "transfer: the unit the order is handed to", vocabulary="unit"),
        VALID_AT,
        POSITION,
    )
)
WORK_ITEM_IF_MATCH = header(
    "If-Match", 'The order\'s ETag (its version, e.g. "3"); without it 428, when stale 412', True
)

#: a worker's report that a finished site failed again (held for a commander: recovery/ledger/relapse.py)
RELAPSE_BODY = Body(
    (
        Field(
            "note",
            TEXT,
            "What failed again (required)",
            required=True,
            message=N_("Say what failed again (a note)."),
        ),
        Field("status", TEXT, "The status the site would go back to; by default its first"),
        VALID_AT,
        POSITION,
        Field("photos", {"type": "array", "items": TEXT}, "Upload ids of this user's finished uploads"),
    )
)
