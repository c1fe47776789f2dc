"""Time in the zone: days begin and end in Asia/Shanghai; everything is stored in UTC."""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from recovery.errors import DateOutOfRange, ValidationError
from recovery.incident import DEADLINE_HORIZON_DAYS, current_incident

ZONE = ZoneInfo("Asia/Shanghai")
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def now() -> datetime:
    return datetime.now(UTC)


def end_of_day(day: date) -> datetime:
    """The instant a day ends in the zone ("29 July 24:00"), as an aware UTC datetime."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=ZONE).astimezone(UTC)


def start_of_day(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=ZONE).astimezone(UTC)


def local_day(moment: datetime) -> date:
    """The zone's calendar day of an instant; the last instant that belongs to day D is end_of_day(D) - 1µs."""
    return moment.astimezone(ZONE).date()


def query_window() -> tuple[date, date]:
    """The first and the last day a request or command may ask about: the incident's window, from its
    `window_start` (`recovery.incident.current_incident`) to tomorrow in the zone (the data cannot know anything
    later)."""
    return current_incident().window_start, local_day(now()) + timedelta(days=1)


def deadline_window() -> tuple[date, date]:
    """The days a deadline may be set to: from the window's start to a year ahead."""
    return current_incident().window_start, local_day(now()) + timedelta(days=DEADLINE_HORIZON_DAYS)


def parse_day(text: str, window: tuple[date, date] | None = None) -> date:
    """A day a request names, `YYYY-MM-DD`, within `window` (by default the incident's, `query_window`)."""
    try:
        text = text.strip()
        if not _DAY.fullmatch(text):  # fromisoformat also takes 20210729 and 2021-W30-4
            raise ValueError(text)
        day = date.fromisoformat(text)
    except (ValueError, AttributeError):
        raise ValidationError("Not a date (YYYY-MM-DD): %(value)s.", value=str(text)[:40]) from None
    first, last = window or query_window()
    if not first <= day <= last:
        raise _outside(text, first, last)
    return day


def _outside(text: str, first: date, last: date) -> DateOutOfRange:
    return DateOutOfRange(
        "%(value)s is outside the days this tracker covers, %(first)s to %(last)s.",
        value=text[:40],
        first=first.isoformat(),
        last=last.isoformat(),
    )


def parse_instant(value: str | datetime) -> datetime:
    """Parse an ISO-8601 instant; one without an offset is taken as zone time (Asia/Shanghai)."""
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
        except ValueError:
            raise ValidationError(
                "Not a date and time (ISO 8601): %(value)s.", value=str(value)[:40]
            ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZONE)
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00+08:00 and 9999-12-31T23:00-05:00 have no UTC form
        raise ValidationError("Not a date and time (ISO 8601): %(value)s.", value=str(value)[:40]) from None


#: 2021年7月29日, 2021/7/29, 2021.7.29, 2021-7-29, each with an optional time 14:30[:00] (or 14时30分)
_OFFICE_DATE = re.compile(
    r"(\d{4})\s*[年/.\-]\s*(\d{1,2})\s*[月/.\-]\s*(\d{1,2})\s*日?"
    r"(?:[\sT]*(\d{1,2})\s*[:时点]\s*(\d{1,2})\s*分?(?:\s*[:]\s*(\d{1,2})\s*秒?)?)?"
)
#: Excel's day 0 in its 1900 date system (as Excel counts it, with its phantom 29 February 1900)
EXCEL_EPOCH = datetime(1899, 12, 30)
#: serial numbers read as Excel dates: 1 January 2000 to 31 December 2099, so a count is never taken for a date
EXCEL_SERIALS = (36526, 73415)


def parse_office_instant(value: object) -> datetime:
    """A date and time as an office spreadsheet writes it: a cell already read as a date, an Excel serial date
    (44406 is 2021-07-29, a fraction the time of day), `2021年7月29日`, `2021/7/29 14:30`, full-width digits
    too, or ISO 8601. Without an offset it is zone time; a day alone is its start, as in ISO 8601."""
    if hasattr(value, "to_pydatetime"):  # a pandas Timestamp
        value = value.to_pydatetime()
    if isinstance(value, datetime):
        return parse_instant(value)
    if isinstance(value, date):
        return parse_instant(datetime.combine(value, time(0)))
    text = unicodedata.normalize("NFKC", str(value)).strip()
    try:
        serial = float(text) if not isinstance(value, bool) else None
    except ValueError:
        serial = None
    if serial is not None and EXCEL_SERIALS[0] <= serial < EXCEL_SERIALS[1]:
        moment = EXCEL_EPOCH + timedelta(days=serial)
        return parse_instant(
            moment.replace(microsecond=0) + timedelta(seconds=round(moment.microsecond / 1e6))
        )
    match = _OFFICE_DATE.fullmatch(text)
    if match:
        year, month, day, hour, minute, second = (int(g) if g else 0 for g in match.groups())
        try:
            return parse_instant(datetime(year, month, day, hour, minute, second))
        except ValueError:
            raise ValidationError("Not a date and time (ISO 8601): %(value)s.", value=text[:40]) from None
    return parse_instant(text)


def parse_as_of(text: str) -> datetime:
    """`2021-07-29` means the end of that day in the zone; text with a time part is an instant. Either must
    fall in the incident's window (`query_window`): from the start of its first day to the end of its last."""
    text = text.strip()
    if "T" not in text.upper() and " " not in text:  # no time part: a day, which must be YYYY-MM-DD
        return end_of_day(parse_day(text))
    return instant_in_window(parse_instant(text), text)


def instant_in_window(moment: datetime, text: str | None = None) -> datetime:
    """`moment` if it falls in the incident's window (from the start of its first day to the end of its last),
    else a DateOutOfRange naming `text` (what the client sent) or the moment."""
    first, last = query_window()
    if not start_of_day(first) <= moment <= end_of_day(last):
        raise _outside(text or moment.isoformat(), first, last)
    return moment


def zone_iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(ZONE).isoformat()


def zone_minute(value: str | datetime | None) -> str:
    """An instant as a reader reads it: `2021-07-29 14:05` in the zone (no seconds, no offset); '' for none.
    An ISO string is read as written; one without an offset is taken as the zone's time."""
    if not value:
        return ""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is not None:
        moment = moment.astimezone(ZONE)
    return moment.strftime("%Y-%m-%d %H:%M")


def deadline_text(moment: datetime | None) -> str:
    """A deadline as a reader reads it: a day's deadline (the midnight that ends it, as `end_of_day` stores it)
    is that day, `2021-12-08`, never `2021-12-09 00:00`; any other instant to the minute; '' for none."""
    if moment is None:
        return ""
    local = moment.astimezone(ZONE)
    if (local.hour, local.minute, local.second, local.microsecond) == (0, 0, 0, 0):
        return (local.date() - timedelta(days=1)).isoformat()
    return zone_minute(local)
