"""The built wheel, installed into a fresh virtual environment outside the checkout, runs on its own: the
templates, static files, geodata, migrations and seed data travel inside it, and no build script is served."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from importlib import metadata
from pathlib import Path

import pytest
from support.article import ARTICLE_PARAGRAPH

from recovery.settings import PROJECT_ROOT

#: what a wheel is built from: the package, its data folders and the build's own files
SOURCES = (
    "pyproject.toml",
    "setup.py",
    "MANIFEST.in",
    "README.md",
    "recovery",
    "seed",
    "templates",
    "geodata",
    "migrations",
)
LEFT_OUT = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")


def _run(args: list, *, cwd: Path, env: dict | None = None, timeout: int = 300) -> str:
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{args} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel built from a copy of the checkout (a stale build/ folder in the checkout cannot leak into it),
    without build isolation, so that nothing is downloaded."""
    if int(metadata.version("setuptools").split(".")[0]) < 77:
        pytest.fail("building the wheel offline needs setuptools 77 or later here: pip install -e '.[test]'")
    source = tmp_path_factory.mktemp("source")
    for name in SOURCES:
        origin = PROJECT_ROOT / name
        if origin.is_dir():
            shutil.copytree(origin, source / name, ignore=LEFT_OUT)
        else:
            shutil.copy2(origin, source / name)
    out = tmp_path_factory.mktemp("dist")
    pip = [sys.executable, "-m", "pip"]
    _run(
        [*pip, "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q", "-w", str(out), "."],
        cwd=source,
    )
    (built,) = out.glob("recovery-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> dict:
    """A fresh virtual environment with the wheel installed, and the environment to run its commands in.

    The wheel goes in with `--no-deps`; its dependencies are the ones this interpreter already has, reached
    through a .pth line (the editable install of the checkout is not: a .pth file in a folder named by another
    .pth file is never run)."""
    root = tmp_path_factory.mktemp("venv")
    venv = root / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=root)
    python = venv / "bin" / "python"
    purelib = _run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], cwd=root)
    (Path(purelib.strip()) / "project-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "-q",
            "--no-deps",
            "--no-index",
            str(wheel),
        ],
        cwd=root,
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RECOVERY_", "PYTHON", "FLASK_"))}
    workdir = root / "work"
    workdir.mkdir()
    return {"python": python, "recovery": venv / "bin" / "recovery", "env": env, "cwd": workdir, "venv": venv}


def test_nothing_under_static_is_a_script():
    static = PROJECT_ROOT / "recovery" / "static"
    scripts = [
        p.relative_to(static).as_posix() for p in static.rglob("*") if p.suffix in {".py", ".sh", ".pyc"}
    ]
    assert scripts == []


@pytest.mark.slow
def test_the_wheel_carries_the_apps_files_and_no_build_script(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in (
        "recovery/bundled/templates/base.html",
        "recovery/bundled/templates/reports/daily.html",
        "recovery/bundled/geodata/subdistricts.geojson",
        "recovery/bundled/migrations/env.py",
        "recovery/bundled/migrations/versions/0001_initial_schema.py",
        "recovery/static/app.css",
        "recovery/static/field/icons/icon-192.png",
        "recovery/translations/zh_CN/LC_MESSAGES/messages.mo",
        "recovery/auth/common_passwords.txt",
        "seed/data/events.jsonl",
        "seed/data/MANIFEST.json",
    ):
        assert needed in names, needed
    versions = sorted(p.name for p in (PROJECT_ROOT / "migrations" / "versions").glob("*.py"))
    assert (
        sorted(n.rsplit("/", 1)[1] for n in names if n.startswith("recovery/bundled/migrations/versions/"))
        == versions
    )
    assert [n for n in names if n.startswith("recovery/static/") and n.endswith(".py")] == []
    assert "recovery/bundled/geodata/build.py" not in names
    assert [n for n in names if "__pycache__" in n] == []


@pytest.mark.slow
def test_the_installed_wheel_runs_init_db_seed_and_the_daily_report_outside_the_checkout(installed):
    where = _run(
        [installed["python"], "-c", "import recovery, seed; print(recovery.__file__); print(seed.__file__)"],
        cwd=installed["cwd"],
        env=installed["env"],
    ).split()
    assert all(Path(p).is_relative_to(installed["venv"]) for p in where), where
    command = [str(installed["recovery"])]
    run = {"cwd": installed["cwd"], "env": installed["env"]}
    assert "(empty) -> " in _run([*command, "init-db"], **run)
    assert "已加载 / loaded" in _run([*command, "seed", "load"], **run)
    bulletin = _run([*command, "report", "daily", "--date", "2021-07-29"], **run)
    assert ARTICLE_PARAGRAPH in bulletin
    # the database went to the installed app's instance folder, not into the checkout or the working directory
    assert list(installed["venv"].glob("var/recovery-instance/recovery.sqlite3"))
    assert list(installed["cwd"].iterdir()) == []


@pytest.mark.slow
def test_the_installed_wheel_serves_its_pages_and_static_files_but_no_script(installed):
    probe = (
        "import json\n"
        "from recovery import create_app\n"
        "client = create_app({'TESTING': True}).test_client()\n"
        "answers = {path: client.get(path) for path in "
        "('/login', '/static/app.css', '/static/field/app.js', '/static/field/make_icons.py')}\n"
        "print(json.dumps({path: [r.status_code, r.get_data(as_text=True)[:2000]] for path, r in answers.items()}))\n"
    )
    answers = json.loads(_run([installed["python"], "-c", probe], cwd=installed["cwd"], env=installed["env"]))
    assert answers["/login"][0] == 200 and "登录" in answers["/login"][1]
    assert answers["/static/app.css"][0] == 200
    assert answers["/static/field/app.js"][0] == 200
    assert answers["/static/field/make_icons.py"][0] == 404
