"""How a figure prints (issue 16): half up at its precision, in exact decimals, and a share never prints as
100 % unless complete nor as 0 % unless none."""

from __future__ import annotations

from decimal import Decimal

import pytest

from recovery.metrics.compute import Figure
from recovery.metrics.registry import METRICS, METRICS_BY_KEY

WHOLE = METRICS_BY_KEY["above_size_restart_share"]  # a share printed as a whole percent
HUNDREDTHS = METRICS_BY_KEY["composite_restart_rate"]  # a share printed with two decimals
COUNT = METRICS_BY_KEY["road_collapse_total"]


@pytest.mark.parametrize(
    ("metric", "value", "printed"),
    [
        (WHOLE, 1.0, "100"),  # complete: 100
        (WHOLE, 0.995, "99.5"),  # half up would print 100: one more decimal
        (WHOLE, 281 / 282, "99.6"),  # the bulletin of 10–12 August 2021
        (WHOLE, 0.9949, "99"),  # rounds to 99: as before
        (WHOLE, 0.9999, "99.99"),  # two more decimals are needed
        (WHOLE, 999_999 / 1_000_000, "99.9999"),
        (WHOLE, 0.0, "0"),  # none: 0
        (WHOLE, 0.004, "0.4"),  # half up would print 0
        (WHOLE, 0.00004, "0.004"),
        (WHOLE, 0.005, "1"),  # 0.5 % rounds half up to 1: shown as is
        (WHOLE, 0.125, "13"),  # half up, not to even
        (HUNDREDTHS, 0.9875, "98.75"),  # the article's composite rate
        (HUNDREDTHS, 0.99996, "99.996"),
        (HUNDREDTHS, 0.99994, "99.99"),
        (HUNDREDTHS, 1.0, "100.00"),
        (HUNDREDTHS, 0.000001, "0.0001"),
        (COUNT, 236.0, "236"),  # counts are never stretched
        (COUNT, 0.0, "0"),
    ],
)
def test_a_share_prints_100_or_0_only_when_it_is(metric, value, printed):
    figure = Figure(metric, value, 0.0, None, None)
    assert figure.printed == printed
    assert figure.rounded == Decimal(printed)


@pytest.mark.parametrize("metric", [m for m in METRICS if m.percent], ids=lambda m: m.key)
@pytest.mark.parametrize("n", [1, 2, 3, 7, 282, 1000, 7630, 99_999])
def test_no_share_of_counts_prints_as_complete_or_none_when_it_is_not(metric, n):
    """Every share of the registry, for every (n − 1) / n and 1 / n: never 100 nor 0 printed."""
    weight = metric.weight
    for numerator in (n - 1, 1):
        value = numerator / (n * weight)
        if not 0 < value < 1:
            continue
        shown = metric.shown(value)
        assert 0 < shown < 100, (numerator, n, shown)


def test_nothing_to_divide_by_prints_a_dash():
    assert Figure(WHOLE, None, 0.0, 0.0, None).printed == "—"
