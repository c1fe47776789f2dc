"""Work items under 13710, the pure rules: deadlines and the fold of a work item's events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from recovery.workitems import ACTION_STATUS, CATEGORIES, ORDER, WorkItemState, deadlines, fold

T0 = datetime(2021, 7, 25, 2, 30, tzinfo=UTC)  # 10:30 in Zhengzhou


def t(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


@pytest.mark.parametrize(("severity", "solve_days"), [("general", 7), ("major", 30)])
def test_13710_deadlines(severity, solve_days):
    feedback_due, resolve_due = deadlines(T0, severity)
    assert feedback_due == datetime(2021, 7, 28, 2, 30, tzinfo=UTC)  # fed back within 3 days
    assert resolve_due - T0 == timedelta(days=solve_days)
    assert feedback_due < resolve_due


def test_major_deadline_crosses_the_month():
    assert deadlines(T0, "major")[1] == datetime(2021, 8, 24, 2, 30, tzinfo=UTC)


def test_unknown_severity_has_no_deadline():
    with pytest.raises(KeyError):
        deadlines(T0, "urgent")


def test_the_three_categories():
    assert {k: v[0] for k, v in CATEGORIES.items()} == {
        "enterprise_request": "万人助万企",
        "supervision": "督办",
        "review_problem": "周观摩问题",
    }


def test_life_cycle_ends_closed():
    assert ORDER == ("open", "fed_back", "resolved", "closed")
    assert set(ACTION_STATUS.values()) == set(ORDER)


@pytest.mark.parametrize(
    ("events", "expected"),
    [
        ([], WorkItemState()),
        ([("work_item_open", t(0), 1)], WorkItemState("open", t(0), version=1)),
        (
            [("work_item_open", t(0), 1), ("work_item_feedback", t(20), 2)],
            WorkItemState("fed_back", t(0), t(20), version=2),
        ),
        (
            [
                ("work_item_open", t(0), 1),
                ("work_item_feedback", t(20), 2),
                ("work_item_resolve", t(100), 3),
                ("work_item_close", t(101), 4),
            ],
            WorkItemState("closed", t(0), t(20), t(100), t(101), 4),
        ),
        # skipping steps fills them in at the same moment
        (
            [("work_item_open", t(0), 1), ("work_item_close", t(50), 2)],
            WorkItemState("closed", t(0), t(50), t(50), t(50), 2),
        ),
        (
            [("work_item_open", t(0), 1), ("work_item_resolve", t(30), 2)],
            WorkItemState("resolved", t(0), t(30), t(30), None, 2),
        ),
        (
            [("work_item_open", t(0), 1), ("work_item_feedback", t(5), 2), ("work_item_close", t(60), 3)],
            WorkItemState("closed", t(0), t(5), t(60), t(60), 3),
        ),
    ],
)
def test_fold(events, expected):
    assert fold(events) == expected


def test_fold_sorts_by_valid_time_then_id():
    events = [
        ("work_item_close", t(60), 4),
        ("work_item_feedback", t(5), 2),
        ("work_item_open", t(0), 1),
        ("work_item_resolve", t(5), 3),
    ]
    state = fold(events)
    assert state == WorkItemState("closed", t(0), t(5), t(5), t(60), 4)
    assert fold(list(reversed(events))) == state


def test_closed_within_the_13710_deadlines():
    opened = t(0)
    feedback_due, resolve_due = deadlines(opened, "general")
    state = fold(
        [("work_item_open", opened, 1), ("work_item_feedback", t(71), 2), ("work_item_close", t(170), 3)]
    )
    assert state.fed_back_at <= feedback_due
    assert state.closed_at > resolve_due  # 170 h is more than 7 days (168 h): overdue
    assert fold([("work_item_open", opened, 1), ("work_item_close", t(167), 2)]).closed_at <= resolve_due
