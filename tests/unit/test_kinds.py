"""The site-kind registry: labels, life cycles, transitions, utilities, attributes, measures, segments."""

from __future__ import annotations

import math

import pytest

from recovery.errors import TransitionError, UnknownKindError, ValidationError
from recovery.kinds import KINDS, clean_measures, get_kind, kind_label

# kind -> (中文, initial status, done status, geometry types): the domain table of BRIEF §4
DOMAIN = {
    "road_collapse": ("道路塌陷点", "reported", "restored", {"Point", "LineString"}),
    "silt_site": ("清淤点", "reported", "disinfected", {"Point", "Polygon"}),
    "municipal_facility": ("市政设施", "damaged", "repaired", {"Point"}),
    "river_hazard": ("河道险情", "found", "secured", {"LineString"}),
    "disinfection_point": ("消杀点", "active", "active", {"Point"}),
    "enterprise": ("企业", "operating", "restarted", {"Point"}),
    "residential_community": ("居民小区", "affected", "restored", {"Polygon", "MultiPolygon"}),
}


def test_registry_holds_exactly_the_seven_kinds():
    assert set(KINDS) == set(DOMAIN)


@pytest.mark.parametrize(("key", "zh", "initial", "done", "geometries"), [(k, *v) for k, v in DOMAIN.items()])
def test_kind_labels_and_life_cycle_ends(key, zh, initial, done, geometries):
    kind = get_kind(key)
    assert kind.zh == zh
    assert kind_label(key, "zh_CN") == zh
    assert kind_label(key, "en") == kind.en != zh
    assert kind.initial_status == initial
    assert kind.done_status == done
    assert set(kind.geometry_types) == geometries
    assert len(set(kind.status_keys)) == len(kind.status_keys)


def test_road_collapse_statuses_in_order_with_chinese_labels():
    kind = get_kind("road_collapse")
    assert [(s.key, s.zh) for s in kind.statuses] == [
        ("reported", "已上报"),
        ("secured", "已围挡"),
        ("repairing", "抢修中"),
        ("passable", "已通行"),
        ("restored", "已修复"),
    ]


@pytest.mark.parametrize("key", [None, "", "collapse", "road collapse point", 7, ["enterprise"]])
def test_unknown_kind_is_refused(key):
    with pytest.raises(UnknownKindError):
        get_kind(key)


@pytest.mark.parametrize(
    "name", ["road_collapse", "ROAD_COLLAPSE", "道路塌陷点", "Road Collapse", "ｒｏａｄ_ｃｏｌｌａｐｓｅ"]
)
def test_a_kind_is_named_by_any_of_its_names(name):
    assert get_kind(name).key == "road_collapse"


@pytest.mark.parametrize(
    ("kind", "current", "target"),
    [
        ("road_collapse", None, "reported"),
        ("road_collapse", "reported", "secured"),
        ("road_collapse", "reported", "restored"),  # skipping steps is allowed
        ("road_collapse", "secured", "passable"),
        ("road_collapse", "passable", "restored"),
        ("silt_site", "reported", "disinfected"),
        ("silt_site", "clearing", "cleared"),
        ("municipal_facility", "damaged", "repaired"),
        ("river_hazard", "found", "reinforcing"),
        ("enterprise", "operating", "stopped"),
        ("enterprise", "stopped", "restarted"),
        ("enterprise", "stopped", "partly_restarted"),
        ("enterprise", "partly_restarted", "partly_restarted"),  # a new capacity share
        ("enterprise", "partly_restarted", "restarted"),
    ],
)
def test_allowed_transitions(kind, current, target):
    k = get_kind(kind)
    k.check_transition(current, target)
    assert target in k.allowed_next(current)


@pytest.mark.parametrize(
    ("kind", "current", "target"),
    [
        ("road_collapse", None, "secured"),  # a new site starts at the initial status
        ("road_collapse", "secured", "reported"),
        ("road_collapse", "restored", "repairing"),
        ("road_collapse", "repairing", "repairing"),
        ("road_collapse", "restored", "restored"),
        ("silt_site", "disinfected", "clearing"),
        ("municipal_facility", "repaired", "damaged"),
        ("river_hazard", "secured", "found"),
        ("enterprise", "stopped", "operating"),
        ("enterprise", "restarted", "partly_restarted"),
        ("enterprise", "stopped", "stopped"),
        ("disinfection_point", "active", "active"),
    ],
)
def test_refused_transitions(kind, current, target):
    k = get_kind(kind)
    with pytest.raises(TransitionError):
        k.check_transition(current, target)
    assert target not in k.allowed_next(current)


@pytest.mark.parametrize(
    ("kind", "target"), [("road_collapse", "cleared"), ("silt_site", "open"), ("enterprise", "")]
)
def test_unknown_target_status_is_a_validation_error(kind, target):
    with pytest.raises(ValidationError):
        get_kind(kind).check_transition(get_kind(kind).initial_status, target)


def test_non_tracked_kind_refuses_a_utility():
    with pytest.raises(ValidationError):
        get_kind("road_collapse").check_transition("reported", "secured", track="water")


def test_residential_community_tracks_water_power_gas():
    kind = get_kind("residential_community")
    assert [(t.key, t.zh) for t in kind.tracks] == [("water", "供水"), ("power", "供电"), ("gas", "供气")]
    assert [s.key for s in kind.track_statuses] == ["cut", "restored"]


@pytest.mark.parametrize("track", ["water", "power", "gas"])
def test_utility_goes_from_cut_to_restored(track):
    kind = get_kind("residential_community")
    kind.check_transition(None, "cut", track)
    kind.check_transition("cut", "restored", track)


@pytest.mark.parametrize(
    ("current", "target"), [("restored", "cut"), ("cut", "cut"), ("restored", "restored")]
)
def test_utility_cannot_go_back_or_stay(current, target):
    with pytest.raises(TransitionError):
        get_kind("residential_community").check_transition(current, target, "power")


@pytest.mark.parametrize(
    ("track", "target"), [(None, "cut"), ("internet", "cut"), ("", "restored"), ("water", "affected")]
)
def test_utility_change_must_name_a_known_track_and_status(track, target):
    with pytest.raises(ValidationError):
        get_kind("residential_community").check_transition(None, target, track)


@pytest.mark.parametrize(
    ("kind", "raw", "expected"),
    [
        ("road_collapse", {"road_class": "main"}, {"road_class": "main"}),
        (
            "road_collapse",
            {"road_class": "branch", "road_name": "  长椿路 "},
            {"road_class": "branch", "road_name": "长椿路"},
        ),
        ("road_collapse", {"road_class": "secondary", "road_name": None}, {"road_class": "secondary"}),
        ("enterprise", {"above_size": True, "employees": 0}, {"above_size": True, "employees": 0}),
        (
            "enterprise",
            {"employees": 1_000_000, "industry": "装备制造业"},
            {"employees": 1_000_000, "industry": "装备制造业"},
        ),
        ("enterprise", None, {}),
        ("river_hazard", {"river": "贾鲁河"}, {"river": "贾鲁河"}),
        ("residential_community", {"households": 1200}, {"households": 1200}),
        ("municipal_facility", {"facility_type": "public_toilet"}, {"facility_type": "public_toilet"}),
    ],
)
def test_valid_attributes_are_cleaned(kind, raw, expected):
    assert get_kind(kind).clean_attributes(raw) == expected


@pytest.mark.parametrize(
    ("kind", "raw"),
    [
        ("road_collapse", {}),  # road_class is required
        ("road_collapse", {"road_class": None}),
        ("road_collapse", {"road_class": "highway"}),
        ("road_collapse", {"road_class": "main", "road_name": "   "}),
        ("road_collapse", {"road_class": 1}),
        ("municipal_facility", {}),
        ("municipal_facility", {"facility_type": "bench"}),
        ("river_hazard", {"river": "黄河"}),
        ("enterprise", {"above_size": "true"}),
        ("enterprise", {"above_size": 1}),
        ("enterprise", {"employees": True}),  # a bool is not a whole number
        ("enterprise", {"employees": 12.0}),
        ("enterprise", {"employees": "12"}),
        ("enterprise", {"employees": -1}),
        ("enterprise", {"employees": 1_000_001}),
        ("residential_community", {"households": 100_001}),
        ("silt_site", {"place_type": "park"}),
        ("enterprise", {"colour": "red"}),  # unknown attribute
        ("road_collapse", {"road_class": "main", "priority": 1}),
        ("municipal_facility", {"facility_type": "street_light", "inside_ring4": True}),  # derived
        ("river_hazard", {"river": "索须河", "length_m": 120.0}),  # derived
    ],
)
def test_invalid_attributes_are_refused(kind, raw):
    with pytest.raises(ValidationError):
        get_kind(kind).clean_attributes(raw)


@pytest.mark.parametrize(
    ("kind", "raw", "expected"),
    [
        ("silt_site", {"silt_m3": 12.5, "garbage_t": 3}, {"silt_m3": 12.5, "garbage_t": 3.0}),
        ("silt_site", {"silt_m3": 0}, {"silt_m3": 0.0}),
        ("enterprise", {"capacity_pct": 100}, {"capacity_pct": 100.0}),
        ("enterprise", {"capacity_pct": 37.5}, {"capacity_pct": 37.5}),
        ("river_hazard", {"length_m": 250}, {"length_m": 250.0}),
        ("road_collapse", None, {}),
        ("road_collapse", {}, {}),
    ],
)
def test_valid_measures(kind, raw, expected):
    cleaned = clean_measures(get_kind(kind), raw)
    assert cleaned == expected
    assert all(type(v) is float for v in cleaned.values())


@pytest.mark.parametrize(
    ("kind", "raw"),
    [
        ("road_collapse", {"silt_m3": 1}),  # the kind does not record it
        ("silt_site", {"capacity_pct": 50}),
        ("silt_site", {"volume": 1}),
        ("silt_site", {"silt_m3": math.nan}),
        ("silt_site", {"silt_m3": math.inf}),
        ("silt_site", {"garbage_t": -math.inf}),
        ("silt_site", {"silt_m3": "12"}),
        ("silt_site", {"silt_m3": True}),
        ("silt_site", {"silt_m3": None}),
        ("silt_site", {"silt_m3": -0.1}),
        ("silt_site", {"silt_m3": 1e6 + 1}),
        ("enterprise", {"capacity_pct": 100.01}),
        ("enterprise", {"capacity_pct": -5}),
    ],
)
def test_invalid_measures_are_refused(kind, raw):
    with pytest.raises(ValidationError):
        clean_measures(get_kind(kind), raw)


@pytest.mark.parametrize(
    ("kind", "attributes", "expected"),
    [
        ("road_collapse", {"road_class": "main", "road_name": "西四环"}, "road_class=main"),
        ("enterprise", {"above_size": True, "employees": 10}, "above_size=true"),
        ("enterprise", {"above_size": False}, "above_size=false"),
        (
            "municipal_facility",
            {"facility_type": "street_light", "inside_ring4": False},
            "facility_type=street_light;inside_ring4=false",
        ),
        ("river_hazard", {"river": "须水河"}, "river=须水河"),
        ("disinfection_point", {"point_type": "market"}, ""),
    ],
)
def test_segment(kind, attributes, expected):
    assert get_kind(kind).segment(attributes) == expected


@pytest.mark.parametrize(
    ("kind", "status", "measures", "expected"),
    [
        ("enterprise", "operating", {}, 100.0),
        ("enterprise", "stopped", {}, 0.0),
        ("enterprise", "restarted", {}, 100.0),
        ("enterprise", "restarted", {"capacity_pct": 60}, 100.0),  # the status fixes the level
        ("enterprise", "partly_restarted", {"capacity_pct": 45}, 45.0),
        ("enterprise", "partly_restarted", {}, None),
        ("road_collapse", "restored", {}, None),
        ("silt_site", "cleared", {"silt_m3": 3}, None),
    ],
)
def test_capacity_for(kind, status, measures, expected):
    assert get_kind(kind).capacity_for(status, measures) == expected
