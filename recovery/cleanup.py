"""Reclaiming what the app leaves behind: unfinished uploads and imports, temporary files, old sign-in rows.

Each kind of leftover has its own function and its own age (settings ``*_EXPIRY_HOURS``, ``*_DAYS``);
`cleanup` runs them all. Nothing younger than its age is removed (a photo upload resumes after a dropped
connection), only names the app itself makes are touched, a symbolic link is never followed (a link inside a
removed folder goes as a link, what it points to stays) and nothing outside the configured folders is
removed. Published reports and stored photos are never touched: the first live in the database, the second
are kept whatever their age.

The app runs it itself, at most every RECOVERY_CLEANUP_INTERVAL_MINUTES, in a background thread started
after a request (`init_app`); a file lock in the instance folder keeps two runs (threads, processes, the
`recovery cleanup` command) from overlapping, and a stamp file beside it tells every process when the last
run was.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import stat
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from flask import Flask
from sqlalchemy import and_, delete, func, or_, select, tuple_
from sqlalchemy.orm import Session

from recovery.db.engine import begin_write
from recovery.timeutil import now

#: what each function removes: (Chinese, English) for the summary, and whether it is files (with bytes)
KINDS: dict[str, tuple[str, str, bool]] = {
    "photo_uploads": ("未完成的照片上传", "unfinished photo uploads", True),
    "photo_temp_files": ("照片缩略图临时文件", "temporary thumbnail files", True),
    "pending_imports": ("未确认的导入", "unconfirmed imports", True),
    "temp_leftovers": ("导入导出临时文件", "temporary import and export files", True),
    "login_attempts": ("登录记录", "sign-in attempts", False),
    "login_throttles": ("登录限速记录", "sign-in throttle rows", False),
    "ended_sessions": ("已结束的会话", "ended sessions", False),
    "ended_tokens": ("已过期或吊销的令牌", "expired or revoked API tokens", False),
    "idempotency_records": ("幂等应答记录", "idempotency records", False),
}
#: the names under the temporary folder that imports and exports make (`tempfile`, with these prefixes)
TEMP_PREFIXES = ("recovery-import-", "recovery-export-")
#: under the instance folder: the lock that one run holds, and the file whose time is the last run's start
LOCK_FILE = "cleanup.lock"
STAMP_FILE = "cleanup.last"
#: rows deleted per transaction, so that a first run on a large table never holds SQLite's write lock long
BATCH = 5000


@dataclass
class Removed:
    kind: str
    count: int = 0
    bytes: int = 0


@dataclass
class Report:
    dry_run: bool
    removed: list[Removed] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(r.count for r in self.removed)

    @property
    def total_bytes(self) -> int:
        return sum(r.bytes for r in self.removed)


# --- files -------------------------------------------------------------------------------------------------


def photo_uploads(photo_root: Path, older_than: datetime, dry_run: bool = False) -> Removed:
    """Photo uploads none of whose files changed since `older_than` (see `PhotoStore.remove_stale_uploads`)."""
    from recovery.photos import PhotoStore

    count, size = PhotoStore(photo_root).remove_stale_uploads(older_than.timestamp(), dry_run=dry_run)
    return Removed("photo_uploads", count, size)


def photo_temp_files(photo_root: Path, older_than: datetime, dry_run: bool = False) -> Removed:
    """Temporary thumbnail files that a killed process left beside the stored photos."""
    from recovery.photos import PhotoStore

    count, size = PhotoStore(photo_root).remove_stale_temp_files(older_than.timestamp(), dry_run=dry_run)
    return Removed("photo_temp_files", count, size)


def pending_imports(imports_root: Path, older_than: datetime, dry_run: bool = False) -> Removed:
    """Imports read but never confirmed (a folder per upload), and the files older versions left there."""
    from recovery.interop import uploads

    return _remove_old(uploads.entries(imports_root), older_than, dry_run, Removed("pending_imports"))


def temp_leftovers(temp_dir: Path, older_than: datetime, dry_run: bool = False) -> Removed:
    """Folders and files of imports and exports (``recovery-import-*``, ``recovery-export-*``) in the temporary
    folder that a killed process could not remove. Only this user's, never a link: the folder is shared."""
    found = []
    try:
        with os.scandir(temp_dir) as entries:
            for entry in entries:
                if not entry.name.startswith(TEMP_PREFIXES):
                    continue
                st = entry.stat(follow_symlinks=False)
                if st.st_uid == os.getuid() and (stat.S_ISDIR(st.st_mode) or stat.S_ISREG(st.st_mode)):
                    found.append(Path(entry.path))
    except (FileNotFoundError, NotADirectoryError):
        pass
    return _remove_old(found, older_than, dry_run, Removed("temp_leftovers"))


def _remove_old(paths: list[Path], older_than: datetime, dry_run: bool, removed: Removed) -> Removed:
    cutoff = older_than.timestamp()
    for path in paths:
        newest, size = _tree(path)
        if newest >= cutoff:
            continue
        if not dry_run:
            try:
                _remove(path)
            except FileNotFoundError:
                continue
        removed.count += 1
        removed.bytes += size
    return removed


def _tree(path: Path) -> tuple[float, int]:
    """The newest modification time in a file or folder tree, and the bytes of its files; links are counted
    as themselves, never followed."""
    st = path.lstat()
    newest, size = st.st_mtime, st.st_size if stat.S_ISREG(st.st_mode) else 0
    if stat.S_ISDIR(st.st_mode):
        with os.scandir(path) as entries:
            for entry in entries:
                sub_newest, sub_size = _tree(Path(entry.path))
                newest, size = max(newest, sub_newest), size + sub_size
    return newest, size


def _remove(path: Path) -> None:
    if stat.S_ISDIR(path.lstat().st_mode):
        shutil.rmtree(path)  # removes links inside as links (and resists link swaps: avoids_symlink_attacks)
    else:
        path.unlink()


# --- rows --------------------------------------------------------------------------------------------------


def login_attempts(session: Session, older_than: datetime, dry_run: bool = False) -> Removed:
    """Sign-in attempts older than `older_than`, for names that exist or not (the throttle reads only the
    last minutes of them)."""
    from recovery.models_accounts import LoginAttempt

    table = LoginAttempt.__table__
    return Removed("login_attempts", _delete_rows(session, table, table.c.at < older_than, dry_run))


def login_throttles(session: Session, at: datetime, dry_run: bool = False) -> Removed:
    """Throttle rows that no longer slow anyone: no failure for `throttle.FAILURE_MEMORY` (after which the
    throttle forgets them anyway) and no wait left."""
    from recovery.auth.throttle import FAILURE_MEMORY
    from recovery.models_accounts import LoginThrottle

    c = LoginThrottle.__table__.c
    condition = and_(
        or_(c.last_attempt_at.is_(None), c.last_attempt_at < at - FAILURE_MEMORY),
        or_(c.blocked_until.is_(None), c.blocked_until <= at),
    )
    return Removed("login_throttles", _delete_rows(session, LoginThrottle.__table__, condition, dry_run))


def ended_sessions(session: Session, older_than: datetime, dry_run: bool = False) -> Removed:
    """Browser sessions that expired or were ended before `older_than` (either way they no longer sign in)."""
    from recovery.models_accounts import UserSession

    return Removed("ended_sessions", _delete_ended(session, UserSession.__table__, older_than, dry_run))


def ended_tokens(session: Session, older_than: datetime, dry_run: bool = False) -> Removed:
    """API tokens that expired or were revoked before `older_than`."""
    from recovery.models_accounts import ApiToken

    return Removed("ended_tokens", _delete_ended(session, ApiToken.__table__, older_than, dry_run))


def idempotency_records(session: Session, older_than: datetime, dry_run: bool = False) -> Removed:
    """Answers kept for retries of requests made before `older_than`: a retry after that is a new request, and
    the ledger's client event id (kept for ever) still refuses to store the same change twice."""
    from recovery.models_accounts import IdempotencyRecord

    table = IdempotencyRecord.__table__
    return Removed(
        "idempotency_records", _delete_rows(session, table, table.c.created_at < older_than, dry_run)
    )


def _delete_ended(session: Session, table, older_than: datetime, dry_run: bool) -> int:
    c = table.c
    condition = or_(c.expires_at < older_than, and_(c.revoked_at.is_not(None), c.revoked_at < older_than))
    return _delete_rows(session, table, condition, dry_run)


def _delete_rows(session: Session, table, condition, dry_run: bool) -> int:
    """Delete the rows matching `condition` in batches of BATCH, one transaction each; with `dry_run`, count."""
    if dry_run:
        count = session.scalar(select(func.count()).select_from(table).where(condition)) or 0
        session.rollback()
        return count
    key = list(table.primary_key.columns)
    batch = select(*key).where(condition).limit(BATCH)
    chosen = key[0].in_(batch.scalar_subquery()) if len(key) == 1 else tuple_(*key).in_(batch)
    total = 0
    while True:
        begin_write(session)
        deleted = session.execute(delete(table).where(chosen)).rowcount
        session.commit()
        total += deleted
        if deleted < BATCH:
            return total


# --- all of them -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Places:
    """The folders a run may remove things from, and nothing else."""

    photo_root: Path
    imports_root: Path
    temp_dir: Path


def places_of(app: Flask, temp_dir: Path | None = None) -> Places:
    settings = app.config["RECOVERY"]
    instance = Path(app.instance_path)
    return Places(
        photo_root=Path(settings["PHOTO_DIR"] or instance / "photos"),  # as recovery.web.photos_api
        imports_root=instance / "imports",  # as recovery.interop.web
        temp_dir=Path(temp_dir or tempfile.gettempdir()),
    )


def cleanup(
    app: Flask, at: datetime | None = None, *, dry_run: bool = False, temp_dir: Path | None = None
) -> Report:
    """Remove every kind of leftover older than its age, as of `at` (now); with `dry_run`, only count them.

    Not guarded against a concurrent run: `run_exclusively` is, and is what the command and the app call.
    """
    at = at or now()
    settings = app.config["RECOVERY"]
    places = places_of(app, temp_dir)
    uploads_before = at - timedelta(hours=settings["UPLOAD_EXPIRY_HOURS"])
    imports_before = at - timedelta(hours=settings["IMPORT_EXPIRY_HOURS"])
    logins_before = at - timedelta(days=settings["LOGIN_RECORD_DAYS"])
    report = Report(dry_run)
    report.removed += [
        photo_uploads(places.photo_root, uploads_before, dry_run),
        photo_temp_files(places.photo_root, uploads_before, dry_run),
        pending_imports(places.imports_root, imports_before, dry_run),
        temp_leftovers(places.temp_dir, imports_before, dry_run),
    ]
    with Session(app.extensions["recovery.engine"], expire_on_commit=False) as session:
        report.removed += [
            login_attempts(session, logins_before, dry_run),
            login_throttles(session, at, dry_run),
            ended_sessions(session, logins_before, dry_run),
            ended_tokens(session, logins_before, dry_run),
            idempotency_records(session, at - timedelta(days=settings["IDEMPOTENCY_DAYS"]), dry_run),
        ]
    return report


@contextmanager
def exclusive(instance: Path) -> Iterator[bool]:
    """Hold the cleanup lock of this instance folder, without waiting: yields False when another run has it."""
    instance.mkdir(parents=True, exist_ok=True)
    fd = os.open(instance / LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o640)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            held = True
        except BlockingIOError:
            held = False
        yield held
    finally:
        os.close(fd)  # closing releases the lock


def last_run(instance: Path) -> float | None:
    """When the last real run started (a POSIX time), or None."""
    try:
        return (instance / STAMP_FILE).stat().st_mtime
    except FileNotFoundError:
        return None


def run_exclusively(
    app: Flask,
    at: datetime | None = None,
    *,
    dry_run: bool = False,
    temp_dir: Path | None = None,
    unless_ran_since: float | None = None,
) -> Report | None:
    """`cleanup` under the instance's lock; None when another run holds it, or (with `unless_ran_since`, a
    POSIX time) when a run started since. A real run notes its start in the stamp file."""
    instance = Path(app.instance_path)
    with exclusive(instance) as held:
        if not held:
            return None
        if unless_ran_since is not None and (last_run(instance) or 0) > unless_ran_since:
            return None
        if not dry_run:
            (instance / STAMP_FILE).touch()
        return cleanup(app, at, dry_run=dry_run, temp_dir=temp_dir)


def summary(report: Report) -> list[str]:
    """The lines `recovery cleanup` prints, in Chinese and English."""
    lines = ["试运行,未删除任何内容 / dry run: nothing was removed"] if report.dry_run else []
    verb = "可删除 / would remove" if report.dry_run else "已删除 / removed"
    for removed in report.removed:
        zh, en, files = KINDS[removed.kind]
        size = f", {_size(removed.bytes)}" if files else ""
        lines.append(f"{zh} / {en}: {removed.count}{size}")
    lines.append(f"合计{verb}: {report.total} ({_size(report.total_bytes)})")
    return lines


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB"):
        if n < 1024:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GB"


# --- the app runs it itself ---------------------------------------------------------------------------------


class _Schedule:
    """When this process next looks at the stamp (a monotonic time), and a lock so one thread looks."""

    def __init__(self) -> None:
        self.next_check = 0.0
        self.lock = threading.Lock()


def init_app(app: Flask) -> None:
    """Start a background run after a request when one is due (never in tests: they call `cleanup`)."""
    app.extensions["recovery.cleanup"] = _Schedule()

    @app.teardown_request
    def _after_request(_exc: BaseException | None = None) -> None:
        if not app.testing:
            start_if_due(app)


def start_if_due(app: Flask) -> threading.Thread | None:
    """Start a run in a background thread when RECOVERY_CLEANUP_INTERVAL_MINUTES have passed since the last
    one (in any process); costs a clock read on most requests and never waits for anything."""
    interval = app.config["RECOVERY"]["CLEANUP_INTERVAL_MINUTES"] * 60
    schedule: _Schedule = app.extensions["recovery.cleanup"]
    if not interval or time.monotonic() < schedule.next_check or not schedule.lock.acquire(blocking=False):
        return None
    try:
        clock, wall = time.monotonic(), time.time()
        if clock < schedule.next_check:
            return None
        due = (last_run(Path(app.instance_path)) or 0) + interval
        if wall < due:
            schedule.next_check = clock + (due - wall)
            return None
        schedule.next_check = clock + interval
        thread = threading.Thread(
            target=_run_in_background, args=(app, wall - interval), name="recovery-cleanup", daemon=True
        )
        thread.start()
        return thread
    finally:
        schedule.lock.release()


def _run_in_background(app: Flask, unless_ran_since: float) -> None:
    try:
        with app.app_context():
            report = run_exclusively(app, unless_ran_since=unless_ran_since)
        if report is not None and report.total:
            app.logger.info("recovery cleanup: %s", "; ".join(summary(report)))
    except Exception:  # a background thread: logged, and the next interval tries again
        app.logger.exception("recovery cleanup failed")
