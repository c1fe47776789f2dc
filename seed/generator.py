"""Deterministic generator of the 7·20 seed data set (and of synthetic benchmark data sets).

python -m seed.generator            # regenerate seed/data/ from geodata/ and print the manifest
python seed/generator.py --check    # regenerate in memory and print the self-check of the article's figures
"""

from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the project root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from seed.common import SEED  # noqa: E402
from seed.geo import load_geo  # noqa: E402
from seed.sites_a import municipal_facilities, river_hazards, road_collapses, silt_sites  # noqa: E402
from seed.sites_b import disinfection_points, enterprises, residential_communities  # noqa: E402
from seed.synthetic import generate_synthetic  # noqa: E402,F401  (re-exported)
from seed.teams import build_teams, build_units, build_work_items  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
GEODATA_DIR = ROOT / "geodata"
DATA_DIR = Path(__file__).resolve().parent / "data"
FILES = ("teams", "sites", "work_items", "events", "units")


@dataclass
class SeedData:
    teams: list[dict] = field(default_factory=list)
    sites: list[dict] = field(default_factory=list)
    work_items: list[dict] = field(default_factory=list)
    events: list[dict] = field(default_factory=list)
    #: the responsible units' leaders and contacts (loaded apart from the ledger: `recovery.units.register`)
    units: list[dict] = field(default_factory=list)


def generate_seed(geodata_dir: Path = GEODATA_DIR) -> SeedData:
    """Build the whole seed data set in memory; the same geodata always gives the same data."""
    geo = load_geo(Path(geodata_dir))
    teams, crews = build_teams()
    by_key = {t["key"]: t for t in teams}
    sites: list[dict] = []
    events: list[dict] = []
    for build in (
        lambda: road_collapses(geo, crews),
        lambda: silt_sites(geo, crews),
        lambda: municipal_facilities(geo, crews),
        lambda: river_hazards(geo, crews),
        lambda: disinfection_points(geo, crews, by_key),
        lambda: enterprises(geo),
        lambda: residential_communities(geo, crews),
    ):
        s, e = build()
        sites += s
        events += e
    work_items, wi_events = build_work_items(sites, teams)
    events += wi_events
    events.sort(key=lambda e: (e["_v"], e["site"] or "", e["work_item"] or "", e["action"], e["track"] or ""))
    for n, e in enumerate(events, start=1):
        e["client_id"] = f"seed-{n:06d}"
        del e["_v"]
    return SeedData(teams=teams, sites=sites, work_items=work_items, events=events, units=build_units())


def dumps_line(obj: dict) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), sort_keys=True) + "\n"


def write_seed(data: SeedData, out_dir: Path = DATA_DIR) -> dict:
    """Write the JSONL files and MANIFEST.json into out_dir; return the manifest."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest: dict = {
        "seed": SEED,
        "generator": "seed/generator.py",
        "format": "JSON Lines, UTF-8, keys sorted",
        "files": {},
    }
    for name in FILES:
        rows = getattr(data, name)
        payload = "".join(dumps_line(r) for r in rows).encode("utf-8")
        (out_dir / f"{name}.jsonl").write_bytes(payload)
        manifest["files"][f"{name}.jsonl"] = {
            "count": len(rows),
            "bytes": len(payload),
            "sha256": hashlib.sha256(payload).hexdigest(),
        }
    (out_dir / "MANIFEST.json").write_text(
        json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True) + "\n", encoding="utf-8"
    )
    return manifest


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    data = generate_seed(GEODATA_DIR)
    if "--check" in argv:
        from seed.check import run_check

        return 0 if run_check(data, GEODATA_DIR) else 1
    manifest = write_seed(data, DATA_DIR)
    print(json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
