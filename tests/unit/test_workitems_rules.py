"""Work orders under 13710, the pure rules: deadlines, the fold of an order's events (return, extension,
transfer), overdue and the board's cards at and beyond the edges, and the chains a loaded data set may hold."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from recovery.errors import ValidationError
from recovery.workitems import (
    CATEGORIES,
    EVENT_ACTIONS,
    STEPS,
    acknowledge_due,
    acknowledge_overdue,
    card,
    check_history,
    deadlines,
    fold,
    next_due,
    overdue,
)

T0 = datetime(2021, 7, 25, 2, 30, tzinfo=UTC)  # 10:30 in Zhengzhou


def t(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def ev(step: str, hours: float, n: int, **details) -> tuple:
    return (EVENT_ACTIONS[step], t(hours), n, details)


@pytest.mark.parametrize(("severity", "solve_days"), [("general", 7), ("major", 30)])
def test_13710_deadlines(severity, solve_days):
    feedback_due, resolve_due = deadlines(T0, severity)
    assert feedback_due == datetime(2021, 7, 28, 2, 30, tzinfo=UTC)  # fed back within 3 days
    assert resolve_due - T0 == timedelta(days=solve_days)


def test_acknowledged_the_same_day_means_by_midnight_in_zhengzhou():
    # 10:30 on the 25th in Zhengzhou: due at 24:00 that day, 16:00 UTC; 23:59 local is still the same day
    assert acknowledge_due(T0) == datetime(2021, 7, 25, 16, 0, tzinfo=UTC)
    late_evening = datetime(2021, 7, 25, 15, 59, tzinfo=UTC)
    assert acknowledge_due(late_evening) == datetime(2021, 7, 25, 16, 0, tzinfo=UTC)
    # 00:30 on the 26th local (16:30 UTC on the 25th) is the next day
    assert acknowledge_due(datetime(2021, 7, 25, 16, 30, tzinfo=UTC)) == datetime(
        2021, 7, 26, 16, 0, tzinfo=UTC
    )


def test_unknown_severity_has_no_deadline():
    with pytest.raises(KeyError):
        deadlines(T0, "urgent")


def test_the_five_categories():
    assert {k: v[0] for k, v in CATEGORIES.items()} == {
        "enterprise_request": "万人助万企",
        "supervision": "督办",
        "review_problem": "周观摩问题",
        "citizen_report": "群众反映",
        "meeting": "会议交办",
    }


def test_the_whole_loop_with_a_return_keeps_the_clock_going():
    events = [
        ev("open", 0, 1, unit="urban_management", severity="general"),
        ev("acknowledge", 2, 2),
        ev("feedback", 30, 3),
        ev("resolve", 100, 4),
        ev("return", 110, 5),
        ev("resolve", 200, 6),  # after the 7 days (168 h): late
        ev("verify", 201, 7),
        ev("close", 202, 8),
    ]
    state = fold(events)
    assert state.status == "closed" and state.returned == 1 and state.version == 8
    assert state.resolve_due == t(168)  # a return does not restart the clock
    assert state.resolved_at == t(200) and state.verified_at == t(201) and state.closed_at == t(202)
    assert state.on_time == {2: True, 3: True, 4: True, 6: False}
    # as of just before the return was undone, the order was the unit's again
    before = fold(events[:5])
    assert before.status == "returned" and before.resolved_at is None
    assert overdue(before, t(169)) == (False, True) and overdue(before, t(168)) == (False, False)


def test_an_approved_extension_moves_the_deadline_and_a_refused_one_does_not():
    until = (T0 + timedelta(days=10)).isoformat()
    asked = [ev("open", 0, 1), ev("acknowledge", 1, 2), ev("request_extension", 5, 3, until=until)]
    assert fold(asked).extension_until == T0 + timedelta(days=10)
    assert fold(asked).resolve_due == t(168)
    approved = fold([*asked, ev("approve_extension", 6, 4, until=until)])
    assert approved.resolve_due == T0 + timedelta(days=10) and approved.extension_until is None
    refused = fold([*asked, ev("refuse_extension", 6, 4)])
    assert refused.resolve_due == t(168) and refused.extension_until is None
    # resolved on day 9: late by the first deadline, on time by the approved one
    assert (
        fold([*asked, ev("approve_extension", 6, 4, until=until), ev("resolve", 9 * 24, 5)]).on_time[5]
        is True
    )
    assert fold([*asked, ev("refuse_extension", 6, 4), ev("resolve", 9 * 24, 5)]).on_time[5] is False


def test_a_transfer_hands_the_order_over_to_be_acknowledged_that_day():
    state = fold(
        [
            ev("open", 0, 1, unit="shuangqiao"),
            ev("acknowledge", 1, 2),
            ev("transfer", 30, 3, to="urban_management"),
        ]
    )
    assert state.unit == "urban_management" and state.status == "open" and state.acknowledged_at is None
    assert state.acknowledge_due == acknowledge_due(t(30))
    assert state.feedback_due == t(72)  # the feedback clock is the order's, not the new unit's


def test_a_legacy_order_takes_its_unit_and_severity_from_the_row():
    state = fold([("work_item_open", T0, 1)], severity="major", unit="commerce")
    assert state.unit == "commerce" and state.resolve_due == T0 + timedelta(days=30)


def test_skipped_steps_are_filled_in_at_the_same_moment():
    state = fold([ev("open", 0, 1), ev("resolve", 10, 2), ev("close", 11, 3)])
    assert state.acknowledged_at == state.fed_back_at == state.resolved_at == t(10)
    assert state.verified_at == state.closed_at == t(11)


def test_overdue_and_cards_at_and_beyond_the_edges():
    state = fold([ev("open", 0, 1)])
    ack = acknowledge_due(T0)
    assert not acknowledge_overdue(state, ack) and acknowledge_overdue(state, ack + timedelta(seconds=1))
    assert next_due(state) == ("acknowledge", ack)
    assert card(state, ack - timedelta(days=1, seconds=1)) is None
    assert card(state, ack - timedelta(days=1)) == "yellow"
    assert card(state, ack) == "yellow"
    assert card(state, ack + timedelta(seconds=1)) == "red"
    acknowledged = fold([ev("open", 0, 1), ev("acknowledge", 1, 2)])
    assert next_due(acknowledged) == ("feedback", t(72))
    resolved = fold([ev("open", 0, 1), ev("resolve", 1, 2)])
    assert next_due(resolved) is None and card(resolved, t(10_000)) is None  # the assigning side's turn
    assert overdue(fold([ev("open", 0, 1), ev("resolve", 1, 2), ev("close", 2, 3)]), t(10_000)) == (
        False,
        False,
    )
    assert overdue(fold([]), T0) == (False, False)


def test_loaded_chains_are_checked_like_the_writers_check_them():
    check_history(
        "WI-1", [ev("open", 0, 1), ev("acknowledge", 1, 2), ev("feedback", 2, 3)], "general", "shifo"
    )
    with pytest.raises(ValidationError):  # not opened first
        check_history("WI-1", [ev("acknowledge", 0, 1)], "general", "shifo")
    with pytest.raises(ValidationError):  # verified before it was resolved
        check_history("WI-1", [ev("open", 0, 1), ev("verify", 1, 2)], "general", "shifo")
    with pytest.raises(ValidationError):  # acknowledged twice
        check_history(
            "WI-1", [ev("open", 0, 1), ev("acknowledge", 1, 2), ev("acknowledge", 2, 3)], "general", "s"
        )
    with pytest.raises(ValidationError):
        check_history("WI-1", [ev("open", 0, 1), ("work_item_dance", t(1), 2, {})], "general", "shifo")


@pytest.mark.parametrize("step", sorted(STEPS))
def test_every_step_names_its_states_and_its_side(step):
    rule = STEPS[step]
    assert rule.states and rule.by in ("unit", "units", "command")
    assert "closed" not in rule.states or step == "reopen"
