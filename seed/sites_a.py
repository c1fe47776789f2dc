"""Seed sites and histories: road collapses, silt sites, municipal facilities, river-bank hazards."""

from __future__ import annotations

from shapely.geometry import Point

from seed.common import (
    CUTOFF,
    DAY,
    MARKETS,
    allocate,
    day,
    deadline,
    estate,
    event,
    increasing,
    person,
    pick,
    rng_for,
    tenths,
)
from seed.geo import Geo, along, nearest_cross, piece, random_point, rect, round_geom

ROAD_CLASSES = {  # class: (sites, restored before the cut-off)
    "main": (60, 55),
    "secondary": (96, 70),
    "branch": (80, 42),
}
SILT_SITES = 1247
SILT_M3_TENTHS = 26_000
GARBAGE_T_TENTHS = 77_790


def make_site(key, kind, name, address, geom, priority, attributes, team, dl) -> dict:
    return {
        "key": key,
        "kind": kind,
        "name": name,
        "address": address,
        "geometry": round_geom(geom),
        "priority": priority,
        "attributes": attributes,
        "team": team,
        "deadline": dl,
    }


def _address(geo: Geo, x: float, y: float, near: str) -> str:
    return f"郑州市高新区{geo.sub_zh(geo.sub_of(x, y))}辖区{near}"


def _nearest_road(geo: Geo, x: float, y: float):
    p = Point(x, y)
    return min(geo.roads, key=lambda r: (r.line.distance(p), r.key))


def _direction(road, cross, x, y) -> str:
    cx, cy = cross.line.interpolate(cross.line.project(Point(x, y))).coords[0]
    if road.ns:
        return "以北" if y > cy else "以南"
    return "以东" if x > cx else "以西"


def _weighted_road(rng, roads):
    return pick(rng, [(r, r.line.length) for r in roads])


def road_collapses(geo: Geo, crews: dict) -> tuple[list[dict], list[dict]]:
    rng = rng_for("road_collapse")
    sites, events = [], []
    plans = []
    for cls, (total, pre) in ROAD_CLASSES.items():
        if cls == "main":
            times = [rng.randint(day(7, 21) + 600, day(7, 27) + 1200) for _ in range(pre)]
            post = [rng.randint(CUTOFF + 60, day(8, 4) + 1200) for _ in range(total - pre)]
        elif cls == "secondary":
            times = [rng.randint(day(7, 22) + 480, CUTOFF - 60) for _ in range(pre)]
            post = [rng.randint(CUTOFF + 120, day(8, 10) + 900) for _ in range(total - pre - 1)] + [
                day(8, 10) + 1000
            ]
        else:
            times = [rng.randint(day(7, 23) + 480, CUTOFF - 30) for _ in range(pre)]
            post = [rng.randint(day(8, 1) + 480, day(8, 15) + 1200) for _ in range(total - pre - 1)] + [
                day(8, 15) + 1260
            ]
        plans += [(cls, t) for t in times + post]
    rng.shuffle(plans)
    main = [r for r in geo.roads if r.cls == "main"]
    secondary = [r for r in geo.roads if r.cls == "secondary"]
    for n, (cls, t_done) in enumerate(plans, start=1):
        key = f"RC-{n:04d}"
        while True:
            road = _weighted_road(
                rng,
                main if cls == "main" else secondary if cls == "secondary" or rng.random() < 0.8 else main,
            )
            frac = rng.uniform(0.03, 0.97)
            side = rng.uniform(-3, 3) if cls != "branch" else rng.choice((-1, 1)) * rng.uniform(40, 150)
            if rng.random() < 0.2:
                geom = piece(road.line, frac, rng.uniform(30, 150), side)
                x, y = geom.interpolate(0.5, normalized=True).coords[0]
            else:
                x, y = along(road.line, frac, side)
                geom = Point(x, y)
            if geom.geom_type in ("Point", "LineString") and geo.inner.contains(geom) and geo.inside(geom):
                break
        cross, dist = nearest_cross(geo, road, x, y)
        if cls == "branch":
            bank = ("西" if side > 0 else "东") if road.ns else "北" if side > 0 else "南"
            road_name = f"{road.zh}{bank}侧支路"
            name = f"{road_name}(近{cross.zh})塌陷点"
        else:
            road_name = road.zh
            name = (
                f"{road.zh}与{cross.zh}交叉口塌陷点"
                if dist < 120
                else f"{road.zh}{cross.zh}{_direction(road, cross, x, y)}段塌陷点"
            )
        priority = {"main": 1, "secondary": 2, "branch": 3}[cls]
        sites.append(
            make_site(
                key,
                "road_collapse",
                name,
                _address(geo, x, y, f"{road_name}近{cross.zh}"),
                geom,
                priority,
                {"road_class": cls, "road_name": road_name},
                rng.choice(crews["road"]),
                deadline(8, 15),
            )
        )
        t_rep = rng.randint(day(7, 20) + 540, min(day(7, 21) + 1200, t_done - 600))
        steps = ["secured", "repairing", "passable"]
        if rng.random() < 0.1:
            steps.remove("secured")
        times = increasing(rng, t_rep + 30, t_done - 30, len(steps))
        actor = person(rng)
        events.append(
            event(
                rng,
                "report",
                t_rep,
                site=key,
                to_status="reported",
                actor=person(rng),
                note=pick(rng, [("路面塌陷，已上报", 3), ("群众反映路面下沉", 1), ("巡查发现路面空洞", 1)]),
            )
        )
        notes = {
            "secured": "已设置围挡和警示标志",
            "repairing": "开始抢修，回填夯实",
            "passable": "已恢复通行",
        }
        for st, t in zip(steps, times, strict=False):
            events.append(event(rng, "transition", t, site=key, to_status=st, actor=actor, note=notes[st]))
        events.append(
            event(
                rng,
                "transition",
                t_done,
                site=key,
                to_status="restored",
                actor=actor,
                note="路面修复完成，验收通过",
            )
        )
    return sites, events


def silt_sites(geo: Geo, crews: dict) -> tuple[list[dict], list[dict]]:
    rng = rng_for("silt_site")
    sites, events, measure_events = [], [], []
    silt_w = {"garage": 3.0, "underpass": 2.5, "market": 1.0, "street": 0.8, "community": 1.2}
    garbage_w = {"garage": 1.0, "underpass": 0.8, "market": 2.0, "street": 1.2, "community": 1.8}
    types = [("garage", 30), ("community", 25), ("street", 25), ("market", 10), ("underpass", 10)]
    for n in range(1, SILT_SITES + 1):
        key = f"SL-{n:04d}"
        ptype = pick(rng, types)
        while True:
            if ptype in ("street", "underpass"):
                road = _weighted_road(
                    rng, geo.roads if ptype == "street" else [r for r in geo.roads if r.cls == "main"]
                )
                x, y = along(road.line, rng.uniform(0.03, 0.97), rng.choice((-1, 1)) * rng.uniform(8, 18))
            else:
                x, y = random_point(rng, geo.inner)
            if ptype in ("garage", "market", "community") and rng.random() < 0.4:
                geom = rect(x, y, rng.uniform(20, 70), rng.uniform(20, 60), rng.uniform(-30, 30))
            else:
                geom = Point(x, y)
            if geo.inner.contains(geom) and geo.inside(geom):
                break
        road = _nearest_road(geo, x, y)
        cross, _ = nearest_cross(geo, road, x, y)
        if ptype == "garage":
            name = f"{estate(rng)}{rng.choice(['地下车库', '1号地下车库', '2号地下车库', '地下车库B区'])}"
        elif ptype == "market":
            name = f"{rng.choice(MARKETS)}{rng.choice(['农贸市场', '集贸市场', '便民市场'])}"
        elif ptype == "street":
            name = f"{road.zh}({cross.zh}{_direction(road, cross, x, y)})路面清淤点"
        elif ptype == "community":
            name = f"{estate(rng)}小区内外道路"
        else:
            name = f"{road.zh}{cross.zh}下穿通道"
        sub = geo.sub_of(x, y)
        sites.append(
            make_site(
                key,
                "silt_site",
                name,
                _address(geo, x, y, f"{road.zh}近{cross.zh}"),
                geom,
                1 if ptype in ("garage", "underpass") else 2,
                {"place_type": ptype},
                rng.choice(crews[f"silt:{sub}"]),
                deadline(8, 9),
            )
        )
        t_rep = rng.randint(day(7, 20) + 720, day(7, 23) + 1200)
        t_clr = t_rep + rng.randint(30, 2 * DAY)
        t_done = min(t_clr + rng.randint(120, 4 * DAY), CUTOFF - 30)
        if rng.random() < 0.62 and t_done + 60 < CUTOFF - 1:
            t_dis = rng.randint(t_done + 60, CUTOFF - 1)
        else:
            t_dis = rng.randint(CUTOFF + 60, day(8, 8) + 1200)
        actor = person(rng)
        events.append(
            event(
                rng,
                "report",
                t_rep,
                site=key,
                to_status="reported",
                actor=person(rng),
                note="积水退去后淤泥堆积，需清运",
            )
        )
        for st, t in (("clearing", t_clr), ("cleared", t_done)):
            ev = event(
                rng,
                "transition",
                t,
                site=key,
                to_status=st,
                actor=actor,
                note="清运淤泥和垃圾杂物" if st == "clearing" else "淤泥垃圾清运完毕",
            )
            events.append(ev)
            w = rng.uniform(0.3, 1.7) * (1.5 if st == "clearing" else 1.0)
            measure_events.append((ev, silt_w[ptype] * w, garbage_w[ptype] * w * rng.uniform(0.6, 1.4)))
        events.append(
            event(
                rng,
                "transition",
                t_dis,
                site=key,
                to_status="disinfected",
                actor=actor,
                note="完成消杀，两清一消闭环",
            )
        )
    silt = allocate(SILT_M3_TENTHS, [m[1] for m in measure_events])
    garbage = allocate(GARBAGE_T_TENTHS, [m[2] for m in measure_events])
    for (ev, _, _), s, g in zip(measure_events, silt, garbage, strict=False):
        ev["measures"] = {"silt_m3": tenths(s), "garbage_t": tenths(g)}
    return sites, events


def municipal_facilities(geo: Geo, crews: dict) -> tuple[list[dict], list[dict]]:
    rng = rng_for("municipal_facility")
    sites, events = [], []
    plans = []
    ns = [r for r in geo.roads if r.ns]
    ew = [r for r in geo.roads if not r.ns]
    forced_outside = False
    for a in ns:
        for b in ew:
            p = a.line.intersection(b.line)
            if p.geom_type != "Point":
                continue
            x, y = p.x + rng.uniform(-8, 8) / 91000, p.y + rng.uniform(-8, 8) / 111000
            if not geo.inner.contains(Point(x, y)):
                continue
            ring_d = geo.ring_inside.exterior.distance(Point(x, y)) * 100000
            if ring_d < 30:
                continue  # too close to the ring to say
            inside = bool(geo.ring_inside.contains(Point(x, y)))
            if inside:
                post = False
            elif not forced_outside:
                post, forced_outside = True, True
            else:
                post = rng.random() < 0.45
            plans.append(("traffic_signal", x, y, f"{b.zh}与{a.zh}交叉口信号灯", b, post))
    for _i in range(240):
        road = _weighted_road(rng, geo.roads)
        while True:
            x, y = along(road.line, rng.uniform(0.02, 0.98), rng.choice((-1, 1)) * rng.uniform(12, 20))
            if geo.inner.contains(Point(x, y)):
                break
            road = _weighted_road(rng, geo.roads)
        cross, _ = nearest_cross(geo, road, x, y)
        plans.append(
            (
                "street_light",
                x,
                y,
                f"{road.zh}({cross.zh}{_direction(road, cross, x, y)})路灯{rng.randint(1, 80)}号杆",
                road,
                rng.random() < 0.3,
            )
        )
    for _i in range(45):
        x, y = random_point(rng, geo.inner)
        place = f"{rng.choice(MARKETS)}{rng.choice(['游园', '广场', '市场', '公园', '便民服务站'])}"
        plans.append(("public_toilet", x, y, f"{place}公厕", _nearest_road(geo, x, y), rng.random() < 0.3))
    for n, (ftype, x, y, name, road, post) in enumerate(plans, start=1):
        key = f"MF-{n:04d}"
        sub = geo.sub_of(x, y)
        sites.append(
            make_site(
                key,
                "municipal_facility",
                name,
                _address(geo, x, y, road.zh),
                Point(x, y),
                {"traffic_signal": 1, "public_toilet": 2, "street_light": 3}[ftype],
                {"facility_type": ftype},
                rng.choice(crews[f"municipal:{sub}"] + crews["municipal"]),
                deadline(8, 9) if ftype == "traffic_signal" else deadline(8, 20),
            )
        )
        t_rep = rng.randint(day(7, 20) + 840, day(7, 22) + 1200)
        if not post:
            t_done = rng.randint(t_rep + 240, (day(7, 28) if ftype == "traffic_signal" else CUTOFF - 30))
        elif ftype == "traffic_signal":
            t_done = rng.randint(CUTOFF + 120, day(8, 6) + 1080)
        else:
            t_done = rng.randint(CUTOFF + 60, day(8, 20) + 1080)
        if post and rng.random() < 0.5:
            t_fix = rng.randint(CUTOFF + 30, t_done - 30)  # still "damaged" on 29 July
        else:
            t_fix = rng.randint(t_rep + 60, min(t_done - 30, CUTOFF - 1))
        actor = person(rng)
        events.append(
            event(
                rng,
                "report",
                t_rep,
                site=key,
                to_status="damaged",
                actor=person(rng),
                note={
                    "traffic_signal": "信号灯水毁不亮",
                    "street_light": "路灯进水不亮",
                    "public_toilet": "公厕被淹，设施损坏",
                }[ftype],
            )
        )
        events.append(
            event(rng, "transition", t_fix, site=key, to_status="repairing", actor=actor, note="正在加快修复")
        )
        events.append(
            event(rng, "transition", t_done, site=key, to_status="repaired", actor=actor, note="修复完成")
        )
    return sites, events


def river_hazards(geo: Geo, crews: dict) -> tuple[list[dict], list[dict]]:
    rng = rng_for("river_hazard")
    sites, events = [], []
    plan = ["jialu"] * 14 + ["suoxu"] * 12 + ["xushui"] * 4
    for n, river in enumerate(plan, start=1):
        key = f"RH-{n:04d}"
        zh, line = geo.rivers[river]
        part = geo.inner.intersection(line)
        if part.geom_type != "LineString":
            part = max(part.geoms, key=lambda g: g.length)
        while True:
            side = rng.choice((-1, 1)) * rng.uniform(5, 15)
            geom = piece(part, rng.uniform(0.0, 0.9), rng.uniform(100, 800), side)
            if (
                geom.geom_type == "LineString"
                and not geom.is_empty
                and geo.inner.contains(geom)
                and geo.inside(geom)
            ):
                break
        x, y = geom.interpolate(0.5, normalized=True).coords[0]
        road = min(geo.roads, key=lambda r: (r.line.distance(Point(x, y)), r.key))
        bank = ("西岸" if side > 0 else "东岸") if river == "xushui" else ("北岸" if side > 0 else "南岸")
        name = f"{zh}{road.zh}段{bank}险情"
        sites.append(
            make_site(
                key,
                "river_hazard",
                name,
                _address(geo, x, y, f"{zh}{bank}{road.zh}附近"),
                geom,
                2 if river == "xushui" else 1,
                {"river": zh},
                rng.choice(crews["river"]),
                deadline(8, 25),
            )
        )
        t_found = rng.randint(day(7, 21) + 480, day(7, 25) + 1200)
        if rng.random() < 0.45:
            t_done = rng.randint(t_found + DAY, CUTOFF - 60)
        else:
            t_done = rng.randint(CUTOFF + 60, day(8, 24) + 1080)
        t_work = rng.randint(t_found + 60, min(t_done - 60, CUTOFF + 3 * DAY))
        actor = person(rng)
        events.append(
            event(
                rng,
                "report",
                t_found,
                site=key,
                to_status="found",
                actor=person(rng),
                note=pick(rng, [("堤岸出现裂缝", 2), ("岸坡局部坍塌", 2), ("护坡水毁", 1), ("管涌隐患", 1)]),
            )
        )
        events.append(
            event(
                rng, "transition", t_work, site=key, to_status="reinforcing", actor=actor, note="组织除险加固"
            )
        )
        events.append(
            event(
                rng,
                "transition",
                t_done,
                site=key,
                to_status="secured",
                actor=actor,
                note="加固完成，险情解除",
            )
        )
    return sites, events
