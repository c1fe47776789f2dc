"""The figures: a registry of definitions, evaluated on aggregates from the ledger or the daily roll-up."""

from recovery.metrics.compute import UNASSIGNED, Figure, by_area, cube_at, evaluate, evaluate_all
from recovery.metrics.registry import METRICS, METRICS_BY_KEY, Metric, Selector

__all__ = [
    "METRICS",
    "METRICS_BY_KEY",
    "UNASSIGNED",
    "Figure",
    "Metric",
    "Selector",
    "by_area",
    "cube_at",
    "evaluate",
    "evaluate_all",
]
