"""Where the app's own files are: inside the installed package (a wheel), or at the top of a checkout.

A checkout keeps the templates, the geodata and the migrations beside the package (`templates/`, `geodata/`,
`migrations/`); building a wheel copies them into the package as `recovery/bundled/<name>` (see `setup.py`), so
that `pip install .` runs without the checkout. The seed data is package data of the `seed` package, installed
beside `recovery` in both cases. The geodata and the seed data may also be elsewhere: the settings
RECOVERY_GEODATA_DIR and RECOVERY_SEED_DIR take these folders as their defaults.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
#: the folder inside the installed package that `setup.py` fills when it builds a wheel
BUNDLED = PACKAGE / "bundled"
#: the names of the folders bundled into the wheel, as they are named at the top of the checkout
BUNDLED_FOLDERS = ("templates", "geodata", "migrations")


def data_folder(name: str) -> Path:
    """The folder `name` (one of BUNDLED_FOLDERS): in the installed package if it is there, else in the checkout."""
    if name not in BUNDLED_FOLDERS:
        raise ValueError(f"not a bundled folder: {name!r}")
    inside = BUNDLED / name
    return inside if inside.is_dir() else PACKAGE.parent / name


TEMPLATES = data_folder("templates")
GEODATA = data_folder("geodata")
MIGRATIONS = data_folder("migrations")
#: the committed 7·20 seed data set, package data of `seed` (a sibling of `recovery`, installed or checked out)
SEED_DATA = PACKAGE.parent / "seed" / "data"
