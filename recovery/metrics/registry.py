"""The registry of figures: each one's key, labels, definition (numerator, denominator, weights, filters),
rounding and printed precision. Adding a figure is adding an entry here, nothing else."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from recovery.i18n import N_, in_locale, locale_for, pick

#: how many decimals a share may gain so that it does not print as 100 % or 0 % when it is neither: enough for
#: (n − 1) / n with n up to a hundred million
MAX_EXTRA_DECIMALS = 6

ENTERPRISE_STOPPED = ("stopped", "partly_restarted", "restarted")
ENTERPRISE_RESTARTED = ("partly_restarted", "restarted")


@dataclass(frozen=True)
class Selector:
    """Which cells of the cube a term adds up: a kind, a quantity, and optional status/track/segment filters."""

    kind: str
    quantity: str = "n"
    status: tuple[str, ...] | None = None
    track: str = ""
    segment: tuple[tuple[str, tuple[str, ...]], ...] = ()
    exclude_status: tuple[str, ...] = ()

    def describe(self, zh: bool) -> str:
        locale = locale_for(zh)
        parts = [self.kind, self.quantity]
        if self.status:
            parts.append(in_locale(N_("status in %(statuses)s"), locale, statuses="/".join(self.status)))
        if self.exclude_status:
            parts.append(
                in_locale(N_("status not in %(statuses)s"), locale, statuses="/".join(self.exclude_status))
            )
        if self.track:
            parts.append(in_locale(N_("utility=%(track)s"), locale, track=self.track))
        for key, values in self.segment:
            parts.append(f"{key}∈{'/'.join(values)}")
        return "(" + ", ".join(parts) + ")"


def seg(**filters: str | tuple[str, ...]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    return tuple((k, v if isinstance(v, tuple) else (v,)) for k, v in sorted(filters.items()))


@dataclass(frozen=True)
class Metric:
    """A figure. Its value is numerator / (denominator × weight); without a denominator, the numerator."""

    key: str
    zh: str
    en: str
    numerator: Selector
    denominator: Selector | None = None
    weight: float = 1.0
    percent: bool = False
    precision: int = 0
    unit_zh: str = ""
    unit_en: str = ""
    definition_zh: str = ""
    definition_en: str = ""
    #: figures the article printed for 2021-07-29, kept to show the reader how ours compare
    article_value: str | None = None
    group: str = "general"
    tags: tuple[str, ...] = field(default_factory=tuple)

    # The registry holds each figure's wording in both languages as data (like the vocabulary's terms);
    # these are the only ways to read it.
    def label(self, locale: str | None = "zh") -> str:
        return pick(self.zh, self.en, locale)

    def unit_label(self, locale: str | None = "zh") -> str:
        return pick(self.unit_zh, (self.unit_en or self.unit_zh) if self.percent else self.unit_en, locale)

    def definition_text(self, locale: str | None = "zh") -> str:
        return pick(self.definition_zh, self.definition_en, locale)

    def shown(self, value: float) -> Decimal:
        """The number a report prints for `value`: in percent for a share, rounded half up at the figure's
        precision, exact in decimal. A share never prints as 100 unless it is complete, nor as 0 unless it is
        none: one that rounds there gains decimals until it shows it (281 of 282 restarted is 99.6, not 100)."""
        exact = Decimal(repr(value * 100 if self.percent else value))
        for places in range(self.precision, self.precision + MAX_EXTRA_DECIMALS + 1):
            rounded = exact.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
            if not self.percent or not ((rounded == 100 and exact < 100) or (rounded == 0 and exact > 0)):
                return rounded
        return rounded


def _count(kind: str, **kw) -> Selector:
    return Selector(kind=kind, **kw)


METRICS: tuple[Metric, ...] = (
    # -- residential communities: water, power, gas ---------------------------------------------------------
    Metric(
        "community_total",
        "受影响居民小区",
        "affected residential communities",
        _count("residential_community"),
        unit_zh="个",
        unit_en="",
        group="community",
        definition_zh="上报受影响的居民小区数",
        definition_en="residential communities reported affected",
    ),
    Metric(
        "community_restored",
        "供水供电供气全部恢复的小区",
        "communities with all utilities restored",
        _count("residential_community", status=("restored",)),
        unit_zh="个",
        group="community",
        definition_zh="中断的供水、供电、供气均已恢复的小区数",
        definition_en="communities where every utility that was cut is restored",
    ),
    *(
        Metric(
            f"community_{track}_restored_rate",
            f"小区{zh}恢复率",
            f"communities' {track} restored",
            _count("residential_community", track=track, status=("restored",)),
            _count("residential_community", track=track),
            percent=True,
            precision=2,
            unit_zh="%",
            unit_en="%",
            group="community",
            definition_zh=f"{zh}已恢复的小区数 ÷ {zh}曾中断的小区数",
            definition_en=f"communities with {track} restored ÷ communities whose {track} was cut",
        )
        for track, zh in (("water", "供水"), ("power", "供电"), ("gas", "供气"))
    ),
    # -- roads --------------------------------------------------------------------------------------------------
    Metric(
        "road_collapse_total",
        "道路塌陷点",
        "road collapse points",
        _count("road_collapse"),
        unit_zh="个",
        group="road",
        article_value="236",
        definition_zh="已上报的道路塌陷点总数",
        definition_en="road collapse points reported",
    ),
    Metric(
        "road_collapse_handled",
        "塌陷点已处理完成",
        "collapse points handled",
        _count("road_collapse", status=("restored",)),
        unit_zh="个",
        group="road",
        article_value="167",
        definition_zh="状态为“已修复”的道路塌陷点数",
        definition_en="road collapse points whose status is restored",
    ),
    Metric(
        "road_collapse_remaining",
        "塌陷点正在施工",
        "collapse points still under work",
        _count("road_collapse", exclude_status=("restored",)),
        unit_zh="个",
        group="road",
        definition_zh="尚未修复的道路塌陷点数",
        definition_en="road collapse points not yet restored",
    ),
    Metric(
        "road_collapse_passable",
        "塌陷点已恢复通行",
        "collapse points passable",
        _count("road_collapse", status=("passable", "restored")),
        unit_zh="个",
        group="road",
        definition_zh="状态为“已通行”或“已修复”的塌陷点数",
        definition_en="road collapse points passable or restored",
    ),
    Metric(
        "road_collapse_main_passable_rate",
        "主干道塌陷点通行率",
        "main-road collapse points passable",
        _count("road_collapse", status=("passable", "restored"), segment=seg(road_class="main")),
        _count("road_collapse", segment=seg(road_class="main")),
        percent=True,
        precision=2,
        unit_zh="%",
        unit_en="%",
        group="road",
        definition_zh="主干道上已通行或已修复的塌陷点数 ÷ 主干道塌陷点数(先主后次、先通后畅)",
        definition_en="main-road collapse points passable or restored ÷ all main-road collapse points",
    ),
    Metric(
        "road_collapse_handled_rate",
        "塌陷点处理率",
        "collapse points handled, share",
        _count("road_collapse", status=("restored",)),
        _count("road_collapse"),
        percent=True,
        precision=2,
        unit_zh="%",
        unit_en="%",
        group="road",
        definition_zh="已修复塌陷点数 ÷ 塌陷点总数",
        definition_en="restored ÷ all road collapse points",
    ),
    # -- municipal facilities ----------------------------------------------------------------------------------
    Metric(
        "signals_ring4_repaired_rate",
        "四环内信号灯修复率",
        "traffic signals inside the 4th ring repaired",
        _count(
            "municipal_facility",
            status=("repaired",),
            segment=seg(facility_type="traffic_signal", inside_ring4="true"),
        ),
        _count("municipal_facility", segment=seg(facility_type="traffic_signal", inside_ring4="true")),
        percent=True,
        precision=2,
        unit_zh="%",
        unit_en="%",
        group="facility",
        definition_zh="四环内已修复信号灯数 ÷ 四环内损坏信号灯数(是否在四环内由空间判定)",
        definition_en="repaired ÷ damaged traffic signals inside the 4th ring (inside is a spatial test)",
    ),
    *(
        Metric(
            f"{ftype}_repaired_rate",
            f"{zh}修复率",
            f"{en} repaired",
            _count("municipal_facility", status=("repaired",), segment=seg(facility_type=ftype)),
            _count("municipal_facility", segment=seg(facility_type=ftype)),
            percent=True,
            precision=2,
            unit_zh="%",
            unit_en="%",
            group="facility",
            definition_zh=f"已修复{zh}数 ÷ 损坏{zh}数",
            definition_en=f"repaired ÷ damaged {en}s",
        )
        for ftype, zh, en in (
            ("street_light", "路灯", "street light"),
            ("public_toilet", "公厕", "public toilet"),
        )
    ),
    # -- silt, garbage, disinfection (两清一消) ------------------------------------------------------------------
    Metric(
        "silt_total",
        "清淤点",
        "silt sites",
        _count("silt_site"),
        unit_zh="处",
        group="silt",
        definition_zh="上报的清淤点总数",
        definition_en="silt sites reported",
    ),
    Metric(
        "silt_sites_cleared",
        "清运淤泥点位",
        "silt sites cleared",
        _count("silt_site", status=("cleared", "disinfected")),
        unit_zh="处",
        group="silt",
        article_value="1247",
        definition_zh="状态为“已清淤”或“已消杀”的清淤点数",
        definition_en="silt sites whose status is cleared or disinfected",
    ),
    Metric(
        "silt_m3",
        "清运淤泥量",
        "silt removed",
        Selector("silt_site", quantity="silt_m3"),
        unit_zh="立方米",
        unit_en="m³",
        group="silt",
        article_value="2600",
        definition_zh="清淤点工作记录中清运淤泥立方米数之和",
        definition_en="sum of m³ of silt in the silt sites' work logs",
    ),
    Metric(
        "garbage_t",
        "清运垃圾杂物",
        "garbage removed",
        Selector("silt_site", quantity="garbage_t"),
        unit_zh="吨",
        unit_en="t",
        group="silt",
        article_value="7779",
        definition_zh="清淤点工作记录中清运垃圾杂物吨数之和",
        definition_en="sum of tonnes of garbage in the silt sites' work logs",
    ),
    Metric(
        "silt_sites_disinfected",
        "两清一消闭环点位",
        "silt sites closed (两清一消)",
        _count("silt_site", status=("disinfected",)),
        unit_zh="处",
        group="silt",
        definition_zh="淤泥、垃圾清运并已消杀的点位数",
        definition_en="silt sites cleared and disinfected",
    ),
    Metric(
        "disinfection_points",
        "固定消杀点位",
        "fixed disinfection points",
        _count("disinfection_point"),
        unit_zh="个",
        group="silt",
        definition_zh="在用的固定消杀点位数",
        definition_en="fixed disinfection points",
    ),
    Metric(
        "disinfection_coverage",
        "当日消杀覆盖率",
        "disinfection coverage today",
        Selector("disinfection_point", quantity="check_in"),
        _count("disinfection_point"),
        percent=True,
        precision=2,
        unit_zh="%",
        unit_en="%",
        group="silt",
        definition_zh="当日已打卡消杀的点位数 ÷ 固定消杀点位数",
        definition_en="points checked in that day ÷ fixed disinfection points",
    ),
    # -- enterprises (复工复产) ----------------------------------------------------------------------------------
    Metric(
        "enterprises_stopped",
        "停产企业",
        "enterprises that stopped",
        _count("enterprise", status=ENTERPRISE_STOPPED),
        unit_zh="家",
        group="enterprise",
        article_value="7630",
        definition_zh="曾停产的企业数(现状态为停产、部分复工或全面复工)",
        definition_en="enterprises that stopped (now stopped, partly or fully restarted)",
    ),
    Metric(
        "enterprises_restarted",
        "已经恢复企业",
        "enterprises restarted",
        _count("enterprise", status=ENTERPRISE_RESTARTED),
        unit_zh="家",
        group="enterprise",
        article_value="7562",
        definition_zh="停产后部分复工或全面复工的企业数",
        definition_en="stopped enterprises partly or fully restarted",
    ),
    Metric(
        "restart_headcount_rate",
        "复工率(按家数)",
        "restart rate (head count)",
        _count("enterprise", status=ENTERPRISE_RESTARTED),
        _count("enterprise", status=ENTERPRISE_STOPPED),
        percent=True,
        precision=2,
        unit_zh="%",
        unit_en="%",
        group="enterprise",
        definition_zh="已恢复企业数 ÷ 停产企业数",
        definition_en="restarted ÷ stopped enterprises, by head count",
    ),
    Metric(
        "composite_restart_rate",
        "综合复工率",
        "composite restart rate",
        Selector("enterprise", quantity="level", status=ENTERPRISE_STOPPED),
        _count("enterprise", status=ENTERPRISE_STOPPED),
        weight=100.0,
        percent=True,
        precision=2,
        unit_zh="%",
        unit_en="%",
        group="enterprise",
        article_value="98.75",
        definition_zh="停产企业恢复产能的平均值:全面复工计1,部分复工计其上报产能比例,仍停产计0",
        definition_en="mean restored capacity of the enterprises that stopped: fully restarted 1, "
        "partly restarted its reported capacity share, stopped 0",
    ),
    Metric(
        "above_size_total",
        "规模以上工业企业",
        "above-size industrial enterprises",
        _count("enterprise", status=ENTERPRISE_STOPPED, segment=seg(above_size="true")),
        unit_zh="家",
        group="enterprise",
        article_value="282",
        definition_zh="曾停产的规上工业企业数",
        definition_en="above-size industrial enterprises that stopped",
    ),
    Metric(
        "above_size_restarted",
        "规上工业企业已复产",
        "above-size enterprises restarted",
        _count("enterprise", status=ENTERPRISE_RESTARTED, segment=seg(above_size="true")),
        unit_zh="家",
        group="enterprise",
        definition_zh="部分或全面复工的规上工业企业数",
        definition_en="above-size industrial enterprises partly or fully restarted",
    ),
    Metric(
        "above_size_restart_share",
        "规上工业企业复产比例",
        "above-size restart share",
        _count("enterprise", status=ENTERPRISE_RESTARTED, segment=seg(above_size="true")),
        _count("enterprise", status=ENTERPRISE_STOPPED, segment=seg(above_size="true")),
        percent=True,
        precision=0,
        unit_zh="%",
        unit_en="%",
        group="enterprise",
        article_value="99",
        definition_zh="已复产规上工业企业数 ÷ 停产规上工业企业数,取整",
        definition_en="restarted ÷ stopped above-size industrial enterprises, printed as a whole percent",
    ),
    # -- rivers -------------------------------------------------------------------------------------------------
    Metric(
        "river_hazards_total",
        "河道险情",
        "river-bank hazards",
        _count("river_hazard"),
        unit_zh="处",
        group="river",
        definition_zh="排查发现的河道两岸险情数",
        definition_en="river-bank hazards found",
    ),
    Metric(
        "river_hazards_secured",
        "河道险情已除险",
        "river-bank hazards secured",
        _count("river_hazard", status=("secured",)),
        unit_zh="处",
        group="river",
        definition_zh="已除险加固的河道险情数",
        definition_en="river-bank hazards secured",
    ),
    # -- rescue forces ------------------------------------------------------------------------------------------
    Metric(
        "rescue_party_orgs",
        "参与救援基层党组织",
        "grassroots party organisations in the rescue",
        Selector("team", segment=seg(type="party_org")),
        unit_zh="个",
        group="rescue",
        article_value="455",
        definition_zh="登记参与救援的基层党组织数",
        definition_en="registered grassroots party organisations",
    ),
    Metric(
        "rescue_enterprises_groups",
        "参与救援企业、社会团体",
        "enterprises and social groups in the rescue",
        Selector("team", segment=seg(type=("enterprise", "social_group"))),
        unit_zh="家",
        group="rescue",
        article_value="136",
        definition_zh="登记参与救援的企业和社会团体数",
        definition_en="registered enterprises and social groups",
    ),
    Metric(
        "rescue_volunteers",
        "参与救援党员干部志愿者",
        "volunteers in the rescue",
        Selector(
            "team",
            quantity="members",
            segment=seg(type=("party_org", "enterprise", "social_group", "volunteer")),
        ),
        unit_zh="人",
        group="rescue",
        definition_zh="登记救援力量的人数之和",
        definition_en="members of the registered rescue forces",
    ),
    # -- work items (13710) -------------------------------------------------------------------------------------
    Metric(
        "work_items_open",
        "在办事项",
        "work items open",
        _count("work_item", exclude_status=("closed",)),
        unit_zh="件",
        group="work_item",
        definition_zh="尚未销号的事项数",
        definition_en="work items not closed",
    ),
    Metric(
        "work_items_closed",
        "已销号事项",
        "work items closed",
        _count("work_item", status=("closed",)),
        unit_zh="件",
        group="work_item",
        definition_zh="已销号的事项数",
        definition_en="work items closed",
    ),
    Metric(
        "work_items_overdue_feedback",
        "超3天未反馈事项",
        "work items overdue for feedback (3 days)",
        Selector("work_item", quantity="overdue_feedback"),
        unit_zh="件",
        group="work_item",
        definition_zh="立项超过3天仍未反馈的事项数",
        definition_en="opened over 3 days ago with no feedback",
    ),
    Metric(
        "work_items_overdue_resolve",
        "超期未解决事项",
        "work items overdue for resolution (7/30 days)",
        Selector("work_item", quantity="overdue_resolve"),
        unit_zh="件",
        group="work_item",
        definition_zh="一般问题超过7天、重大问题超过30天仍未解决的事项数",
        definition_en="general items unsolved after 7 days, major ones after 30",
    ),
)

METRICS_BY_KEY: dict[str, Metric] = {m.key: m for m in METRICS}
