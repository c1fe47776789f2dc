"""Self-check of the seed data set: recompute the article's figures and the data set's rules from the dicts."""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from datetime import datetime
from pathlib import Path

import shapely
from shapely.geometry import shape

from seed.common import BASE, CUTOFF, CUTOFF_RECORD_LIMIT, DAY, END, day, iso
from seed.geo import load_geo

STATUSES = {
    "road_collapse": ["reported", "secured", "repairing", "passable", "restored"],
    "silt_site": ["reported", "clearing", "cleared", "disinfected"],
    "municipal_facility": ["damaged", "repairing", "repaired"],
    "river_hazard": ["found", "reinforcing", "secured"],
    "disinfection_point": ["active"],
    "enterprise": ["operating", "stopped", "partly_restarted", "restarted"],
    "residential_community": ["affected"],
}
PREFIX = {
    "road_collapse": "RC",
    "silt_site": "SL",
    "municipal_facility": "MF",
    "river_hazard": "RH",
    "disinfection_point": "DP",
    "enterprise": "EN",
    "residential_community": "RS",
}


def minute(ts: str) -> int:
    dt = datetime.fromisoformat(ts)
    assert ts.endswith("+08:00"), ts
    return int((dt - BASE).total_seconds() // 60)


def _one_decimal(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and abs(round(v * 10) - v * 10) < 1e-9


class Checker:
    def __init__(self):
        self.ok = True

    def __call__(self, label: str, cond: bool, value=""):
        print(f"  [{'ok' if cond else 'FAIL'}] {label}{': ' + str(value) if value != '' else ''}")
        self.ok &= bool(cond)


def _replay(data, check):
    sites = {s["key"]: s for s in data.sites}
    state = {
        k: {
            "status": None,
            "tracks": {},
            "cap": None,
            "last": -1,
            "days": set(),
            "done_at": None,
            "at_cut": None,
            "tracks_cut": None,
            "cap_cut": None,
            "history": [],
        }
        for k in sites
    }
    errors = []
    prev = None
    for e in data.events:
        key = (e["valid_at"], e["client_id"])
        if prev is not None and key < prev:
            errors.append(f"events out of order at {e['client_id']}")
        prev = key
        v, r = minute(e["valid_at"]), minute(e["recorded_at"])
        if not (0 <= v < END and v <= r < END):
            errors.append(f"time window {e['client_id']}")
        if v <= CUTOFF and r >= CUTOFF_RECORD_LIMIT:
            errors.append(f"recorded too late {e['client_id']}")
        if e["site"] is None:
            continue
        s = sites[e["site"]]
        st = state[e["site"]]
        if st["at_cut"] is None and v >= CUTOFF:
            st["at_cut"], st["tracks_cut"], st["cap_cut"] = st["status"], dict(st["tracks"]), st["cap"]
        if v <= st["last"]:
            errors.append(f"not increasing {e['client_id']}")
        st["last"] = v
        order = STATUSES[s["kind"]]
        act = e["action"]
        if st["status"] is None and act != "report":
            errors.append(f"event before report {e['client_id']}")
        if act == "report":
            if st["status"] is not None or e["to_status"] != order[0] or e["track"] is not None:
                errors.append(f"bad report {e['client_id']}")
            st["status"] = e["to_status"]
        elif act == "transition":
            if s["kind"] == "residential_community":
                cur = st["tracks"].get(e["track"])
                ok = e["track"] in ("water", "power", "gas") and (
                    (cur is None and e["to_status"] == "cut")
                    or (cur == "cut" and e["to_status"] == "restored")
                )
                if not ok:
                    errors.append(f"bad track move {e['client_id']}")
                st["tracks"][e["track"]] = e["to_status"]
            else:
                cur, to = order.index(st["status"]), e["to_status"]
                ok = to in order and (order.index(to) > cur or (to == st["status"] == "partly_restarted"))
                if not ok or e["track"] is not None:
                    errors.append(f"bad transition {e['client_id']} {st['status']}->{to}")
                st["status"] = to
                if to == order[-1]:
                    st["done_at"] = v
            if "capacity_pct" in e["measures"]:
                st["cap"] = round(e["measures"]["capacity_pct"] * 10)
        elif act == "check_in":
            d = v // DAY
            if s["kind"] != "disinfection_point" or d in st["days"] or e["to_status"] is not None:
                errors.append(f"bad check-in {e['client_id']}")
            st["days"].add(d)
        else:
            errors.append(f"unexpected action {act}")
        for _m, val in e["measures"].items():
            if not _one_decimal(val):
                errors.append(f"measure precision {e['client_id']}")
        st["history"].append(e)
    for st in state.values():
        if st["at_cut"] is None:
            st["at_cut"], st["tracks_cut"], st["cap_cut"] = st["status"], dict(st["tracks"]), st["cap"]
    check("event order, windows, record times, transitions", not errors, errors[:5] or "no violations")
    return sites, state


def run_check(data, geodata_dir: Path) -> bool:
    check = Checker()
    geo = load_geo(geodata_dir)
    print(
        f"seed self-check: {len(data.teams)} teams, {len(data.sites)} sites, {len(data.work_items)} work items, "
        f"{len(data.events)} events; cut-off {iso(CUTOFF)}"
    )
    sites, state = _replay(data, check)
    by_kind = defaultdict(list)
    for s in data.sites:
        by_kind[s["kind"]].append(s)
        assert s["key"].startswith(PREFIX[s["kind"]] + "-")
    reports = Counter(e["site"] for e in data.events if e["action"] == "report")
    check(
        "every site has exactly one report",
        all(reports[k] == 1 for k in sites) and len(reports) == len(sites),
    )

    # geometry
    zone = geo.zone
    bad = [s["key"] for s in data.sites if not zone.contains(shape(s["geometry"]))]
    check("every geometry strictly inside the zone", not bad, bad[:5] or "all inside")
    subs = Counter(geo.sub_of(*shape(s["geometry"]).representative_point().coords[0]) for s in data.sites)
    check("sites in all five sub-districts", len(subs) == 5, dict(sorted(subs.items())))

    print("residential communities")
    rs = by_kind["residential_community"]
    cuts = [len(state[s["key"]]["tracks_cut"]) for s in rs]
    check(
        "communities, each with 1-3 utilities cut", all(1 <= c <= 3 for c in cuts), f"{len(rs)} communities"
    )
    all_back = all(all(v == "restored" for v in state[s["key"]]["tracks_cut"].values()) for s in rs)
    check("water, power and gas all restored at the cut-off", all_back)

    print("road collapses")
    rc = by_kind["road_collapse"]
    restored_cut = sum(state[s["key"]]["at_cut"] == "restored" for s in rc)
    check("road collapse points", len(rc) == 236, len(rc))
    check("restored at the cut-off", restored_cut == 167, restored_cut)
    check(
        "all restored by 2021-08-15 24:00",
        all(state[s["key"]]["done_at"] is not None and state[s["key"]]["done_at"] < day(8, 16) for s in rc),
    )
    mx, med = {}, {}
    for cls in ("main", "secondary", "branch"):
        t = [state[s["key"]]["done_at"] for s in rc if s["attributes"]["road_class"] == cls]
        mx[cls], med[cls] = max(t), statistics.median(t)
        print(
            f"    {cls:<9} n={len(t):3d} restored@cut={sum(x < CUTOFF for x in t):3d} "
            f"median={iso(int(med[cls]))} max={iso(mx[cls])}"
        )
    check("先主后次: max restore main < secondary < branch", mx["main"] < mx["secondary"] < mx["branch"])
    check(
        "先主后次: median restore main < secondary < branch", med["main"] < med["secondary"] < med["branch"]
    )
    check(
        "priority main 1 / secondary 2 / branch 3",
        all(
            s["priority"] == {"main": 1, "secondary": 2, "branch": 3}[s["attributes"]["road_class"]]
            for s in rc
        ),
    )
    check("deadline 2021-08-16T00:00:00+08:00", all(s["deadline"] == "2021-08-16T00:00:00+08:00" for s in rc))

    print("municipal facilities")
    mf = by_kind["municipal_facility"]
    sig = [s for s in mf if s["attributes"]["facility_type"] == "traffic_signal"]
    pts = shapely.points([shape(s["geometry"]).coords[0] for s in sig])
    inside = [bool(v) for v in shapely.intersects(geo.ring_inside, pts)]
    sig_in = [s for s, i in zip(sig, inside, strict=False) if i]
    sig_out = [s for s, i in zip(sig, inside, strict=False) if not i]
    rep_in = sum(state[s["key"]]["at_cut"] == "repaired" for s in sig_in)
    rep_out = sum(state[s["key"]]["at_cut"] == "repaired" for s in sig_out)
    check(
        "traffic signals inside the 4th ring all repaired",
        rep_in == len(sig_in) > 0,
        f"{rep_in}/{len(sig_in)}",
    )
    check("traffic signals outside not all repaired", rep_out < len(sig_out), f"{rep_out}/{len(sig_out)}")
    for ft in ("street_light", "public_toilet"):
        xs = [s for s in mf if s["attributes"]["facility_type"] == ft]
        c = Counter(state[s["key"]]["at_cut"] for s in xs)
        check(
            f"{ft}: some still being repaired at the cut-off",
            c["repaired"] < len(xs),
            dict(sorted(c.items())),
        )
    check("all facilities repaired by 2021-08-31", all(state[s["key"]]["status"] == "repaired" for s in mf))

    print("silt")
    sl = by_kind["silt_site"]
    done = sum(state[s["key"]]["at_cut"] in ("cleared", "disinfected") for s in sl)
    check("silt sites", len(sl) == 1247, len(sl))
    check("cleared or disinfected at the cut-off", done == 1247, done)
    silt = garbage = 0
    for e in data.events:
        if minute(e["valid_at"]) < CUTOFF:
            silt += round(e["measures"].get("silt_m3", 0) * 10)
            garbage += round(e["measures"].get("garbage_t", 0) * 10)
    check("silt m³ before the cut-off", silt == 26000, silt / 10)
    check("garbage t before the cut-off", garbage == 77790, garbage / 10)
    check("all disinfected by 2021-08-31", all(state[s["key"]]["status"] == "disinfected" for s in sl))

    print("disinfection points")
    dp = by_kind["disinfection_point"]
    days = range(day(7, 22) // DAY, day(8, 31) // DAY + 1)
    per_day = [sum(d in state[s["key"]]["days"] for s in dp) for d in days]
    check("fixed points", 100 <= len(dp) <= 150, len(dp))
    check(
        "checked in every day 07-22..08-31",
        min(per_day) >= 0.9 * len(dp),
        f"min {min(per_day)}, mean {sum(per_day) / len(per_day):.1f} per day over {len(per_day)} days",
    )

    print("enterprises")
    en = by_kind["enterprise"]
    stopped_early = all(
        any(
            e["to_status"] == "stopped" and minute(e["valid_at"]) < day(7, 22)
            for e in state[s["key"]]["history"]
        )
        for s in en
    )
    back = [s for s in en if state[s["key"]]["at_cut"] in ("partly_restarted", "restarted")]
    still = [s for s in en if state[s["key"]]["at_cut"] == "stopped"]
    cap = sum(
        1000
        if state[s["key"]]["at_cut"] == "restarted"
        else state[s["key"]]["cap_cut"]
        if state[s["key"]]["at_cut"] == "partly_restarted"
        else 0
        for s in en
    )
    above = [s for s in en if s["attributes"]["above_size"]]
    above_back = sum(state[s["key"]]["at_cut"] in ("partly_restarted", "restarted") for s in above)
    check("enterprises that stopped on 20/21 July", len(en) == 7630 and stopped_early, len(en))
    check("restarted (partly or fully)", len(back) == 7562, len(back))
    check("still stopped", len(still) == 68, len(still))
    check("head-count rate 7562/7630", True, f"{len(back) / len(en):.2%}")
    check(
        "composite restart rate = 98.75 %", cap == 7_534_625, f"{cap} tenths = {cap / (len(en) * 1000):.4%}"
    )
    check(
        "above-size 282, 279 restarted",
        len(above) == 282 and above_back == 279,
        f"{above_back}/{len(above)} = {above_back / len(above):.0%}",
    )
    end = Counter(state[s["key"]]["status"] for s in en)
    check("by 2021-08-31 almost all restarted", end["restarted"] >= 0.97 * len(en), dict(sorted(end.items())))

    print("river hazards")
    rh = by_kind["river_hazard"]
    rivers = Counter(s["attributes"]["river"] for s in rh)
    sec_cut = sum(state[s["key"]]["at_cut"] == "secured" for s in rh)
    check("river hazards 20-40", 20 <= len(rh) <= 40, dict(sorted(rivers.items())))
    check(
        "some secured by the cut-off, all by 2021-08-31",
        0 < sec_cut < len(rh) and all(state[s["key"]]["status"] == "secured" for s in rh),
        sec_cut,
    )

    print("teams")
    tt = Counter(t["type"] for t in data.teams)
    vol = sum(t["members"] for t in data.teams if t["type"] != "crew")
    crews = {t["key"] for t in data.teams if t["type"] == "crew"}
    check("party organisations 455", tt["party_org"] == 455, tt["party_org"])
    check(
        "enterprises and social groups 136",
        tt["enterprise"] + tt["social_group"] == 136,
        f"{tt['enterprise']} + {tt['social_group']}",
    )
    check("volunteers over 50,000", 50_000 < vol <= 51_000, vol)
    check(
        "crews 20-40, the only assignees",
        20 <= len(crews) <= 40 and all(s["team"] is None or s["team"] in crews for s in data.sites),
        len(crews),
    )

    print("work items (13710)")
    wi_ev = defaultdict(dict)
    for e in data.events:
        if e["work_item"]:
            wi_ev[e["work_item"]][e["action"]] = minute(e["valid_at"])
    bad = []
    for w in data.work_items:
        t = wi_ev[w["key"]]
        limit = (30 if w["severity"] == "major" else 7) * DAY
        if not (
            t["work_item_open"] < t["work_item_feedback"] <= t["work_item_open"] + 3 * DAY
            and t["work_item_feedback"] < t["work_item_resolve"] <= t["work_item_open"] + limit
            and t["work_item_resolve"] <= t["work_item_close"] < END
        ):
            bad.append(w["key"])
        if w["category"] == "enterprise_request" and not (w["site"] or "").startswith("EN-"):
            bad.append(w["key"])
    cats = Counter(w["category"] for w in data.work_items)
    check(
        "work items 80-200, all meet 13710 and are closed",
        80 <= len(data.work_items) <= 200 and not bad,
        dict(sorted(cats.items())),
    )

    print("deadlines")
    late = []
    for s in data.sites:
        if s["deadline"]:
            st = state[s["key"]]
            dl = minute(s["deadline"])
            if s["kind"] == "residential_community":
                t = max(minute(e["valid_at"]) for e in st["history"])
            else:
                t = st["done_at"]
            if t is None or t >= dl:
                late.append(s["key"])
    check("every site with a deadline met it", not late, late[:5] or "all met")
    print("RESULT:", "PASS" if check.ok else "FAIL")
    return check.ok
