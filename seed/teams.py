"""Teams (rescue forces and work crews) and work items (万人助万企, 督办, 周观摩) of the seed data set."""

from __future__ import annotations

from seed.common import DAY, END, day, event, iso, person, pick, rng_for

SUBS = [
    ("shifo", "石佛"),
    ("gouzhao", "沟赵"),
    ("shuangqiao", "双桥"),
    ("fengyang", "枫杨"),
    ("wutong", "梧桐"),
]
PARTY_ORGS = 455
ENTERPRISE_OR_SOCIAL = 136
VOLUNTEERS = 50_386  # "突破了5万人": the members of the 455 + 136 rescue forces

CREW_ROLES = [
    ("silt", "清淤一队"),
    ("silt2", "清淤二队"),
    ("disinfect", "消杀队"),
    ("municipal", "市政维修队"),
]
CONTRACTORS = [
    ("road", "中建七局抢修队"),
    ("road", "中建城发(郑州)抢修队"),
    ("road", "中电建十一局抢修队"),
    ("road", "河南路桥抢修队"),
    ("road", "郑州市政工程总公司抢修队"),
    ("municipal", "高新区市政养护中心"),
    ("river", "高新区河道管理所除险队"),
    ("river", "河南水利第一工程局除险队"),
    ("utility", "郑州自来水高新抢修队"),
    ("utility", "国网郑州供电抢修队"),
]
UNITS = [
    "高新区建设局",
    "高新区城市管理局",
    "高新区经济发展局",
    "高新区应急管理办公室",
    "高新区市场监管局",
    "高新区生态环境分局",
    "高新区卫生健康局",
    "国网郑州高新供电公司",
    "郑州自来水高新营业所",
    "高新区科技局",
]


def build_teams() -> tuple[list[dict], dict[str, list[str]]]:
    """All teams, and the crews that sites may be assigned to, by role ('silt:shifo', 'road', ...)."""
    rng = rng_for("teams")
    teams: list[dict] = []

    def add(name, type_, sub, members):
        teams.append(
            {
                "key": f"T-{len(teams) + 1:04d}",
                "name": name,
                "type": type_,
                "subdistrict": sub,
                "members": members,
            }
        )

    orgs = [
        "社区党支部",
        "网格党支部",
        "村党支部",
        "小区党支部",
        "物业党支部",
        "机关党支部",
        "企业党支部",
        "学校党支部",
    ]
    units = [
        "高新区党政办",
        "高新区建设局",
        "高新区城市管理局",
        "高新区经济发展局",
        "高新区财政局",
        "高新区科技局",
        "高新区社会事业局",
        "高新区政法委",
    ]
    from seed.common import VILLAGES, estate

    used = set()
    raw_party = []
    while len(raw_party) < PARTY_ORGS:
        sub, subzh = SUBS[len(raw_party) % 5]
        kind = rng.choice(orgs)
        if kind == "机关党支部":
            name = f"{rng.choice(units)}第{rng.randint(1, 6)}机关党支部"
            sub = None
        elif kind in ("社区党支部", "村党支部", "网格党支部"):
            place = rng.choice(VILLAGES)
            place = place if kind != "村党支部" or not place.endswith("社区") else place[:-2] + "村"
            suffix = f"第{rng.randint(1, 12)}网格党支部" if kind == "网格党支部" else "党支部"
            name = f"{subzh}办事处{place}{suffix}"
        elif kind == "学校党支部":
            name = (
                f"高新区{rng.choice(['第一', '第二', '第三', '第四', '第五', '实验', '外国语', '枫杨', '梧桐'])}"
                f"{rng.choice(['小学', '中学', '初级中学'])}党支部"
            )
        else:
            name = f"{subzh}办事处{estate(rng)}{kind}"
        if name in used:
            continue
        used.add(name)
        raw_party.append((name, sub, rng.randint(25, 95)))
    firms = [
        "汉威科技集团",
        "宇通重工",
        "郑州大学科技园",
        "河南八六三软件",
        "紫光计算机",
        "郑州明泰实业",
        "中电建十一局",
        "中建城发(郑州)",
        "新开普电子",
        "光力科技",
        "辉煌科技",
        "正星科技",
        "安图生物",
        "中原科技城",
        "郑州威科姆",
        "河南中光学",
        "郑州捷安高科",
        "思念食品",
        "三全食品",
        "郑州海康威视",
        "信大捷安",
        "歌尔光学",
        "超聚变数字",
        "河南投资集团",
        "郑州地铁集团",
        "中铁装备",
        "森源电气",
        "众品食业",
    ]
    socials = [
        "河南省红十字会救援队",
        "郑州蓝天救援队",
        "河南户外救援联盟",
        "郑州市志愿者协会",
        "高新区青年志愿者协会",
        "河南省慈善总会志愿队",
        "郑州公羊救援队",
        "河南壹基金救援队",
        "郑州市退役军人志愿服务队",
        "郑州大学青年志愿者协会",
        "河南工业大学志愿服务队",
        "郑州轻工业大学志愿服务队",
        "郑州市义工联合会",
        "高新区商会志愿服务队",
        "郑州应急救援协会",
        "河南曙光救援队",
        "郑州天使救援队",
        "河南省钓鱼协会救援队",
    ]
    raw_ent = []
    for i in range(ENTERPRISE_OR_SOCIAL):
        if i < 100:
            base = firms[i % len(firms)]
            name = f"{base}{['志愿服务队', '抢险突击队', '党员先锋队', '青年突击队'][i // len(firms) % 4]}"
            raw_ent.append(
                (name, "enterprise", rng.choice([None, *[s for s, _ in SUBS]]), rng.randint(60, 260))
            )
        else:
            base = socials[(i - 100) % len(socials)]
            name = base if i - 100 < len(socials) else f"{base}第二分队"
            raw_ent.append((name, "social_group", None, rng.randint(60, 320)))
    members = [m for _, _, m in raw_party] + [m for _, _, _, m in raw_ent]
    delta = VOLUNTEERS - sum(members)
    i = 0
    while delta:  # spread the difference one member at a time, round-robin, deterministic
        step = 1 if delta > 0 else -1
        if members[i % len(members)] + step >= 10:
            members[i % len(members)] += step
            delta -= step
        i += 1
    for (name, sub, _), m in zip(raw_party, members, strict=False):
        add(name, "party_org", sub, m)
    for (name, type_, sub, _), m in zip(raw_ent, members[len(raw_party) :], strict=False):
        add(name, type_, sub, m)
    crews: dict[str, list[str]] = {}
    for sub, subzh in SUBS:
        for role, suffix in CREW_ROLES:
            add(f"{subzh}办事处{suffix}", "crew", sub, rng.randint(12, 60))
            crews.setdefault(f"{role.rstrip('2')}:{sub}", []).append(teams[-1]["key"])
    for role, name in CONTRACTORS:
        add(name, "crew", None, rng.randint(20, 120))
        crews.setdefault(role, []).append(teams[-1]["key"])
    return teams, crews


ENTERPRISE_ASKS = [
    ("厂区积水抽排及配电房恢复", "高新区城市管理局"),
    ("双回路供电恢复", "国网郑州高新供电公司"),
    ("受损设备维修资金和贷款延期", "高新区经济发展局"),
    ("厂区道路塌陷修复", "高新区建设局"),
    ("员工通勤公交恢复", "高新区建设局"),
    ("水毁原料损失保险理赔协调", "高新区经济发展局"),
    ("生产用水恢复", "郑州自来水高新营业所"),
    ("地下车库清淤", "高新区城市管理局"),
    ("灾后复产专项补贴申报", "高新区科技局"),
    ("网络通信线路恢复", "高新区科技局"),
]
SUPERVISION = [
    "抢修进度滞后于倒排工期",
    "围挡不规范存在安全隐患",
    "清淤后未及时消杀",
    "垃圾未做到日产日清",
    "信息报送不及时",
    "台账与现场不符",
]
REVIEWS = [
    "背街支路积存垃圾未清完",
    "集贸市场消杀记录缺失",
    "地下车库淤泥清运不彻底",
    "路灯修复进度慢",
    "公厕未恢复开放",
    "河道堤岸存在裂缝未处置",
    "小区内外卫生死角",
    "施工现场扬尘管控不到位",
]


def build_work_items(sites: list[dict], teams: list[dict]) -> tuple[list[dict], list[dict]]:
    """Work items and their 13710 event histories (open, feedback < 3 days, resolve < 7/30 days, close)."""
    rng = rng_for("work_items")
    enterprises = [s for s in sites if s["kind"] == "enterprise"]
    supervised = [
        s for s in sites if s["kind"] in ("road_collapse", "silt_site", "municipal_facility", "river_hazard")
    ]
    items, events = [], []
    steps = rng_for("work_item_steps")
    plan = ["enterprise_request"] * 64 + ["supervision"] * 36 + ["review_problem"] * 26
    for n, category in enumerate(plan, start=1):
        key = f"WI-{n:04d}"
        severity = "major" if rng.random() < 0.2 else "general"
        if category == "enterprise_request":
            site = rng.choice(enterprises)
            ask, unit = rng.choice(ENTERPRISE_ASKS)
            title = f"万人助万企：{site['name']}{ask}"
            site_key = site["key"]
        elif category == "supervision":
            site = rng.choice(supervised)
            title = f"督办：{site['name']}{rng.choice(SUPERVISION)}"
            unit = rng.choice([f"{zh}办事处" for _, zh in SUBS] + UNITS[:3])
            site_key = site["key"]
        else:
            sub = rng.choice(SUBS)
            title = f"周观摩：{sub[1]}办事处辖区{rng.choice(REVIEWS)}"
            unit = f"{sub[1]}办事处"
            site_key = None
        items.append(
            {
                "key": key,
                "category": category,
                "title": title,
                "site": site_key,
                "responsible_unit": unit,
                "severity": severity,
            }
        )
        limit = (30 if severity == "major" else 7) * DAY
        latest_open = min(day(8, 20), END - limit - 2 * DAY) if severity == "major" else day(8, 22)
        t_open = rng.randint(day(7, 21) + 8 * 60, latest_open)
        t_fb = t_open + rng.randint(60, 3 * DAY - 60)
        t_res = rng.randint(t_fb + 30, t_open + limit - 30)
        t_close = min(t_res + rng.randint(1, DAY), END - 60)
        actor = person(rng)
        events.append(
            event(
                rng,
                "work_item_open",
                t_open,
                work_item=key,
                actor=f"{UNITS[3]}督查组",
                note=f"交办{unit}，当天研究部署",
            )
        )
        events.append(
            event(
                rng,
                "work_item_feedback",
                t_fb,
                work_item=key,
                actor=actor,
                note=pick(rng, [("已现场核实，正在办理", 3), ("已制定方案，按节点推进", 2)]),
            )
        )
        events.append(event(rng, "work_item_resolve", t_res, work_item=key, actor=actor, note="已落实解决"))
        events.append(
            event(
                rng,
                "work_item_close",
                t_close,
                work_item=key,
                actor=f"{UNITS[3]}督查组",
                note="核查通过，销号",
            )
        )
        # the loop's other steps, drawn from their own generator so that the draws above stay as they were
        events += _loop_steps(steps, key, actor, t_open, t_fb, t_res, t_close, t_open + limit)
    more, more_events = _loop_demo(len(items))
    return items + more, events + more_events


SUPERVISORS = f"{UNITS[3]}督查组"


def _loop_steps(rng, key, actor, t_open, t_fb, t_res, t_close, resolve_due) -> list[dict]:
    """签收 before the feedback; for some orders an extension asked and approved before the resolution, or a
    return (退回) and a second resolution; 核查 before 销号."""
    out = [
        event(
            rng,
            "work_item_acknowledge",
            t_open + rng.randint(1, max(1, min(t_fb - t_open - 1, 8 * 60))),
            work_item=key,
            actor=actor,
            note="已签收",
        )
    ]
    if t_res - t_fb >= 120 and rng.random() < 0.12:
        t_ask = t_fb + rng.randint(1, (t_res - t_fb) // 2)
        until = iso(resolve_due + 3 * DAY)
        out.append(
            event(
                rng,
                "work_item_extension_request",
                t_ask,
                work_item=key,
                actor=actor,
                note="工程量大，申请延期三天",
            )
            | {"details": {"until": until}}
        )
        out.append(
            event(
                rng,
                "work_item_extension_approve",
                t_ask + rng.randint(1, t_res - t_ask - 1),
                work_item=key,
                actor=SUPERVISORS,
                note="同意延期",
            )
            | {"details": {"until": until}}
        )
    gap = t_close - t_res
    if gap >= 240 and rng.random() < 0.3:
        t_ret = t_res + rng.randint(1, gap // 3)
        t_again = t_ret + rng.randint(1, gap // 3)
        out.append(
            event(
                rng,
                "work_item_return",
                t_ret,
                work_item=key,
                actor=SUPERVISORS,
                note="现场核查未完全整改，退回",
            )
        )
        out.append(
            event(rng, "work_item_resolve", t_again, work_item=key, actor=actor, note="已按要求整改完毕")
        )
        t_res = t_again
        gap = t_close - t_res
    if gap >= 2:
        out.append(
            event(
                rng,
                "work_item_verify",
                t_res + rng.randint(1, gap - 1),
                work_item=key,
                actor=SUPERVISORS,
                note="现场核查通过",
            )
        )
    return out


def _loop_demo(count: int) -> tuple[list[dict], list[dict]]:
    """Orders placed so that on 29 July (the article's day) one is in each state of the loop: assigned, acknowledged,
    fed back, returned, resolved, verified, with an extension asked, transferred, reminded and due within a day
    (黄牌); all met their deadlines (the zone's 13710 record, which `test_seed_figures` keeps) and are closed by the
    end."""
    rng = rng_for("work_item_demo")
    h = 60
    d29 = day(7, 29)
    plans = [
        # key suffix, title, unit, severity, steps as (action, minute, actor, note, details)
        (
            "督办：科学大道塌陷点围挡加固",
            "高新区城市管理局",
            "general",
            [
                ("open", d29 + 20 * h),
                ("acknowledge", d29 + 33 * h),
                ("feedback", d29 + 40 * h),
                ("resolve", d29 + 4 * DAY),
                ("verify", d29 + 4 * DAY + 3 * h),
                ("close", d29 + 4 * DAY + 5 * h),
            ],
        ),
        (
            "督办：长椿路积水点抽排",
            "沟赵办事处",
            "general",
            [
                ("open", d29 + 9 * h),
                ("acknowledge", d29 + 10 * h),
                ("feedback", d29 + 2 * DAY),
                ("resolve", d29 + 5 * DAY),
                ("verify", d29 + 5 * DAY + 2 * h),
                ("close", d29 + 5 * DAY + 4 * h),
            ],
        ),
        (
            "周观摩：石佛办事处辖区淤泥外运进度慢",
            "石佛办事处",
            "general",
            [
                ("open", d29 - 2 * DAY + 10 * h),
                ("acknowledge", d29 - 2 * DAY + 11 * h),
                ("feedback", d29 + 11 * h),
                ("resolve", d29 + 3 * DAY),
                ("verify", d29 + 3 * DAY + 1 * h),
                ("close", d29 + 3 * DAY + 2 * h),
            ],
        ),
        (
            "督办：枫杨办事处辖区小区地下室清淤",
            "枫杨办事处",
            "general",
            [
                ("open", d29 - 4 * DAY + 9 * h),
                ("acknowledge", d29 - 4 * DAY + 10 * h),
                ("feedback", d29 - 3 * DAY),
                ("resolve", d29 - 1 * DAY),
                ("return", d29 + 15 * h, "淤泥未清运完毕，退回"),
                ("resolve", d29 + 2 * DAY),
                ("verify", d29 + 2 * DAY + 3 * h),
                ("close", d29 + 2 * DAY + 4 * h),
            ],
        ),
        (
            "万人助万企：郑州高新区企业配电房排水",
            "国网郑州高新供电公司",
            "general",
            [
                ("open", d29 - 3 * DAY + 9 * h),
                ("acknowledge", d29 - 3 * DAY + 10 * h),
                ("feedback", d29 - 2 * DAY),
                ("resolve", d29 + 16 * h),
                ("verify", d29 + 2 * DAY),
                ("close", d29 + 2 * DAY + 1 * h),
            ],
        ),
        (
            "群众反映：梧桐办事处辖区小区停水",
            "郑州自来水高新营业所",
            "general",
            [
                ("open", d29 - 2 * DAY + 8 * h),
                ("acknowledge", d29 - 2 * DAY + 9 * h),
                ("feedback", d29 - 1 * DAY),
                ("resolve", d29 + 9 * h),
                ("verify", d29 + 17 * h),
                ("close", d29 + 1 * DAY + 10 * h),
            ],
        ),
        (
            "督办：须水河除险加固",
            "国土规划住建局",
            "major",
            [
                ("open", d29 - 6 * DAY + 9 * h),
                ("acknowledge", d29 - 6 * DAY + 10 * h),
                ("feedback", d29 - 5 * DAY),
                ("request_extension", d29 + 14 * h, "汛期施工受限，申请延期七天", 37),
                ("approve_extension", d29 + 1 * DAY + 10 * h, "同意延期", 37),
                ("resolve", d29 + 20 * DAY),
                ("verify", d29 + 20 * DAY + 5 * h),
                ("close", d29 + 21 * DAY),
            ],
        ),
        (
            "会议交办：双桥办事处辖区道路照明恢复",
            "双桥办事处",
            "general",
            [
                ("open", d29 - 1 * DAY + 9 * h),
                ("transfer", d29 + 10 * h, "路灯归城管局维护，转办", "urban_management"),
                ("acknowledge", d29 + 11 * h),
                ("feedback", d29 + 1 * DAY),
                ("resolve", d29 + 4 * DAY),
                ("verify", d29 + 4 * DAY + 2 * h),
                ("close", d29 + 4 * DAY + 3 * h),
            ],
        ),
        (
            "督办：莲花街塌陷点回填",
            "高新区城市管理局",
            "general",
            [
                ("open", d29 - 6 * DAY + 14 * h),
                ("acknowledge", d29 - 6 * DAY + 20 * h),
                ("remind", d29 - 4 * DAY + 9 * h, "请尽快反馈"),
                ("feedback", d29 - 4 * DAY + 11 * h),
                ("remind", d29 + 9 * h, "明日到期，请加快办理"),
                ("resolve", d29 + 1 * DAY + 12 * h),
                ("verify", d29 + 2 * DAY + 2 * h),
                ("close", d29 + 2 * DAY + 3 * h),
            ],
        ),
    ]
    categories = {
        "督办": "supervision",
        "周观摩": "review_problem",
        "万人助万企": "enterprise_request",
        "群众反映": "citizen_report",
        "会议交办": "meeting",
    }
    items, events = [], []
    for n, (title, unit, severity, steps) in enumerate(plans, start=count + 1):
        key = f"WI-{n:04d}"
        items.append(
            {
                "key": key,
                "category": categories[title.split("：")[0]],
                "title": title,
                "site": None,
                "responsible_unit": unit,
                "severity": severity,
            }
        )
        handler = person(rng)
        limit = (30 if severity == "major" else 7) * DAY
        opened = steps[0][1]
        for step in steps:
            action, minute = step[0], step[1]
            note = (
                step[2]
                if len(step) > 2
                else {
                    "open": f"交办{unit}",
                    "acknowledge": "已签收",
                    "feedback": "已制定方案，按节点推进",
                    "resolve": "已落实解决",
                    "verify": "现场核查通过",
                    "close": "核查通过，销号",
                }.get(action, "")
            )
            commander_side = action in (
                "open",
                "verify",
                "close",
                "return",
                "approve_extension",
                "transfer",
                "remind",
            )
            name = {"request_extension": "extension_request", "approve_extension": "extension_approve"}.get(
                action, action
            )
            row = event(
                rng,
                f"work_item_{name}",
                minute,
                work_item=key,
                actor=SUPERVISORS if commander_side else handler,
                note=note,
            )
            if action in ("request_extension", "approve_extension"):
                row["details"] = {"until": iso(opened + limit + (step[3] - 30) * DAY)}
            if action == "transfer":
                row["details"] = {"to": step[3]}
            events.append(row)
    return items, events


def build_units() -> list[dict]:
    """Each responsible unit with a leader and two contacts (fictional names: the articles name none)."""
    from recovery.vocab import UNIT

    rng = rng_for("units")
    rows = []
    for term in UNIT.terms:
        office = term.zh.endswith("办事处")
        leader = person(rng)
        rows.append(
            {
                "unit": term.key,
                "leader": f"{leader}（{'主任' if office else '局长' if term.zh.endswith('局') else '经理'}）",
                "contacts": [
                    {
                        "name": person(rng),
                        "phone": f"0371-6799{rng.randint(1000, 9999)}",
                        "title": "督办联络员",
                    },
                    {
                        "name": person(rng),
                        "phone": f"138{rng.randint(10000000, 99999999)}",
                        "title": "值班员",
                    },
                ],
            }
        )
    return rows
