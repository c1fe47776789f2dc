"""The daily bulletin: the article's paragraph, every number computed, and the same figures as JSON."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy.orm import Session

from recovery.metrics.compute import Figure, by_area, cube_at, evaluate_all, figures_payload
from recovery.metrics.cube import Cube
from recovery.timeutil import end_of_day, zone_iso

#: figures the bulletin prints, in the order it prints them
BULLETIN_KEYS = (
    "community_total",
    "community_restored",
    "road_collapse_total",
    "road_collapse_handled",
    "road_collapse_remaining",
    "road_collapse_passable",
    "road_collapse_main_passable_rate",
    "street_light_repaired_rate",
    "public_toilet_repaired_rate",
    "signals_ring4_repaired_rate",
    "silt_sites_cleared",
    "silt_m3",
    "garbage_t",
    "disinfection_points",
    "disinfection_coverage",
    "enterprises_stopped",
    "enterprises_restarted",
    "composite_restart_rate",
    "above_size_total",
    "above_size_restart_share",
)
#: "basically" (基本) done: the article's word for a share this high
BASICALLY = 0.9


def bulletin_text(day: date, figures: dict[str, Figure]) -> str:
    """The paragraph as the article printed it on 4 August 2021, worded from the figures of `day`."""
    f = {k: v.printed for k, v in figures.items()}
    value = {k: v.value for k, v in figures.items()}
    parts = []
    if value["community_total"] and value["community_restored"] == value["community_total"]:
        parts.append("高新区居民小区供水供电供气已全部恢复")
    elif value["community_total"]:
        parts.append(
            f"高新区受影响居民小区{f['community_total']}个,供水供电供气已全部恢复{f['community_restored']}个"
        )
    roads = []
    # 先主后次、先通后畅: traffic counts as basically restored once the main roads' collapse points are passable
    main_passable = value["road_collapse_main_passable_rate"]
    if main_passable is not None:
        roads.append("道路通行已基本恢复" if main_passable >= BASICALLY else "道路通行正在恢复")
    if value["road_collapse_total"]:
        if value["road_collapse_remaining"]:
            roads.append(
                f"塌陷点{f['road_collapse_total']}个已处理完成{f['road_collapse_handled']}个,剩余正在加快施工"
            )
        else:
            roads.append(f"塌陷点{f['road_collapse_total']}个已全部处理完成")
    if roads:
        parts.append(",".join(roads))
    lights, toilets = value["street_light_repaired_rate"], value["public_toilet_repaired_rate"]
    if lights is not None or toilets is not None:
        done = all(v is None or v >= 1 for v in (lights, toilets))
        parts.append("路灯、公厕等市政设施已修复完成" if done else "路灯、公厕等市政设施正在加快修复")
    signals = value["signals_ring4_repaired_rate"]
    if signals is not None:
        parts.append(
            "已完成四环内信号灯修复工作"
            if signals >= 1
            else f"四环内信号灯已修复{f['signals_ring4_repaired_rate']}%"
        )
    if value["silt_sites_cleared"] or value["garbage_t"]:
        silt = (
            f"公共区域清运淤泥{f['silt_sites_cleared']}处共{f['silt_m3']}立方米,"
            f"清运垃圾杂物{f['garbage_t']}吨"
        )
        cleared_share = figures["silt_sites_cleared"].numerator / max(1.0, _silt_total(figures))
        silt += ",已基本清理完毕" if cleared_share >= BASICALLY else ",正在加快清理"
        if value["disinfection_points"]:
            silt += ",防疫消杀工作正持续推进"
            if value["disinfection_coverage"]:
                silt += ",每天对固定点位进行消杀"
        parts.append(silt)
    if value["enterprises_stopped"]:
        parts.append(
            f"复工复产方面,停产{f['enterprises_stopped']}家,已经恢复{f['enterprises_restarted']}家,"
            f"综合复工率{f['composite_restart_rate']}%"
        )
    if value["above_size_total"]:
        parts.append(f"规模以上工业企业{f['above_size_total']}家,复产比例为{f['above_size_restart_share']}%")
    if not parts:
        return f"截至{day.month}月{day.day}日,尚无灾后恢复记录。"
    return f"截至{day.month}月{day.day}日," + ";".join(parts) + "。"


def _silt_total(figures: dict[str, Figure]) -> float:
    return figures["silt_total"].numerator


def daily_report(
    session: Session,
    day: date,
    *,
    known_at: datetime | None = None,
    locale: str = "zh",
    use_rollup: bool = True,
    at: datetime | None = None,
) -> dict:
    """Everything the daily report says about `day`: the bulletin, every figure, and the sub-district table.
    `at` is an instant within the day to report on instead of its end (the page's `?at=HH:MM`)."""
    as_of = at or end_of_day(day)
    cube = cube_at(session, as_of, known_at, use_rollup=use_rollup)
    return report_from_cube(cube, day, locale)


def report_from_cube(cube: Cube, day: date, locale: str = "zh") -> dict:
    """The daily report's payload from an already computed cube (the report page reuses the cube)."""
    figures = evaluate_all(cube)
    payload = figures_payload(cube, figures, locale)
    payload["date"] = day.isoformat()
    payload["bulletin"] = bulletin_text(day, figures)
    # the sub-districts, then "" (not assigned) when it counts anything: the rows add up to the zone
    payload["by_subdistrict"] = {
        sub: {k: fig.to_dict(locale) for k, fig in figs.items()}
        for sub, figs in by_area(cube, list(BULLETIN_KEYS)).items()
    }
    payload["generated_from"] = {"as_of": zone_iso(cube.as_of), "source": cube.source}
    return payload
