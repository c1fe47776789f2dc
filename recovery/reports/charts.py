"""What the report's charts plot, from its day-by-day series: the collapse points burn-down, the restart curve
and the daily removals (drawn by recovery.charts)."""

from __future__ import annotations

from datetime import date, timedelta

from markupsafe import Markup

from recovery.charts import Bars, Line, Marker, chart, day_label, number_label
from recovery.incident import current_incident

COLOURS = ("#b3261e", "#12263a", "#2e7d32", "#8a5a00")


def _days(series: dict) -> list[date]:
    return [date.fromisoformat(d) for d in series["days"]]


def _empty(title: str) -> Markup:
    first = current_incident().first_day
    return chart(title, start=first, end=first + timedelta(days=1), y_max=1)


def burndown(series: dict) -> Markup:
    """Collapse points still to restore per day, against a straight line to zero on the deadline."""
    title = "道路塌陷点燃尽图"
    days = _days(series)
    if not days:
        return _empty(title)
    deadline = date.fromisoformat(series["deadline"])
    remaining = [v or 0 for v in series["cumulative"]["road_collapse_remaining"]]
    peak = max(range(len(remaining)), key=lambda i: remaining[i])  # the peak: all collapses reported
    return chart(
        title,
        start=days[0],
        end=max(days[-1], deadline),
        y_max=max([*remaining, 1]) * 1.1,
        y_unit="个",
        lines=[
            Line(
                "剩余塌陷点",
                list(zip(days, remaining, strict=True)),
                COLOURS[0],
                end_label=number_label(remaining[-1]),
            ),
            Line("按期完成参考线", [(days[peak], remaining[peak]), (deadline, 0)], COLOURS[3], True, False),
        ],
        marker=Marker(deadline, f"{day_label(deadline, deadline.year != days[0].year)} 完成时限"),
        span_end=current_incident().last_day,
    )


def restart_curve(series: dict) -> Markup:
    """The enterprises' restart rates per day: by head count and the composite (capacity-weighted) rate."""
    title = "企业复工复产曲线"
    days = _days(series)
    if not days:
        return _empty(title)
    head = [(v or 0) * 100 for v in series["cumulative"]["restart_headcount_rate"]]
    composite = [(v or 0) * 100 for v in series["cumulative"]["composite_restart_rate"]]
    return chart(
        title,
        start=days[0],
        end=days[-1],
        y_max=100,
        y_unit="%",
        span_end=current_incident().last_day,
        lines=[
            Line("复工率(按家数)", list(zip(days, head, strict=True)), COLOURS[1]),
            Line(
                "综合复工率",
                list(zip(days, composite, strict=True)),
                COLOURS[2],
                end_label=f"{composite[-1]:.2f}%",
            ),
        ],
    )


def removal_bars(series: dict) -> Markup:
    """Silt (m³) and garbage (t) removed each day, as paired bars."""
    title = "每日清运淤泥、垃圾量"
    days = _days(series)
    if not days:
        return _empty(title)
    silt, garbage = series["per_day"]["silt_m3"], series["per_day"]["garbage_t"]
    return chart(
        title,
        start=days[0],
        end=days[-1],
        y_max=max([*silt, *garbage, 1]) * 1.1,
        y_unit="立方米 / 吨",
        span_end=current_incident().last_day,
        bars=[
            Bars("淤泥(立方米)", list(zip(days, silt, strict=True)), COLOURS[3]),
            Bars("垃圾杂物(吨)", list(zip(days, garbage, strict=True)), COLOURS[1]),
        ],
    )


def all_charts(series: dict) -> list[tuple[str, Markup]]:
    return [
        ("burndown", burndown(series)),
        ("restart", restart_curve(series)),
        ("removal", removal_bars(series)),
    ]
