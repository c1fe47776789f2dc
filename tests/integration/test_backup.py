"""Backups taken while the app writes, restored into an empty database and verified; refusals of a database that
is not empty and of a damaged, tampered or truncated archive; the commands. On SQLite and PostgreSQL."""

from __future__ import annotations

import io
import json
import tarfile
import threading
import uuid
from pathlib import Path

import pytest
from sqlalchemy import inspect, select, text
from support.databases import app_on, db, fingerprint
from support.photos import jpeg_bytes, upload
from support.sites import new_site

import recovery
from recovery.backup import MANIFEST, backup, last_backup_info, restore, tables_with_rows
from recovery.db.engine import make_engine
from recovery.db.migrate import upgrade
from recovery.errors import ConfigError, ValidationError
from recovery.models import Event, Site
from recovery.photos import PhotoStore


@pytest.fixture
def empty_url(db_url, request, tmp_path):
    """A new database on the backend of `db_url` with nothing in it, not even the schema."""
    if db_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'restored.sqlite3'}"
        return
    admin = request.getfixturevalue("pg_templates").admin
    name = f"rt_restore_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    yield admin.url.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


def _engine(app):
    return app.extensions["recovery.engine"]


def _photo_root(app) -> Path:
    return Path(app.config["RECOVERY"]["PHOTO_DIR"])


@pytest.mark.slow
def test_a_backup_taken_under_concurrent_writes_restores_every_acknowledged_update(app, empty_url, tmp_path):
    stored = upload(PhotoStore(_photo_root(app)), "photo-before-backup", jpeg_bytes())
    acknowledged: list[int] = []
    failures: list[str] = []
    stop = threading.Event()
    enough = threading.Event()

    def write() -> None:
        client = app.test_client()  # its own client: the test client is not shared between threads
        while not stop.is_set():
            try:
                acknowledged.append(new_site(client)["id"])
            except Exception as exc:  # noqa: BLE001 - reported by the test below
                failures.append(repr(exc))
                return
            if len(acknowledged) >= 5:
                enough.set()

    writer = threading.Thread(target=write)
    writer.start()
    try:
        assert enough.wait(60), failures
        before = list(acknowledged)  # every update acknowledged before the backup started
        manifest = backup(_engine(app), _photo_root(app), tmp_path / "backup.tar")
        during = len(acknowledged)
    finally:
        stop.set()
        writer.join(60)
    assert failures == []
    assert len(acknowledged) >= during >= len(before) >= 5

    target = make_engine(empty_url)
    try:
        restored = restore(target, tmp_path / "restored-photos", tmp_path / "backup.tar")
        assert restored.differences == []  # `recovery ledger verify` on the restored copy
        with target.connect() as conn:
            sites = set(conn.execute(select(Site.id)).scalars())
            events = conn.execute(select(Event.id)).scalars().all()
    finally:
        target.dispose()
    assert set(before) <= sites
    assert len(events) == manifest["ledger"]["events"] == manifest["tables"]["event"]
    assert max(events) == manifest["ledger"]["last_event_id"]
    assert restored.migration_after == manifest["migration"]
    copy = tmp_path / "restored-photos" / stored.path.relative_to(_photo_root(app))
    assert copy.read_bytes() == stored.path.read_bytes()
    assert restored.photos == len([n for n in manifest["members"] if n.startswith("photos/")]) >= 1


def test_the_manifest_describes_the_copy(app, tmp_path):
    photo_root = _photo_root(app)
    (photo_root / "partial").mkdir(parents=True)
    (photo_root / "partial" / "upload-in-progress.part").write_bytes(b"half a photo")
    manifest = backup(_engine(app), photo_root, tmp_path / "backup.tar")
    with db(app) as session:
        users = session.execute(text("SELECT count(*) FROM app_user")).scalar_one()
        revision = session.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
    assert manifest["format"] == 1
    assert manifest["app_version"] == recovery.__version__
    assert manifest["database"] in {"sqlite", "postgresql"}
    assert manifest["migration"] == revision
    assert manifest["tables"]["app_user"] == users > 0
    assert manifest["tables"]["event"] == 0
    assert manifest["ledger"] == {"events": 0, "last_event_id": None, "last_recorded_at": None}
    with tarfile.open(tmp_path / "backup.tar") as tar:
        names = tar.getnames()
        assert json.loads(tar.extractfile(MANIFEST).read()) == manifest
    assert names[-1] == MANIFEST
    assert sorted(names[:-1]) == sorted(manifest["members"])
    assert not [n for n in names if "partial" in n]  # uploads in progress are not backed up
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no work files left


def test_restore_refuses_a_database_that_is_not_empty_unless_forced(app, db_url, tmp_path):
    backup(_engine(app), _photo_root(app), tmp_path / "backup.tar")
    with db(app) as session:
        session.execute(text("UPDATE app_user SET display_name = 'changed after the backup'"))
        session.commit()
        changed = fingerprint(session)
    target = make_engine(db_url)
    try:
        with pytest.raises(ValidationError, match="not empty.*app_user.*--force"):
            restore(target, tmp_path / "photos-restored", tmp_path / "backup.tar")
        with db(app) as session:
            assert fingerprint(session) == changed
            assert session.execute(
                text("SELECT count(*) FROM app_user WHERE display_name LIKE 'changed%'")
            ).scalar()
        restored = restore(target, tmp_path / "photos-restored", tmp_path / "backup.tar", force=True)
    finally:
        target.dispose()
    assert restored.differences == []
    with db(app) as session:
        assert not session.execute(
            text("SELECT count(*) FROM app_user WHERE display_name LIKE 'changed%'")
        ).scalar()


def test_restore_accepts_a_database_init_db_has_just_made(app, empty_url, tmp_path):
    backup(_engine(app), _photo_root(app), tmp_path / "backup.tar")
    target = make_engine(empty_url)
    try:
        upgrade(target)
        assert tables_with_rows(target) == []
        restored = restore(target, tmp_path / "photos-restored", tmp_path / "backup.tar")
        assert "app_user" in tables_with_rows(target)
    finally:
        target.dispose()
    assert restored.differences == []


def _rewrite(source: Path, target: Path, change) -> None:
    """Copy the archive member by member, `change(name, data)` giving the new bytes (None: leave it out)."""
    with tarfile.open(source) as old, tarfile.open(target, "w") as new:
        for member in old.getmembers():
            data = change(member.name, old.extractfile(member).read())
            if data is not None:
                member.size = len(data)
                new.addfile(member, io.BytesIO(data))


def _flip_last_byte(data: bytes) -> bytes:
    return data[:-1] + bytes([data[-1] ^ 1])


def _tamper_manifest(data: bytes) -> bytes:
    manifest = json.loads(data)
    manifest["members"]["photos/../../escaped.jpg"] = {"size": 1, "sha256": "0" * 64}
    return json.dumps(manifest).encode()


TAMPERINGS = {
    "a database byte changed": lambda name, data: (
        _flip_last_byte(data) if name.startswith("database") else data
    ),
    "a photo changed": lambda name, data: b"another picture" if name.startswith("photos/") else data,
    "a photo removed": lambda name, data: None if name.startswith("photos/") else data,
    "the manifest removed": lambda name, data: None if name == MANIFEST else data,
    "a member outside its folder": lambda name, data: _tamper_manifest(data) if name == MANIFEST else data,
    "the manifest not JSON": lambda name, data: b"{" if name == MANIFEST else data,
}


def test_restore_refuses_a_damaged_tampered_or_truncated_archive_and_changes_nothing(
    app, empty_url, tmp_path
):
    upload(PhotoStore(_photo_root(app)), "photo-in-the-backup", jpeg_bytes())
    good = tmp_path / "backup.tar"
    backup(_engine(app), _photo_root(app), good)
    size = good.stat().st_size
    cases = {name: tmp_path / f"bad-{n}.tar" for n, name in enumerate(TAMPERINGS)}
    for name, path in cases.items():
        _rewrite(good, path, TAMPERINGS[name])
    cases["truncated in the middle"] = tmp_path / "truncated.tar"
    cases["truncated in the middle"].write_bytes(good.read_bytes()[: size // 2])
    cases["empty"] = tmp_path / "empty.tar"
    cases["empty"].write_bytes(b"")
    cases["not a tar file"] = tmp_path / "notes.tar"
    cases["not a tar file"].write_text("备份 / not a backup", encoding="utf-8")
    extra = tmp_path / "extra.tar"
    _rewrite(good, extra, lambda name, data: data)
    with tarfile.open(extra, "a") as tar:
        info = tarfile.TarInfo("photos/ab/unlisted.jpg")
        info.size = 3
        tar.addfile(info, io.BytesIO(b"abc"))
    cases["a member the manifest does not list"] = extra

    photos = tmp_path / "photos-restored"
    target = make_engine(empty_url)
    try:
        for name, path in cases.items():
            with pytest.raises(ValidationError, match="backup|archive") as refused:
                restore(target, photos, path)
            assert str(refused.value), name
            assert tables_with_rows(target) == [], name
            with target.connect() as conn:
                assert "event" not in inspect(conn).get_table_names(), name
            assert not photos.exists() or list(photos.rglob("*")) == [], name
        assert restore(target, photos, good).differences == []  # the untouched archive still restores
    finally:
        target.dispose()
    assert not (tmp_path / "escaped.jpg").exists()


def test_backup_into_a_folder_that_cannot_be_written_is_refused_with_a_message(app, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(ValidationError, match="Cannot write the backup to .*a-file/backup.tar"):
        backup(_engine(app), _photo_root(app), blocker / "backup.tar")


def test_restore_refuses_a_missing_file(app, tmp_path):
    with pytest.raises(ValidationError, match="No backup file"):
        restore(_engine(app), tmp_path / "photos", tmp_path / "nowhere.tar")


def test_backup_needs_pg_dump_only_on_postgresql(app, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "no-programs-here"))
    engine = _engine(app)
    if engine.url.get_backend_name() == "sqlite":
        assert backup(engine, _photo_root(app), tmp_path / "backup.tar")["database"] == "sqlite"
        return
    with pytest.raises(ConfigError, match="pg_dump was not found on PATH.*postgresql-client"):
        backup(engine, _photo_root(app), tmp_path / "backup.tar")
    assert not (tmp_path / "backup.tar").exists()


@pytest.mark.slow
def test_the_commands_back_up_and_restore_onto_a_new_machine(app, runner, empty_url, tmp_path):
    app.instance_path = str(tmp_path / "instance")  # where the command notes its backup
    assert last_backup_info(tmp_path / "instance") is None
    archive = tmp_path / "nightly" / "recovery.tar"
    result = runner.invoke(args=["backup", "--out", str(archive)])
    assert result.exit_code == 0, result.output
    assert "已备份 / backed up" in result.output and str(archive) in result.output
    with app.app_context():
        note = last_backup_info()
    assert note["file"] == str(archive.resolve()) and note["bytes"] == archive.stat().st_size

    new_machine = tmp_path / "new-machine"
    for restored_app in app_on(empty_url, new_machine):
        restore_runner = restored_app.test_cli_runner()
        result = restore_runner.invoke(args=["restore", str(archive)])
        assert result.exit_code == 0, result.output
        assert "已恢复 / restored" in result.output
        assert "账本与投影一致 / ledger and projections agree: 0 differences" in result.output
        again = restore_runner.invoke(args=["restore", str(archive)])
        assert again.exit_code == 2
        assert "not empty" in again.output and "--force" in again.output
        assert restore_runner.invoke(args=["restore", "--force", str(archive)]).exit_code == 0
        with db(restored_app) as session, db(app) as original:
            assert fingerprint(session) == fingerprint(original)
    missing = runner.invoke(args=["restore", str(tmp_path / "nowhere.tar")])
    assert missing.exit_code == 2 and "nowhere.tar" in missing.output


def test_photos_restored_into_another_photo_folder_are_served(app, empty_url, tmp_path):
    """A new machine keeps its photos somewhere else: every photo (and its thumbnail) is still served after the
    restore, including a row written before rows kept their place in the store (an absolute path)."""
    from support.accounts import auth

    from recovery.db import get_session
    from recovery.models_accounts import Photo

    client = app.test_client()
    site = new_site(client)
    photo = jpeg_bytes()
    sent = client.post(
        f"/api/v1/sites/{site['id']}/photos",
        data=photo,
        headers=auth("field") | {"Content-Type": "image/jpeg", "Upload-Id": "restore-photo-01"},
    )
    assert sent.status_code == 201, sent.get_json()
    photo_id = sent.get_json()["photo"]["id"]
    with app.app_context():
        session = get_session()
        row = session.get(Photo, photo_id)
        assert not Path(row.path).is_absolute()  # its place in the store, not this machine's folder
        # an older row: the absolute path of the machine that stored it
        old = Photo(**{k: v for k, v in row.model_dump().items() if k not in ("id", "upload_id")})
        old.upload_id, old.path = "restore-photo-old", str(_photo_root(app) / row.path)
        session.add(old)
        session.commit()
        old_id = old.id
    backup(_engine(app), _photo_root(app), tmp_path / "backup.tar")
    for restored_app in app_on(empty_url, tmp_path / "new-machine"):
        new_root = Path(restored_app.config["RECOVERY"]["PHOTO_DIR"])
        assert new_root != _photo_root(app)
        restore(restored_app.extensions["recovery.engine"], new_root, tmp_path / "backup.tar")
        restored = restored_app.test_client()
        for pid in (photo_id, old_id):
            got = restored.get(f"/api/v1/photos/{pid}", headers=auth("commander"))
            assert got.status_code == 200 and got.data == (_photo_root(app) / row.path).read_bytes()
            got.close()
            thumb = restored.get(f"/api/v1/photos/{pid}/thumb", headers=auth("commander"))
            assert thumb.status_code == 200 and thumb.mimetype == "image/jpeg"
            thumb.close()
