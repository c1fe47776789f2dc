"""Small line charts drawn as SVG on the server: no script, no CDN, Chinese labels, every text escaped."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from markupsafe import Markup, escape

WIDTH, HEIGHT = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 48, 16, 28, 36


@dataclass(frozen=True)
class Series:
    label: str
    points: list[tuple[date, float | None]]
    colour: str
    dashed: bool = False


def line_chart(
    title: str,
    series: list[Series],
    *,
    start: date,
    end: date,
    y_max: float,
    y_unit: str = "",
    y_min: float = 0.0,
    marker: tuple[date, str] | None = None,
    css_class: str = "chart",
) -> Markup:
    """A chart of day-indexed series between `start` and `end`; `marker` is a labelled vertical line."""
    span = max((end - start).days, 1)
    y_span = (y_max - y_min) or 1.0

    def px(day: date) -> float:
        return LEFT + (WIDTH - LEFT - RIGHT) * (day - start).days / span

    def py(value: float) -> float:
        return TOP + (HEIGHT - TOP - BOTTOM) * (1 - (value - y_min) / y_span)

    parts = [
        f'<svg class="{escape(css_class)}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
        f'<text x="{LEFT}" y="16" class="chart-title">{escape(title)}</text>',
    ]
    for i in range(5):
        value = y_min + y_span * i / 4
        y = py(value)
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>')
        parts.append(
            f'<text x="{LEFT - 4}" y="{y + 4:.1f}" text-anchor="end" class="tick">{_num(value)}{escape(y_unit)}</text>'
        )
    step = max(span // 6, 1)
    for offset in range(0, span + 1, step):
        day = date.fromordinal(start.toordinal() + offset)
        x = px(day)
        parts.append(
            f'<text x="{x:.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle" class="tick">'
            f"{day.month}月{day.day}日</text>"
        )
    if marker is not None:
        x = px(marker[0])
        parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{TOP}" y2="{HEIGHT - BOTTOM}" class="marker"/>')
        parts.append(
            f'<text x="{x - 4:.1f}" y="{TOP + 12}" text-anchor="end" class="marker-label">{escape(marker[1])}</text>'
        )
    legend_x = LEFT + 200
    for i, s in enumerate(series):
        coords = " ".join(
            f"{x:.1f},{y:.1f}" for x, y in thin([(px(d), py(v)) for d, v in s.points if v is not None])
        )
        dash = ' stroke-dasharray="6 4"' if s.dashed else ""
        parts.append(
            f'<polyline points="{coords}" fill="none" stroke="{escape(s.colour)}" stroke-width="2"{dash}>'
            f"<title>{escape(s.label)}</title></polyline>"
        )
        lx = legend_x + i * 140
        parts.append(
            f'<line x1="{lx}" x2="{lx + 18}" y1="12" y2="12" stroke="{escape(s.colour)}" stroke-width="3"{dash}/>'
        )
        parts.append(f'<text x="{lx + 22}" y="16" class="legend">{escape(s.label)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def thin(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """A line's points without the inner points of each level run: the same line drawn, but its size follows the
    days something changed, not the days shown (a report for a day years on plots years of flat days)."""
    last = len(points) - 1
    return [
        p for i, p in enumerate(points) if i in (0, last) or not points[i - 1][1] == p[1] == points[i + 1][1]
    ]


def _num(value: float) -> str:
    return f"{value:.0f}" if abs(value - round(value)) < 1e-9 or abs(value) >= 10 else f"{value:.1f}"
