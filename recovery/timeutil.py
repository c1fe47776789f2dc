"""Time in the zone: days begin and end in Asia/Shanghai; everything is stored in UTC."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from recovery.errors import ValidationError

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


def parse_day(text: str) -> date:
    try:
        text = text.strip()
        if not _DAY.fullmatch(text):  # fromisoformat also takes 20210729 and 2021-W30-4
            raise ValueError(text)
        return date.fromisoformat(text)
    except (ValueError, AttributeError):
        raise ValidationError("Not a date (YYYY-MM-DD): %(value)s.", value=str(text)[:40]) from None


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
    return moment.astimezone(UTC)


def parse_as_of(text: str) -> datetime:
    """`2021-07-29` means the end of that day in the zone; text with a time part is an instant."""
    text = text.strip()
    if "T" not in text.upper() and " " not in text:  # no time part: a day, which must be YYYY-MM-DD
        return end_of_day(parse_day(text))
    return parse_instant(text)


def zone_iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(ZONE).isoformat()
