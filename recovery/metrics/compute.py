"""Evaluating the registry's figures on a cube, with the rounding each one prints at."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy.orm import Session

from recovery.i18n import is_chinese
from recovery.metrics.cube import Cube, cube_from_ledger, cube_from_rollup
from recovery.metrics.registry import METRICS, METRICS_BY_KEY, Metric, Selector
from recovery.timeutil import end_of_day, local_day, zone_iso
from recovery.vocab import SUBDISTRICT_ORDER


@dataclass(frozen=True)
class Figure:
    """One computed figure: the exact value, the printed value, and what it was computed from."""

    metric: Metric
    value: float | None
    numerator: float
    denominator: float | None
    subdistrict: str | None

    @property
    def key(self) -> str:
        return self.metric.key

    @property
    def rounded(self) -> Decimal | None:
        if self.value is None:
            return None
        return self.metric.shown(self.value)

    @property
    def printed(self) -> str:
        """The value as a report prints it: `98.75`, `236`, `—` when there is nothing to divide by."""
        return "—" if self.rounded is None else f"{self.rounded:f}"

    def to_dict(self, locale: str = "zh") -> dict:
        zh = is_chinese(locale)
        m = self.metric
        return {
            "key": m.key,
            "label": m.label(locale),
            "value": self.value,
            "printed": self.printed,
            "unit": m.unit_label(locale),
            "numerator": self.numerator,
            "denominator": self.denominator,
            "definition": {
                "text": m.definition_text(locale),
                "numerator": m.numerator.describe(zh),
                "denominator": m.denominator.describe(zh) if m.denominator else None,
                "weight": m.weight,
                "percent": m.percent,
                "precision": m.precision,
                "rounding": "half_up",
            },
            "subdistrict": self.subdistrict,
        }


@functools.lru_cache(maxsize=4096)
def segment_matches(segment: str, filters: tuple[tuple[str, tuple[str, ...]], ...]) -> bool:
    """Whether a segment ("above_size=1;industry=…") passes a selector's filters (a few hundred distinct
    pairs, asked for every cell of every figure: remembered)."""
    if not filters:
        return True
    pairs = dict(part.split("=", 1) for part in segment.split(";") if "=" in part)
    return all(pairs.get(key) in values for key, values in filters)


def select_total(cube: Cube, selector: Selector, subdistrict: str | None = None) -> float:
    total = 0.0
    for (_kind, sub, segment, _track, status, quantity), value in cube.cells_of(
        selector.kind, selector.quantity, selector.track
    ):
        if subdistrict is not None and sub != subdistrict:
            continue
        if selector.status is not None and status not in selector.status:
            continue
        if status in selector.exclude_status:
            continue
        if quantity == "n" and selector.kind != "team" and selector.kind != "work_item" and not status:
            continue
        if not segment_matches(segment, selector.segment):
            continue
        total += value
    return total


def evaluate(metric: Metric, cube: Cube, subdistrict: str | None = None) -> Figure:
    numerator = round(select_total(cube, metric.numerator, subdistrict), 6)
    if metric.denominator is None:
        return Figure(metric, numerator, numerator, None, subdistrict)
    denominator = round(select_total(cube, metric.denominator, subdistrict), 6)
    value = numerator / (denominator * metric.weight) if denominator else None
    return Figure(metric, value, numerator, denominator, subdistrict)


def evaluate_all(
    cube: Cube, subdistrict: str | None = None, keys: list[str] | None = None
) -> dict[str, Figure]:
    metrics = [METRICS_BY_KEY[k] for k in keys] if keys else list(METRICS)
    return {m.key: evaluate(m, cube, subdistrict) for m in metrics}


#: the area of a breakdown that holds what no sub-district does: teams and work items without one, sites outside
#: every sub-district; a breakdown lists it whenever it counts anything, so that its rows add up to the zone
UNASSIGNED = ""


def by_area(cube: Cube, keys: list[str] | None = None) -> dict[str, dict[str, Figure]]:
    """The figures of each sub-district in the vocabulary's order, then of UNASSIGNED when any count there is
    not zero: every count of the breakdown adds up to the zone's."""
    areas = {sub: evaluate_all(cube, sub, keys) for sub in SUBDISTRICT_ORDER}
    rest = evaluate_all(cube, UNASSIGNED, keys)
    if any(f.numerator for f in rest.values()):
        areas[UNASSIGNED] = rest
    return areas


def cube_at(
    session: Session, as_of: datetime, known_at: datetime | None = None, *, use_rollup: bool = True
) -> Cube:
    """The cube for a moment: from the roll-up when the moment is a day's end and nothing is filtered by
    record time, from the ledger otherwise. Both give the same figures (a test holds them to it)."""
    day = local_day(as_of - timedelta(microseconds=1))
    if use_rollup and known_at is None and end_of_day(day) == as_of:
        return cube_from_rollup(session, day)
    return cube_from_ledger(session, as_of, known_at)


def figures_payload(cube: Cube, figures: dict[str, Figure], locale: str = "zh") -> dict:
    return {
        "as_of": zone_iso(cube.as_of),
        "known_at": zone_iso(cube.known_at),
        "source": cube.source,
        "figures": [f.to_dict(locale) for f in figures.values()],
    }


def day_of(as_of: datetime) -> date:
    return local_day(as_of)
