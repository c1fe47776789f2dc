"""Seed sites and histories: disinfection points, enterprises, residential communities."""

from __future__ import annotations

from shapely.geometry import Point

from seed.common import (
    CUTOFF,
    DAY,
    MARKETS,
    VILLAGES,
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
from seed.geo import Geo, random_point, rect
from seed.sites_a import _address, _nearest_road, make_site

ENTERPRISES = 7630
ABOVE_SIZE = 282
STOPPED_AT_CUTOFF = 68  # 7,630 - 7,562
ABOVE_SIZE_STOPPED_AT_CUTOFF = 3  # 279 of 282 restarted
PARTLY_AT_CUTOFF = 450
CAPACITY_TENTHS_AT_CUTOFF = 7_534_625  # 98.75 % of 7,630 x 1000 tenths
STATIONS = [
    "河南工业大学站",
    "郑大科技园站",
    "郑州大学站",
    "梧桐街站",
    "兰寨站",
    "铁炉站",
    "市民中心站",
    "西流湖站",
]
SCHOOLS = [
    "第一小学",
    "第二小学",
    "实验小学",
    "外国语小学",
    "枫杨小学",
    "梧桐小学",
    "第一初级中学",
    "第二初级中学",
    "实验中学",
    "石佛小学",
    "沟赵中学",
    "双桥小学",
]


def disinfection_points(geo: Geo, crews: dict, teams_by_key: dict) -> tuple[list[dict], list[dict]]:
    rng = rng_for("disinfection_point")
    sites, events = [], []
    types = [("community", 45), ("market", 20), ("school", 15), ("station", 10), ("garbage_station", 10)]
    for n in range(1, 121):
        key = f"DP-{n:04d}"
        ptype = pick(rng, types)
        x, y = random_point(rng, geo.inner)
        name = {
            "community": lambda: f"{estate(rng)}消杀点",
            "market": lambda: f"{rng.choice(MARKETS)}农贸市场消杀点",
            "school": lambda: f"高新区{rng.choice(SCHOOLS)}消杀点",
            "station": lambda: f"地铁1号线{rng.choice(STATIONS)}消杀点",
            "garbage_station": lambda: f"{rng.choice(VILLAGES)}垃圾中转站消杀点",
        }[ptype]()
        sub = geo.sub_of(x, y)
        team = rng.choice(crews[f"disinfect:{sub}"])
        sites.append(
            make_site(
                key,
                "disinfection_point",
                name,
                _address(geo, x, y, _nearest_road(geo, x, y).zh + "附近"),
                Point(x, y),
                2,
                {"point_type": ptype},
                team,
                None,
            )
        )
        t_rep = rng.randint(day(7, 21) + 480, day(7, 21) + 1200)
        events.append(
            event(
                rng,
                "report",
                t_rep,
                site=key,
                to_status="active",
                actor=person(rng),
                note="设为固定消杀点位，每天消杀",
            )
        )
        crew = teams_by_key[team]["name"]
        for d in range(day(7, 22), day(8, 31) + 1, DAY):
            if rng.random() < 0.985:
                events.append(
                    event(
                        rng,
                        "check_in",
                        d + rng.randint(420, 1080),
                        site=key,
                        actor=crew,
                        note=pick(rng, [("已消杀", 6), ("已消杀，垃圾已清运", 2), ("喷洒消毒液，已消杀", 2)]),
                    )
                )
    return sites, events


INDUSTRIES = [  # industry, industrial (can be above-size), weight, name suffixes
    (
        "软件和信息技术服务业",
        False,
        18,
        ["软件科技有限公司", "信息技术有限公司", "网络科技有限公司", "数据科技有限公司"],
    ),
    ("电子信息制造业", True, 10, ["电子科技有限公司", "光电科技有限公司", "电子有限公司"]),
    ("智能传感器制造", True, 5, ["传感技术有限公司", "智能仪表有限公司"]),
    ("装备制造业", True, 7, ["机械制造有限公司", "智能装备有限公司", "重工有限公司"]),
    ("新材料", True, 4, ["新材料有限公司", "材料科技有限公司"]),
    ("生物医药", True, 5, ["生物科技有限公司", "医药有限公司", "医疗器械有限公司"]),
    ("食品加工", True, 2, ["食品有限公司"]),
    ("批发和零售业", False, 16, ["商贸有限公司", "贸易有限公司"]),
    ("住宿和餐饮业", False, 8, ["餐饮管理有限公司", "酒店管理有限公司"]),
    ("科学研究和技术服务业", False, 10, ["科技有限公司", "技术服务有限公司"]),
    ("建筑业", False, 5, ["建设工程有限公司", "建筑安装有限公司"]),
    ("交通运输和物流业", False, 4, ["物流有限公司", "供应链管理有限公司"]),
    ("租赁和商务服务业", False, 6, ["企业管理咨询有限公司", "文化传媒有限公司"]),
]
BRAND = "华科信达中原宇新恒博创智远泰瑞鑫弘嘉安润正光联天海金鼎盛兴隆通德汇源航晟思睿捷聚蓝云星辰微芯数易迅威凯明佳益丰昌尚诚卓锐越"


def enterprises(geo: Geo) -> tuple[list[dict], list[dict]]:
    rng = rng_for("enterprise")
    sites, events = [], []
    above = [False] * ENTERPRISES
    for i in rng.sample(range(ENTERPRISES), ABOVE_SIZE):
        above[i] = True
    above_idx = [i for i in range(ENTERPRISES) if above[i]]
    other_idx = [i for i in range(ENTERPRISES) if not above[i]]
    rng.shuffle(above_idx)
    rng.shuffle(other_idx)
    state = ["restarted"] * ENTERPRISES
    for i in above_idx[:ABOVE_SIZE_STOPPED_AT_CUTOFF]:
        state[i] = "stopped"
    for i in other_idx[: STOPPED_AT_CUTOFF - ABOVE_SIZE_STOPPED_AT_CUTOFF]:
        state[i] = "stopped"
    partly = above_idx[ABOVE_SIZE_STOPPED_AT_CUTOFF : ABOVE_SIZE_STOPPED_AT_CUTOFF + 25]
    partly += other_idx[STOPPED_AT_CUTOFF - ABOVE_SIZE_STOPPED_AT_CUTOFF :][: PARTLY_AT_CUTOFF - 25]
    partly.sort()
    for i in partly:
        state[i] = "partly"
    restarted_n = ENTERPRISES - STOPPED_AT_CUTOFF - PARTLY_AT_CUTOFF
    deficit_total = 1000 * (restarted_n + PARTLY_AT_CUTOFF) - CAPACITY_TENTHS_AT_CUTOFF
    raw = [rng.randint(5, 60) if rng.random() < 0.7 else rng.randint(100, 500) for _ in partly]
    deficits = allocate(deficit_total, raw, minimum=1)
    capacity = {i: 1000 - d for i, d in zip(partly, deficits, strict=False)}
    assert all(0 < c < 1000 for c in capacity.values())

    parks = [(zh, poly) for _, zh, poly in geo.parks]
    used_names = set()
    industrial = [ind for ind in INDUSTRIES if ind[1]]
    for i in range(ENTERPRISES):
        key = f"EN-{i + 1:04d}"
        pool = industrial if above[i] else INDUSTRIES
        industry, _, _, suffixes = pick(rng, [(ind, ind[2]) for ind in pool])
        while True:
            name = f"{rng.choice(['郑州', '郑州', '河南', '河南省'])}{rng.choice(BRAND)}{rng.choice(BRAND)}{rng.choice(suffixes)}"
            if above[i]:
                name = name.replace("有限公司", "股份有限公司") if rng.random() < 0.3 else name
            if name not in used_names:
                used_names.add(name)
                break
        if rng.random() < 0.8:
            park_zh, poly = pick(rng, [(p, p[1].area) for p in parks])
            x, y = random_point(rng, poly)
            address = f"郑州市高新区{park_zh}{rng.randint(1, 40)}号楼"
        else:
            x, y = random_point(rng, geo.inner)
            road = _nearest_road(geo, x, y)
            address = f"郑州市高新区{road.zh}{rng.randint(1, 300)}号"
        employees = rng.randint(120, 3000) if above[i] else int(min(800, 5 + rng.expovariate(1 / 45)))
        sites.append(
            make_site(
                key,
                "enterprise",
                name,
                address,
                Point(x, y),
                1 if above[i] else 2 if employees >= 100 else 3,
                {"industry": industry, "above_size": above[i], "employees": employees},
                None,
                None,
            )
        )
        events.extend(_enterprise_history(rng, key, state[i], capacity.get(i)))
    return sites, events


def _cap(c: int) -> dict:
    return {"capacity_pct": tenths(c)}


def _enterprise_history(rng, key: str, state: str, cap: int | None) -> list[dict]:
    actor = person(rng)
    t_rep = rng.randint(day(7, 20) + 360, day(7, 20) + 660)
    t_stop = rng.randint(day(7, 20) + 720, day(7, 21) + 1080)
    out = [
        event(rng, "report", t_rep, site=key, to_status="operating", actor=actor, note="企业登记，正常生产"),
        event(
            rng,
            "transition",
            t_stop,
            site=key,
            to_status="stopped",
            actor=actor,
            note=pick(rng, [("厂区进水停产", 3), ("停电停产", 2), ("道路中断，停产", 1)]),
        ),
    ]
    if state == "restarted":
        t_full = min(CUTOFF - 30, t_stop + 720 + int(rng.expovariate(1 / (2.5 * DAY))))
        if rng.random() < 0.4:
            out.append(
                event(
                    rng,
                    "transition",
                    rng.randint(t_stop + 60, t_full - 60),
                    site=key,
                    to_status="partly_restarted",
                    measures=_cap(rng.randint(300, 950)),
                    actor=actor,
                    note="部分产线恢复",
                )
            )
        out.append(
            event(
                rng,
                "transition",
                t_full,
                site=key,
                to_status="restarted",
                measures=_cap(1000),
                actor=actor,
                note="全面复工复产",
            )
        )
    elif state == "partly":
        t_last = rng.randint(t_stop + 720, CUTOFF - 30)
        if rng.random() < 0.4 and cap > 150:
            out.append(
                event(
                    rng,
                    "transition",
                    rng.randint(t_stop + 60, t_last - 60),
                    site=key,
                    to_status="partly_restarted",
                    measures=_cap(rng.randint(max(100, cap - 400), cap - 1)),
                    actor=actor,
                    note="部分产线恢复",
                )
            )
        out.append(
            event(
                rng,
                "transition",
                t_last,
                site=key,
                to_status="partly_restarted",
                measures=_cap(cap),
                actor=actor,
                note="产能逐步恢复",
            )
        )
        if rng.random() < 0.85:
            t_full = rng.randint(CUTOFF + 120, day(8, 25) + 1000)
            if rng.random() < 0.3 and cap < 999:
                out.append(
                    event(
                        rng,
                        "transition",
                        rng.randint(CUTOFF + 60, t_full - 60),
                        site=key,
                        to_status="partly_restarted",
                        measures=_cap(rng.randint(cap + 1, 999)),
                        actor=actor,
                        note="产能继续恢复",
                    )
                )
            out.append(
                event(
                    rng,
                    "transition",
                    t_full,
                    site=key,
                    to_status="restarted",
                    measures=_cap(1000),
                    actor=actor,
                    note="全面复工复产",
                )
            )
    else:  # still stopped on 29 July
        if rng.random() < 0.85:
            t_part = rng.randint(CUTOFF + 60, day(8, 15) + 1000)
            out.append(
                event(
                    rng,
                    "transition",
                    t_part,
                    site=key,
                    to_status="partly_restarted",
                    measures=_cap(rng.randint(200, 900)),
                    actor=actor,
                    note="部分产线恢复",
                )
            )
            if rng.random() < 0.75:
                out.append(
                    event(
                        rng,
                        "transition",
                        rng.randint(t_part + 600, day(8, 30) + 1000),
                        site=key,
                        to_status="restarted",
                        measures=_cap(1000),
                        actor=actor,
                        note="全面复工复产",
                    )
                )
    return out


def residential_communities(geo: Geo, crews: dict) -> tuple[list[dict], list[dict]]:
    rng = rng_for("residential_community")
    sites, events, polys, names = [], [], [], set()
    for n in range(1, 151):
        key = f"RS-{n:04d}"
        while True:
            x, y = random_point(rng, geo.inner)
            poly = rect(x, y, rng.uniform(120, 380), rng.uniform(100, 300), rng.uniform(-15, 15))
            if geo.inner.contains(poly) and geo.inside(poly) and not any(poly.intersects(p) for p in polys):
                break
        polys.append(poly)
        name = estate(rng)
        while name in names:
            name = estate(rng) + rng.choice(["二期", "三期", "北区", "南区"])
        names.add(name)
        households = rng.randint(300, 3500)
        road = _nearest_road(geo, x, y)
        sites.append(
            make_site(
                key,
                "residential_community",
                name,
                _address(geo, x, y, f"{road.zh}附近"),
                poly,
                1 if households > 2000 else 2 if households > 1000 else 3,
                {"households": households},
                rng.choice(crews["utility"]),
                deadline(7, 29),
            )
        )
        t_rep = rng.randint(day(7, 20) + 480, day(7, 20) + 1320)
        events.append(
            event(
                rng,
                "report",
                t_rep,
                site=key,
                to_status="affected",
                actor=person(rng),
                note="小区积水，停水停电",
            )
        )
        tracks = ["water", "power", "gas"]
        k = pick(rng, [(1, 30), (2, 35), (3, 35)])
        cut_tracks = sorted(rng.sample(tracks, k), key=tracks.index)
        cut_times = increasing(rng, t_rep + 10, min(t_rep + 600, day(7, 21) + 1380), k)
        used = {t_rep, *cut_times}
        zh = {"water": "供水", "power": "供电", "gas": "供气"}
        for tr, tc in zip(cut_tracks, cut_times, strict=False):
            events.append(
                event(
                    rng,
                    "transition",
                    tc,
                    site=key,
                    track=tr,
                    to_status="cut",
                    actor=person(rng),
                    note=f"{zh[tr]}中断",
                )
            )
            tr_time = min(CUTOFF - 120, tc + rng.randint(360, 5 * DAY))
            while tr_time in used:
                tr_time -= 1
            used.add(tr_time)
            events.append(
                event(
                    rng,
                    "transition",
                    tr_time,
                    site=key,
                    track=tr,
                    to_status="restored",
                    actor=person(rng),
                    note=f"{zh[tr]}已恢复",
                )
            )
    return sites, events
