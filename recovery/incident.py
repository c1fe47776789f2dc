"""The incident the tracker follows: its name, zone, calendar (first day, deadlines, the window a date may name)
and the report's title and source, with the 7·20 flood as the shipped default.

Every chart, series, date control and bulletin reads `current_incident()`: the app's incident (the file that
`RECOVERY_INCIDENT` names, read at start-up) inside an app, the shipped default outside one. Every date a request
or command names must fall in the incident's window, from `window_start` to tomorrow in the zone
(`recovery.timeutil.query_window`): before it there is nothing to show, after it nothing has happened yet, so no
request can make the server walk years of empty days.

An incident file is TOML (`.toml`) or JSON (`.json`)::

    key = "flood-0720"
    first_day = 2021-07-20          # where the day-by-day series start
    window_start = 2021-07-01       # the first day a query may name (default: first_day)
    last_day = 2021-08-31           # optional: the span's end; charts run no further without saying so
    time_zone = "Asia/Shanghai"
    name = { zh = "7·20 特大暴雨", en = "7·20 rainstorm" }
    zone = { zh = "郑州高新区", en = "Zhengzhou High-tech Zone" }
    office = { zh = "高新区智慧运营中心", en = "High-tech Zone operations centre" }
    report_title = { zh = "…日报", en = "… daily report" }
    short_title = { zh = "…", en = "…" }   # optional: the Markdown file's heading (default: report_title)
    source = { zh = "…", en = "…" }
    [deadlines]
    roads = 2021-08-15              # required: the collapse points' deadline, drawn on the burn-down
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from recovery.errors import ConfigError

#: how far ahead a deadline may be set (a 13710 item is resolved within a month; a year is ample)
DEADLINE_HORIZON_DAYS = 366
#: the one zone whose days the ledger's figures count in (recovery.timeutil.ZONE)
ZONE_NAME = "Asia/Shanghai"


@dataclass(frozen=True)
class Wording:
    """A text in Chinese and English; `get(locale)` gives the reader's (Chinese for `zh…`)."""

    zh: str
    en: str

    def get(self, locale: str | None = "zh") -> str:
        return self.zh if (locale or "zh").lower().startswith("zh") else self.en


@dataclass(frozen=True)
class Incident:
    """One incident: what it is called, where, its calendar and how its report is titled and sourced."""

    key: str
    name: Wording
    zone: Wording
    office: Wording
    report_title: Wording
    source: Wording
    first_day: date
    window_start: date
    deadlines: dict[str, date] = field(default_factory=dict)
    last_day: date | None = None
    time_zone: str = ZONE_NAME
    #: the title where the zone goes without saying (the Markdown file's heading); by default the title
    short_title: Wording | None = None

    @property
    def heading(self) -> Wording:
        return self.short_title or self.report_title

    @property
    def road_deadline(self) -> date:
        """Every collapsed road restored by this day (the burn-down's deadline)."""
        return self.deadlines["roads"]

    def span_end(self, last_data_day: date | None = None) -> date | None:
        """Where a chart's span ends: the configured last day, else the last day with data (None: unknown)."""
        return self.last_day or last_data_day

    def crosses_year(self, until: date | None = None) -> bool:
        """Whether the incident's days, from the first to `until` (or its last day), cross a year."""
        end = until or self.last_day or self.first_day
        return end.year != self.first_day.year


#: the shipped default: the rainstorm of 20 July 2021 ("7·20") in Zhengzhou High-tech Zone
FLOOD_0720 = Incident(
    key="flood-0720",
    name=Wording("7·20 特大暴雨", "7·20 rainstorm"),
    zone=Wording("郑州高新区", "Zhengzhou High-tech Zone"),
    office=Wording("高新区智慧运营中心", "High-tech Zone operations centre"),
    report_title=Wording(
        "郑州高新区灾后恢复重建日报", "Zhengzhou High-tech Zone flood recovery daily report"
    ),
    short_title=Wording("高新区灾后恢复重建日报", "High-tech Zone flood recovery daily report"),
    source=Wording(
        "郑州高新区智慧运营中心 灾后恢复重建跟踪系统(由事件台账计算)",
        "Zhengzhou High-tech Zone operations centre, flood recovery tracker (computed from the event ledger)",
    ),
    # the recovery's first day, where its day-by-day series start
    first_day=date(2021, 7, 20),
    # the start of the flood season's month, so the days before the storm (the baseline, "as known before the
    # first upload") can still be asked for
    window_start=date(2021, 7, 1),
    # every collapsed road restored by 15 August 2021 (先主后次、先通后畅)
    deadlines={"roads": date(2021, 8, 15)},
)
DEFAULT = FLOOD_0720

_WORDINGS = ("name", "zone", "office", "report_title", "source")
_FIELDS = {
    "key",
    "first_day",
    "window_start",
    "last_day",
    "time_zone",
    "deadlines",
    "short_title",
    *_WORDINGS,
}


def current_incident() -> Incident:
    """The incident of the running app (see `init_app`), or the shipped default outside an app."""
    from flask import current_app, has_app_context

    if has_app_context():
        found = current_app.extensions.get("recovery.incident")
        if found is not None:
            return found
    return DEFAULT


def init_app(app) -> None:
    """Read the incident the RECOVERY_INCIDENT setting names (a file, or an Incident given by a test) once at
    start-up, and give templates `incident`."""
    value = app.config["RECOVERY"].get("INCIDENT")
    try:
        incident = value if isinstance(value, Incident) else load_incident(value) if value else DEFAULT
    except ConfigError as exc:
        raise ConfigError(f"RECOVERY_INCIDENT: {exc}") from None
    app.extensions["recovery.incident"] = incident
    app.context_processor(_template_context)


def _template_context() -> dict:
    """`incident` and `incident_text(field)`: a wording of the incident (`name`, `zone`, `report_title`…) in the
    reader's language."""
    from flask import has_request_context

    from recovery.i18n import current_locale

    incident = current_incident()
    locale = current_locale() if has_request_context() else "zh"
    return {"incident": incident, "incident_text": lambda name: getattr(incident, name).get(locale)}


def load_incident(path: str | Path) -> Incident:
    """The incident a TOML or JSON file defines; ConfigError naming the file and what is wrong with it."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"incident file {path}: cannot be read ({exc.strerror or exc})") from None
    try:
        if path.suffix.lower() == ".json":
            data = json.loads(raw.decode("utf-8"))
        else:
            data = tomllib.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"incident file {path}: not valid {path.suffix.lstrip('.') or 'TOML'}: {exc}"
        ) from None
    try:
        return incident_from_mapping(data)
    except ValueError as exc:
        raise ConfigError(f"incident file {path}: {exc}") from None


def incident_from_mapping(data: Any) -> Incident:
    """An Incident from plain data (dates as TOML dates or YYYY-MM-DD text); ValueError saying what is wrong."""
    if not isinstance(data, dict):
        raise ValueError("expected a table of fields")
    unknown = sorted(set(data) - _FIELDS)
    if unknown:
        raise ValueError(f"unknown field(s) {', '.join(unknown)}; known: {', '.join(sorted(_FIELDS))}")
    missing = sorted({"key", "first_day", "deadlines", *_WORDINGS} - set(data))
    if missing:
        raise ValueError(f"missing field(s) {', '.join(missing)}")
    key = data["key"]
    if not isinstance(key, str) or not key.strip():
        raise ValueError("key: expected a non-empty text")
    first_day = _date(data["first_day"], "first_day")
    window_start = _date(data.get("window_start", first_day), "window_start")
    last_day = _date(data["last_day"], "last_day") if data.get("last_day") is not None else None
    if window_start > first_day:
        raise ValueError(f"window_start {window_start} is after first_day {first_day}")
    if last_day is not None and last_day < first_day:
        raise ValueError(f"last_day {last_day} is before first_day {first_day}")
    if not isinstance(data["deadlines"], dict):
        raise ValueError("deadlines: expected a table of name = date")
    deadlines = {str(name): _date(day, f"deadlines.{name}") for name, day in data["deadlines"].items()}
    if "roads" not in deadlines:
        raise ValueError("deadlines: the roads' deadline (deadlines.roads) is required")
    for name, day in deadlines.items():
        if day < first_day:
            raise ValueError(f"deadlines.{name} {day} is before first_day {first_day}")
    time_zone = data.get("time_zone", ZONE_NAME)
    if time_zone != ZONE_NAME:  # the ledger's days are counted in one zone; another would shift every figure
        raise ValueError(f"time_zone {time_zone!r}: only {ZONE_NAME} is supported")
    return Incident(
        key=key.strip(),
        first_day=first_day,
        window_start=window_start,
        last_day=last_day,
        deadlines=deadlines,
        time_zone=time_zone,
        short_title=_wording(data["short_title"], "short_title") if "short_title" in data else None,
        **{name: _wording(data[name], name) for name in _WORDINGS},
    )


def _date(value: Any, name: str) -> date:
    if isinstance(value, date) and not hasattr(value, "hour"):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValueError(f"{name}: expected a date (YYYY-MM-DD), got {str(value)[:40]!r}")


def _wording(value: Any, name: str) -> Wording:
    if (
        not isinstance(value, dict)
        or set(value) != {"zh", "en"}
        or not all(isinstance(v, str) and v.strip() for v in value.values())
    ):
        raise ValueError(f'{name}: expected {{ zh = "…", en = "…" }}, both non-empty')
    return Wording(value["zh"].strip(), value["en"].strip())


# the shipped default's calendar under its former names (kept for readers of the 7·20 data set itself, such as
# its tests); code that serves an incident reads current_incident()
FIRST_DAY = DEFAULT.first_day
ROAD_DEADLINE = DEFAULT.road_deadline
WINDOW_START = DEFAULT.window_start
