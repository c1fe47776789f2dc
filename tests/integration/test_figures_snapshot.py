"""The figures of every day of the seed, 20 July – 31 August, zone-wide and by sub-district, and the day's
bulletin, held to a stored snapshot: a refactoring of the rules under them may not change one digit.

To refresh after an intended change of a figure: `RECOVERY_WRITE_SNAPSHOT=1 pytest tests/integration/test_figures_snapshot.py`
and say in the commit why the figures moved.
"""

from __future__ import annotations

import json
import os
from datetime import date, timedelta
from pathlib import Path

from recovery.geodata import SUBDISTRICT_ORDER
from recovery.metrics import cube_at, evaluate_all
from recovery.reports.daily import daily_report
from recovery.timeutil import end_of_day

SNAPSHOT = Path(__file__).parents[1] / "snapshots" / "figures_by_day.json"
FIRST, LAST = date(2021, 7, 20), date(2021, 8, 31)


def _figures(session) -> dict:
    out = {}
    day = FIRST
    while day <= LAST:
        cube = cube_at(session, end_of_day(day))
        figures = {}
        for area in (None, *SUBDISTRICT_ORDER):
            for key, figure in evaluate_all(cube, area).items():
                value = None if figure.value is None else f"{figure.value:.9g}"
                figures[f"{area or 'zone'}/{key}"] = [value, f"{figure.numerator:.9g}", figure.printed]
        out[day.isoformat()] = {"figures": figures, "bulletin": daily_report(session, day)["bulletin"]}
        day += timedelta(days=1)
    return out


def test_every_days_figures_match_the_snapshot(seeded_session):
    current = _figures(seeded_session)
    if os.environ.get("RECOVERY_WRITE_SNAPSHOT") == "1":
        SNAPSHOT.write_text(
            json.dumps(current, ensure_ascii=False, indent=0, sort_keys=True), encoding="utf-8"
        )
    stored = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    assert sorted(current) == sorted(stored)
    for day in stored:
        assert current[day]["bulletin"] == stored[day]["bulletin"], day
        changed = {
            k: (stored[day]["figures"].get(k), v)
            for k, v in current[day]["figures"].items()
            if stored[day]["figures"].get(k) != v
        }
        assert changed == {}, day
        assert set(current[day]["figures"]) == set(stored[day]["figures"]), day
