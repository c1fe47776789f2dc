"""The registry of site kinds: geometry, life cycle, attributes and labels of each, declared once."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from recovery import errors
from recovery.errors import TransitionError, UnknownKindError, ValidationError
from recovery.terms import Term, Vocabulary, merged

#: a status of a life cycle is a term of the vocabulary (key, Chinese and English labels, aliases)
Status = Term


@dataclass(frozen=True)
class Attribute:
    """A kind-specific attribute: its type, the values it may take, and whether it must be given."""

    key: str
    zh: str
    en: str
    type: type = str
    #: the closed list of values (a vocabulary: any label or alias of a value is read as its key)
    choices: Vocabulary | None = None
    required: bool = False
    minimum: float | None = None
    maximum: float | None = None
    #: derived attributes are computed by the app (spatial joins), never accepted from input
    derived: bool = False

    def clean(self, value: Any) -> Any:
        if self.type is bool:  # a JSON body says true or false; a spreadsheet's 是/否 is read at the import
            if not isinstance(value, bool):
                raise ValidationError("Attribute %(attr)s must be true or false.", attr=self.key)
        elif self.type is int:
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValidationError("Attribute %(attr)s must be a whole number.", attr=self.key)
        elif self.type is float:
            if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
                raise ValidationError("Attribute %(attr)s must be a number.", attr=self.key)
            value = float(value)
        elif self.type is str:
            if not isinstance(value, str) or not value.strip():
                raise ValidationError("Attribute %(attr)s must be non-empty text.", attr=self.key)
            value = value.strip()
        if self.choices is not None:
            value = self.choices.resolve(value)
        if self.minimum is not None and value < self.minimum:
            raise ValidationError(
                "Attribute %(attr)s must be at least %(min)s.", attr=self.key, min=self.minimum
            )
        if self.maximum is not None and value > self.maximum:
            raise ValidationError(
                "Attribute %(attr)s must be at most %(max)s.", attr=self.key, max=self.maximum
            )
        return value


@dataclass(frozen=True)
class Measure:
    """A quantity an event may carry. `flow` measures add up over time (m³ removed); the others are levels."""

    key: str
    zh: str
    en: str
    unit: str
    minimum: float = 0.0
    maximum: float = 1e9
    flow: bool = True


MEASURES: dict[str, Measure] = {
    m.key: m
    for m in (
        Measure("silt_m3", "清运淤泥", "silt removed", "m³", maximum=1e6),
        Measure("garbage_t", "清运垃圾杂物", "garbage removed", "t", maximum=1e6),
        Measure("capacity_pct", "产能恢复", "capacity restored", "%", maximum=100.0, flow=False),
        Measure("length_m", "加固长度", "length reinforced", "m", maximum=1e5),
    )
}


@dataclass(frozen=True)
class SiteKind:
    """One kind of site. Transitions not listed are refused; a kind may track several utilities at once."""

    key: str
    zh: str
    en: str
    prefix: str
    geometry_types: tuple[str, ...]
    statuses: tuple[Status, ...]
    attributes: tuple[Attribute, ...] = ()
    measures: tuple[str, ...] = ()
    #: extra transitions beyond "forward to any later status"
    extra_transitions: tuple[tuple[str, str], ...] = ()
    #: independent sub-life-cycles (utilities of a residential community), each with its own statuses
    tracks: tuple[Status, ...] = ()
    track_statuses: tuple[Status, ...] = ()
    #: attributes whose values split the daily roll-up (so metrics can filter on them cheaply)
    segment_by: tuple[str, ...] = ()
    #: the capacity level implied by a status, for kinds that have one (enterprises)
    status_capacity: Mapping[str, float] = field(default_factory=dict)
    recurring_check_in: bool = False

    @cached_property
    def status_vocabulary(self) -> Vocabulary:
        """This kind's statuses, its utilities' included, as the vocabulary `status.<kind>`."""
        terms = merged((*self.statuses, *self.track_statuses))
        return Vocabulary(f"status.{self.key}", f"{self.zh}状态", f"{self.en} status", terms)

    @cached_property
    def track_vocabulary(self) -> Vocabulary:
        return Vocabulary(f"track.{self.key}", "设施", "utility", self.tracks)

    def status_key(self, text: Any) -> Any:
        """The status key `text` names (key, label or alias); text naming none is returned for the life cycle
        to refuse with its own message."""
        if isinstance(text, str) and text in self._plain_status_keys:  # the usual case: a key, looked up once
            return text
        keys = self.status_vocabulary.resolve_all(text)
        return keys[0] if len(keys) == 1 else text

    def track_key(self, text: Any) -> Any:
        if isinstance(text, str) and text in self.track_keys:
            return text
        keys = self.track_vocabulary.resolve_all(text) if self.tracks else ()
        return keys[0] if len(keys) == 1 else text

    # precomputed once per kind (the write path asks these for every event)
    @cached_property
    def _plain_status_keys(self) -> frozenset[str]:
        """The status keys that name only themselves (as `status_key` would resolve them)."""
        return frozenset(
            t.key
            for t in self.status_vocabulary.terms
            if self.status_vocabulary.resolve_all(t.key) == (t.key,)
        )

    @cached_property
    def track_keys(self) -> frozenset[str]:
        return frozenset(t.key for t in self.tracks if self.track_vocabulary.resolve_all(t.key) == (t.key,))

    @cached_property
    def _status_set(self) -> frozenset[str]:
        return frozenset(self.status_keys)

    @cached_property
    def _track_set(self) -> frozenset[str]:
        return frozenset(t.key for t in self.tracks)

    @cached_property
    def status_keys(self) -> tuple[str, ...]:
        return tuple(s.key for s in self.statuses)

    @cached_property
    def _track_order(self) -> dict[str, int]:
        return {s.key: i for i, s in enumerate(self.track_statuses)}

    @cached_property
    def _next(self) -> dict[str | None, tuple[str, ...]]:
        """`allowed_next` of every status (and of none)."""
        keys = self.status_keys
        table: dict[str | None, tuple[str, ...]] = {None: (keys[0],)}
        for i, current in enumerate(keys):
            later = keys[i + 1 :]
            table[current] = later + tuple(
                to for frm, to in self.extra_transitions if frm == current and to not in later
            )
        return table

    @cached_property
    def initial_status(self) -> str:
        return self.statuses[0].key

    @cached_property
    def done_status(self) -> str:
        return self.statuses[-1].key

    def status(self, key: str) -> Status:
        for status in (*self.statuses, *self.track_statuses):
            if status.key == key:
                return status
        raise ValidationError("Unknown status %(status)s for %(kind)s.", status=key, kind=self.key)

    def allowed_next(self, current: str | None) -> tuple[str, ...]:
        return self._next.get(current, ())

    def check_transition(self, current: str | None, target: str, track: str | None = None) -> None:
        """Raise TransitionError unless moving from `current` to `target` is allowed (on `track`, if any)."""
        if self.tracks:
            if not isinstance(track, str) or track not in self._track_set:
                raise ValidationError(
                    "A %(kind)s change must name the utility: one of %(tracks)s.",
                    kind=self.key,
                    tracks=", ".join(t.key for t in self.tracks),
                )
            order = self._track_order
            if not isinstance(target, str) or target not in order:
                raise ValidationError("Unknown status %(status)s for %(kind)s.", status=target, kind=self.key)
            if current is not None and order[target] <= order[current]:
                raise TransitionError(
                    "%(kind)s cannot go from %(from)s to %(to)s.",
                    kind=self.key,
                    to=target,
                    **{"from": current},
                )
            return
        if track is not None:
            raise ValidationError("%(kind)s has no utilities to name.", kind=self.key)
        if not isinstance(target, str) or target not in self._status_set:
            raise ValidationError("Unknown status %(status)s for %(kind)s.", status=target, kind=self.key)
        if target not in self.allowed_next(current):
            raise TransitionError(
                "%(kind)s cannot go from %(from)s to %(to)s.", kind=self.key, to=target, **{"from": current}
            )

    def clean_attributes(self, raw: Mapping[str, Any] | None) -> dict[str, Any]:
        raw = dict(raw or {})
        known = {a.key: a for a in self.attributes}
        unknown = sorted(set(raw) - {k for k, a in known.items() if not a.derived})
        if unknown:
            raise ValidationError(
                "Unknown attribute %(attr)s for %(kind)s.", attr=", ".join(unknown), kind=self.key
            )
        cleaned: dict[str, Any] = {}
        for attribute in self.attributes:
            if attribute.derived:
                continue
            if attribute.key in raw and raw[attribute.key] is not None:
                cleaned[attribute.key] = attribute.clean(raw[attribute.key])
            elif attribute.required:
                raise ValidationError(
                    "Attribute %(attr)s is required for %(kind)s.", attr=attribute.key, kind=self.key
                )
        return cleaned

    def segment(self, attributes: Mapping[str, Any]) -> str:
        """The roll-up segment of a site, e.g. `road_class=main` or `above_size=true`."""
        parts = []
        for key in self.segment_by:
            value = attributes.get(key)
            if isinstance(value, bool):
                value = "true" if value else "false"
            parts.append(f"{key}={value}")
        return ";".join(parts)

    def capacity_for(self, status: str, measures: Mapping[str, Any]) -> float | None:
        if not self.status_capacity and "capacity_pct" not in self.measures:
            return None
        if status in self.status_capacity:
            return self.status_capacity[status]
        value = measures.get("capacity_pct")
        return float(value) if value is not None else None


def _statuses(*triples: tuple) -> tuple[Status, ...]:
    return tuple(Status(*t) for t in triples)


def _choices(key: str, zh: str, en: str, *terms: tuple) -> Vocabulary:
    return Vocabulary(key, zh, en, tuple(Term(*t) for t in terms))


ROAD_CLASS = _choices(
    "road_class",
    "道路等级",
    "road class",
    ("main", "主干道", "main road", ("主干路", "主路")),
    ("secondary", "次干道", "secondary road", ("次干路", "次路")),
    ("branch", "支路", "branch road", ("支道",)),
)
PLACE_TYPE = _choices(
    "place_type",
    "点位类型",
    "place type",
    ("garage", "地下车库", "garage", ("车库",)),
    ("market", "市场", "market"),
    ("street", "街道", "street", ("道路",)),
    ("community", "小区", "community", ("社区",)),
    ("underpass", "下穿通道", "underpass", ("下穿隧道", "地道")),
)
FACILITY_TYPE = _choices(
    "facility_type",
    "设施类型",
    "facility type",
    ("street_light", "路灯", "street light"),
    ("public_toilet", "公厕", "public toilet", ("公共厕所",)),
    ("traffic_signal", "信号灯", "traffic signal", ("交通信号灯", "红绿灯")),
)
#: the rivers' keys are their Chinese names, as the seed data and the first imports stored them
RIVER = _choices(
    "river",
    "河道",
    "river",
    ("贾鲁河", "贾鲁河", "Jialu River", ("jialu", "Jialu")),
    ("索须河", "索须河", "Suoxu River", ("suoxu", "Suoxu")),
    ("须水河", "须水河", "Xushui River", ("xushui", "Xushui")),
)
POINT_TYPE = _choices(
    "point_type",
    "点位类型",
    "point type",
    ("market", "市场", "market"),
    ("community", "小区", "community", ("社区",)),
    ("station", "车站", "station", ("站点",)),
    ("school", "学校", "school"),
    ("garbage_station", "垃圾中转站", "garbage station", ("垃圾站",)),
)


KINDS: dict[str, SiteKind] = {
    k.key: k
    for k in (
        SiteKind(
            "road_collapse",
            "道路塌陷点",
            "road collapse",
            "RC",
            ("Point", "LineString"),
            _statuses(
                ("reported", "已上报", "reported"),
                ("secured", "已围挡", "secured"),
                ("repairing", "抢修中", "repairing"),
                ("passable", "已通行", "passable"),
                ("restored", "已修复", "restored"),
            ),
            attributes=(
                Attribute("road_class", "道路等级", "road class", choices=ROAD_CLASS, required=True),
                Attribute("road_name", "道路名称", "road name"),
            ),
            segment_by=("road_class",),
        ),
        SiteKind(
            "silt_site",
            "清淤点",
            "silt site",
            "SL",
            ("Point", "Polygon"),
            _statuses(
                ("reported", "已上报", "reported"),
                ("clearing", "清理中", "clearing"),
                ("cleared", "已清淤", "cleared"),
                ("disinfected", "已消杀", "disinfected"),
            ),
            attributes=(Attribute("place_type", "点位类型", "place type", choices=PLACE_TYPE),),
            measures=("silt_m3", "garbage_t"),
        ),
        SiteKind(
            "municipal_facility",
            "市政设施",
            "municipal facility",
            "MF",
            ("Point",),
            _statuses(
                ("damaged", "损坏", "damaged"),
                ("repairing", "维修中", "repairing"),
                ("repaired", "已修复", "repaired"),
            ),
            attributes=(
                Attribute("facility_type", "设施类型", "facility type", choices=FACILITY_TYPE, required=True),
                Attribute("inside_ring4", "四环内", "inside the 4th ring", type=bool, derived=True),
            ),
            segment_by=("facility_type", "inside_ring4"),
        ),
        SiteKind(
            "river_hazard",
            "河道险情",
            "river-bank hazard",
            "RH",
            ("LineString",),
            _statuses(
                ("found", "排查发现", "found"),
                ("reinforcing", "加固中", "reinforcing"),
                ("secured", "已除险", "secured"),
            ),
            attributes=(
                Attribute("river", "河道", "river", choices=RIVER, required=True),
                Attribute("length_m", "长度(米)", "length (m)", type=float, derived=True),
            ),
            measures=("length_m",),
            segment_by=("river",),
        ),
        SiteKind(
            "disinfection_point",
            "消杀点",
            "disinfection point",
            "DP",
            ("Point",),
            _statuses(("active", "在用", "active")),
            attributes=(Attribute("point_type", "点位类型", "point type", choices=POINT_TYPE),),
            recurring_check_in=True,
        ),
        SiteKind(
            "enterprise",
            "企业",
            "enterprise",
            "EN",
            ("Point",),
            _statuses(
                ("operating", "正常生产", "operating"),
                ("stopped", "停产", "stopped"),
                ("partly_restarted", "部分复工", "partly restarted"),
                ("restarted", "全面复工", "restarted"),
            ),
            attributes=(
                Attribute("industry", "行业", "industry"),
                Attribute("above_size", "规上工业", "above-size industrial", type=bool),
                Attribute("employees", "职工人数", "employees", type=int, minimum=0, maximum=1_000_000),
            ),
            measures=("capacity_pct",),
            extra_transitions=(
                ("partly_restarted", "partly_restarted"),
                ("partly_restarted", "stopped"),
                ("restarted", "stopped"),
            ),
            segment_by=("above_size",),
            status_capacity={"operating": 100.0, "stopped": 0.0, "restarted": 100.0},
        ),
        SiteKind(
            "residential_community",
            "居民小区",
            "residential community",
            "RS",
            ("Polygon", "MultiPolygon"),
            _statuses(
                ("affected", "受影响", "affected"),
                ("restored", "已全部恢复", "all restored"),
            ),
            attributes=(Attribute("households", "户数", "households", type=int, minimum=0, maximum=100_000),),
            tracks=_statuses(("water", "供水", "water"), ("power", "供电", "power"), ("gas", "供气", "gas")),
            track_statuses=_statuses(("cut", "中断", "cut"), ("restored", "已恢复", "restored")),
        ),
    )
}


#: the kinds as a vocabulary: 道路塌陷点, road collapse and road_collapse name the same kind
KIND = Vocabulary("kind", "点位类型", "site kind", tuple(Term(k.key, k.zh, k.en) for k in KINDS.values()))


def get_kind(key: str) -> SiteKind:
    """The kind `key` names: its key, or any label or alias of the kind vocabulary."""
    kind = KINDS.get(key) if isinstance(key, str) else None
    if kind is not None:
        return kind
    keys = KIND.resolve_all(key) if isinstance(key, str) else ()
    if not keys:
        raise UnknownKindError("Unknown site kind %(kind)s.", kind=key)
    return KINDS[keys[0]]


def clean_measures(kind: SiteKind, raw: Mapping[str, Any] | None) -> dict[str, float]:
    """Validate an event's measures against what the kind records; numbers only, finite, in range."""
    cleaned: dict[str, float] = {}
    for key, value in (raw or {}).items():
        measure = MEASURES.get(key)
        if measure is None or key not in kind.measures:
            raise ValidationError("%(kind)s does not record %(measure)s.", kind=kind.key, measure=key)
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or value != value
            or value
            in (
                float("inf"),
                float("-inf"),
            )
        ):
            raise ValidationError("Measure %(measure)s must be a finite number.", measure=key)
        if not measure.minimum <= value <= measure.maximum:
            raise ValidationError(
                "Measure %(measure)s must be between %(min)s and %(max)s.",
                measure=key,
                min=measure.minimum,
                max=measure.maximum,
            )
        cleaned[key] = round(float(value), 3)
    return cleaned


#: Rendering helpers for labels, used by templates and reports.
def kind_label(key: str, locale: str = "zh") -> str:
    return KIND.label(get_kind(key).key, locale)


def labelled_error_params(params: dict[str, Any], locale: str) -> dict[str, Any]:
    """An error's `kind` shown by its label, and its `status`, `from` and `to` by the labels of that kind's life
    cycle (道路塌陷点, 已修复); other parameters as they are."""
    kind = KINDS.get(params["kind"]) if isinstance(params.get("kind"), str) else None
    if kind is None:
        return params
    params = {**params, "kind": KIND.label(kind.key, locale)}
    labels = {t.key: t.label(locale) for t in kind.status_vocabulary.terms}
    for name in ("status", "from", "to"):
        if isinstance(params.get(name), str) and params[name] in labels:
            params[name] = labels[params[name]]
    return params


errors.LABELLERS["kind"] = labelled_error_params
