"""`recovery cleanup`: what is past its age goes, what is younger stays, and nothing else is ever touched."""

from __future__ import annotations

import fcntl
import io
import json
import os
import threading
from datetime import date, timedelta
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from recovery import cleanup
from recovery.errors import ConfigError
from recovery.models_accounts import (
    ApiToken,
    IdempotencyRecord,
    LoginAttempt,
    LoginThrottle,
    User,
    UserSession,
)
from recovery.photos import PhotoStore, _locked
from recovery.reports.models import PublishedReport, PublishedReportFile
from recovery.settings import load_settings
from recovery.timeutil import now

AT = now()
OLD = (AT - timedelta(days=40)).timestamp()  # past every age
RECENT = (AT - timedelta(hours=23)).timestamp()  # within every age (24 hours is the shortest)


@pytest.fixture
def places(app, tmp_path):
    """The app's instance folder and temporary folder moved under tmp_path (the real ones are shared)."""
    app.instance_path = str(tmp_path / "instance")
    (tmp_path / "tmp").mkdir()
    return cleanup.places_of(app, tmp_path / "tmp")


def _run(app, places, *, dry_run=False) -> dict[str, cleanup.Removed]:
    report = cleanup.cleanup(app, AT, dry_run=dry_run, temp_dir=places.temp_dir)
    return {r.kind: r for r in report.removed}


def _age(path: Path, when: float) -> None:
    """Set the modification time of a file or of a whole tree (never through a link)."""
    for sub in [*path.rglob("*"), path] if path.is_dir() and not path.is_symlink() else [path]:
        os.utime(sub, (when, when), follow_symlinks=False)


def _jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 10, 10)).save(buffer, "JPEG")
    return buffer.getvalue()


def _partial(store: PhotoStore, upload_id: str) -> set[str]:
    return {p.name for p in store.partial_dir.glob(f"{upload_id}.*")}


# --- photo uploads ---------------------------------------------------------------------------------------------


def test_old_partial_uploads_go_young_ones_resume_and_stored_photos_stay(app, places):
    store = PhotoStore(places.photo_root)
    photo = _jpeg()
    store.append_chunk("u1-abandoned", 0, photo[:100], len(photo), 10**6)
    store.append_chunk("u1-resuming", 0, photo[:100], len(photo), 10**6)
    store.append_chunk("u1-finished", 0, photo, len(photo), 10**6)
    stored = store.finish("u1-finished")
    thumb = store.thumbnail(stored.path)
    killed_tmp = stored.path.with_name(f"{stored.sha256}.thumb320.4242.tmp")  # a thumbnail killed midway
    killed_tmp.write_bytes(b"half a thumbnail")
    for path in [*store.partial_dir.iterdir(), stored.path, thumb, killed_tmp]:
        _age(path, OLD)
    for path in store.partial_dir.glob("u1-resuming.*"):
        _age(path, RECENT)  # its last chunk came 23 hours ago: the phone may still resume
    assert _partial(store, "u1-abandoned") == {"u1-abandoned.part", "u1-abandoned.json", "u1-abandoned.lock"}

    removed = _run(app, places)

    assert removed["photo_uploads"].count == 2  # the abandoned one, and the finished one's state and lock
    state_of_abandoned = json.dumps({"total": len(photo)}).encode()
    relative = stored.path.relative_to(places.photo_root).as_posix()
    state_of_finished = json.dumps({"total": len(photo), "stored": relative}).encode()
    assert removed["photo_uploads"].bytes == 100 + len(state_of_abandoned) + len(state_of_finished)
    assert removed["photo_temp_files"].count == 1
    assert _partial(store, "u1-abandoned") == set()
    assert _partial(store, "u1-finished") == set()
    assert store.received("u1-abandoned") == 0  # a late client starts that photo again
    assert store.received("u1-resuming") == 100
    assert store.append_chunk("u1-resuming", 100, photo[100:], len(photo), 10**6) == len(photo)
    assert store.finish("u1-resuming").path == stored.path  # the same photo, stored once
    assert stored.path.read_bytes() and thumb.is_file()  # complete photos and their thumbnails stay
    assert not killed_tmp.exists()


def test_an_upload_being_written_is_never_removed(app, places):
    store = PhotoStore(places.photo_root)
    store.append_chunk("u1-inflight", 0, b"\xff\xd8\xff" + b"x" * 97, 1000, 10**6)
    _age(store.partial_dir, OLD)
    with _locked(store.partial_dir / "u1-inflight.lock"):  # a request holds it
        assert _run(app, places)["photo_uploads"].count == 0
    assert store.received("u1-inflight") == 100
    assert _run(app, places)["photo_uploads"].count == 1
    assert store.received("u1-inflight") == 0
    # the lock file went with it; the next chunk makes a new one and is taken normally
    assert store.append_chunk("u1-inflight", 0, b"\xff\xd8\xff", 1000, 10**6) == 3


def test_a_lock_removed_while_a_request_waited_is_taken_again_on_the_new_file(tmp_path):
    """`_locked` holds only a lock whose file is still in place: a request that opened the lock file before
    cleanup removed it must not think it holds the upload's lock (another request would lock the new file)."""
    lock = tmp_path / "u1-raceupload.lock"
    held_by_cleanup = os.open(lock, os.O_RDWR | os.O_CREAT)
    fcntl.flock(held_by_cleanup, fcntl.LOCK_EX)
    seen: list = []

    def request():
        try:
            with _locked(lock):
                seen.append(os.stat(lock).st_ino)
        except Exception as exc:  # reported below, in the test's thread
            seen.append(exc)

    def opened() -> int:
        return sum(os.path.realpath(f"/proc/self/fd/{fd}") == str(lock) for fd in os.listdir("/proc/self/fd"))

    thread = threading.Thread(target=request)
    thread.start()
    for _ in range(3000):  # until the request has the old file open: it waits on cleanup's lock
        if opened() >= 2 or not thread.is_alive():
            break
        thread.join(0.01)
    lock.unlink()  # cleanup removes the lock file while holding it, then lets go
    os.close(held_by_cleanup)
    thread.join(30)
    assert seen == [os.stat(lock).st_ino]  # it holds the lock of the file now at that name


# --- imports and temporary files -------------------------------------------------------------------------------


def _pending(root: Path, token: str, when: float) -> Path:
    folder = root / token
    folder.mkdir(parents=True)
    (folder / "options.json").write_text("{}")
    (folder / "source.pickle").write_bytes(b"x" * 1000)
    _age(folder, when)
    return folder


def test_unconfirmed_imports_past_their_age_go(app, places, tmp_path):
    root = places.imports_root
    old = _pending(root, "a" * 32, OLD)
    young = _pending(root, "b" * 32, RECENT)
    legacy = [root / f"{'c' * 32}.csv", root / f"{'c' * 32}.json"]  # the layout before one folder per upload
    for path in legacy:
        path.write_text("x")
        _age(path, OLD)
    foreign = root / "notes.txt"  # not a name the app makes
    foreign.write_text("keep")
    _age(foreign, OLD)

    removed = _run(app, places)

    assert removed["pending_imports"].count == 3
    assert removed["pending_imports"].bytes == 1002 + 2
    assert not old.exists() and not any(p.exists() for p in legacy)
    assert (young / "source.pickle").is_file() and foreign.is_file()


def test_a_file_written_recently_keeps_its_whole_import(app, places):
    folder = _pending(places.imports_root, "d" * 32, OLD)
    os.utime(folder / "source.pickle", (RECENT, RECENT))
    assert _run(app, places)["pending_imports"].count == 0
    assert folder.is_dir()


def test_temporary_leftovers_of_killed_imports_and_exports_go(app, places):
    tmp = places.temp_dir
    extracted = tmp / "recovery-import-k1ll3d"
    (extracted / "sub").mkdir(parents=True)
    (extracted / "sub" / "a.shp").write_bytes(b"s" * 500)
    export = tmp / "recovery-export-x1.xlsx"
    export.write_bytes(b"e" * 300)
    running = tmp / "recovery-import-running"
    running.mkdir()
    (running / "b.shp").write_bytes(b"s")
    other = tmp / "someone-else-old"
    other.mkdir()
    for path in (extracted, export, other):
        _age(path, OLD)
    _age(running, OLD)
    os.utime(running / "b.shp", (RECENT, RECENT))  # being extracted right now

    removed = _run(app, places)

    assert (removed["temp_leftovers"].count, removed["temp_leftovers"].bytes) == (2, 800)
    assert not extracted.exists() and not export.exists()
    assert running.is_dir() and other.is_dir()


def test_symbolic_links_are_never_followed(app, places, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "precious.txt").write_text("never removed")
    _age(outside, OLD)
    store = PhotoStore(places.photo_root)
    store.partial_dir.mkdir(parents=True)
    links = [
        places.imports_root / ("e" * 32),  # where a pending import's folder would be
        places.temp_dir / "recovery-import-link",
        store.partial_dir / "u1-linkedfile.part",
    ]
    places.imports_root.mkdir(parents=True)
    for link in links:
        link.symlink_to(outside / "precious.txt" if link.suffix == ".part" else outside)
    inside = _pending(places.imports_root, "f" * 32, OLD)
    (inside / "escape").symlink_to(outside)  # inside a folder that goes: the link goes, not its target
    (inside / "escape-file").symlink_to(outside / "precious.txt")
    _age(inside, OLD)
    for link in links:
        _age(link, OLD)

    removed = _run(app, places)

    assert removed["pending_imports"].count == 1 and not inside.exists()
    assert removed["temp_leftovers"].count == 0 and removed["photo_uploads"].count == 0
    assert (outside / "precious.txt").read_text() == "never removed"
    assert all(link.is_symlink() for link in links)


# --- rows ------------------------------------------------------------------------------------------------------


def _rows(app) -> Session:
    return Session(app.extensions["recovery.engine"], expire_on_commit=False)


def _count(session: Session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def _seed_rows(app) -> None:
    """Old and young rows of every kind, for the commander and for a name that does not exist."""
    old, young = AT - timedelta(days=40), AT - timedelta(days=2)
    with _rows(app) as s:
        user = s.scalar(select(User).where(User.username == "commander"))
        s.add_all(
            [
                LoginAttempt(username="commander", remote_addr="10.0.0.1", at=old, success=False),
                LoginAttempt(username="nobody-by-this-name", remote_addr="10.0.0.2", at=old, success=False),
                LoginAttempt(username="nobody-by-this-name", remote_addr="10.0.0.2", at=young, success=False),
                LoginAttempt(username="commander", remote_addr="10.0.0.1", at=young, success=True),
                # failures forgotten (24 hours without one) and no wait left: meaningless
                LoginThrottle(
                    username="ghost",
                    remote_addr="10.0.0.3",
                    failures=9,
                    last_attempt_at=young,
                    blocked_until=young,
                ),
                # a failure an hour ago: still counts
                LoginThrottle(
                    username="commander",
                    remote_addr="10.0.0.1",
                    failures=4,
                    last_attempt_at=AT - timedelta(hours=1),
                    blocked_until=AT - timedelta(minutes=50),
                ),
                # waiting still
                LoginThrottle(
                    username="guesser",
                    remote_addr="10.0.0.4",
                    failures=30,
                    last_attempt_at=AT - timedelta(minutes=1),
                    blocked_until=AT + timedelta(minutes=14),
                ),
            ]
        )
        # (digit of the key's hash, created, expires, revoked): which ones stay is asserted by the tests
        sessions = [
            ("1", old, old + timedelta(hours=12), None),  # expired long ago
            ("2", old, AT + timedelta(days=1), old),  # ended long ago
            ("3", young, young + timedelta(hours=12), None),  # expired lately
            ("4", AT, AT + timedelta(hours=12), None),  # open
        ]
        tokens = [
            ("5", old, old, None),  # expired long ago
            ("6", old, AT + timedelta(days=50), old),  # revoked long ago
            ("7", old, AT + timedelta(days=50), young),  # revoked lately
        ]
        s.add_all(
            UserSession(user_id=user.id, key_hash=d * 64, created_at=c, expires_at=e, revoked_at=r)
            for d, c, e, r in sessions
        )
        s.add_all(
            ApiToken(user_id=user.id, token_hash=d * 64, created_at=c, expires_at=e, revoked_at=r)
            for d, c, e, r in tokens
        )
        records = {
            name: IdempotencyRecord(
                user_id=user.id,
                key=f"key-{name}",
                method="POST",
                path="/api/v1/sites",
                body_hash="0" * 64,
                status_code=201,
                response={},
                headers={},
                created_at=when,
            )
            for name, when in (("old", old), ("young", young))
        }
        s.add_all(records.values())
        s.commit()


def test_old_sign_in_rows_and_idempotency_records_go_young_ones_stay(app, places):
    with _rows(app) as s:
        tokens_before = _count(s, ApiToken)
    _seed_rows(app)

    removed = _run(app, places)

    assert {k: removed[k].count for k in removed if not cleanup.KINDS[k][2]} == {
        "login_attempts": 2,
        "login_throttles": 1,
        "ended_sessions": 2,
        "ended_tokens": 2,
        "idempotency_records": 1,
    }
    with _rows(app) as s:
        assert sorted(s.scalars(select(LoginAttempt.username))) == ["commander", "nobody-by-this-name"]
        assert sorted(s.scalars(select(LoginThrottle.username))) == ["commander", "guesser"]
        assert sorted(s.scalars(select(UserSession.key_hash))) == ["3" * 64, "4" * 64]
        assert sorted(
            s.scalars(select(ApiToken.token_hash).where(ApiToken.created_at < AT - timedelta(days=1)))
        ) == ["7" * 64]
        assert _count(s, ApiToken) == tokens_before + 1  # the test users' own tokens are active and stay
        assert list(s.scalars(select(IdempotencyRecord.key))) == ["key-young"]
    assert sum(r.count for r in _run(app, places).values()) == 0  # a second run finds nothing


def test_the_ages_come_from_the_settings(db_url, tmp_path):
    from support.databases import app_on

    app = next(app_on(db_url, tmp_path, LOGIN_RECORD_DAYS=60, IDEMPOTENCY_DAYS=45))
    app.instance_path = str(tmp_path / "instance")
    (tmp_path / "tmp").mkdir()
    _seed_rows(app)
    removed = _run(app, cleanup.places_of(app, tmp_path / "tmp"))
    assert removed["login_attempts"].count == 0 and removed["ended_tokens"].count == 0
    assert removed["idempotency_records"].count == 0
    app.extensions["recovery.engine"].dispose()


def test_published_reports_are_never_removed(app, places):
    from recovery.reports.publish import publish

    with _rows(app) as s:
        report = publish(s, date(2021, 7, 29), "reporter")
        report.published_at = AT - timedelta(days=1000)
        s.add(report)
        s.commit()
        files_before = _count(s, PublishedReportFile)
        sha = report.sha256
    _seed_rows(app)
    _run(app, places)
    with _rows(app) as s:
        assert [r.sha256 for r in s.scalars(select(PublishedReport))] == [sha]
        assert _count(s, PublishedReportFile) == files_before > 0


# --- dry run, the command, the background run -----------------------------------------------------------------


def test_a_dry_run_counts_and_removes_nothing(app, places):
    _seed_rows(app)
    folder = _pending(places.imports_root, "a" * 32, OLD)
    store = PhotoStore(places.photo_root)
    store.append_chunk("u1-abandoned", 0, b"\xff\xd8\xff" + b"x" * 97, 1000, 10**6)
    _age(store.partial_dir, OLD)
    leftover = places.temp_dir / "recovery-export-y.csv"
    leftover.write_text("x")
    _age(leftover, OLD)

    counted = _run(app, places, dry_run=True)

    assert counted["pending_imports"].count == counted["photo_uploads"].count == 1
    assert counted["temp_leftovers"].count == 1 and counted["login_attempts"].count == 2
    assert counted["photo_uploads"].bytes > 100
    assert folder.is_dir() and store.received("u1-abandoned") == 100 and leftover.is_file()
    assert (store.partial_dir / "u1-abandoned.lock").is_file()
    removed = _run(app, places)
    assert {k: (r.count, r.bytes) for k, r in removed.items()} == {
        k: (r.count, r.bytes) for k, r in counted.items()
    }


def test_the_command_prints_a_summary_in_chinese_and_english(app, places, monkeypatch):
    monkeypatch.setattr("tempfile.tempdir", str(places.temp_dir))
    _seed_rows(app)
    _pending(places.imports_root, "a" * 32, OLD)
    runner = app.test_cli_runner()

    dry = runner.invoke(args=["cleanup", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    lines = dry.output.splitlines()
    assert lines[0] == "试运行,未删除任何内容 / dry run: nothing was removed"
    assert "未确认的导入 / unconfirmed imports: 1, 1002 B" in lines
    assert "登录记录 / sign-in attempts: 2" in lines
    assert lines[-1].startswith("合计可删除 / would remove: 9 (")
    assert (places.imports_root / ("a" * 32)).is_dir()

    real = runner.invoke(args=["cleanup"])
    assert real.exit_code == 0, real.output
    assert "未确认的导入 / unconfirmed imports: 1, 1002 B" in real.output.splitlines()
    assert real.output.splitlines()[-1] == "合计已删除 / removed: 9 (1002 B)"
    assert not (places.imports_root / ("a" * 32)).exists()
    assert runner.invoke(args=["cleanup"]).output.splitlines()[-1] == "合计已删除 / removed: 0 (0 B)"


def test_two_runs_never_overlap(app, places, monkeypatch):
    monkeypatch.setattr("tempfile.tempdir", str(places.temp_dir))
    folder = _pending(places.imports_root, "a" * 32, OLD)
    with cleanup.exclusive(Path(app.instance_path)) as held:  # another process or thread is running one
        assert held
        assert cleanup.run_exclusively(app, AT) is None
        result = app.test_cli_runner().invoke(args=["cleanup"])
        assert (
            result.output == "另一次清理正在进行,本次未做任何事 / another cleanup is running: nothing done\n"
        )
        assert folder.is_dir()
    assert cleanup.run_exclusively(app, AT).total == 1


def test_the_app_starts_a_background_run_at_most_once_per_interval(app, places, monkeypatch):
    monkeypatch.setattr("tempfile.tempdir", str(places.temp_dir))
    folder = _pending(places.imports_root, "a" * 32, OLD)
    client = app.test_client()
    client.get("/login")
    assert cleanup.last_run(Path(app.instance_path)) is None  # tests (TESTING) never start one themselves

    app.testing = False
    before = set(threading.enumerate())
    assert client.get("/login").status_code == 200
    started = [t for t in set(threading.enumerate()) - before if t.name == "recovery-cleanup"]
    for thread in started:
        thread.join(30)
    assert not folder.exists()
    assert cleanup.last_run(Path(app.instance_path)) is not None
    assert cleanup.start_if_due(app) is None  # not again within the interval, in this process…

    app.extensions["recovery.cleanup"] = cleanup._Schedule()  # …nor in another one, which reads the stamp
    assert cleanup.start_if_due(app) is None
    stamp = Path(app.instance_path) / cleanup.STAMP_FILE
    os.utime(stamp, (AT.timestamp() - 3601, AT.timestamp() - 3601))  # an hour later, in yet another process
    app.extensions["recovery.cleanup"] = cleanup._Schedule()
    thread = cleanup.start_if_due(app)
    assert thread is not None
    thread.join(30)
    assert stamp.stat().st_mtime > AT.timestamp() - 60


def test_a_zero_interval_never_starts_a_background_run(db_url, tmp_path):
    from support.databases import app_on

    app = next(app_on(db_url, tmp_path, CLEANUP_INTERVAL_MINUTES=0))
    app.instance_path = str(tmp_path / "instance")
    assert cleanup.start_if_due(app) is None
    app.extensions["recovery.engine"].dispose()


@pytest.mark.parametrize(
    ("variable", "text"),
    [
        ("RECOVERY_UPLOAD_EXPIRY_HOURS", "0"),
        ("RECOVERY_IMPORT_EXPIRY_HOURS", "-1"),
        ("RECOVERY_LOGIN_RECORD_DAYS", "x"),
        ("RECOVERY_IDEMPOTENCY_DAYS", "0"),
        ("RECOVERY_CLEANUP_INTERVAL_MINUTES", "-5"),
    ],
)
def test_an_age_of_zero_or_less_is_refused_at_start_up(variable, text):
    with pytest.raises(ConfigError, match=variable):
        load_settings({variable: text})


def test_a_retry_after_its_record_expired_still_stores_nothing_twice(app, places, geodata):
    """IDEMPOTENCY_DAYS drops the stored answer; the ledger's client event id, kept for ever, still holds."""
    from support.accounts import auth

    from recovery.models import Event, Site

    point = geodata.subdistrict("fengyang").geometry.representative_point()
    body = {
        "kind": "road_collapse",
        "attributes": {"road_class": "main"},
        "name": "地下车库",
        "position": {"lon": point.x, "lat": point.y, "crs": "wgs84"},
    }
    headers = {**auth("field"), "Idempotency-Key": "retry-after-a-month"}
    client = app.test_client()
    first = client.post("/api/v1/sites", json=body, headers=headers)
    assert first.status_code == 201
    site_id = first.get_json()["site"]["properties"]["id"]
    change = {**auth("field"), "Idempotency-Key": "change-after-a-month", "If-Match": '"1"'}
    changed = client.post(f"/api/v1/sites/{site_id}/events", json={"status": "secured"}, headers=change)
    assert changed.status_code == 201, changed.get_json()
    with _rows(app) as s:
        events = _count(s, Event)

    removed = cleanup.cleanup(app, AT + timedelta(days=31), temp_dir=places.temp_dir)

    assert {r.kind: r.count for r in removed.removed}["idempotency_records"] == 2
    again = client.post("/api/v1/sites", json=body, headers=headers)
    retried = client.post(f"/api/v1/sites/{site_id}/events", json={"status": "secured"}, headers=change)
    # not the stored answer any more: a refusal (this change under this key exists) or the stored event
    for answer in (again, retried):
        assert answer.status_code in (200, 201, 412, 422), answer.get_json()
    if again.status_code < 300:
        assert again.get_json()["site"]["properties"]["id"] == site_id
    with _rows(app) as s:
        assert _count(s, Site) == 1 and _count(s, Event) == events
