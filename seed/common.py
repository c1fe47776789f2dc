"""Shared pieces of the seed generator: time arithmetic, event records, exact allocations, Chinese names."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

TZ = timezone(timedelta(hours=8))
#: minute 0 of the seed calendar: 2021-07-20 00:00 Asia/Shanghai
BASE = datetime(2021, 7, 20, tzinfo=TZ)
DAY = 1440
#: the article's cut-off, 2021-07-29 24:00 = 2021-07-30T00:00:00+08:00
CUTOFF = 10 * DAY
#: the last instant of the seed window, 2021-08-31 24:00
END = 43 * DAY
#: anything valid before the cut-off is recorded before 2021-07-30 08:00
CUTOFF_RECORD_LIMIT = CUTOFF + 8 * 60
SEED = 20210720


def rng_for(name: str, base: int = SEED):
    """A private deterministic RNG per part of the data set (string seeds hash with SHA-512, stable)."""
    import random

    return random.Random(f"{base}:{name}")


def day(month: int, dom: int) -> int:
    """Minute offset of 00:00 on the given 2021 day."""
    return ((datetime(2021, month, dom, tzinfo=TZ) - BASE).days) * DAY


def iso(minute: int) -> str:
    return (BASE + timedelta(minutes=minute)).isoformat()


def deadline(month: int, dom: int) -> str:
    """ISO timestamp of 24:00 on the given day (written as 00:00 of the next day)."""
    return iso(day(month, dom) + DAY)


def increasing(rng, lo: int, hi: int, n: int) -> list[int]:
    """n distinct sorted minutes in [lo, hi]."""
    if hi - lo + 1 < n:
        raise ValueError("window too small")
    return sorted(rng.sample(range(lo, hi + 1), n))


def recorded(rng, valid: int) -> int:
    """Record time: a few minutes to a few hours after the valid time, within the rules of the data set."""
    delay = rng.choice((rng.randint(2, 30), rng.randint(2, 30), rng.randint(30, 180), rng.randint(60, 360)))
    rec = valid + delay
    if valid <= CUTOFF:
        rec = min(rec, CUTOFF_RECORD_LIMIT - 1)
    return max(valid, min(rec, END - 1))


def event(
    rng,
    action: str,
    valid: int,
    *,
    site=None,
    work_item=None,
    track=None,
    to_status=None,
    measures=None,
    note: str = "",
    actor: str = "",
) -> dict:
    return {
        "client_id": None,
        "action": action,
        "site": site,
        "work_item": work_item,
        "track": track,
        "to_status": to_status,
        "measures": measures or {},
        "note": note,
        "actor": actor,
        "_v": valid,
        "valid_at": iso(valid),
        "recorded_at": iso(recorded(rng, valid)),
    }


def tenths(n: int):
    """A quantity kept in integer tenths, as a JSON number (3 or 2.5)."""
    return n // 10 if n % 10 == 0 else n / 10


def allocate(total: int, weights: list[float], minimum: int = 1) -> list[int]:
    """Split `total` into integers >= minimum proportional to weights, summing exactly (largest remainder)."""
    n = len(weights)
    rest = total - minimum * n
    if rest < 0:
        raise ValueError("total too small")
    wsum = sum(weights)
    raw = [w * rest / wsum for w in weights]
    parts = [int(r) for r in raw]
    left = rest - sum(parts)
    order = sorted(range(n), key=lambda i: (-(raw[i] - parts[i]), i))
    for i in order[:left]:
        parts[i] += 1
    return [p + minimum for p in parts]


def pick(rng, weighted: list[tuple[object, float]]):
    total = sum(w for _, w in weighted)
    x = rng.random() * total
    for value, w in weighted:
        x -= w
        if x < 0:
            return value
    return weighted[-1][0]


SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段雷钱汤尹黎易常武乔贺赖龚文"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰建国志红鹏飞斌宇浩凯亮辉晨欣怡雪婷博文涵俊峰海燕宏春梅晓东"


def person(rng) -> str:
    n = 1 if rng.random() < 0.35 else 2
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(n))


ESTATE_A = [
    "绿地",
    "正商",
    "朗悦",
    "美景",
    "建业",
    "康桥",
    "万科",
    "碧桂园",
    "锦艺",
    "升龙",
    "名门",
    "亚新",
    "英协",
    "天健",
    "金科",
    "鑫苑",
    "永威",
    "长椿",
    "枫林",
    "梧桐",
    "翠竹",
    "石佛",
    "沟赵",
    "双桥",
    "瑞达",
    "银屏",
    "科苑",
    "西湖",
    "红松",
    "雪松",
    "盛世",
    "电厂",
    "电缆厂",
    "化工",
    "莲花",
    "银河",
    "五龙",
    "春藤",
    "丰华",
]
ESTATE_B = [
    "花园",
    "家园",
    "小区",
    "苑",
    "城",
    "华府",
    "雅居",
    "新城",
    "佳苑",
    "公寓",
    "里",
    "名苑",
    "新村",
    "社区",
]
MARKETS = [
    "石佛",
    "沟赵",
    "双桥",
    "枫杨",
    "梧桐",
    "长椿",
    "瑞达",
    "科学大道",
    "须水",
    "冉屯",
    "贾庄",
    "小魏庄",
    "东赵",
    "西岗",
    "老庄",
    "化工路",
    "红松",
    "银屏",
]
VILLAGES = [
    "石佛村",
    "沟赵村",
    "冉屯村",
    "贾庄村",
    "东赵村",
    "西岗村",
    "小魏庄",
    "老庄村",
    "双桥村",
    "古荥社区",
    "枫杨社区",
    "梧桐社区",
    "长椿社区",
    "瑞达社区",
    "翠竹社区",
    "雪松社区",
    "红松社区",
    "须水社区",
]


def estate(rng) -> str:
    return rng.choice(ESTATE_A) + rng.choice(ESTATE_B)
