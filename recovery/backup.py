"""Backups: one tar file with a consistent copy of the database, the photos and a manifest, made while the app
keeps writing; and restoring one into an empty database, checked before anything is changed.

The manifest (`manifest.json`, the archive's last member) says what the archive holds: its format, the app's
version, the kind of database and its migration, the rows of every table, the ledger's last event, and the size
and SHA-256 of every other member. The database copy is `recovery.db.snapshot`'s.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path, PurePosixPath
from typing import IO, Any

from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, func, inspect, literal_column, select, table, text
from sqlalchemy.orm import Session
from sqlmodel import SQLModel

from recovery.db import snapshot
from recovery.db.migrate import alembic_config, upgrade
from recovery.errors import ValidationError

FORMAT = 1
MANIFEST = "manifest.json"
#: the note of the last backup, in the instance folder (`record_backup`, `last_backup_info`)
LAST_BACKUP = "last-backup.json"
PHOTOS = "photos"
#: PostGIS's own reference table: made by its extension, not counted (another PostGIS may hold other rows)
EXTENSION_TABLES = frozenset({"spatial_ref_sys"})
#: members' names: the database copy, or a photo's path under the photo folder (no "..", nothing absolute)
_MEMBER = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*(/[A-Za-z0-9_][A-Za-z0-9_.\-]*)*$")
_CHUNK = 1 << 20


@dataclass(frozen=True)
class Restored:
    """What a restore did: the archive's manifest, the schema before and after bringing it to the latest
    migration, and the differences `recovery ledger verify` found (none when the ledger and projections agree)."""

    manifest: dict[str, Any]
    migration_before: str | None
    migration_after: str
    photos: int
    differences: list[str]


# --- backup ---------------------------------------------------------------------------------------------------


def backup(engine: Engine, photo_root: Path, out: Path) -> dict[str, Any]:
    """Write a backup of the database and the photos to `out` and return its manifest.

    The database is copied at one moment while the app keeps writing; photos are listed after that moment,
    so every photo the copy names is in the archive (a stored photo is on disk before its row is committed).
    Uploads in progress (`partial/`) and temporary files are left out. The archive is written beside `out`
    and renamed into place once complete, so `out` is either the previous file or the whole new one.
    """
    out = Path(out)
    try:
        return _write_backup(engine, Path(photo_root), out)
    except OSError as exc:  # a folder that cannot be written, a full disk
        raise ValidationError(
            "Cannot write the backup to %(path)s: %(reason)s.", path=str(out), reason=exc.strerror or str(exc)
        ) from None


def _write_backup(engine: Engine, photo_root: Path, out: Path) -> dict[str, Any]:
    out.parent.mkdir(parents=True, exist_ok=True)
    kind = snapshot.database_kind(engine)
    copy_name = snapshot.COPY_NAMES[kind]
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=".recovery-backup-") as work:
        copy = Path(work) / copy_name
        with snapshot.copy_database(engine, copy) as conn:
            facts = describe(conn)
        partial = Path(work) / "archive.tar"
        members: dict[str, dict[str, Any]] = {}
        with tarfile.open(partial, "w", format=tarfile.PAX_FORMAT) as tar:
            members[copy_name] = _add_file(tar, copy, copy_name)
            for path in photo_files(photo_root):
                name = f"{PHOTOS}/{path.relative_to(photo_root).as_posix()}"
                members[name] = _add_file(tar, path, name)
            manifest = {
                "format": FORMAT,
                "app": "recovery",
                "app_version": _app_version(),
                "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "database": kind,
                **facts,
                "photo_root": str(photo_root),
                "members": members,
            }
            data = json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size, info.mtime, info.mode = len(data), int(datetime.now(UTC).timestamp()), 0o640
            tar.addfile(info, io.BytesIO(data))
        with open(partial, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(partial, out)
    return manifest


def record_backup(instance: Path, out: Path, manifest: dict[str, Any]) -> dict[str, Any]:
    """Note the backup just written in the instance folder (`last-backup.json`), for the admin's overview, and
    return the note. Each machine notes the backups it made."""
    note = {
        "file": str(Path(out).resolve()),
        "created_at": manifest["created_at"],
        "bytes": Path(out).stat().st_size,
        "database": manifest["database"],
        "migration": manifest["migration"],
        "events": manifest["ledger"]["events"],
        "last_event_id": manifest["ledger"]["last_event_id"],
        "photo_files": sum(1 for name in manifest["members"] if name.startswith(f"{PHOTOS}/")),
    }
    instance = Path(instance)
    instance.mkdir(parents=True, exist_ok=True)
    partial = instance / f".{LAST_BACKUP}.{os.getpid()}.tmp"
    partial.write_text(json.dumps(note, ensure_ascii=False, indent=2), encoding="utf-8")
    os.replace(partial, instance / LAST_BACKUP)
    return note


def last_backup_info(instance: Path | None = None) -> dict[str, Any] | None:
    """The note of the last backup made on this machine (`record_backup`), from `instance` or the instance
    folder of the app in context; None when there is none."""
    if instance is None:
        from flask import current_app, has_app_context

        if not has_app_context():
            return None
        instance = Path(current_app.instance_path)
    try:
        note = json.loads((Path(instance) / LAST_BACKUP).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return note if isinstance(note, dict) else None


def _app_version() -> str:
    # from the installed distribution's metadata: importing the `recovery` package here would close an import
    # cycle (the package registers the commands, which call this module)
    try:
        return metadata.version("recovery")
    except metadata.PackageNotFoundError:
        return "unknown"


def describe(conn: Connection) -> dict[str, Any]:
    """The migration, the rows of every table and the ledger's last event, as `conn` sees the database."""
    names = sorted(set(inspect(conn).get_table_names()) - EXTENSION_TABLES)
    rows = {name: conn.execute(select(func.count()).select_from(table(name))).scalar_one() for name in names}
    migration = (
        conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        if "alembic_version" in rows
        else None
    )
    last = (
        conn.execute(text("SELECT id, recorded_at FROM event ORDER BY id DESC LIMIT 1")).first()
        if "event" in rows
        else None
    )
    return {
        "migration": migration,
        "tables": rows,
        "ledger": {
            "events": rows.get("event", 0),
            "last_event_id": last[0] if last else None,
            "last_recorded_at": _instant(last[1]) if last else None,
        },
    }


def photo_files(photo_root: Path) -> list[Path]:
    """The stored photos and their thumbnails: every file under the photo folder but uploads in progress
    (`partial/`) and temporary files."""
    root = Path(photo_root)
    if not root.is_dir():
        return []
    found = []
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if relative.parts[0] == "partial" or path.suffix == ".tmp" or not path.is_file() or path.is_symlink():
            continue
        found.append(path)
    return found


def _instant(value: Any) -> str | None:
    """An instant read by plain SQL as ISO 8601 in UTC (SQLite hands back the stored text, naive UTC)."""
    if value is None:
        return None
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC).isoformat()


class _Hashing(io.RawIOBase):
    """A file read through, hashing what passes."""

    def __init__(self, handle: IO[bytes]) -> None:
        self.handle, self.sha256, self.size = handle, hashlib.sha256(), 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self.handle.read(len(buffer))
        buffer[: len(data)] = data
        self.sha256.update(data)
        self.size += len(data)
        return len(data)


def _add_file(tar: tarfile.TarFile, path: Path, name: str) -> dict[str, Any]:
    with open(path, "rb") as handle:
        info = tar.gettarinfo(fileobj=handle, arcname=name)
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        reader = _Hashing(handle)
        tar.addfile(info, reader)
    return {"size": reader.size, "sha256": reader.sha256.hexdigest()}


# --- restore --------------------------------------------------------------------------------------------------


def restore(engine: Engine, photo_root: Path, archive: Path, *, force: bool = False) -> Restored:
    """Restore the backup `archive` into the engine's database and the photo folder, then verify the ledger.

    Refused before anything changes when the archive is not a complete, untampered backup (every member's
    size and SHA-256 against the manifest), was made of another kind of database or by a newer schema than
    this version knows, or when the database holds data and `force` is not given. The copy is then loaded in
    one transaction, the photos are written, the schema is brought to the latest migration, and the rows of
    every table are checked against the manifest before the ledger is replayed (`recovery ledger verify`).
    """
    from recovery.ledger.bulk import verify

    with _open(archive) as tar:
        manifest = check_archive(tar)
        kind = snapshot.database_kind(engine)
        if manifest["database"] != kind:
            raise ValidationError(
                "The backup is of a %(archive)s database and cannot be restored into %(target)s.",
                archive=manifest["database"],
                target=kind,
            )
        known = {rev.revision for rev in ScriptDirectory.from_config(alembic_config(engine)).walk_revisions()}
        if manifest["migration"] is not None and manifest["migration"] not in known:
            raise ValidationError(
                "The backup was made by a newer version (migration %(revision)s): upgrade recovery first.",
                revision=manifest["migration"],
            )
        if not force and (filled := tables_with_rows(engine)):
            raise ValidationError(
                "The database is not empty (rows in %(tables)s): restore into an empty database, or give "
                "--force to replace what it holds.",
                tables=", ".join(filled[:5]),
            )
        with tempfile.TemporaryDirectory(prefix="recovery-restore-") as work:
            copy_name = snapshot.COPY_NAMES[kind]
            copy = Path(work) / copy_name
            _extract(tar, copy_name, manifest["members"][copy_name], copy)
            snapshot.load_copy(engine, copy)
        photos = 0
        for name, expected in manifest["members"].items():
            if name.startswith(f"{PHOTOS}/"):
                _extract(tar, name, expected, Path(photo_root) / name.removeprefix(f"{PHOTOS}/"))
                photos += 1
    with engine.connect() as conn:
        counts = describe(conn)["tables"]
    wrong = [
        f"{name}: {counts.get(name)} ≠ {n}" for name, n in manifest["tables"].items() if counts.get(name) != n
    ]
    if wrong:
        raise ValidationError(
            "The restored database differs from the backup's manifest: %(tables)s.", tables="; ".join(wrong)
        )
    before, after = upgrade(engine)
    with Session(engine) as session:
        differences = verify(session)
    return Restored(manifest, before, after, photos, differences)


def tables_with_rows(engine: Engine) -> list[str]:
    """The app's tables (its models') that hold a row, by name: none in a new database, or one `recovery
    init-db` has just made (its migrations fill reference tables, which are not the app's data)."""
    import recovery.models
    import recovery.models_accounts
    import recovery.reports.models  # noqa: F401 - with the two above, every model's table is on the metadata

    with engine.connect() as conn:
        names = sorted(set(SQLModel.metadata.tables) & set(inspect(conn).get_table_names()))
        return [
            name
            for name in names
            if conn.execute(select(literal_column("1")).select_from(table(name)).limit(1)).first() is not None
        ]


@contextmanager
def _open(archive: Path) -> Iterator[tarfile.TarFile]:
    try:
        tar = tarfile.open(archive, "r:")  # noqa: SIM115 - closed by the `with` below
    except FileNotFoundError:
        raise ValidationError("No backup file %(path)s.", path=str(archive)) from None
    except (tarfile.TarError, OSError) as exc:
        raise ValidationError(
            "%(path)s is not a backup archive: %(reason)s.", path=str(archive), reason=str(exc)
        ) from None
    with tar:
        yield tar


def check_archive(tar: tarfile.TarFile) -> dict[str, Any]:
    """The archive's manifest, once every member is there, safe to write and has its recorded size and SHA-256.

    Raises `ValidationError` naming the first fault: a truncated or damaged archive, a member missing, added
    or changed, a name that would write outside its folder."""
    try:
        members = {m.name: m for m in tar.getmembers()}
    except (tarfile.TarError, OSError) as exc:
        raise ValidationError("The backup is damaged or truncated: %(reason)s.", reason=str(exc)) from None
    if MANIFEST not in members:
        raise ValidationError("The backup is incomplete: it has no manifest (truncated, or not a backup).")
    try:
        manifest = json.loads(_read(tar, members[MANIFEST]))
        listed = manifest["members"]
        if manifest["format"] != FORMAT:
            raise ValidationError(
                "The backup's format %(format)s is not one this version reads.", format=manifest["format"]
            )
        copy_name = snapshot.COPY_NAMES[manifest["database"]]
        manifest["tables"], manifest["migration"]  # noqa: B018 - present, or the manifest is not ours
    except (ValueError, KeyError, TypeError):
        raise ValidationError("The backup's manifest is damaged.") from None
    if copy_name not in listed:
        raise ValidationError("The backup is incomplete: %(member)s is missing.", member=copy_name)
    unlisted = sorted(set(members) - set(listed) - {MANIFEST})
    if unlisted:
        raise ValidationError(
            "The backup holds a file its manifest does not list: %(member)s.", member=unlisted[0]
        )
    for name, expected in listed.items():
        if not _safe(name) or (name != copy_name and not name.startswith(f"{PHOTOS}/")):
            raise ValidationError(
                "The backup holds a file named %(member)s, which is not allowed.", member=name[:120]
            )
        member = members.get(name)
        if member is None:
            raise ValidationError("The backup is incomplete: %(member)s is missing.", member=name)
        if not member.isfile():
            raise ValidationError(
                "The backup holds a file named %(member)s, which is not allowed.", member=name[:120]
            )
        digest, size = _digest(tar, member)
        if size != expected.get("size") or digest != expected.get("sha256"):
            raise ValidationError(
                "The backup is damaged or was changed: %(member)s does not match its checksum.", member=name
            )
    return manifest


def _safe(name: str) -> bool:
    path = PurePosixPath(name)
    return bool(_MEMBER.fullmatch(name)) and ".." not in path.parts and not path.is_absolute()


def _read(tar: tarfile.TarFile, member: tarfile.TarInfo) -> bytes:
    handle = tar.extractfile(member)
    if handle is None:
        raise ValueError(member.name)
    return handle.read()


def _digest(tar: tarfile.TarFile, member: tarfile.TarInfo) -> tuple[str, int]:
    sha256, size = hashlib.sha256(), 0
    try:
        handle = tar.extractfile(member)
        while handle is not None and (chunk := handle.read(_CHUNK)):
            sha256.update(chunk)
            size += len(chunk)
    except (tarfile.TarError, OSError) as exc:
        raise ValidationError("The backup is damaged or truncated: %(reason)s.", reason=str(exc)) from None
    return sha256.hexdigest(), size


def _extract(tar: tarfile.TarFile, name: str, expected: dict[str, Any], target: Path) -> None:
    """Write a member to `target` through a temporary file, checked against its SHA-256 again on the way."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    sha256 = hashlib.sha256()
    handle = tar.extractfile(tar.getmember(name))
    try:
        with open(partial, "wb") as sink:
            while handle is not None and (chunk := handle.read(_CHUNK)):
                sha256.update(chunk)
                sink.write(chunk)
            sink.flush()
            os.fsync(sink.fileno())
        if sha256.hexdigest() != expected["sha256"]:
            raise ValidationError(
                "The backup is damaged or was changed: %(member)s does not match its checksum.", member=name
            )
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
