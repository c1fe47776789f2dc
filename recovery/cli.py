"""The `recovery` command line: database, seed data, ledger checks, figures and the daily bulletin."""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup, FlaskGroup, with_appcontext

from recovery.cli_support import bar as _bar
from recovery.cli_support import fail as _fail
from recovery.cli_support import geodata as _geodata
from recovery.cli_support import session as _session
from recovery.errors import RecoveryError


def _app() -> Flask:
    # the app by name, as `flask --app recovery` finds it: the factory registers these commands, so the
    # command line must not import the factory's module itself (an import cycle)
    from flask.cli import locate_app

    return locate_app("recovery", None)


def register_commands(app: Flask) -> None:
    app.cli.add_command(init_db)
    app.cli.add_command(seed)
    app.cli.add_command(ledger)
    app.cli.add_command(metrics)
    app.cli.add_command(report)
    app.cli.add_command(serve)
    app.cli.add_command(settings_cmd)
    app.cli.add_command(cleanup_cmd)
    app.cli.add_command(backup_cmd)
    app.cli.add_command(restore_cmd)
    from recovery.auth.cli import users

    app.cli.add_command(users)
    from recovery.admin.cli import audit_cmd, teams

    app.cli.add_command(teams)
    app.cli.add_command(audit_cmd)
    from recovery.interop.cli import export_cmd, import_cmd

    app.cli.add_command(import_cmd)
    app.cli.add_command(export_cmd)
    from recovery.dashboard.cli import supervise_cmd

    app.cli.add_command(supervise_cmd)
    from recovery.notices.cli import worker_cmd

    app.cli.add_command(worker_cmd)
    from recovery.workitems_cli import units, work_items

    app.cli.add_command(work_items)
    app.cli.add_command(units)


@click.command("init-db")
@with_appcontext
def init_db() -> None:
    """Bring the database to the current schema (safe to run again)."""
    from recovery.db.engine import get_engine
    from recovery.db.migrate import upgrade

    before, after = upgrade(get_engine())
    url = get_engine().url.render_as_string(hide_password=True)
    if before == after:
        click.echo(f"数据库已是最新 / database already at {after}: {url}")
    else:
        click.echo(f"数据库已升级 / database upgraded {before or '(empty)'} -> {after}: {url}")


@click.group(cls=AppGroup)
def seed() -> None:
    """The 7·20 seed data set and synthetic data sets for benchmarks."""


@seed.command("load")
@click.option(
    "--dir",
    "folder",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder with teams/sites/work_items/events .jsonl (default: the committed seed).",
)
def seed_load(folder: Path | None) -> None:
    """Load the seed data set (once; loading it again does nothing)."""
    from recovery.ledger.bulk import load_dataset
    from recovery.seeding import read_dataset

    folder = folder or Path(current_app.config["RECOVERY"]["SEED_DIR"])
    data = read_dataset(folder)
    with _bar(len(data["events"]), "写入事件 events") as bar:
        try:
            result = load_dataset(_session(), _geodata(), progress=bar.update, **data)
        except RecoveryError as exc:
            _fail(exc)
    _register_units(folder)
    if result.skipped:
        click.echo("种子数据已加载,未做改动 / seed data already loaded, nothing changed")
    else:
        click.echo(
            f"已加载 / loaded: {result.teams} teams, {result.sites} sites, {result.work_items} work items, "
            f"{result.events} events"
        )


def _register_units(folder: Path) -> None:
    """The responsible units' leaders and contacts (seed/data/units.jsonl), where none is registered yet."""
    from recovery.seeding import read_jsonl
    from recovery.units import register

    path = folder / "units.jsonl"
    if path.exists():
        db = _session()
        if register(db, read_jsonl(path)):
            db.commit()


@seed.command("synthetic")
@click.option("--sites", "n_sites", type=click.IntRange(1, 10_000_000), required=True)
@click.option("--events", "n_events", type=click.IntRange(1, 100_000_000), required=True)
@click.option("--rng-seed", type=int, default=1, show_default=True)
def seed_synthetic(n_sites: int, n_events: int, rng_seed: int) -> None:
    """Load a synthetic data set of N sites and M events (M >= N) for benchmarks."""
    from recovery.seeding import load_synthetic

    if n_events < n_sites:
        raise click.BadParameter("--events must be at least --sites (every site starts with its report)")
    with _bar(n_events, "写入事件 events") as bar:
        try:
            result = load_synthetic(_session(), _geodata(), n_sites, n_events, rng_seed, progress=bar.update)
        except RecoveryError as exc:
            _fail(exc)
    click.echo(f"已加载 / loaded: {result.sites} sites, {result.events} events")


@seed.command("generate")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None)
def seed_generate(out: Path | None) -> None:
    """Regenerate the committed seed files from the generator (deterministic)."""
    from recovery.seeding import regenerate

    manifest = regenerate(
        Path(current_app.config["RECOVERY"]["GEODATA_DIR"]),
        out or Path(current_app.config["RECOVERY"]["SEED_DIR"]),
    )
    click.echo(json.dumps(manifest, ensure_ascii=False, indent=2))


@click.group(cls=AppGroup)
def ledger() -> None:
    """Check or rebuild the projections from the event ledger."""


@ledger.command("verify")
def ledger_verify() -> None:
    """Replay every event and report any difference from the stored projections (exit 1 if any)."""
    from recovery.ledger.bulk import verify

    with _bar(None, "重放事件 replaying") as bar:
        problems = verify(_session(), progress=bar.update)
    for line in problems[:200]:
        click.echo(line)
    if problems:
        click.echo(f"不一致 / differences: {len(problems)}", err=True)
        sys.exit(1)
    click.echo("账本与投影一致 / ledger and projections agree: 0 differences")


@ledger.command("rebuild")
def ledger_rebuild() -> None:
    """Rewrite every projection and the daily roll-up from the ledger."""
    from recovery.ledger.bulk import rebuild

    with _bar(None, "重放事件 replaying") as bar:
        count = rebuild(_session(), progress=bar.update)
    click.echo(f"已重建 / rebuilt {count} sites")


@click.command("metrics")
@with_appcontext
@click.option("--as-of", "as_of", required=True, help="A day (YYYY-MM-DD: its end) or an ISO instant.")
@click.option("--known-at", default=None, help="Only count what the server had recorded by then.")
@click.option(
    "--subdistrict",
    default=None,
    help="A sub-district by any of its names, or 未分配 for what lies outside them.",
)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True)
def metrics(as_of: str, known_at: str | None, subdistrict: str | None, fmt: str, lang: str) -> None:
    """Print every figure as of a moment."""
    from recovery.metrics import cube_at, evaluate_all
    from recovery.metrics.compute import figures_payload
    from recovery.query.sites import parse_subdistrict
    from recovery.timeutil import parse_as_of

    try:
        moment = parse_as_of(as_of)
        known = parse_as_of(known_at) if known_at else None
        area = parse_subdistrict(subdistrict)
        cube = cube_at(_session(), moment, known)
        figures = evaluate_all(cube, area)
    except RecoveryError as exc:
        _fail(exc)
    if fmt == "json":
        click.echo(
            json.dumps(figures_payload(cube, figures, lang), ensure_ascii=False, indent=2, default=str)
        )
        return
    for fig in figures.values():
        label, unit = fig.metric.label(lang), fig.metric.unit_label(lang)
        click.echo(f"{fig.key:32} {label:24} {fig.printed:>10} {unit}")


@click.group(cls=AppGroup)
def report() -> None:
    """Reports generated from the figures."""


@report.command("daily")
@click.option("--date", "day", required=True, help="YYYY-MM-DD")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "txt", "md", "json", "xlsx", "geojson"]),
    default="text",
    show_default=True,
)
@click.option("--known-at", default=None, help="Only count what the server had recorded by then.")
@click.option("--version", "version", default=None, help="A publication exactly as published: N or latest.")
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True)
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Write to this file."
)
def report_daily(
    day: str, fmt: str, known_at: str | None, version: str | None, lang: str, out: Path | None
) -> None:
    """The daily report for a date: the bulletin (text), Markdown, JSON, the Excel ledger or GeoJSON."""
    from recovery.reports import files

    text = ""
    try:
        fmt = files.check_format(fmt)
        if fmt in files.SITE_FORMATS and out is None:
            raise click.BadParameter("--out FILE is needed for xlsx and geojson", param_hint="--out")
        bar = _bar(None, "写出点位 sites") if fmt in files.SITE_FORMATS else None
        progress = bar.update if bar is not None else None
        with bar if bar is not None else contextlib.nullcontext():
            chunks = files.report_file(
                _session(), day, fmt, known_at=known_at, version=version, locale=lang, progress=progress
            )
            if out is None:
                text = b"".join(chunks).decode()
            else:
                files.write_file(chunks, out)
    except RecoveryError as exc:
        _fail(exc)
    if out is None:
        click.echo(text, nl=False)
    else:
        click.echo(str(out))


@click.command("serve")
@with_appcontext
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="Worker processes [default: RECOVERY_SERVE_WORKERS, else 1 on SQLite, 2 × CPUs on PostgreSQL].",
)
@click.option(
    "--threads",
    type=click.IntRange(min=1),
    default=None,
    help="Threads per worker [default: RECOVERY_SERVE_THREADS, else by the database].",
)
@click.option(
    "--dev", is_flag=True, help="Flask's development server with reloader and debugger (never in production)."
)
def serve(host: str, port: int, workers: int | None, threads: int | None, dev: bool) -> None:
    """Serve the app with gunicorn (HUP: graceful reload; JSON log lines on stderr), or `--dev`."""
    from recovery.serving import serve as run

    click.echo(f"recovery 正在运行 / serving on http://{host}:{port}/", err=True)
    run(current_app._get_current_object(), host, port, workers or 0, threads or 0, dev=dev)


@click.command("settings")
@with_appcontext
def settings_cmd() -> None:
    """List every setting, its environment variable, default and purpose."""
    from recovery.settings import describe_settings

    for row in describe_settings():
        click.echo(f"{row['variable']}\n    default: {row['default'] or '(none)'}\n    {row['help']}")


@click.command("cleanup")
@with_appcontext
@click.option("--dry-run", is_flag=True, help="Only count what would be removed.")
def cleanup_cmd(dry_run: bool) -> None:
    """Remove unfinished uploads and imports, temporary files and old sign-in rows past their age."""
    from recovery.cleanup import run_exclusively, summary

    report = run_exclusively(current_app._get_current_object(), dry_run=dry_run)
    if report is None:
        click.echo("另一次清理正在进行,本次未做任何事 / another cleanup is running: nothing done")
        return
    for line in summary(report):
        click.echo(line)


@click.command("backup")
@with_appcontext
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="The archive to write (one tar file: the database, the photos, a manifest).",
)
def backup_cmd(out: Path) -> None:
    """Back up the database and the photos into one archive while the app keeps serving."""
    from recovery.backup import backup, record_backup
    from recovery.cleanup import places_of
    from recovery.db.engine import get_engine

    try:
        manifest = backup(get_engine(), places_of(current_app).photo_root, out)
    except RecoveryError as exc:
        _fail(exc)
    note = record_backup(Path(current_app.instance_path), out, manifest)
    click.echo(
        f"已备份 / backed up: {out} ({note['bytes']} bytes, {note['database']}, migration {note['migration']}, "
        f"{note['events']} events, last #{note['last_event_id']} recorded "
        f"{manifest['ledger']['last_recorded_at']}, {note['photo_files']} photo files)"
    )


@click.command("restore")
@with_appcontext
@click.argument("archive", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace what the database holds (otherwise it must be empty).")
def restore_cmd(archive: Path, force: bool) -> None:
    """Restore a backup into an empty database and the photo folder, then verify the ledger."""
    from recovery.backup import restore
    from recovery.cleanup import places_of
    from recovery.db.engine import get_engine

    try:
        restored = restore(get_engine(), places_of(current_app).photo_root, archive, force=force)
    except RecoveryError as exc:
        _fail(exc)
    ledger, photo_root = restored.manifest["ledger"], places_of(current_app).photo_root
    if restored.manifest.get("photo_root") not in (None, str(photo_root)):
        click.echo(
            f"注意：照片记录指向原照片目录 {restored.manifest['photo_root']}，请将 RECOVERY_PHOTO_DIR 设为该目录后以 --force "
            f"再恢复 / note: photo rows name files under {restored.manifest['photo_root']}, not {photo_root}: "
            "restore again (--force) with RECOVERY_PHOTO_DIR set to that folder",
            err=True,
        )
    click.echo(
        f"已恢复 / restored: {ledger['events']} events, last #{ledger['last_event_id']} recorded "
        f"{ledger['last_recorded_at']}, {restored.photos} photo files; migration {restored.migration_before} "
        f"-> {restored.migration_after}"
    )
    for line in restored.differences[:200]:
        click.echo(line)
    if restored.differences:
        click.echo(f"不一致 / differences: {len(restored.differences)}", err=True)
        sys.exit(1)
    click.echo("账本与投影一致 / ledger and projections agree: 0 differences")


main = FlaskGroup(
    create_app=_app,
    add_default_commands=False,
    add_version_option=False,
    help="recovery: the 7·20 flood recovery tracker.",
)
