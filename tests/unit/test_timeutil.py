"""Days in Asia/Shanghai: end and start of a day, the local day of an instant, and parsing of dates and instants."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from recovery.errors import ValidationError
from recovery.timeutil import (
    ZONE,
    deadline_text,
    end_of_day,
    local_day,
    now,
    parse_as_of,
    parse_day,
    parse_instant,
    start_of_day,
    zone_iso,
)

UTC8 = timezone(timedelta(hours=8))


def test_end_of_29_july_is_16_utc():
    end = end_of_day(date(2021, 7, 29))
    assert end == datetime(2021, 7, 29, 16, 0, tzinfo=UTC)
    assert end.utcoffset() == timedelta(0)


@pytest.mark.parametrize("day", [date(2021, 7, 20), date(2021, 7, 31), date(2021, 12, 31), date(2024, 2, 29)])
def test_a_day_lasts_24_hours_from_16_utc_the_day_before(day):
    assert start_of_day(day) == datetime.combine(
        day - timedelta(days=1), datetime.min.time(), UTC
    ) + timedelta(hours=16)
    assert end_of_day(day) - start_of_day(day) == timedelta(hours=24)
    assert end_of_day(day) == start_of_day(day + timedelta(days=1))


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (datetime(2021, 7, 29, 15, 59, 59, 999999, tzinfo=UTC), date(2021, 7, 29)),
        (datetime(2021, 7, 29, 16, 0, tzinfo=UTC), date(2021, 7, 30)),
        (datetime(2021, 7, 28, 16, 0, tzinfo=UTC), date(2021, 7, 29)),
        (datetime(2021, 7, 29, 23, 59, tzinfo=UTC8), date(2021, 7, 29)),
        (datetime(2021, 7, 30, 0, 0, tzinfo=UTC8), date(2021, 7, 30)),
        (datetime(2021, 7, 29, 12, 0, tzinfo=timezone(timedelta(hours=-5))), date(2021, 7, 30)),  # 17:00 UTC
    ],
)
def test_local_day_around_midnight_in_shanghai(moment, expected):
    assert local_day(moment) == expected


def test_the_last_instant_of_a_day_belongs_to_it():
    day = date(2021, 7, 29)
    assert local_day(end_of_day(day) - timedelta(microseconds=1)) == day
    assert local_day(end_of_day(day)) == day + timedelta(days=1)
    assert local_day(start_of_day(day)) == day


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2021-07-29", datetime(2021, 7, 29, 16, 0, tzinfo=UTC)),  # a date: the end of that day
        (" 2021-07-29 ", datetime(2021, 7, 29, 16, 0, tzinfo=UTC)),
        ("2021-07-29T12:00:00+08:00", datetime(2021, 7, 29, 4, 0, tzinfo=UTC)),  # an instant: itself
        ("2021-07-29T12:00:00Z", datetime(2021, 7, 29, 12, 0, tzinfo=UTC)),
        ("2021-07-29T12:00:00", datetime(2021, 7, 29, 4, 0, tzinfo=UTC)),  # naive: zone time
        ("2021-07-29T00:00", datetime(2021, 7, 28, 16, 0, tzinfo=UTC)),
    ],
)
def test_parse_as_of(text, expected):
    parsed = parse_as_of(text)
    assert parsed == expected
    assert parsed.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2021-07-20T06:00:00+08:00", datetime(2021, 7, 19, 22, 0, tzinfo=UTC)),
        ("2021-07-20T06:00:00", datetime(2021, 7, 19, 22, 0, tzinfo=UTC)),
        ("2021-07-20 06:00", datetime(2021, 7, 19, 22, 0, tzinfo=UTC)),
        ("2021-07-20T06:00:00-02:00", datetime(2021, 7, 20, 8, 0, tzinfo=UTC)),
        (datetime(2021, 7, 20, 6, 0), datetime(2021, 7, 19, 22, 0, tzinfo=UTC)),  # naive datetime: zone time
        (datetime(2021, 7, 20, 6, 0, tzinfo=UTC), datetime(2021, 7, 20, 6, 0, tzinfo=UTC)),
    ],
)
def test_parse_instant(value, expected):
    parsed = parse_instant(value)
    assert parsed == expected
    assert parsed.tzinfo is not None and parsed.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    "text",
    # a date in another ISO form must not slip through as the *start* of the day
    ["", "yesterday", "2021-13-01", "2021-07-32", "29/07/2021", "2021-07-29T25:00", "20210729", "2021-W30-4"],
)
def test_bad_as_of_is_a_validation_error(text):
    with pytest.raises(ValidationError):
        parse_as_of(text)


@pytest.mark.parametrize(
    "text", ["", "2021-02-30", "20210729", "2021-W30-4", "2021-210", "2021-07-29T10:00", None]
)
def test_bad_day_is_a_validation_error(text):
    with pytest.raises(ValidationError):
        parse_day(text)


@pytest.mark.parametrize("value", ["", "noon", "2021-07-29T12:00:00+25:00", "2021-07-29 12h"])
def test_bad_instant_is_a_validation_error(value):
    with pytest.raises(ValidationError):
        parse_instant(value)


def test_parse_day():
    assert parse_day("2021-07-29") == date(2021, 7, 29)


def test_zone_iso_shows_shanghai_time():
    assert zone_iso(datetime(2021, 7, 29, 16, 0, tzinfo=UTC)) == "2021-07-30T00:00:00+08:00"
    assert zone_iso(None) is None


def test_now_is_aware_utc():
    moment = now()
    assert moment.utcoffset() == timedelta(0)
    assert abs(moment - datetime.now(UTC)) < timedelta(seconds=5)
    assert str(ZONE) == "Asia/Shanghai"


def test_an_instant_as_a_reader_reads_it():
    """One spelling for every page, list and message: minutes in the zone, no seconds, no offset."""
    from datetime import UTC, datetime

    from recovery.timeutil import zone_minute

    assert zone_minute(datetime(2021, 7, 29, 6, 5, 59, 123456, tzinfo=UTC)) == "2021-07-29 14:05"
    assert zone_minute("2021-07-28T16:00:00+00:00") == "2021-07-29 00:00"
    assert zone_minute("2021-07-29T14:05:00.999999+08:00") == "2021-07-29 14:05"
    assert zone_minute(None) == "" and zone_minute("") == ""


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (end_of_day(date(2021, 12, 8)), "2021-12-08"),  # a day's deadline reads as that day, not 12-09 00:00
        (datetime(2021, 12, 8, 16, 0, tzinfo=UTC), "2021-12-08"),  # the same midnight, given in UTC
        (datetime(2021, 12, 9, 0, 0, 1, tzinfo=UTC8), "2021-12-09 00:00"),  # a second past midnight is a time
        (datetime(2021, 12, 8, 18, 30, tzinfo=UTC8), "2021-12-08 18:30"),
        (datetime(2021, 12, 8, 0, 0, tzinfo=UTC), "2021-12-08 08:00"),  # midnight in UTC is not in Shanghai
        (None, ""),
    ],
)
def test_deadline_text(moment, expected):
    assert deadline_text(moment) == expected
