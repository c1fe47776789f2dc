"""Everything the command dashboard shows below the headline figures, for one day, as plain data and SVG."""

from __future__ import annotations

from collections import OrderedDict
from datetime import date, timedelta

from sqlalchemy.orm import Session

from recovery.charts import Line, Marker, chart, day_label
from recovery.dashboard.overdue import overdue_by_unit, overdue_sites
from recovery.dashboard.ranking import ranking_with_change
from recovery.dashboard.trends import burn_down, daily_figures
from recovery.i18n import N_, in_locale, locale_for, pick
from recovery.incident import current_incident
from recovery.map.points import ledger_version, point_table
from recovery.timeutil import end_of_day

#: the slot of `cache` that keeps the boards of the ledger's current version, by day and language
BOARDS = "dashboard"
KEPT_BOARDS = 32


def dashboard(session: Session, day: date, cache: OrderedDict, zh: bool) -> dict:
    """The board of `day` in the reader's language. Everything on it follows from the ledger (as of the day's
    end), so a board is kept in `cache` (the map's tables' cache) until the ledger changes: the ledger's version
    is read as the map reads it (`ledger_version`: at most a second old, and at once after a commit here)."""
    version = ledger_version(session)
    kept = cache.get(BOARDS)
    if kept is None or kept[0] != version:
        kept = cache[BOARDS] = (version, {})
    boards = kept[1]
    board = boards.get((day, zh))
    if board is None:
        if len(boards) >= KEPT_BOARDS:
            boards.clear()
        board = boards[(day, zh)] = _board(session, day, cache, zh)
    return board


def _board(session: Session, day: date, cache: OrderedDict, zh: bool) -> dict:
    as_of = end_of_day(day)
    last = max(day, current_incident().first_day)
    figures = daily_figures(session, last)
    burn = burn_down(figures, last)
    table = point_table(cache, session, as_of)
    ranking = ranking_with_change(
        table,
        point_table(cache, session, end_of_day(day - timedelta(days=7))),
        as_of,
    )
    return {
        "overdue": overdue_by_unit(session, as_of, locale_for(zh)),
        "overdue_sites": overdue_sites(session, table, as_of, locale_for(zh)),
        "burn": burn,
        "burn_chart": _burn_chart(figures, burn, last, zh),
        "restart_chart": _restart_chart(figures, last, zh),
        "ranking": ranking,
        "deadline": current_incident().road_deadline,
    }


def _burn_chart(figures: dict, burn, last: date, zh: bool):
    incident = current_incident()
    deadline, first = incident.road_deadline, incident.first_day
    with_year = deadline.year != first.year
    days = sorted(figures)
    total = max((figures[d]["road_collapse_total"] or 0) for d in days) if days else 0
    left = burn.remaining[-1] if burn.remaining else 0
    locale = locale_for(zh)
    series = [
        Line(in_locale(N_("points left"), locale), list(zip(days, burn.remaining, strict=True)), "#b3261e")
    ]
    if left > 0 and burn.needed is not None:
        series.append(
            Line(in_locale(N_("pace needed"), locale), [(last, left), (deadline, 0)], "#1a9850", True, False)
        )
    if left > 0 and burn.projected_zero is not None:
        series.append(
            Line(
                in_locale(N_("current pace"), locale),
                [(last, left), (burn.projected_zero, 0)],
                "#f16913",
                True,
                False,
            )
        )
    return chart(
        in_locale(N_("Collapse points burn-down"), locale),
        lines=series,
        start=first,
        end=last,
        y_max=max(total, 1),
        marker=Marker(
            deadline,
            in_locale(
                N_("%(day)s deadline"),
                locale,
                day=pick(
                    day_label(deadline, with_year),
                    f"{deadline.day} {deadline:%b}{f' {deadline.year}' if with_year else ''}",
                    locale,
                ),
            ),
        ),
        css_class="chart burn",
        span_end=incident.last_day,
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
    locale = locale_for(zh)
    return chart(
        in_locale(N_("Enterprise restart curve"), locale),
        lines=[
            Line(
                in_locale(N_("head-count rate"), locale),
                [(d, _pct(figures[d]["restart_headcount_rate"])) for d in days],
                "#2166ac",
            ),
            Line(
                in_locale(N_("composite rate"), locale),
                [(d, _pct(figures[d]["composite_restart_rate"])) for d in days],
                "#c51b7d",
            ),
        ],
        start=current_incident().first_day,
        end=max(last, current_incident().first_day + timedelta(days=1)),
        span_end=current_incident().last_day,
        y_min=y_min,
        y_max=100,
        y_unit="%",
        css_class="chart restart",
    )


def _pct(value) -> float | None:
    return float(value) * 100 if value is not None else None
