"""The figures: a registry of definitions, evaluated on aggregates from the ledger or the daily roll-up."""

from recovery.metrics.compute import Figure, cube_at, evaluate, evaluate_all
from recovery.metrics.registry import METRICS, METRICS_BY_KEY, Metric, Selector

__all__ = ["METRICS", "METRICS_BY_KEY", "Figure", "Metric", "Selector", "cube_at", "evaluate", "evaluate_all"]
