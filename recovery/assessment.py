"""月考核评比 (the monthly evaluation): for one month, the responsible units ranked by the work orders due in it
(on time, overdue, on-time and completion rates) and the sub-districts by their sites (the dashboard's ranking,
`recovery.dashboard.ranking`) and by the work orders on their sites; every figure with its definition, and the
Excel ledger (台账) the evaluation meeting uses."""

from __future__ import annotations

import re
from calendar import monthrange
from dataclasses import dataclass, field
from datetime import date, datetime

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from recovery.dashboard.ranking import rank as rank_subdistricts
from recovery.errors import ValidationError
from recovery.i18n import N_, in_locale
from recovery.ledger import asof
from recovery.map.points import build_table
from recovery.models import Site, WorkItem
from recovery.timeutil import end_of_day, local_day, now, query_window, start_of_day, zone_iso
from recovery.vocab import SUBDISTRICT_ORDER, UNIT, label
from recovery.writers import xlsx

_MONTH = re.compile(r"(\d{4})-(\d{2})")
#: the figures and how each is counted, in the order the page, the JSON and the ledger's last sheet give them
DEFINITIONS = (
    (
        "due",
        N_("Due in the month"),
        N_(
            "Work orders whose resolution deadline (办结时限 under 13710: 7 days for a general problem, 30 for a "
            "major one, or the day an approved extension set), as the ledger stood at the month's end, falls "
            "within the month."
        ),
    ),
    (
        "on_time",
        N_("Resolved on time"),
        N_("Of those, the orders resolved (办结) by their deadline: resolved at or before it."),
    ),
    (
        "overdue",
        N_("Overdue"),
        N_(
            "Of those, the orders whose deadline passed by the month's end without their resolution by it: "
            "resolved late, or still not resolved (an order returned for more work counts as not resolved)."
        ),
    ),
    (
        "pending",
        N_("Not yet due"),
        N_("Of those, the orders whose deadline is still to come (only in the current month)."),
    ),
    (
        "resolved",
        N_("Resolved"),
        N_(
            "Of those, the orders resolved by the month's end, on time or late (verified and closed ones too)."
        ),
    ),
    (
        "on_time_rate",
        N_("On-time rate"),
        N_("Resolved on time ÷ (resolved on time + overdue), in percent; none when nothing has fallen due."),
    ),
    (
        "completion_rate",
        N_("Completion rate"),
        N_("Resolved ÷ due in the month, in percent; none when nothing is due."),
    ),
    (
        "site_completion",
        N_("Sites completed"),
        N_(
            "Sub-districts only: recovery sites whose status at the month's end is their kind's last (done) ÷ "
            "the recovery sites known then, in percent (the dashboard's ranking)."
        ),
    ),
    (
        "site_on_time",
        N_("Sites on time"),
        N_(
            "Sub-districts only: sites done by their deadline ÷ sites done with a deadline plus sites past their "
            "deadline at the month's end, in percent (the dashboard's ranking)."
        ),
    ),
)
ORDER_FIGURES = ("due", "on_time", "overdue", "pending", "resolved", "on_time_rate", "completion_rate")


@dataclass
class Month:
    first: date
    last: date
    #: the moment the month is read at: its end, or now for the current month
    as_of: datetime

    @property
    def key(self) -> str:
        return self.first.strftime("%Y-%m")


def parse_month(text: str | None, session: Session | None = None) -> Month:
    """`YYYY-MM`: a month of the incident's window or any past month (not one after the window's last day).
    Empty: the latest month in which work orders fell due, else the current month."""
    text = (text or "").strip()
    if not text:
        return month_of(default_month(session) if session is not None else local_day(now()))
    match = _MONTH.fullmatch(text)
    if not match or not 1 <= int(match.group(2)) <= 12 or int(match.group(1)) < 2000:
        raise ValidationError("Not a month (YYYY-MM): %(value)s.", value=text[:40])
    first = date(int(match.group(1)), int(match.group(2)), 1)
    if first > query_window()[1]:
        raise ValidationError(
            "%(value)s is after the last day this tracker covers, %(last)s.",
            value=text,
            last=query_window()[1].isoformat(),
        )
    return month_of(first)


def month_of(day: date) -> Month:
    first = day.replace(day=1)
    last = first.replace(day=monthrange(first.year, first.month)[1])
    return Month(first, last, min(end_of_day(last), now()))


def default_month(session: Session) -> date:
    latest = session.scalar(select(func.max(WorkItem.resolve_due)).where(WorkItem.resolve_due <= now()))
    return local_day(latest) if latest is not None else local_day(now())


@dataclass
class Row:
    """One unit's or sub-district's figures for the month (rates in percent, rounded to 0.1, None: nothing)."""

    key: str
    due: int = 0
    on_time: int = 0
    overdue: int = 0
    pending: int = 0
    resolved: int = 0
    rank: int | None = None
    sites: dict = field(default_factory=dict)

    @property
    def on_time_rate(self) -> float | None:
        counted = self.on_time + self.overdue
        return _percent(self.on_time, counted)

    @property
    def completion_rate(self) -> float | None:
        return _percent(self.resolved, self.due)

    def figures(self) -> dict:
        return {name: getattr(self, name) for name in ORDER_FIGURES}


def _percent(part: int, whole: int) -> float | None:
    if not whole:
        return None
    value = round(100.0 * part / whole, 1)
    # a printed share is never 100 % unless complete, nor 0 % unless none
    if value == 100.0 and part < whole:
        return 99.9
    if value == 0.0 and part > 0:
        return 0.1
    return value


@dataclass
class Assessment:
    month: Month
    units: list[Row]
    subdistricts: list[Row]


def _count(row: Row, state, first: datetime, end: datetime, at: datetime) -> None:
    """Count an order (folded as of `at`, the month's end or now) if its deadline falls in [first, end)."""
    due = state.resolve_due
    if due is None or not first <= due < end:
        return
    row.due += 1
    resolved = state.resolved_at
    if resolved is not None:
        row.resolved += 1
    if resolved is not None and resolved <= due:
        row.on_time += 1
    elif resolved is not None or due < at:
        row.overdue += 1
    else:
        row.pending += 1


def assess(session: Session, month: Month) -> Assessment:
    """The month's figures: every order folded from its ledger events as of the month's end (or now)."""
    first, end = start_of_day(month.first), end_of_day(month.last)
    states = asof.work_item_states(session, month.as_of, None)
    units = {key: Row(key) for key in UNIT.keys}
    subs = {key: Row(key) for key in SUBDISTRICT_ORDER}
    site_of = dict(
        session.execute(select(WorkItem.id, WorkItem.site_id).where(WorkItem.id.in_(list(states)))).all()
    )
    sub_of_site = dict(
        session.execute(
            select(Site.id, Site.subdistrict).where(Site.id.in_({s for s in site_of.values() if s}))
        ).all()
    )
    for item_id, state in states.items():
        unit = state.unit
        if unit is not None:
            _count(units.setdefault(unit, Row(unit)), state, first, end, month.as_of)
        # an order counts for the sub-district of its (first) site, as the figures' cube counts it
        sub = sub_of_site.get(site_of.get(item_id))
        if sub in subs:
            _count(subs[sub], state, first, end, month.as_of)
    table = build_table(session, month.as_of)
    overdue_sites = table.overdue(month.as_of)
    for position, ranked in enumerate(rank_subdistricts(table, month.as_of)):
        row = subs[ranked["subdistrict"]]
        mine = table.subdistrict == SUBDISTRICT_ORDER.index(row.key)
        row.sites = {
            "total": ranked["total"],
            "done": ranked["done"],
            "completion": ranked["completion"],
            "on_time": ranked["on_time"],
            "overdue": int(np.count_nonzero(overdue_sites & mine)),
            "rank": position + 1,
        }
    return Assessment(month, _ranked(list(units.values())), _ranked_subdistricts(list(subs.values())))


def _ranked(rows: list[Row]) -> list[Row]:
    """Units with orders due ranked by on-time rate, then completion, then the more orders due; the others after,
    unranked, in the vocabulary's order."""
    order = {key: i for i, key in enumerate(UNIT.keys)}
    with_due = sorted(
        (r for r in rows if r.due),
        key=lambda r: (
            -(r.on_time_rate if r.on_time_rate is not None else -1),
            -(r.completion_rate or 0),
            -r.due,
            order.get(r.key, len(order)),
        ),
    )
    for i, row in enumerate(with_due, start=1):
        row.rank = i
    rest = sorted((r for r in rows if not r.due), key=lambda r: order.get(r.key, len(order)))
    return with_due + rest


def _ranked_subdistricts(rows: list[Row]) -> list[Row]:
    """Sub-districts in the dashboard's ranking by their sites (completion, then on time)."""
    for row in rows:
        row.rank = row.sites.get("rank")
    return sorted(rows, key=lambda r: r.rank or 99)


def definitions(locale: str | None) -> list[dict]:
    return [
        {"key": k, "name": in_locale(n, locale), "definition": in_locale(d, locale)}
        for k, n, d in DEFINITIONS
    ]


def as_dict(result: Assessment, locale: str | None) -> dict:
    def unit_row(row: Row) -> dict:
        return {
            "rank": row.rank,
            "unit": row.key,
            "unit_label": label("unit", row.key, locale),
            **row.figures(),
        }

    def sub_row(row: Row) -> dict:
        return {
            "rank": row.rank,
            "subdistrict": row.key,
            "subdistrict_label": label("subdistrict", row.key, locale),
            "sites": row.sites,
            "work_orders": row.figures(),
        }

    return {
        "month": result.month.key,
        "first_day": result.month.first.isoformat(),
        "last_day": result.month.last.isoformat(),
        "as_of": zone_iso(result.month.as_of),
        "units": [unit_row(r) for r in result.units],
        "subdistricts": [sub_row(r) for r in result.subdistricts],
        "definitions": definitions(locale),
    }


# -- the Excel ledger (台账) -----------------------------------------------------------------------------------------

_UNIT_HEADERS = (N_("Rank"), N_("Responsible unit"))
_SUB_HEADERS = (N_("Rank"), N_("Sub-district"))
_SITE_HEADERS = (N_("Recovery sites"), N_("Sites done"), N_("Sites completed %"), N_("Sites on time %"))
_SITE_OVERDUE = N_("Sites overdue")
_ORDER_HEADERS = (
    N_("Due in the month"),
    N_("Resolved on time"),
    N_("Overdue"),
    N_("Not yet due"),
    N_("Resolved"),
    N_("On-time rate %"),
    N_("Completion rate %"),
)


def write_xlsx(out, result: Assessment, locale: str | None = "zh") -> None:
    """The month's ledger as an .xlsx workbook (text cells never formulas: `recovery.writers.xlsx`): the units'
    ranking, the sub-districts' and the figures' definitions, with headers in `locale` (Chinese by default)."""

    def t(message: str) -> str:
        return in_locale(message, locale)

    names = [
        xlsx.sheet_name(t(N_("Units")) + " " + result.month.key),
        xlsx.sheet_name(t(N_("Sub-districts")) + " " + result.month.key),
        xlsx.sheet_name(t(N_("Definitions"))),
    ]
    book = xlsx.StreamingWorkbook(names, out=out)
    units = book.sheet(names[0], [8, 28, *([14] * len(_ORDER_HEADERS))])
    units.append([t(h) for h in (*_UNIT_HEADERS, *_ORDER_HEADERS)], xlsx.BOLD)
    for row in result.units:
        units.append([row.rank, label("unit", row.key, locale), *_order_cells(row)])
    units.close()
    subs = book.sheet(names[1], [8, 16, *([14] * (len(_SITE_HEADERS) + 1 + len(_ORDER_HEADERS)))])
    subs.append([t(h) for h in (*_SUB_HEADERS, *_SITE_HEADERS, _SITE_OVERDUE, *_ORDER_HEADERS)], xlsx.BOLD)
    for row in result.subdistricts:
        s = row.sites
        subs.append(
            [
                row.rank,
                label("subdistrict", row.key, locale),
                s.get("total"),
                s.get("done"),
                s.get("completion"),
                s.get("on_time"),
                s.get("overdue"),
                *_order_cells(row),
            ]
        )
    subs.close()
    defs = book.sheet(names[2], [22, 100])
    defs.append([t(N_("Figure")), t(N_("Definition"))], xlsx.BOLD)
    defs.append([t(N_("Month")), f"{result.month.first.isoformat()} – {result.month.last.isoformat()}"])
    defs.append([t(N_("As of")), result.month.as_of])
    for entry in definitions(locale):
        defs.append([entry["name"], entry["definition"]])
    defs.close(autofilter=False)
    book.close()


def _order_cells(row: Row) -> list:
    return [
        row.due,
        row.on_time,
        row.overdue,
        row.pending,
        row.resolved,
        row.on_time_rate,
        row.completion_rate,
    ]
