"""Synthetic data sets of any size for benchmarks (10^4..10^6 sites, up to 10^7 events), streamed.

Same formats as the seed data set. Sites are keyed SYN-0000001.., events carry client ids syn-1, syn-2, ..; the
first n_sites events are the report events of each site in site order, then every site's further events follow
(site by site, each site's events in increasing valid time). All transitions are valid moves of the kind's life
cycle; valid times lie in 2021-07-20 00:00 .. 2021-08-31 23:59:59 +08:00.
"""

from __future__ import annotations

import random
from array import array
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import shapely

from seed.common import CUTOFF, CUTOFF_RECORD_LIMIT, END
from seed.geo import M_PER_DEG_LAT, Geo, load_geo, piece, r6, rect, round_geom
from seed.teams import build_teams

KINDS = (
    "enterprise",
    "silt_site",
    "municipal_facility",
    "residential_community",
    "road_collapse",
    "disinfection_point",
    "river_hazard",
)
MIX = (40, 20, 14, 12, 6, 5, 3)
ZH = ("企业", "清淤点", "市政设施", "居民小区", "道路塌陷点", "消杀点", "河道险情")
EN, SL, MF, RS, RC, DP, RH = range(7)
#: how many events after the report each kind can take (enterprises: capacity changes, practically unbounded)
CAPS = (1_000_000, 3, 2, 6, 4, 41, 2)
STATUS = {
    RC: ("reported", "secured", "repairing", "passable", "restored"),
    SL: ("reported", "clearing", "cleared", "disinfected"),
    MF: ("damaged", "repairing", "repaired"),
    RH: ("found", "reinforcing", "secured"),
}
RS_STEPS = (
    ("water", "cut"),
    ("power", "cut"),
    ("water", "restored"),
    ("gas", "cut"),
    ("power", "restored"),
    ("gas", "restored"),
)
END_S = END * 60
CUTOFF_S = CUTOFF * 60
RECORD_LIMIT_S = CUTOFF_RECORD_LIMIT * 60
_DAYS = [f"2021-07-{d:02d}" for d in range(20, 32)] + [f"2021-08-{d:02d}" for d in range(1, 32)]


def _iso(sec: int) -> str:
    d, rest = divmod(sec, 86400)
    h, rest = divmod(rest, 3600)
    m, s = divmod(rest, 60)
    return f"{_DAYS[d]}T{h:02d}:{m:02d}:{s:02d}+08:00"


def _plan(n_sites: int, n_events: int, rng: random.Random) -> tuple[bytearray, array]:
    """Each site's kind and how many events it gets after its report, summing to n_events - n_sites."""
    kinds = bytearray(rng.choices(range(7), weights=MIX, k=n_sites))
    if EN not in kinds:
        kinds[0] = EN
    extra = n_events - n_sites
    per = extra // n_sites
    ks = array("I", (min(CAPS[k], per) for k in kinds))
    left = extra - sum(ks)
    # first top up every site with spare room by one, in site order, then give the rest to enterprises
    if left > 0:
        for i in range(n_sites):
            if left == 0:
                break
            if ks[i] < CAPS[kinds[i]]:
                ks[i] += 1
                left -= 1
    if left > 0:
        ents = [i for i in range(n_sites) if kinds[i] == EN]
        q, r = divmod(left, len(ents))
        for j, i in enumerate(ents):
            ks[i] += q + (1 if j < r else 0)
            if ks[i] > CAPS[EN]:
                raise ValueError("too many events for this many sites")
    return kinds, ks


def generate_synthetic(
    geodata_dir: Path, n_sites: int, n_events: int, rng_seed: int = 1
) -> tuple[list[dict], Iterator[dict], Iterator[dict]]:
    """(teams, sites, events) of a synthetic data set; sites and events are generators (streaming)."""
    if n_sites < 1 or n_events < n_sites:
        raise ValueError("need n_sites >= 1 and n_events >= n_sites")
    geo = load_geo(Path(geodata_dir))
    teams, _ = build_teams()
    crews = [t["key"] for t in teams if t["type"] == "crew"]
    kinds, ks = _plan(n_sites, n_events, random.Random(rng_seed))
    return teams, _sites(geo, kinds, crews, rng_seed), _events(kinds, ks, rng_seed)


def _point_batches(geo: Geo, poly, rng: np.random.Generator) -> Iterator[tuple[float, float]]:
    x0, y0, x1, y1 = poly.bounds
    while True:
        xs = np.round(rng.uniform(x0, x1, 8192), 6)
        ys = np.round(rng.uniform(y0, y1, 8192), 6)
        ok = shapely.contains_xy(poly, xs, ys)
        yield from zip(xs[ok].tolist(), ys[ok].tolist(), strict=False)


def _sites(geo: Geo, kinds: bytearray, crews: list[str], seed: int) -> Iterator[dict]:
    rng = random.Random(seed * 7919 + 11)
    points = _point_batches(geo, geo.inner, np.random.default_rng(seed))
    inner2 = geo.zone.buffer(-400 / M_PER_DEG_LAT)
    shapely.prepare(inner2)
    deep = _point_batches(geo, inner2, np.random.default_rng(seed + 1))
    rivers = []
    for _key, (zh, line) in sorted(geo.rivers.items()):
        part = geo.inner.intersection(line)
        if part.geom_type != "LineString":
            part = max(part.geoms, key=lambda g: g.length)
        rivers.append((zh, part))
    industries = (
        "软件和信息技术服务业",
        "电子信息制造业",
        "装备制造业",
        "生物医药",
        "批发和零售业",
        "住宿和餐饮业",
    )
    for i, k in enumerate(kinds):
        key = f"SYN-{i + 1:07d}"
        deadline = None
        team = crews[i % len(crews)] if k not in (EN,) else None
        if k == RS:
            x, y = next(deep)
            geom = round_geom(rect(x, y, 60 + rng.random() * 200, 60 + rng.random() * 200))
            attrs = {"households": rng.randint(100, 3000)}
            deadline = "2021-09-01T00:00:00+08:00"
        elif k == RH:
            zh, line = rivers[i % len(rivers)]
            seg = piece(
                line,
                rng.random() * 0.85,
                100 + rng.random() * 700,
                rng.choice((-1, 1)) * (5 + rng.random() * 10),
            )
            geom = round_geom(seg)
            attrs = {"river": zh}
        else:
            x, y = next(points)
            geom = {"type": "Point", "coordinates": [r6(x), r6(y)]}
            if k == EN:
                attrs = {
                    "industry": industries[i % len(industries)],
                    "above_size": rng.random() < 0.04,
                    "employees": rng.randint(5, 500),
                }
            elif k == SL:
                attrs = {"place_type": ("garage", "market", "street", "community", "underpass")[i % 5]}
            elif k == MF:
                attrs = {"facility_type": ("street_light", "public_toilet", "traffic_signal")[i % 3]}
            elif k == RC:
                attrs = {"road_class": ("main", "secondary", "branch")[i % 3], "road_name": "合成道路"}
                deadline = "2021-08-16T00:00:00+08:00"
            else:
                attrs = {"point_type": ("market", "community", "station", "school", "garbage_station")[i % 5]}
        yield {
            "key": key,
            "kind": KINDS[k],
            "name": f"合成{ZH[k]}{i + 1}号",
            "address": "郑州市高新区(合成数据)",
            "geometry": geom,
            "priority": 1 + i % 3,
            "attributes": attrs,
            "team": team,
            "deadline": deadline,
        }


def _events(kinds: bytearray, ks: array, seed: int) -> Iterator[dict]:
    rng = random.Random(seed * 104729 + 7)
    rand, randint = rng.random, rng.randint
    n = 0
    reports = array("i", bytes(4 * len(kinds)))

    def ev(action, site, t, to_status, track=None, measures=None, note=""):
        nonlocal n
        n += 1
        rec = t + 60 + int(rand() * 7200)
        if t <= CUTOFF_S and rec >= RECORD_LIMIT_S:
            rec = RECORD_LIMIT_S - 1
        if rec >= END_S:
            rec = END_S - 1
        return {
            "client_id": f"syn-{n}",
            "action": action,
            "site": site,
            "work_item": None,
            "track": track,
            "to_status": to_status,
            "measures": measures if measures is not None else {},
            "note": note,
            "actor": "合成数据",
            "valid_at": _iso(t),
            "recorded_at": _iso(max(rec, t)),
        }

    first = ("operating", "reported", "damaged", "affected", "reported", "active", "found")
    for i, k in enumerate(kinds):
        t = int(rand() * 129600)  # 2021-07-20 00:00 .. 07-21 12:00
        reports[i] = t
        yield ev("report", f"SYN-{i + 1:07d}", t, first[k], note="上报")
    for i, k in enumerate(kinds):
        cnt = ks[i]
        if not cnt:
            continue
        site = f"SYN-{i + 1:07d}"
        lo = reports[i] + 60
        if k == DP:
            for d in sorted(rng.sample(range(2, 43), cnt)):
                yield ev("check_in", site, d * 86400 + 25200 + int(rand() * 39600), None, note="已消杀")
            continue
        times = sorted(rng.sample(range(lo, END_S), cnt))
        if k == EN:
            cap = 0
            for j, t in enumerate(times):
                if j == 0:
                    yield ev("transition", site, t, "stopped", note="停产")
                elif j == cnt - 1:
                    yield ev(
                        "transition", site, t, "restarted", measures={"capacity_pct": 100}, note="全面复工"
                    )
                else:
                    cap = min(999, cap + 1 + int(rand() * 100)) if cap < 999 else randint(1, 999)
                    yield ev(
                        "transition",
                        site,
                        t,
                        "partly_restarted",
                        measures={"capacity_pct": cap // 10 if cap % 10 == 0 else cap / 10},
                        note="部分复工",
                    )
        elif k == RS:
            for (track, status), t in zip(RS_STEPS, times, strict=False):
                yield ev("transition", site, t, status, track=track)
        else:
            statuses = STATUS[k]
            steps = sorted(rng.sample(range(1, len(statuses)), cnt))
            for s, t in zip(steps, times, strict=False):
                measures = None
                if k == SL and s in (1, 2):
                    measures = {"silt_m3": randint(1, 99) / 10, "garbage_t": randint(1, 299) / 10}
                yield ev("transition", site, t, statuses[s], measures=measures)
