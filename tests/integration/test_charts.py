"""The one chart module (recovery.charts), used by the daily report and the dashboard: labels escaped, the axis
kept to the incident's span (what lies beyond is drawn behind a break mark that says how far it goes), and
dates with their year when the axis crosses one."""

from __future__ import annotations

import re
from datetime import date, timedelta

from support.accounts import auth, login

from recovery.charts import LEFT, RIGHT, WIDTH, Axis, Bars, Line, Marker, chart, last_change
from recovery.timeutil import query_window

START = date(2021, 7, 20)
DEADLINE = date(2021, 8, 15)


def _flat_after(last: date, until: date) -> list[tuple[date, float]]:
    """A series that falls from 100 to 0 by `last`, then stays at 0 every day up to `until`."""
    days = (until - START).days + 1
    span = (last - START).days
    return [(START + timedelta(days=i), max(0.0, 100 - 100 * i / span)) for i in range(days)]


def _ticks(svg: str) -> list[str]:
    return re.findall(r'class="tick"[^>]*>([^<]*月[^<]*)</text>', svg)


def test_labels_are_escaped():
    svg = chart(
        "<script>alert(1)</script>",
        start=START,
        end=START + timedelta(days=2),
        y_max=2,
        lines=[Line("<b>x</b>", [(START, 1.0), (START + timedelta(days=1), 2.0)], "#000")],
        bars=[Bars("<i>y</i>", [(START, 1.0)], "#000")],
        marker=Marker(START, "<u>z</u>"),
    )
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert "<b>" not in svg and "<i>" not in svg and "<u>" not in svg


def test_a_chart_within_its_span_is_drawn_at_scale_without_years():
    points = _flat_after(date(2021, 8, 31), date(2021, 9, 3))
    svg = chart("t", start=START, end=date(2021, 9, 3), y_max=100, lines=[Line("a", points, "#000")])
    assert 'class="axis-break"' not in svg
    ticks = _ticks(svg)
    assert ticks[0] == "7月20日" and ticks[-1] == "9月3日" and not any("年" in t for t in ticks)


def test_a_chart_for_a_far_day_keeps_the_span_and_says_how_far_it_goes():
    """A dashboard for a day five years on: the series stopped changing on 31 August 2021; the span keeps most
    of the width, the years after it are behind a break mark labelled with the far day, with its year."""
    far = date(2026, 12, 7)
    points = _flat_after(date(2021, 8, 31), far)
    svg = chart(
        "t", start=START, end=far, y_max=100, lines=[Line("a", points, "#000")], marker=Marker(DEADLINE, "d")
    )
    assert svg.count('class="axis-break"') == 1
    assert "2021年8月31日 … 2026年12月7日" in svg  # the break mark's own title
    ticks = _ticks(svg)
    assert ticks[0] == "2021年7月20日" and ticks[-1] == "2026年12月7日"
    assert len(ticks) > 4 and not [t for t in ticks[1:-1] if "年" in t]  # the year once, where it changes
    axis = Axis(START, date(2021, 8, 31), far)
    assert axis.broken and axis.x(date(2021, 8, 31)) >= LEFT + 0.85 * (WIDTH - RIGHT - LEFT)
    assert axis.x(far) == WIDTH - RIGHT


def test_a_projection_far_ahead_does_not_stretch_the_span():
    """A pace so slow that zero is years away: the observed line and the deadline keep the scale."""
    observed = _flat_after(date(2021, 8, 10), date(2021, 8, 10))
    projection = Line(
        "pace", [(date(2021, 8, 10), 5.0), (date(2031, 3, 2), 0.0)], "#f00", True, observed=False
    )
    svg = chart(
        "t",
        start=START,
        end=date(2021, 8, 10),
        y_max=100,
        lines=[Line("a", observed, "#000"), projection],
        marker=Marker(DEADLINE, "d"),
    )
    assert 'class="axis-break"' in svg and _ticks(svg)[-1] == "2031年3月2日"
    assert "2021年8月15日 … 2031年3月2日" in svg  # the span runs to the deadline


def test_a_chart_across_new_year_carries_the_year():
    start, end = date(2021, 12, 20), date(2022, 1, 10)
    points = [(start + timedelta(days=i), float(i)) for i in range((end - start).days + 1)]
    ticks = _ticks(chart("t", start=start, end=end, y_max=30, lines=[Line("a", points, "#000")]))
    assert ticks[0] == "2021年12月20日" and ticks[-1] == "1月10日"
    assert [t for t in ticks if "年" in t] == [
        "2021年12月20日",
        next(t for t in ticks if t.startswith("2022年")),
    ]


def test_last_change():
    assert last_change(
        [(START, 1.0), (START + timedelta(days=1), 2.0), (START + timedelta(days=2), 2.0)]
    ) == (START + timedelta(days=1))
    assert last_change([(START, 1.0), (START + timedelta(days=1), None)]) == START
    assert last_change([]) is None


def test_the_report_and_the_dashboard_for_a_far_day_draw_the_span(seeded_client):
    """Both pages draw their charts with this module: for the last day a query may name, every chart is broken
    after the incident's span and names the far day with its year; for 29 July none is."""
    far = query_window()[1]
    login(seeded_client, "commander")
    for path, count in (("/?date={}", 2), ("/reports/daily/{}", 3)):
        near = seeded_client.get(path.format("2021-07-29"), headers=auth("commander")).get_data(as_text=True)
        assert near.count('<svg class="chart') == count and 'class="axis-break"' not in near
        assert "2021年" not in "".join(_ticks(near))
        page = seeded_client.get(path.format(far.isoformat()), headers=auth("commander")).get_data(
            as_text=True
        )
        assert page.count('class="axis-break"') == count, path
        assert page.count(f"{far.year}年{far.month}月{far.day}日</text>") == count


def _tick_boxes(svg: str) -> list[tuple[float, float]]:
    from recovery.charts import _extent

    ticks = re.findall(
        r'<text x="([\d.]+)" y="[\d.]+" text-anchor="(\w+)" class="tick"[^>]*>([^<]*月[^<]*)</text>', svg
    )
    return [_extent(float(x), anchor, label) for x, anchor, label in ticks]


def test_no_two_date_labels_touch_on_any_span():
    """7月28日7月29日 and 8月13日8月15日 were drawn into each other: the span's last day was added beside a tick
    one step short of it. Every span from 2 days to 60, ending on any weekday, leaves a gap between labels."""
    for days in range(2, 61):
        end = START + timedelta(days=days)
        svg = chart("t", start=START, end=end, y_max=1, lines=[Line("l", [(START, 0.0), (end, 1.0)], "#000")])
        boxes = _tick_boxes(svg)
        assert len(boxes) >= 2, days
        assert _ticks(svg)[-1] == f"{end.month}月{end.day}日", days  # the last day is always labelled
        for (_, right), (left, _) in zip(boxes, boxes[1:], strict=False):
            assert left >= right + 4, (days, _ticks(svg))
