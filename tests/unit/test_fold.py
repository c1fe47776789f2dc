"""The pure fold of a site's events: replayed state, strict checks, and the daily roll-up contributions."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest

from recovery.errors import TransitionError, ValidationError
from recovery.kinds import get_kind
from recovery.ledger.fold import Dims, Entry, SiteState, contributions, overall_status, replay
from recovery.timeutil import ZONE, end_of_day, local_day


def at(day: int, hour: int = 12, minute: int = 0, month: int = 7) -> datetime:
    """An instant in the zone's local time, as UTC."""
    return datetime(2021, month, day, hour, minute, tzinfo=ZONE).astimezone(UTC)


def entries(kind_key: str, steps: list[tuple]) -> list[Entry]:
    """steps: (action, to_status, valid_at[, track][, measures]); levels as the write path derives them."""
    kind = get_kind(kind_key)
    out = []
    for n, step in enumerate(steps, start=1):
        action, to, when = step[:3]
        track = next((s for s in step[3:] if isinstance(s, str)), None)
        measures = next((s for s in step[3:] if isinstance(s, dict)), {})
        level = kind.capacity_for(to, measures) if action == "transition" and to else None
        out.append(Entry(n, action, track, to, level, measures, when))
    return out


ROAD = [
    ("report", "reported", at(21, 9)),
    ("transition", "secured", at(21, 15)),
    ("transition", "restored", at(27, 10)),  # skips repairing and passable
]
ENTERPRISE = [
    ("report", "operating", at(20, 6)),
    ("transition", "stopped", at(20, 23, 30)),
    ("transition", "partly_restarted", at(23, 10), {"capacity_pct": 40}),
    ("transition", "partly_restarted", at(23, 23, 59), {"capacity_pct": 75}),
    ("transition", "restarted", at(26, 8)),
    ("transition", "stopped", at(28, 0, 0)),  # stopped again at local midnight
    ("transition", "partly_restarted", at(29, 9), {"capacity_pct": 95}),
]
COMMUNITY = [
    ("report", "affected", at(20, 18)),
    ("transition", "cut", at(20, 18), "water"),
    ("transition", "cut", at(20, 20), "power"),
    ("transition", "restored", at(22, 11), "water"),
    ("transition", "restored", at(24, 16), "power"),
    ("transition", "cut", at(25, 9), "gas"),
    ("transition", "restored", at(27, 17), "gas"),
]


def test_replay_of_a_road_collapse():
    state, from_statuses = replay(get_kind("road_collapse"), entries("road_collapse", ROAD))
    assert state.status == "restored"
    assert from_statuses == [None, "reported", "secured"]
    assert state.reported_at == at(21, 9)
    assert state.done_at == at(27, 10)
    assert state.last_valid_at == at(27, 10)
    assert state.version == 3
    assert state.level is None


def test_done_at_is_set_on_reaching_done_and_cleared_on_leaving_it():
    kind = get_kind("enterprise")
    es = entries("enterprise", ENTERPRISE)
    state, from_statuses = replay(kind, es[:5])
    assert (state.status, state.level, state.done_at) == ("restarted", 100.0, at(26, 8))
    assert from_statuses == [None, "operating", "stopped", "partly_restarted", "partly_restarted"]
    state, _ = replay(kind, es[:6])
    assert (state.status, state.level, state.done_at) == ("stopped", 0.0, None)
    state, _ = replay(kind, es)
    assert (state.status, state.level, state.done_at, state.version) == ("partly_restarted", 95.0, None, 7)


def test_out_of_order_input_is_sorted_by_valid_time():
    kind = get_kind("enterprise")
    es = entries("enterprise", ENTERPRISE)
    shuffled = es[:]
    random.Random(7).shuffle(shuffled)
    assert shuffled != es
    assert replay(kind, shuffled) == replay(kind, es)


def test_same_valid_time_is_ordered_by_id():
    kind = get_kind("road_collapse")
    t = at(22, 8)
    es = [
        Entry(1, "report", None, "reported", None, {}, t),
        Entry(2, "transition", None, "secured", None, {}, t),
    ]
    state, from_statuses = replay(kind, list(reversed(es)))
    assert state.status == "secured"
    assert from_statuses == [None, "reported"]


@pytest.mark.parametrize(
    ("kind", "steps", "error"),
    [
        ("road_collapse", [("transition", "secured", at(21))], ValidationError),  # before the report
        (
            "road_collapse",
            [("transition", "secured", at(20)), ("report", "reported", at(21))],
            ValidationError,
        ),
        ("road_collapse", [("report", "reported", at(21)), ("report", "reported", at(22))], ValidationError),
        ("road_collapse", [("report", "secured", at(21))], TransitionError),  # not the initial status
        (
            "road_collapse",
            [
                ("report", "reported", at(21)),
                ("transition", "passable", at(22)),
                ("transition", "secured", at(23)),
            ],
            TransitionError,
        ),
        ("silt_site", [("report", "reported", at(21)), ("transition", "reported", at(22))], TransitionError),
        (
            "enterprise",
            [("report", "operating", at(20)), ("transition", "partly_restarted", at(22))],
            ValidationError,
        ),
        ("road_collapse", [("report", "reported", at(21)), ("check_in", None, at(22))], ValidationError),
        (
            "residential_community",
            [
                ("report", "affected", at(20)),
                ("transition", "restored", at(21), "gas"),
                ("transition", "cut", at(22), "gas"),
            ],
            TransitionError,
        ),
        (
            "residential_community",
            [("report", "affected", at(20)), ("transition", "cut", at(21))],
            ValidationError,
        ),
    ],
)
def test_strict_replay_refuses(kind, steps, error):
    with pytest.raises(error):
        replay(get_kind(kind), entries(kind, steps))


def test_lenient_replay_takes_events_as_they_are():
    kind = get_kind("road_collapse")
    steps = [
        ("report", "reported", at(21)),
        ("transition", "passable", at(22)),
        ("transition", "secured", at(23)),
    ]
    state, from_statuses = replay(kind, entries("road_collapse", steps), strict=False)
    assert state.status == "secured"
    assert from_statuses == [None, "reported", "passable"]


def test_community_status_follows_its_utilities():
    kind = get_kind("residential_community")
    es = entries("residential_community", COMMUNITY)
    state, from_statuses = replay(kind, es[:4])
    assert state.status == "affected"  # power still cut
    assert state.track_status == {"water": "restored", "power": "cut"}
    state, _ = replay(kind, es[:5])
    assert (state.status, state.done_at) == ("restored", at(24, 16))
    state, _ = replay(kind, es[:6])  # the gas is cut later: no longer all restored
    assert (state.status, state.done_at) == ("affected", None)
    state, from_statuses = replay(kind, es)
    assert (state.status, state.done_at) == ("restored", at(27, 17))
    assert from_statuses == [None, None, None, "cut", "cut", None, "cut"]


@pytest.mark.parametrize(
    ("tracks", "expected"),
    [
        ({}, "affected"),
        ({"water": "cut"}, "affected"),
        ({"water": "restored"}, "restored"),
        ({"water": "restored", "power": "restored", "gas": "restored"}, "restored"),
        ({"water": "restored", "gas": "cut"}, "affected"),
    ],
)
def test_overall_status(tracks, expected):
    assert overall_status(get_kind("residential_community"), tracks) == expected


def _as_of(kind, es, day: date) -> SiteState:
    state, _ = replay(kind, [e for e in es if e.valid_at < end_of_day(day)], strict=False)
    return state


def _cumulative(contrib: Counter, day: date, track: str, quantity: str) -> dict:
    totals: Counter = Counter()
    for (d, _kind, _sub, _seg, t, status, q), value in contrib.items():
        if d <= day.isoformat() and t == track and q == quantity:
            totals[status] += value
    return {k: v for k, v in totals.items() if abs(v) > 1e-9}


@pytest.mark.parametrize(
    ("kind_key", "steps"),
    [
        ("road_collapse", ROAD),
        ("enterprise", ENTERPRISE),
        ("residential_community", COMMUNITY),
        ("silt_site", [("report", "reported", at(20, 23, 59)), ("transition", "disinfected", at(21, 0, 1))]),
    ],
)
def test_contributions_sum_to_the_status_as_of_each_day(kind_key, steps):
    kind = get_kind(kind_key)
    es = entries(kind_key, steps)
    contrib = contributions(kind, Dims(kind_key, "shifo", ""), es)
    assert {k[0] for k in contrib} <= {local_day(e.valid_at).isoformat() for e in es}
    assert all(k[1:4] == (kind_key, "shifo", "") for k in contrib)
    day = date(2021, 7, 18)
    while day <= date(2021, 8, 3):
        state = _as_of(kind, es, day)
        expected = {} if state.status is None else {state.status: 1}
        assert _cumulative(contrib, day, "", "n") == expected, day
        for track in ("water", "power", "gas"):
            t_expected = {state.track_status[track]: 1} if track in state.track_status else {}
            assert _cumulative(contrib, day, track, "n") == t_expected, (day, track)
        levels = _cumulative(contrib, day, "", "level")
        if kind_key == "enterprise" and state.status is not None:
            # the summed level is the enterprise's capacity, filed under its status
            assert sum(levels.values()) == pytest.approx(state.level)
            assert set(levels) <= {state.status}
        else:
            assert levels == {}
        day += timedelta(days=1)


def test_enterprise_levels_on_specific_days():
    kind = get_kind("enterprise")
    contrib = contributions(
        kind, Dims("enterprise", "fengyang", "above_size=true"), entries("enterprise", ENTERPRISE)
    )
    expected = {
        date(2021, 7, 20): ("stopped", 0.0),
        date(2021, 7, 23): ("partly_restarted", 75.0),
        date(2021, 7, 26): ("restarted", 100.0),
        date(2021, 7, 28): ("stopped", 0.0),
        date(2021, 7, 29): ("partly_restarted", 95.0),
    }
    for day, (status, level) in expected.items():
        assert _cumulative(contrib, day, "", "n") == {status: 1}
        assert sum(_cumulative(contrib, day, "", "level").values()) == pytest.approx(level)


def test_check_ins_are_counted_per_day():
    kind = get_kind("disinfection_point")
    steps = [
        ("report", "active", at(21, 8)),
        ("check_in", None, at(22, 7)),
        ("check_in", None, at(22, 18)),
        ("check_in", None, at(23, 0, 30)),
        ("check_in", None, at(24, 23, 59)),
    ]
    contrib = contributions(
        kind, Dims("disinfection_point", "wutong", ""), entries("disinfection_point", steps)
    )
    per_day = {k[0]: v for k, v in contrib.items() if k[6] == "check_in"}
    assert per_day == {"2021-07-22": 2, "2021-07-23": 1, "2021-07-24": 1}
    state, _ = replay(kind, entries("disinfection_point", steps))
    assert (state.status, state.version, state.done_at) == ("active", 5, at(21, 8))


def test_flows_are_summed_per_day_and_levels_are_not_flows():
    kind = get_kind("silt_site")
    steps = [
        ("report", "reported", at(21, 8)),
        ("transition", "clearing", at(21, 10), {"silt_m3": 12.5, "garbage_t": 3.0}),
        ("note", None, at(21, 16), {"silt_m3": 7.5}),
        ("note", None, at(22, 9), {"silt_m3": 4.0, "garbage_t": 1.5}),
        ("transition", "cleared", at(22, 17)),
    ]
    contrib = contributions(kind, Dims("silt_site", "gouzhao", ""), entries("silt_site", steps))
    flows = {(k[0], k[6]): v for k, v in contrib.items() if k[6] in ("silt_m3", "garbage_t")}
    assert flows == {
        ("2021-07-21", "silt_m3"): 20.0,
        ("2021-07-21", "garbage_t"): 3.0,
        ("2021-07-22", "silt_m3"): 4.0,
        ("2021-07-22", "garbage_t"): 1.5,
    }
    assert all(k[5] == "" for k in contrib if k[6] in ("silt_m3", "garbage_t"))
    state, _ = replay(kind, entries("silt_site", steps))
    assert (state.status, state.version) == ("cleared", 5)
