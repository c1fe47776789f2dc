"""Charts drawn as inline SVG on the server, for the daily report and the dashboard: no script, no CDN, Chinese
labels, every text escaped, printable.

A chart plots days. Its axis runs from `start` over the incident's span: up to the last of its deadlines and
of the days its observed series change. A chart asked to reach much further (a report or dashboard for a day
years on, a projection far ahead) does not stretch: the span keeps most of the width and what lies beyond it
is drawn compressed behind a break mark on the axis, whose far end is labelled with its date, and a note says
where the data end ("数据截至2021年8月31日"). An incident with a configured last day ends the span there. When the
axis crosses a year, its dates carry their year (the first one, and each in a new year).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from markupsafe import Markup, escape

from recovery.i18n import N_, translate

WIDTH, HEIGHT = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 52, 16, 28, 40
FONT = "WenQuanYi Micro Hei, Noto Sans CJK SC, sans-serif"
MUTED = "#5b6b7b"
#: the share of the plot's width given to what lies beyond the span, when the axis is broken
TAIL_SHARE = 0.12
#: the axis is broken when what lies beyond the span would take more than this share of the span's width
BREAK_AFTER = 0.25


@dataclass(frozen=True)
class Line:
    """A series of (day, value) points; None leaves a point out. `observed` series (as opposed to projections)
    set the span; `end_label` is written at the last point."""

    label: str
    points: Sequence[tuple[date, float | None]]
    colour: str
    dashed: bool = False
    observed: bool = True
    end_label: str | None = None


@dataclass(frozen=True)
class Bars:
    """A value per day, drawn as a bar beside the other Bars' bars of the same day."""

    label: str
    points: Sequence[tuple[date, float]]
    colour: str


@dataclass(frozen=True)
class Marker:
    """A labelled vertical line (a deadline)."""

    day: date
    label: str
    colour: str = "#b3261e"


def day_label(day: date, with_year: bool = False) -> str:
    return f"{day.year}年{day.month}月{day.day}日" if with_year else f"{day.month}月{day.day}日"


def last_change(points: Sequence[tuple[date, float | None]]) -> date | None:
    """The last day whose value differs from the day before's (the first day if the series never changes)."""
    known = [(d, v) for d, v in points if v is not None]
    for (_, before), (day, value) in zip(reversed(known[:-1]), reversed(known[1:]), strict=True):
        if value != before:
            return day
    return known[0][0] if known else None


def thin(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """A line's points without the inner points of each level run: the same line drawn, but its size follows the
    days something changed, not the days shown (a report for a day years on plots years of flat days)."""
    last = len(points) - 1
    return [
        p for i, p in enumerate(points) if i in (0, last) or not points[i - 1][1] == p[1] == points[i + 1][1]
    ]


class Axis:
    """Days to x: linear over the span [start, cut]; beyond it, when broken, compressed up to `far`. With
    `slots`, each day is the slot from its start to the next day's (a bar chart), and is labelled in its
    middle."""

    def __init__(self, start: date, cut: date, far: date, slots: bool = False) -> None:
        self.start = start
        self.shift = timedelta(days=1 if slots else 0)
        self.cut = max(cut + self.shift, start + timedelta(days=1))
        self.far = max(far + self.shift, self.cut)
        self.broken = (self.far - self.cut).days > BREAK_AFTER * (self.cut - start).days
        if not self.broken:
            self.cut = self.far
        self.with_year = start.year != self.far.year
        inner = WIDTH - LEFT - RIGHT
        self.edge = LEFT + inner * (1 - TAIL_SHARE) if self.broken else LEFT + inner

    def x(self, day: date) -> float:
        if day <= self.cut:
            return LEFT + (self.edge - LEFT) * (day - self.start).days / (self.cut - self.start).days
        tail = (day - self.cut).days / max((self.far - self.cut).days, 1)
        return self.edge + (WIDTH - RIGHT - self.edge) * tail

    def _labels(self, days: list[date]) -> list[tuple[float, str, str]]:
        """Each tick's x, anchor and label; the first and each one in a new year carry the year."""
        labels, year = [], None
        for day in days:
            x = (self.x(day) + self.x(day + self.shift)) / 2
            anchor = "end" if x > WIDTH - RIGHT - 30 else "middle"
            labels.append((x, anchor, day_label(day, self.with_year and day.year != year)))
            year = day.year
        return labels

    def ticks(self) -> list[str]:
        """About seven dates along the span (its last day among them, unless broken), and the far end past the break. When the
        axis crosses a year, the first date and each one in a new year carry their year."""
        last, far = self.cut - self.shift, self.far - self.shift
        span = (last - self.start).days
        step = max(-(-span // 7), 1)
        days = [self.start + timedelta(days=offset) for offset in range(0, span + 1, step)]
        if self.broken:  # the far end, labelled past the break; no date crowds it
            days = [d for d in days if self.x(d) < self.edge - 70] + [far]
        elif days[-1] != last:  # the span's last day, in place of a tick whose label it would touch
            days.append(last)
        labels = self._labels(days)
        if len(labels) > 2 and _extent(*labels[-1])[0] < _extent(*labels[-2])[1] + 6:
            del days[-2]
            labels = self._labels(days)
        parts = [
            f'<text x="{x:.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="{anchor}" class="tick" font-size="11" '
            f'fill="{MUTED}">{label}</text>'
            for x, anchor, label in labels
        ]
        if self.broken:  # the break mark: the axis does not run on at this scale
            x, y = self.edge + 2, HEIGHT - BOTTOM
            parts.append(
                f'<g class="axis-break" stroke="{MUTED}" stroke-width="1.5"><title>'
                f"{day_label(last, True)} … {day_label(far, True)}</title>"
                f'<line x1="{x - 5:.1f}" y1="{y + 5}" x2="{x - 1:.1f}" y2="{y - 5}"/>'
                f'<line x1="{x + 1:.1f}" y1="{y + 5}" x2="{x + 5:.1f}" y2="{y - 5}"/>'
                f'<line x1="{x:.1f}" y1="{TOP}" x2="{x:.1f}" y2="{y}" stroke-dasharray="2 4" stroke-width="1"/></g>'
            )
        return parts


def chart(
    title: str,
    *,
    start: date,
    end: date,
    y_max: float,
    y_min: float = 0.0,
    y_unit: str = "",
    lines: Sequence[Line] = (),
    bars: Sequence[Bars] = (),
    marker: Marker | None = None,
    css_class: str = "chart",
    span_end: date | None = None,
) -> Markup:
    """A chart of `lines` and `bars` from `start` to `end` (or the last point, if later); see the module's
    docstring for how far the axis runs at scale. `span_end` (an incident's configured last day) ends the span
    there whatever the series do after it."""
    observed = [d for line in lines if line.observed and (d := last_change(line.points))]
    observed += [d for series in bars for d, v in series.points if v]
    cut = max([start, *observed, *([marker.day] if marker else [])])
    if span_end is not None:
        cut = max(start, span_end)
    far = max([end, *(d for line in lines for d, v in line.points if v is not None)])
    axis = Axis(start, cut, far, slots=bool(bars))
    y_span = (y_max - y_min) or 1.0

    def y(value: float) -> float:
        return round(TOP + (HEIGHT - TOP - BOTTOM) * (1 - (value - y_min) / y_span), 1)

    parts = [
        f'<svg class="{escape(css_class)}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}" '
        f'xmlns="http://www.w3.org/2000/svg" font-family="{FONT}">',
        f"<title>{escape(title)}</title>",
        f'<rect x="{LEFT}" y="{TOP}" width="{WIDTH - LEFT - RIGHT}" height="{HEIGHT - TOP - BOTTOM}" fill="#fff" '
        'stroke="#d9e0e7"/>',
    ]
    for step in range(5):
        value = y_min + y_span * step / 4
        parts.append(
            f'<line x1="{LEFT}" y1="{y(value)}" x2="{WIDTH - RIGHT}" y2="{y(value)}" class="grid" stroke="#eef1f4"/>'
            f'<text x="{LEFT - 6}" y="{y(value) + 4}" text-anchor="end" class="tick" font-size="11" '
            f'fill="{MUTED}">{number_label(value)}</text>'
        )
    if y_unit:
        parts.append(
            f'<text x="{LEFT - 6}" y="{TOP - 8}" text-anchor="end" class="tick" font-size="11" fill="{MUTED}">'
            f"{escape(y_unit)}</text>"
        )
    parts += axis.ticks()
    if axis.broken:  # said in words too, not only by the break mark: the data stop changing here
        last = axis.cut - axis.shift
        note = translate(N_("Data until %(day)s")) % {"day": day_label(last, axis.with_year)}
        parts.append(
            f'<text x="{WIDTH - RIGHT - 4}" y="{HEIGHT - BOTTOM - 6}" text-anchor="end" class="span-note" font-size="11" '
            f'fill="{MUTED}">{escape(note)}</text>'
        )
    if marker is not None:
        x = axis.x(marker.day)
        parts.append(
            f'<line x1="{x:.1f}" y1="{TOP}" x2="{x:.1f}" y2="{HEIGHT - BOTTOM}" class="marker" '
            f'stroke="{escape(marker.colour)}" stroke-dasharray="2 3"/>'
            f'<text x="{x - 4:.1f}" y="{TOP + 14}" text-anchor="end" class="marker-label" font-size="11" '
            f'fill="{escape(marker.colour)}">{escape(marker.label)}</text>'
        )
    parts += _bars(bars, axis, y)
    for line in lines:
        parts += _line(line, axis, y)
    parts += _legend(title, [(s.label, s.colour, getattr(s, "dashed", False)) for s in (*bars, *lines)])
    parts.append("</svg>")
    return Markup("".join(parts))


def _line(line: Line, axis: Axis, y) -> list[str]:
    points = [(round(axis.x(d), 1), y(v)) for d, v in line.points if v is not None]
    if not points:
        return []
    dash = ' stroke-dasharray="5 4"' if line.dashed else ""
    coords = " ".join(f"{px},{py}" for px, py in thin(points))
    parts = [
        f'<polyline points="{coords}" fill="none" stroke="{escape(line.colour)}" stroke-width="2.2"{dash}>'
        f"<title>{escape(line.label)}</title></polyline>"
    ]
    if line.end_label is not None:
        px, py = points[-1]
        parts.append(
            f'<circle cx="{px}" cy="{py}" r="3.5" fill="{escape(line.colour)}"/>'
            f'<text x="{px - 6:.1f}" y="{py - 8:.1f}" text-anchor="end" font-size="12" '
            f'fill="{escape(line.colour)}">{escape(line.end_label)}</text>'
        )
    return parts


def _bars(bars: Sequence[Bars], axis: Axis, y) -> list[str]:
    parts = []
    base = HEIGHT - BOTTOM
    for index, series in enumerate(bars):
        for day, value in series.points:
            if value <= 0:  # no bar to draw: a day without removals adds nothing to the page
                continue
            slot = axis.x(day + timedelta(days=1)) - axis.x(day)
            width = max(1.0, slot * 0.76 / len(bars))
            x = axis.x(day) + slot * 0.1 + width * index
            top = y(value)
            parts.append(
                f'<rect x="{x:.1f}" y="{top}" width="{width:.1f}" height="{base - top:.1f}" '
                f'fill="{escape(series.colour)}"/>'
            )
    return parts


def _legend(title: str, entries: list[tuple[str, str, bool]]) -> list[str]:
    parts = [
        f'<text x="{LEFT}" y="16" class="chart-title" font-size="13" font-weight="700" fill="#1d2733">'
        f"{escape(title)}</text>"
    ]
    x = LEFT + _width(title, 13) + 16
    for label, colour, dashed in entries:
        dash = ' stroke-dasharray="5 4"' if dashed else ""
        parts.append(
            f'<line x1="{x:.0f}" y1="12" x2="{x + 18:.0f}" y2="12" stroke="{escape(colour)}" stroke-width="2.5"{dash}/>'
            f'<text x="{x + 22:.0f}" y="16" class="legend" font-size="12" fill="#1d2733">{escape(label)}</text>'
        )
        x += 34 + _width(label, 12)
    return parts


def _extent(x: float, anchor: str, label: str, size: int = 11) -> tuple[float, float]:
    """Where a label anchored at `x` starts and ends."""
    width = _width(label, size)
    return (x - width, x) if anchor == "end" else (x - width / 2, x + width / 2)


def _width(text: str, size: int) -> float:
    """About how wide `text` is drawn: CJK characters a full em, others a little over half."""
    return sum(size if ord(c) > 0x2E7F else size * 0.56 for c in text)


def number_label(value: float) -> str:
    """A value as an axis or a point labels it: whole above ten, one decimal below."""
    if abs(value - round(value)) < 1e-9 or abs(value) >= 10:
        return f"{value:,.0f}"
    return f"{value:.1f}"
