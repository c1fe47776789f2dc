"""What the admin's overview shows: the settings in force (secrets masked), the database and its migration,
the disk the photos use, and the last backup (as `recovery.backup` reports it, when that module exists)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from recovery.db.migrate import current_revision, head_revision
from recovery.i18n import translate
from recovery.settings import SETTINGS

MASK = "••••••"
#: settings whose value is a secret: shown only as set or not
SECRET_WORDS = ("SECRET", "PASSWORD", "_KEY")


def is_secret(name: str) -> bool:
    return any(word in name for word in SECRET_WORDS)


def masked_value(name: str, value: Any) -> str:
    """A setting's value as the overview prints it: a secret as a mask, a URL without its password."""
    if value is None or value == "":
        return ""
    if is_secret(name):
        return MASK
    text = str(value)
    if "://" in text:
        try:
            return make_url(text).render_as_string(hide_password=True)
        except ArgumentError:
            return text
    return text


def settings_in_force(values: dict[str, Any]) -> list[dict[str, str]]:
    """Every declared setting: its variable, the value in force (masked where secret), whether it differs from
    the default, and its help in the request's language (English outside a request)."""
    return [
        {
            "name": s.name,
            "variable": s.env_var,
            "value": masked_value(s.name, values.get(s.name)),
            "changed": values.get(s.name) != s.default,
            "help": translate(s.help),
        }
        for s in SETTINGS
    ]


def database_info(engine: Engine) -> dict[str, Any]:
    """The database kind, its address without password, and its migration against the latest."""
    current, head = current_revision(engine), head_revision(engine)
    return {
        "dialect": engine.url.get_backend_name(),
        "url": engine.url.render_as_string(hide_password=True),
        "revision": current,
        "head": head,
        "up_to_date": current == head,
    }


def disk_used(folder: Path) -> dict[str, Any]:
    """Bytes and files under `folder` (0 when it does not exist yet)."""
    total = files = 0
    if folder.is_dir():
        for root, _dirs, names in os.walk(folder):
            for name in names:
                try:
                    total += (Path(root) / name).stat().st_size
                except OSError:  # removed while counted
                    continue
                files += 1
    return {"path": str(folder), "bytes": total, "files": files}


def last_backup(instance: Path) -> dict[str, Any] | None:
    """The last backup made on this machine, as `recovery.backup` notes it; None when there is none."""
    try:
        from recovery.backup import last_backup_info
    except ImportError:  # pragma: no cover - a version without backups
        return None
    return last_backup_info(instance)


def human_bytes(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"  # pragma: no cover
