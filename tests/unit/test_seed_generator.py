"""The seed generator: it reproduces the committed data set byte for byte, and its synthetic sets are sound."""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from itertools import islice

import pytest
from shapely.geometry import shape

from recovery.geometry import parse_geometry, validate_geometry
from recovery.kinds import clean_measures, get_kind
from recovery.ledger.fold import Entry, replay
from recovery.settings import PROJECT_ROOT
from recovery.timeutil import parse_instant
from seed.generator import FILES, generate_seed, generate_synthetic, write_seed

DATA = PROJECT_ROOT / "seed" / "data"
GEODATA = PROJECT_ROOT / "geodata"

pytestmark = pytest.mark.slow


def _sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_regenerated_seed_is_byte_identical_to_the_committed_one(tmp_path):
    committed = json.loads((DATA / "MANIFEST.json").read_text(encoding="utf-8"))
    manifest = write_seed(generate_seed(GEODATA), tmp_path)
    assert manifest == committed
    assert (tmp_path / "MANIFEST.json").read_bytes() == (DATA / "MANIFEST.json").read_bytes()
    for name in FILES:
        filename = f"{name}.jsonl"
        entry = committed["files"][filename]
        assert _sha256(DATA / filename) == entry["sha256"], (
            f"committed {filename} does not match its manifest"
        )
        assert _sha256(tmp_path / filename) == entry["sha256"], f"regenerated {filename} differs"
        assert (tmp_path / filename).stat().st_size == entry["bytes"]
        with (DATA / filename).open(encoding="utf-8") as f:
            assert sum(1 for _ in f) == entry["count"]


@pytest.fixture(scope="module")
def synthetic():
    teams, sites, events = generate_synthetic(GEODATA, 200, 1000, rng_seed=3)
    return teams, list(sites), list(events)


def test_synthetic_counts(synthetic):
    teams, sites, events = synthetic
    assert len(sites) == 200
    assert len(events) == 1000
    assert len({s["key"] for s in sites}) == 200
    assert len({e["client_id"] for e in events}) == 1000
    assert {e["site"] for e in events} == {s["key"] for s in sites}
    assert teams and {s["team"] for s in sites} - {None} <= {t["key"] for t in teams}


def test_each_site_starts_with_its_report_and_moves_forward_in_time(synthetic):
    _, sites, events = synthetic
    by_site = defaultdict(list)
    for e in events:
        by_site[e["site"]].append(e)
    kinds = {s["key"]: get_kind(s["kind"]) for s in sites}
    for key, evs in by_site.items():
        assert evs[0]["action"] == "report", key
        assert evs[0]["to_status"] == kinds[key].initial_status
        assert all(e["action"] != "report" for e in evs[1:]), key
        times = [parse_instant(e["valid_at"]) for e in evs]
        assert all(a < b for a, b in zip(times, times[1:], strict=False)), key
        assert all(parse_instant(e["recorded_at"]) >= parse_instant(e["valid_at"]) for e in evs)


def test_every_synthetic_event_is_a_valid_move_of_its_kind(synthetic):
    _, sites, events = synthetic
    by_site = defaultdict(list)
    for n, e in enumerate(events):
        by_site[e["site"]].append((n, e))
    for site in sites:
        kind = get_kind(site["kind"])
        kind.clean_attributes(site["attributes"])
        entries = []
        for n, e in by_site[site["key"]]:
            measures = clean_measures(kind, e["measures"])
            level = kind.capacity_for(e["to_status"], measures) if e["action"] == "transition" else None
            entries.append(
                Entry(
                    n, e["action"], e["track"], e["to_status"], level, measures, parse_instant(e["valid_at"])
                )
            )
        replay(kind, entries, strict=True)  # raises on any move the life cycle refuses


def test_synthetic_geometries_lie_inside_the_zone(synthetic, geodata):
    _, sites, _ = synthetic
    for site in sites:
        geom = validate_geometry(parse_geometry(site["geometry"]), get_kind(site["kind"]))
        assert geodata.zone.contains(geom), site["key"]
        assert geodata.subdistrict_of(geom) is not None, site["key"]


def test_synthetic_sets_are_deterministic_per_seed(synthetic):
    _, sites, events = synthetic
    _, sites2, events2 = generate_synthetic(GEODATA, 200, 1000, rng_seed=3)
    assert list(sites2) == sites and list(events2) == events
    _, other, _ = generate_synthetic(GEODATA, 200, 1000, rng_seed=4)
    assert [shape(s["geometry"]).wkt for s in islice(other, 20)] != [
        shape(s["geometry"]).wkt for s in sites[:20]
    ]


@pytest.mark.parametrize(("n_sites", "n_events"), [(0, 0), (10, 9)])
def test_synthetic_refuses_impossible_sizes(n_sites, n_events):
    with pytest.raises(ValueError):
        generate_synthetic(GEODATA, n_sites, n_events)
