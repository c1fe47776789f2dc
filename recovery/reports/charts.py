"""The report's charts as inline SVG drawn on the server: no script, no CDN, Chinese labels, printable."""

from __future__ import annotations

from datetime import date
from html import escape

from markupsafe import Markup

from recovery.dashboard.svg import thin

WIDTH, HEIGHT = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 52, 16, 28, 40
COLOURS = ("#b3261e", "#12263a", "#2e7d32", "#8a5a00")


def _frame(title: str, body: list[str], legend: list[tuple[str, str, bool]]) -> Markup:
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}" '
        'xmlns="http://www.w3.org/2000/svg" font-family="WenQuanYi Micro Hei, Noto Sans CJK SC, sans-serif">',
        f"<title>{escape(title)}</title>",
        *body,
    ]
    x = LEFT
    for label, colour, dashed in legend:
        dash = ' stroke-dasharray="5 4"' if dashed else ""
        parts.append(
            f'<line x1="{x}" y1="12" x2="{x + 18}" y2="12" stroke="{colour}" stroke-width="2.5"{dash}/>'
        )
        parts.append(f'<text x="{x + 22}" y="16" font-size="12" fill="#1d2733">{escape(label)}</text>')
        x += 30 + 13 * len(label)
    parts.append("</svg>")
    return Markup("".join(parts))


def _axes(days: list[date], y_max: float, unit: str) -> tuple[list[str], callable, callable]:
    inner_w, inner_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    n = max(len(days) - 1, 1)

    def sx(i: float) -> float:
        return round(LEFT + inner_w * i / n, 1)

    def sy(v: float) -> float:
        return round(TOP + inner_h * (1 - (v / y_max if y_max else 0)), 1)

    body = [f'<rect x="{LEFT}" y="{TOP}" width="{inner_w}" height="{inner_h}" fill="#fff" stroke="#d9e0e7"/>']
    for step in range(5):
        v = y_max * step / 4
        y = sy(v)
        body.append(f'<line x1="{LEFT}" y1="{y}" x2="{WIDTH - RIGHT}" y2="{y}" stroke="#eef1f4"/>')
        body.append(
            f'<text x="{LEFT - 6}" y="{y + 4}" font-size="11" text-anchor="end" fill="#5b6b7b">{_num(v)}</text>'
        )
    body.append(
        f'<text x="{LEFT - 6}" y="{TOP - 8}" font-size="11" text-anchor="end" fill="#5b6b7b">{escape(unit)}</text>'
    )
    every = max(1, len(days) // 8)
    for i, d in enumerate(days):
        if i % every == 0 or i == len(days) - 1:
            body.append(
                f'<text x="{sx(i)}" y="{HEIGHT - BOTTOM + 16}" font-size="11" text-anchor="middle" fill="#5b6b7b">'
                f"{d.month}月{d.day}日</text>"
            )
    return body, sx, sy


def _num(v: float) -> str:
    return f"{v:,.0f}" if abs(v) >= 10 or v == int(v) else f"{v:.1f}"


def _polyline(points: list[tuple[float, float]], colour: str, dashed: bool = False) -> str:
    dash = ' stroke-dasharray="5 4"' if dashed else ""
    coords = " ".join(f"{x},{y}" for x, y in thin(points))
    return f'<polyline points="{coords}" fill="none" stroke="{colour}" stroke-width="2.2"{dash}/>'


def burndown(series: dict) -> Markup:
    """Collapse points still to restore per day, against a straight line to zero on the deadline."""
    deadline = date.fromisoformat(series["deadline"])
    known = [date.fromisoformat(d) for d in series["days"]]
    remaining = series["cumulative"]["road_collapse_remaining"]
    if not known:
        return _frame("道路塌陷点燃尽图", [], [])
    days = list(known)
    while days[-1] < deadline:
        days.append(date.fromordinal(days[-1].toordinal() + 1))
    y_max = max([v or 0 for v in remaining] + [1])
    body, sx, sy = _axes(days, y_max * 1.1, "个")
    start = max(range(len(remaining)), key=lambda i: remaining[i] or 0)  # the peak: all collapses reported
    ideal = [(sx(start), sy(remaining[start] or 0)), (sx(days.index(deadline)), sy(0))]
    body.append(_polyline(ideal, "#8a5a00", dashed=True))
    x = sx(days.index(deadline))
    body.append(
        f'<line x1="{x}" y1="{TOP}" x2="{x}" y2="{HEIGHT - BOTTOM}" stroke="#b3261e" stroke-dasharray="2 3"/>'
    )
    body.append(
        f'<text x="{x - 4}" y="{TOP + 14}" font-size="11" text-anchor="end" fill="#b3261e">8月15日 完成时限</text>'
    )
    body.append(_polyline([(sx(i), sy(v or 0)) for i, v in enumerate(remaining)], COLOURS[0]))
    last = len(remaining) - 1
    body.append(f'<circle cx="{sx(last)}" cy="{sy(remaining[last] or 0)}" r="3.5" fill="{COLOURS[0]}"/>')
    body.append(
        f'<text x="{sx(last) + 6}" y="{sy(remaining[last] or 0) - 6}" font-size="12" fill="{COLOURS[0]}">'
        f"{_num(remaining[last] or 0)}</text>"
    )
    return _frame(
        "道路塌陷点燃尽图", body, [("剩余塌陷点", COLOURS[0], False), ("按期完成参考线", "#8a5a00", True)]
    )


def restart_curve(series: dict) -> Markup:
    """The enterprises' restart rates per day: by head count and the composite (capacity-weighted) rate."""
    days = [date.fromisoformat(d) for d in series["days"]]
    if not days:
        return _frame("企业复工复产曲线", [], [])
    head = [(v or 0) * 100 for v in series["cumulative"]["restart_headcount_rate"]]
    composite = [(v or 0) * 100 for v in series["cumulative"]["composite_restart_rate"]]
    body, sx, sy = _axes(days, 100, "%")
    body.append(_polyline([(sx(i), sy(v)) for i, v in enumerate(head)], COLOURS[1]))
    body.append(_polyline([(sx(i), sy(v)) for i, v in enumerate(composite)], COLOURS[2]))
    last = len(days) - 1
    body.append(
        f'<text x="{sx(last) - 4}" y="{sy(composite[last]) + 16}" font-size="12" text-anchor="end" fill="{COLOURS[2]}">'
        f"{composite[last]:.2f}%</text>"
    )
    return _frame(
        "企业复工复产曲线", body, [("复工率(按家数)", COLOURS[1], False), ("综合复工率", COLOURS[2], False)]
    )


def removal_bars(series: dict) -> Markup:
    """Silt (m³) and garbage (t) removed each day, as paired bars."""
    days = [date.fromisoformat(d) for d in series["days"]]
    if not days:
        return _frame("每日清运淤泥、垃圾量", [], [])
    silt, garbage = series["per_day"]["silt_m3"], series["per_day"]["garbage_t"]
    y_max = max(silt + garbage + [1]) * 1.1
    body, sx, sy = _axes(days + [days[-1]], y_max, "立方米 / 吨")
    slot = (WIDTH - LEFT - RIGHT) / max(len(days), 1)
    bar = max(1.0, slot * 0.38)
    for i, (s, g) in enumerate(zip(silt, garbage, strict=True)):
        x = LEFT + slot * i + slot * 0.1
        for offset, value, colour in ((0, s, COLOURS[3]), (bar, g, COLOURS[1])):
            if value <= 0:  # no bar to draw: a day without removals adds nothing to the page
                continue
            y = sy(value)
            body.append(
                f'<rect x="{x + offset:.1f}" y="{y}" width="{bar:.1f}" height="{HEIGHT - BOTTOM - y:.1f}" fill="{colour}"/>'
            )
    return _frame(
        "每日清运淤泥、垃圾量",
        body,
        [("淤泥(立方米)", COLOURS[3], False), ("垃圾杂物(吨)", COLOURS[1], False)],
    )


def all_charts(series: dict) -> list[tuple[str, Markup]]:
    return [
        ("burndown", burndown(series)),
        ("restart", restart_curve(series)),
        ("removal", removal_bars(series)),
    ]
