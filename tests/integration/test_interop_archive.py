"""Archives are checked before extraction: no path leaves the folder, no zip bomb, member count and size capped."""

from __future__ import annotations

import zipfile

import pytest
from support.databases import fingerprint

from recovery.errors import ValidationError
from recovery.interop.archive import Limits, safe_extract
from recovery.interop.importer import plan_import


def test_path_escaping_its_folder_is_refused_and_nothing_extracted(tmp_path):
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("ok.csv", "name\n")
        z.writestr("../../escaped.csv", "name\n")
    target = tmp_path / "out"
    target.mkdir()
    with pytest.raises(ValidationError, match="outside its folder"):
        safe_extract(archive, target)
    assert list(target.iterdir()) == [] and not (tmp_path / "escaped.csv").exists()


def test_zip_bomb_is_refused(tmp_path):
    archive = tmp_path / "bomb.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("big.csv", b"0" * (20 * 1024 * 1024))
    with pytest.raises(ValidationError, match="zip bomb"):
        safe_extract(archive, tmp_path / "out")
    with pytest.raises(ValidationError, match="expands to"):
        safe_extract(archive, tmp_path / "out", Limits(max_ratio=10**6, max_uncompressed_bytes=1024))


def test_member_count_and_upload_size_are_capped(tmp_path):
    archive = tmp_path / "many.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for i in range(5):
            z.writestr(f"f{i}.csv", "name\n")
    with pytest.raises(ValidationError, match="at most 3"):
        safe_extract(archive, tmp_path / "out", Limits(max_members=3))
    from recovery.interop.archive import check_file_size

    with pytest.raises(ValidationError, match="too large"):
        check_file_size(archive, Limits(max_upload_bytes=10), upload=True)


def test_refused_archive_stores_nothing(session, geodata, tmp_path):
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("/etc/passwd.csv", "name\n")
    before = fingerprint(session)
    with pytest.raises(ValidationError, match="outside its folder"):
        plan_import(session, geodata, archive, kind="enterprise")
    assert fingerprint(session) == before
