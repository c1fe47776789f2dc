"""The change since yesterday is the difference of the two printed figures (issue 16), on every day of the seed:
a reader who subtracts the two numbers side by side gets the change the report prints."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from recovery.reports.build import build_report, figures_by_key

FIRST, LAST = date(2021, 7, 21), date(2021, 8, 31)


@pytest.mark.slow
def test_every_change_is_the_difference_of_the_printed_figures(seeded_session):
    previous = figures_by_key(build_report(seeded_session, FIRST - timedelta(days=1)))
    day, checked = FIRST, 0
    while day <= LAST:
        report = build_report(seeded_session, day)
        today = figures_by_key(report)
        for key, change in report["change"].items():
            now, before = today[key]["printed"], previous[key]["printed"]
            if "—" in (now, before):
                assert change == {"delta": None, "printed": "—"}, (day, key)
                continue
            difference = Decimal(now) - Decimal(before)
            assert Decimal(str(change["delta"])) == difference, (day, key, now, before, change)
            assert change["printed"] == ("±0" if difference == 0 else f"{difference:+f}"), (day, key)
            checked += 1
        previous, day = today, day + timedelta(days=1)
    assert checked > 40 * 30


@pytest.mark.slow
def test_the_changes_the_audit_found_wrong(seeded_session):
    """21 July: silt 34 → 299 m³ is +265 (was +266 from unrounded values), garbage 113 → 892 t is +779 (was
    +778 from a float error); the above-size share, 280 → 281 → 282 of 282 restarted, prints 99 → 99.6 (once
    100, a change of ±0) → 100."""
    report = build_report(seeded_session, date(2021, 7, 21))
    shown = figures_by_key(report)
    assert (shown["silt_m3"]["printed"], report["change"]["silt_m3"]["printed"]) == ("299", "+265")
    assert (shown["garbage_t"]["printed"], report["change"]["garbage_t"]["printed"]) == ("892", "+779")
    share = "above_size_restart_share"
    for day, printed, change in (("2021-08-10", "99.6", "+0.6"), ("2021-08-13", "100", "+0.4")):
        august = build_report(seeded_session, date.fromisoformat(day))
        assert (figures_by_key(august)[share]["printed"], august["change"][share]["printed"]) == (
            printed,
            change,
        )
        assert f"规模以上工业企业282家,复产比例为{printed}%" in august["bulletin"]
