"""`recovery import` and `recovery export`."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import with_appcontext

from recovery.errors import RecoveryError
from recovery.interop.export import FORMATS
from recovery.kinds import KINDS


def _report(plan, lang: str) -> None:
    from recovery.interop.importer import OUTCOMES
    from recovery.interop.messages import render

    counts = plan.counts
    click.echo(
        f"文件 file: {plan.file_name} ({plan.source.format}"
        f"{', ' + plan.source.encoding if plan.source.encoding else ''}), 坐标系 CRS: {plan.crs}"
    )
    click.echo("列 columns: " + ", ".join(f"{k}←{v}" for k, v in plan.mapping.as_dict().items()))
    if plan.mapping.ignored:
        click.echo("未使用的列 ignored columns: " + ", ".join(plan.mapping.ignored))
    click.echo("  ".join(f"{render(OUTCOMES[k], lang)}: {v}" for k, v in counts.items()))
    for row in plan.rows:
        for warning in row.warnings[:3]:
            click.echo(f"  行 row {row.number} ({row.key}): {render(warning, lang)}")
    for row in plan.rejected[:50]:
        click.echo(
            f"  行 row {row.number} ({row.key or row.name or '-'}): "
            + "; ".join(render(e, lang) for e in row.errors),
            err=True,
        )
    if len(plan.rejected) > 50:
        click.echo(f"  … {len(plan.rejected) - 50} more", err=True)


@click.command("import")
@with_appcontext
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--kind",
    type=click.Choice(sorted(KINDS)),
    default=None,
    help="The kind of every row (default: the file's kind column).",
)
@click.option(
    "--crs",
    default=None,
    help="The coordinates' system when the file declares none: EPSG code, wgs84, "
    "gcj02 (AMap/高德, WeChat, Tencent) or bd09 (Baidu).",
)
@click.option("--layer", default=None, help="The layer (GeoPackage, KML) or file in the archive to read.")
@click.option(
    "--mapping",
    "mapping_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="JSON or CSV mapping of field names to column names.",
)
@click.option(
    "--skip-invalid", is_flag=True, help="Store the valid rows and write the rejected ones to --rejects."
)
@click.option(
    "--rejects",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Where to write the rejected rows (default FILE.rejects.csv).",
)
@click.option("--actor", default="import", show_default=True, help="Who the ledger records as the reporter.")
@click.option("--valid-at", default=None, help="When the file's state held (default: now).")
@click.option("--dry-run", is_flag=True, help="Check and report only; store nothing.")
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True)
def import_cmd(
    file: Path, kind, crs, layer, mapping_file, skip_invalid, rejects, actor, valid_at, dry_run, lang
) -> None:
    """Import sites from GeoJSON, GeoPackage, zipped Shapefile, CSV, Excel or KML (validated before storing)."""
    from recovery.cli_support import bar as _bar
    from recovery.cli_support import fail as _fail
    from recovery.cli_support import geodata as _geodata
    from recovery.cli_support import session as _session
    from recovery.interop.importer import apply_import, plan_import, write_rejects
    from recovery.interop.mapping import read_mapping_file
    from recovery.interop.messages import render
    from recovery.timeutil import parse_as_of

    session = _session()
    try:
        mapping = read_mapping_file(mapping_file) if mapping_file else None
        plan = plan_import(session, _geodata(), file, kind=kind, crs=crs, layer=layer, mapping=mapping)
        moment = parse_as_of(valid_at) if valid_at else None
    except RecoveryError as exc:
        _fail(exc)
    _report(plan, lang)
    if plan.rejected:
        target = rejects or file.with_name(file.name + ".rejects.csv")
        write_rejects(plan, target, lambda e: render(e, lang))
        click.echo(f"被拒绝的行已写入 rejected rows written to: {target}", err=True)
        if not skip_invalid:
            click.echo(
                f"有 {len(plan.rejected)} 行未通过校验,未写入任何数据 / {len(plan.rejected)} rows rejected; "
                "nothing was stored (use --skip-invalid to store the valid rows)",
                err=True,
            )
            sys.exit(1)
    if dry_run:
        click.echo("试运行,未写入 / dry run: nothing stored")
        return
    todo = plan.counts["new"] * 2 + plan.counts["updated"]
    with _bar(todo, "导入 importing") as bar:
        try:
            result = apply_import(
                session,
                _geodata(),
                plan,
                actor=actor,
                skip_invalid=skip_invalid,
                valid_at=moment,
                progress=bar.update,
            )
        except RecoveryError as exc:
            _fail(exc)
    click.echo(
        f"已导入 / imported: {result.counts['new']} new, {result.counts['updated']} updated, "
        f"{result.counts['unchanged']} unchanged, {result.events} events"
    )


@click.command("export")
@with_appcontext
@click.option("--format", "fmt", type=click.Choice(sorted(FORMATS)), required=True)
@click.option("--kind", type=click.Choice(sorted(KINDS)), default=None, help="One kind (default: all).")
@click.option("--status", multiple=True, help="Only sites in this status (repeatable).")
@click.option("--subdistrict", default=None)
@click.option("--bbox", default=None, help="min lon,min lat,max lon,max lat")
@click.option("--as-of", "as_of", default=None, help="The state at this day's end or instant (default: now).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None)
@click.option(
    "--lang",
    type=click.Choice(["zh", "en"]),
    default="zh",
    show_default=True,
    help="Headers and labels of CSV and Excel.",
)
def export_cmd(fmt, kind, status, subdistrict, bbox, as_of, out, lang) -> None:
    """Export sites in GeoJSON, GeoPackage, zipped Shapefile, CSV, Excel or KML."""
    from recovery.cli_support import fail as _fail
    from recovery.cli_support import session as _session
    from recovery.interop.export import file_name, get_format, write_file
    from recovery.query.sites import parse_site_query
    from recovery.query.sql import select_sites

    try:
        args = {
            "kind": kind,
            "status": list(status),
            "subdistrict": subdistrict,
            "bbox": bbox,
            "as_of": as_of,
        }
        records, _ = select_sites(_session(), parse_site_query(args))
        target = out or Path(file_name(kind, (as_of or "current").replace(":", ""), get_format(fmt)))
        write_file(records, fmt, target, kind=kind, lang=lang)
    except RecoveryError as exc:
        _fail(exc)
    click.echo(f"已导出 / exported {len(records)} sites: {target}")
