"""Everything the command dashboard shows below the headline figures, for one day, as plain data and SVG."""

from __future__ import annotations

from collections import OrderedDict
from datetime import date, timedelta

from sqlalchemy.orm import Session

from recovery.charts import Line, Marker, chart, day_label
from recovery.dashboard.overdue import overdue_by_unit
from recovery.dashboard.ranking import ranking_with_change
from recovery.dashboard.trends import burn_down, daily_figures
from recovery.incident import FIRST_DAY
from recovery.incident import ROAD_DEADLINE as DEADLINE
from recovery.map.points import point_table
from recovery.timeutil import end_of_day


def dashboard(session: Session, day: date, cache: OrderedDict, zh: bool) -> dict:
    as_of = end_of_day(day)
    last = max(day, FIRST_DAY)
    figures = daily_figures(session, last)
    burn = burn_down(figures, last)
    ranking = ranking_with_change(
        point_table(cache, session, as_of),
        point_table(cache, session, end_of_day(day - timedelta(days=7))),
        as_of,
    )
    return {
        "overdue": overdue_by_unit(session, as_of),
        "burn": burn,
        "burn_chart": _burn_chart(figures, burn, last, zh),
        "restart_chart": _restart_chart(figures, last, zh),
        "ranking": ranking,
        "deadline": DEADLINE,
    }


def _burn_chart(figures: dict, burn, last: date, zh: bool):
    days = sorted(figures)
    total = max((figures[d]["road_collapse_total"] or 0) for d in days) if days else 0
    left = burn.remaining[-1] if burn.remaining else 0
    series = [
        Line("剩余塌陷点" if zh else "points left", list(zip(days, burn.remaining, strict=True)), "#b3261e")
    ]
    if left > 0 and burn.needed is not None:
        series.append(
            Line("所需进度" if zh else "pace needed", [(last, left), (DEADLINE, 0)], "#1a9850", True, False)
        )
    if left > 0 and burn.projected_zero is not None:
        series.append(
            Line(
                "当前进度" if zh else "current pace",
                [(last, left), (burn.projected_zero, 0)],
                "#f16913",
                True,
                False,
            )
        )
    return chart(
        "塌陷点倒排工期" if zh else "Collapse points burn-down",
        lines=series,
        start=FIRST_DAY,
        end=last,
        y_max=max(total, 1),
        marker=Marker(DEADLINE, f"{day_label(DEADLINE)}节点" if zh else "15 Aug deadline"),
        css_class="chart burn",
    )


def _restart_chart(figures: dict, last: date, zh: bool):
    days = sorted(figures)
    values = [
        v
        for d in days
        for v in (figures[d]["restart_headcount_rate"], figures[d]["composite_restart_rate"])
        if v
    ]
    low = min([v * 100 for v in values] or [0.0])
    y_min = max(0.0, (int(low) // 10) * 10)
    return chart(
        "企业复工复产曲线" if zh else "Enterprise restart curve",
        lines=[
            Line(
                "复工率(按家数)" if zh else "head-count rate",
                [(d, _pct(figures[d]["restart_headcount_rate"])) for d in days],
                "#2166ac",
            ),
            Line(
                "综合复工率" if zh else "composite rate",
                [(d, _pct(figures[d]["composite_restart_rate"])) for d in days],
                "#c51b7d",
            ),
        ],
        start=FIRST_DAY,
        end=max(last, FIRST_DAY + timedelta(days=1)),
        y_min=y_min,
        y_max=100,
        y_unit="%",
        css_class="chart restart",
    )


def _pct(value) -> float | None:
    return float(value) * 100 if value is not None else None
