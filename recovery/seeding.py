"""Bridges the `seed/` generator and the ledger: read the committed seed files, load synthetic data sets."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from sqlalchemy.orm import Session

from recovery.errors import ValidationError
from recovery.geodata import Geodata
from recovery.ledger.bulk import LoadReport, load_dataset

FILES = ("teams", "sites", "work_items", "events")


def read_jsonl(path: Path) -> list[dict]:
    try:
        with path.open(encoding="utf-8") as handle:
            return [json.loads(line) for line in handle if line.strip()]
    except FileNotFoundError:
        raise ValidationError("Seed file missing: %(path)s.", path=str(path)) from None
    except json.JSONDecodeError as exc:
        raise ValidationError(
            "%(path)s is not valid JSON lines: %(reason)s.", path=path.name, reason=str(exc)
        ) from None


def read_dataset(folder: Path) -> dict[str, list[dict]]:
    return {name: read_jsonl(folder / f"{name}.jsonl") for name in FILES}


def regenerate(geodata_dir: Path, out_dir: Path) -> dict:
    from seed.generator import generate_seed, write_seed

    return write_seed(generate_seed(geodata_dir), out_dir)


def load_synthetic(
    session: Session,
    geodata: Geodata,
    n_sites: int,
    n_events: int,
    rng_seed: int = 1,
    progress: Callable[[int], None] | None = None,
) -> LoadReport:
    from seed.generator import generate_synthetic

    teams, sites, events = generate_synthetic(geodata.folder, n_sites, n_events, rng_seed)
    return load_dataset(
        session,
        geodata,
        teams=teams,
        sites=list(sites),
        work_items=[],
        events=list(events),
        progress=progress,
    )
