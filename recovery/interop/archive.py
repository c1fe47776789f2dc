"""Size limits on uploads and archives, and extraction that refuses path escapes and zip bombs."""

from __future__ import annotations

import stat
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from recovery.errors import ValidationError


@dataclass(frozen=True)
class Limits:
    """What an import may read. Checked before anything is extracted or parsed."""

    max_file_bytes: int = 512 * 1024 * 1024
    max_upload_bytes: int = 200 * 1024 * 1024
    max_members: int = 200
    max_uncompressed_bytes: int = 2 * 1024 * 1024 * 1024
    max_ratio: int = 200
    max_rows: int = 2_000_000
    #: columns of a table or fields of a layer
    max_columns: int = 1_000
    #: rows × columns: what the table costs in memory
    max_cells: int = 20_000_000
    #: one line of a CSV file (the header is read with this bound before the parser sees it)
    max_line_bytes: int = 1024 * 1024
    #: reading a file, checked between its steps (chunks of rows, layers, sheets)
    max_seconds: float = 120.0


DEFAULT_LIMITS = Limits()


@dataclass
class Budget:
    """What a file has cost so far while it is read: refuses as soon as a limit is passed."""

    limits: Limits = DEFAULT_LIMITS
    started: float = field(default_factory=time.monotonic)

    def check_time(self) -> None:
        if time.monotonic() - self.started > self.limits.max_seconds:
            raise ValidationError(
                "Reading the file took more than %(limit)s seconds: refused.", limit=self.limits.max_seconds
            )

    def check_table(self, rows: int, columns: int, cells: int | None = None) -> None:
        """`rows` data rows of `columns` columns (and `cells` cells, when not their product): each within its
        limit, and the time spent so far."""
        if columns > self.limits.max_columns:
            raise ValidationError(
                "The file has %(count)s columns; at most %(limit)s are accepted.",
                count=columns,
                limit=self.limits.max_columns,
            )
        if rows > self.limits.max_rows:
            raise ValidationError("The file has more than %(limit)s rows.", limit=self.limits.max_rows)
        if (rows * max(columns, 1) if cells is None else cells) > self.limits.max_cells:
            raise ValidationError(
                "The file has more than %(limit)s cells (rows × columns).", limit=self.limits.max_cells
            )
        self.check_time()


def check_file_size(path: Path, limits: Limits = DEFAULT_LIMITS, *, upload: bool = False) -> None:
    cap = limits.max_upload_bytes if upload else limits.max_file_bytes
    size = path.stat().st_size
    if size > cap:
        raise ValidationError(
            "The file is too large: %(size)s bytes, the limit is %(limit)s bytes.", size=size, limit=cap
        )
    if size == 0:
        raise ValidationError("The file is empty.")


def safe_extract(archive: Path, target: Path, limits: Limits = DEFAULT_LIMITS) -> list[Path]:
    """Extract a zip into `target` after checking every member; on any refusal nothing is extracted.

    The member count, each member's path, the declared total size and the compression ratio are checked
    from the central directory first; while extracting, bytes are counted again, because the declared sizes
    of a hostile archive may lie.
    """
    try:
        handle = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError):
        raise ValidationError("The archive could not be read: it is not a valid zip file.") from None
    with handle:
        members = check_members(handle, limits)
        root = target.resolve()
        planned = [(member, _destination(root, member)) for member in members]
        written = 0
        out: list[Path] = []
        for member, destination in planned:
            destination.parent.mkdir(parents=True, exist_ok=True)
            with handle.open(member) as source, destination.open("wb") as sink:
                while chunk := source.read(1 << 20):
                    written += len(chunk)
                    if written > limits.max_uncompressed_bytes:
                        raise ValidationError(
                            "The archive expands to more than %(limit)s bytes: refused as a zip bomb.",
                            limit=limits.max_uncompressed_bytes,
                        )
                    sink.write(chunk)
            out.append(destination)
        return out


def check_members(handle: zipfile.ZipFile, limits: Limits = DEFAULT_LIMITS) -> list[zipfile.ZipInfo]:
    """The files of a zip (an archive or an .xlsx workbook), after checking from its central directory their
    count, each one's compression ratio (zip bombs) and their declared total size."""
    members = [m for m in handle.infolist() if not m.is_dir()]
    if len(members) > limits.max_members:
        raise ValidationError(
            "The archive has %(count)s files; at most %(limit)s are accepted.",
            count=len(members),
            limit=limits.max_members,
        )
    total = 0
    for member in members:
        total += member.file_size
        if member.compress_size and member.file_size / member.compress_size > limits.max_ratio:
            raise ValidationError(
                "The archive member %(name)s expands more than %(ratio)s times: refused as a zip bomb.",
                name=member.filename[:100],
                ratio=limits.max_ratio,
            )
    if total > limits.max_uncompressed_bytes:
        raise ValidationError(
            "The archive expands to %(size)s bytes; the limit is %(limit)s bytes.",
            size=total,
            limit=limits.max_uncompressed_bytes,
        )
    return members


def _destination(root: Path, member: zipfile.ZipInfo) -> Path:
    name = member.filename.replace("\\", "/")
    mode = member.external_attr >> 16
    if stat.S_ISLNK(mode):
        raise ValidationError("The archive holds a symbolic link (%(name)s): refused.", name=name[:100])
    parts = PurePosixPath(name).parts
    if name.startswith("/") or (parts and ":" in parts[0]) or ".." in parts:
        raise ValidationError(
            "The archive member %(name)s would be written outside its folder: refused.", name=name[:100]
        )
    destination = (root / Path(*parts)).resolve()
    if not destination.is_relative_to(root):
        raise ValidationError(
            "The archive member %(name)s would be written outside its folder: refused.", name=name[:100]
        )
    return destination
