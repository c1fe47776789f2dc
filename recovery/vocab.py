"""One vocabulary: every enumerated value of recovery (kind, status, utility, attribute choices, sub-district,
unit, work-item category and severity, role, yes/no) with its key, Chinese and English labels and aliases.

Every door reads a value with `resolve(vocabulary, text)` (key, label or alias, any case or width) and every
page, export and record list shows it with `label(vocabulary, key, locale)`.

Vocabularies by name: `kind`, `status` (every kind's statuses; a label two kinds share resolves to both with
`resolve_all`), `status.<kind>` (one kind's life cycle, its utilities' statuses included), `track`,
`road_class`, `place_type`, `facility_type`, `river`, `point_type`, `subdistrict`, `unit`, `category`,
`severity`, `work_item_status`, `role`, `team_type`, `audit_action`, `boolean`.
"""

from __future__ import annotations

from typing import Any

from recovery.errors import ValidationError
from recovery.kinds import KIND, KINDS
from recovery.terms import BOOLEAN, Term, UnknownValue, Vocabulary, fold, merged

__all__ = [
    "BOOLEAN",
    "KIND",
    "ROLE",
    "SUBDISTRICT",
    "SUBDISTRICT_ORDER",
    "Term",
    "UnknownValue",
    "VOCABULARIES",
    "Vocabulary",
    "fold",
    "label",
    "labels",
    "resolve",
    "resolve_all",
    "vocabulary",
]


def _terms(*rows: tuple) -> tuple[Term, ...]:
    return tuple(Term(*row) for row in rows)


#: the five sub-district offices (办事处), in the order the zone lists them in tables and reports
SUBDISTRICT = Vocabulary(
    "subdistrict",
    "办事处",
    "sub-district",
    _terms(
        ("shifo", "石佛办事处", "Shifo", ("石佛街道", "Shifo Sub-district"), "石佛"),
        ("gouzhao", "沟赵办事处", "Gouzhao", ("沟赵街道", "Gouzhao Sub-district"), "沟赵"),
        ("shuangqiao", "双桥办事处", "Shuangqiao", ("双桥街道", "Shuangqiao Sub-district"), "双桥"),
        ("fengyang", "枫杨办事处", "Fengyang", ("枫杨街道", "Fengyang Sub-district"), "枫杨"),
        ("wutong", "梧桐办事处", "Wutong", ("梧桐街道", "Wutong Sub-district"), "梧桐"),
    ),
)
SUBDISTRICT_ORDER: tuple[str, ...] = SUBDISTRICT.keys

#: responsible units (责任单位): the five offices and the zone's bureaus; "高新区…" is how letters name them
_BUREAUS = (
    ("urban_management", "城市管理局", "Urban Management Bureau", ("城管局",)),
    ("planning_housing", "国土规划住建局", "Land, Planning and Housing Bureau", ("住建局", "建设局")),
    ("economic_development", "经济发展局", "Economic Development Bureau", ("经发局",)),
    ("commerce", "商务局", "Commerce Bureau", ()),
    ("emergency_management", "应急管理局", "Emergency Management Bureau", ("应急管理办公室", "应急办")),
    ("health", "卫生健康局", "Health Bureau", ("卫健局",)),
    ("science_technology", "科技局", "Science and Technology Bureau", ("科学技术局",)),
    # the utilities' local companies, to which enterprise requests about water and power are handed
    (
        "water_supply",
        "郑州自来水高新营业所",
        "Zhengzhou Water, High-tech Office",
        ("自来水高新营业所", "自来水公司"),
    ),
    (
        "power_supply",
        "国网郑州高新供电公司",
        "State Grid Zhengzhou High-tech Power",
        ("高新供电公司", "供电公司"),
    ),
)
UNIT = Vocabulary(
    "unit",
    "责任单位",
    "responsible unit",
    tuple(SUBDISTRICT.terms)
    + tuple(
        Term(key, zh, en, (*aliases, f"高新区{zh}", *(f"高新区{a}" for a in aliases)))
        for key, zh, en, aliases in _BUREAUS
    ),
)

CATEGORY = Vocabulary(
    "category",
    "事项类别",
    "work item category",
    _terms(
        ("enterprise_request", "万人助万企", "enterprise request", ("企业诉求",)),
        ("supervision", "督办", "supervision order", ("督查交办", "督办事项")),
        ("review_problem", "周观摩问题", "weekly review problem", ("周观摩",)),
        ("citizen_report", "群众反映", "citizen report", ("12345", "12345热线", "市民热线")),
        ("meeting", "会议交办", "meeting assignment", ("交办", "会商交办")),
    ),
)
SEVERITY = Vocabulary(
    "severity",
    "问题类别",
    "severity",
    _terms(("general", "一般问题", "general", ("一般",)), ("major", "重大问题", "major", ("重大",))),
)
WORK_ITEM_STATUS = Vocabulary(
    "work_item_status",
    "事项状态",
    "work item status",
    _terms(
        ("open", "已交办", "assigned", ("待签收", "交办", "open")),
        ("acknowledged", "已签收", "acknowledged", ("签收", "待反馈")),
        ("fed_back", "已反馈", "fed back", ("反馈",)),
        ("returned", "被退回", "returned", ("退回",)),
        ("resolved", "已办结", "resolved", ("办结", "已解决", "待核查")),
        ("verified", "已核查", "verified", ("核查",)),
        ("closed", "已销号", "closed", ("销号",)),
    ),
)
ROLE = Vocabulary(
    "role",
    "角色",
    "role",
    _terms(
        ("field", "一线人员", "field", ("现场", "巡查员")),
        ("commander", "指挥人员", "commander", ("指挥",)),
        ("reporter", "报道人员", "reporter", ("报道", "记者")),
        ("unit", "责任单位人员", "responsible unit", ("责任单位", "unit staff")),
        ("admin", "管理员", "administrator", ("administrator",)),
    ),
)
#: what a registered team is: the rescue forces (party organisations, enterprises and social groups, volunteers)
#: and the work crews sites are assigned to
TEAM_TYPE = Vocabulary(
    "team_type",
    "队伍类型",
    "team type",
    _terms(
        ("party_org", "基层党组织", "party organisation", ("党组织", "党支部")),
        ("enterprise", "企业", "enterprise", ()),
        ("social_group", "社会团体", "social group", ("社会组织",)),
        ("volunteer", "志愿者队伍", "volunteers", ("志愿者", "volunteer team")),
        ("crew", "作业队", "work crew", ("施工队", "抢修队", "crew")),
    ),
)
#: what an administrator did (the audit log's actions)
AUDIT_ACTION = Vocabulary(
    "audit_action",
    "操作",
    "action",
    _terms(
        ("user.add", "添加用户", "user added"),
        ("user.edit", "修改角色或范围", "role or scope changed"),
        ("user.disable", "停用用户", "user disabled"),
        ("user.enable", "启用用户", "user enabled"),
        ("user.reset_password", "重置密码", "password reset"),
        ("user.password_change", "修改本人密码", "own password changed"),
        ("token.issue", "签发令牌", "token issued"),
        ("token.revoke", "吊销令牌", "token revoked"),
        ("team.add", "添加队伍", "team added"),
        ("team.edit", "修改队伍", "team changed"),
        ("team.retire", "撤销队伍", "team retired"),
        ("unit.edit", "修改责任单位", "unit changed"),
        ("webhook.add", "添加消息推送", "webhook added"),
        ("webhook.enable", "启用消息推送", "webhook enabled"),
        ("webhook.disable", "停用消息推送", "webhook disabled"),
        ("webhook.delete", "删除消息推送", "webhook deleted"),
        ("webhook.test", "测试消息推送", "webhook test sent"),
    ),
)
#: what a row of a figure's record list is
RECORD_TYPE = Vocabulary(
    "record_type",
    "记录类型",
    "record type",
    _terms(
        ("site", "点位", "site"),
        ("event", "事件", "event"),
        ("team", "队伍", "team"),
        ("work_item", "事项", "work item"),
    ),
)

STATUS = Vocabulary(
    "status", "状态", "status", merged(t for k in KINDS.values() for t in k.status_vocabulary.terms)
)
TRACK = Vocabulary(
    "track",
    "设施",
    "utility",
    tuple({t.key: t for k in KINDS.values() for t in k.tracks}.values()),
)

VOCABULARIES: dict[str, Vocabulary] = {
    v.name: v
    for v in (
        KIND,
        STATUS,
        TRACK,
        *(k.status_vocabulary for k in KINDS.values()),
        *{a.choices.name: a.choices for k in KINDS.values() for a in k.attributes if a.choices}.values(),
        SUBDISTRICT,
        UNIT,
        CATEGORY,
        SEVERITY,
        WORK_ITEM_STATUS,
        RECORD_TYPE,
        ROLE,
        TEAM_TYPE,
        AUDIT_ACTION,
        BOOLEAN,
    )
}


def vocabulary(name: str) -> Vocabulary:
    try:
        return VOCABULARIES[name]
    except (KeyError, TypeError):
        raise ValidationError("Unknown vocabulary %(name)s.", name=str(name)) from None


def resolve(name: str, text: Any) -> str:
    """The key `text` names in vocabulary `name` (key, Chinese or English label, alias; case- and
    width-insensitive, spaces trimmed). Raises ValidationError listing the accepted values."""
    return vocabulary(name).resolve(text)


def resolve_all(name: str, text: Any) -> tuple[str, ...]:
    """Every key `text` names: `resolve_all("status", "已修复")` is `("restored", "repaired")`."""
    return vocabulary(name).resolve_all(text)


def resolve_list(name: str, text: str | list | None) -> list[str]:
    """A comma-separated list (or a list) of values to their keys, in order, each once; `，` and `、` separate
    too. A label that names several keys (a status two kinds share) gives all of them."""
    items = text if isinstance(text, list | tuple) else fold(text or "").replace("、", ",").split(",")
    out: list[str] = []
    for item in items:
        if item is None or not str(item).strip():
            continue
        keys = resolve_all(name, item) or (resolve(name, item),)
        out.extend(k for k in keys if k not in out)
    return out


def label(name: str, key: str | None, locale: str | None = "zh", short: bool = False) -> str:
    """The label of `key` in the reader's language (`zh…` → Chinese, otherwise English); unknown keys as given.
    `short` gives the Chinese short form where there is one (石佛 for 石佛办事处, under a 办事处 heading)."""
    if key is None:
        return ""
    return vocabulary(name).label(key, locale, short)


def labels(name: str, locale: str | None = "zh") -> dict[str, str]:
    """key → label of every term, in order (for a select box, a legend or a JS table)."""
    return {t.key: t.label(locale) for t in vocabulary(name).terms}
