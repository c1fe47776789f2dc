"""Pending imports of the admin's import page: one folder per upload, holding its options and what was read.

The uploaded file is read once, when it arrives (hostile files are refused there, with a 400), and deleted;
the preview and the confirmation use the parsed rows kept beside the options, so a GET never reads the file
again. Each upload has its own folder, so no name the uploader chooses (`x.json`) can meet one of ours.
"""

from __future__ import annotations

import json
import os
import pickle
import re
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from recovery.interop.readers import Source

OPTIONS = "options.json"
SOURCE = "source.pickle"
_TOKEN = re.compile(r"^[0-9a-f]{32}$")
#: what versions before the folder per upload left directly under the root: `<token><suffix>`, `<token>.json`
_LEGACY_FILE = re.compile(r"[0-9a-f]{32}\.[A-Za-z0-9]{1,10}")


@dataclass
class Pending:
    token: str
    options: dict[str, Any]
    source: Source


def store(
    root: Path,
    upload: IO[bytes],
    suffix: str,
    options: dict[str, Any],
    read: Callable[[Path, Path], Source],
) -> str:
    """Save `upload` as `upload<suffix>` in a new folder under `root`, `read(path, folder)` it, keep the result
    and the options, delete the file; on any refusal the folder is removed. Returns the token."""
    token = uuid.uuid4().hex
    folder = root / token
    folder.mkdir(parents=True)
    path = folder / f"upload{suffix}"
    try:
        with path.open("wb") as sink:
            shutil.copyfileobj(upload, sink, 1 << 20)
        source = read(path, folder)
        # the parse result is the server's own data, written and read only here, in its instance folder
        # under a random name: never a file that came from a user
        with (folder / SOURCE).open("wb") as sink:
            pickle.dump(source, sink, protocol=pickle.HIGHEST_PROTOCOL)
        (folder / OPTIONS).write_text(json.dumps(options, ensure_ascii=False), encoding="utf-8")
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    finally:
        path.unlink(missing_ok=True)
    return token


def load(root: Path, token: str) -> Pending | None:
    """The pending upload `token`, or None when there is none (or the token is not one of ours)."""
    if not _TOKEN.match(token):
        return None
    folder = root / token
    if not (folder / OPTIONS).is_file() or not (folder / SOURCE).is_file():
        return None
    options = json.loads((folder / OPTIONS).read_text(encoding="utf-8"))
    with (folder / SOURCE).open("rb") as handle:
        source = pickle.load(handle)  # noqa: S301  (our own file, see store)
    return Pending(token, options, source)


def discard(root: Path, token: str) -> None:
    if _TOKEN.match(token):
        shutil.rmtree(root / token, ignore_errors=True)


def entries(root: Path) -> list[Path]:
    """Every pending upload under `root` (its folder) and every file older versions left there, by name; for
    `recovery cleanup`, which removes those not changed for RECOVERY_IMPORT_EXPIRY_HOURS. A symbolic link is
    never among them (this module makes none), nor any other name."""
    try:
        with os.scandir(root) as found:
            return [
                Path(e.path)
                for e in found
                if (e.is_dir(follow_symlinks=False) and _TOKEN.fullmatch(e.name))
                or (e.is_file(follow_symlinks=False) and _LEGACY_FILE.fullmatch(e.name))
            ]
    except (FileNotFoundError, NotADirectoryError):
        return []
