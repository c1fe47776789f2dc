"""The daily report's files: .txt (the bulletin), .md, .json, .geojson (streamed) and the Excel ledger (台账)."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

from recovery.errors import ValidationError
from recovery.geodata import SUBDISTRICT_ORDER
from recovery.incident import current_incident
from recovery.kinds import KINDS, MEASURES
from recovery.reports.sites import FLOW_MEASURES, ReportSite
from recovery.timeutil import parse_instant, zone_iso
from recovery.vocab import label
from recovery.writers import csv as csv_file
from recovery.writers import geojson
from recovery.writers.xlsx import (
    BOLD,
    DATE,
    MEDIA_TYPE,
    StreamingWorkbook,
    cell,
    excel_date,
    sheet_name,
    text,
    text_cell,
    write_table,
)

XLSX_MIME = MEDIA_TYPE
#: format → (file suffix, media type); `text` is kept as an alias of `txt`
FORMATS = {
    "txt": (".txt", "text/plain; charset=utf-8"),
    "md": (".md", "text/markdown; charset=utf-8"),
    "json": (".json", "application/json"),
    "xlsx": (".xlsx", XLSX_MIME),
    "geojson": (".geojson", geojson.MEDIA_TYPE),
}
ALIASES = {"text": "txt"}
KIND_LABELS = {
    "total": "总数",
    "done": "已完成",
    "in_progress": "进行中",
    "overdue": "超期",
    "completion_rate": "完成率(%)",
}


def check_format(fmt: str) -> str:
    fmt = ALIASES.get(fmt, fmt)
    if fmt not in FORMATS:
        raise ValidationError("format must be one of %(formats)s.", formats=", ".join([*FORMATS, *ALIASES]))
    return fmt


def file_name(payload: dict, fmt: str) -> str:
    version = payload.get("published", {}).get("version")
    suffix = f"-v{version}" if version else ""
    return f"daily-report-{payload['date']}{suffix}{FORMATS[fmt][0]}"


def sub_label(sub: str | None) -> str:
    """A row's sub-district in Chinese: None is the total row, "" the sites outside every sub-district."""
    if sub is None:
        return "合计"
    return label("subdistrict", sub, "zh", short=True) if sub else "辖区外"


def to_txt(payload: dict) -> str:
    return payload["bulletin"] + "\n"


def to_json(payload: dict) -> str:
    return json.dumps(payload, ensure_ascii=False, indent=2) + "\n"


def to_md(payload: dict) -> str:
    """The report in Markdown: bulletin, headline figures with change and definition, the kind table, sources."""
    figures = {f["key"]: f for f in payload["figures"]}
    lines = [f"# {current_incident().heading.zh} {payload['date']}", ""]
    lines += [
        f"截至 {payload['as_of']}" + (f",记录截至 {payload['known_at']}" if payload.get("known_at") else ""),
        "",
    ]
    if payload.get("published"):
        p = payload["published"]
        lines += [f"已发布 第{p['version']}版 · 截止 {p['cutoff']} · {p['by']}", ""]
    lines += ["## 信息报送", "", payload["bulletin"], "", "## 主要指标", ""]
    lines += ["| 指标 | 数值 | 较前一日 | 口径 |", "| --- | ---: | ---: | --- |"]
    for key in payload["headline"]:
        f = figures[key]
        change = payload["change"].get(key, {}).get("printed", "—")
        lines.append(f"| {f['label']} | {f['printed']} {f['unit']} | {change} | {f['definition']['text']} |")
    lines += [
        "",
        "## 分办事处、分类型进度",
        "",
        "| 办事处 | 类型 | " + " | ".join(KIND_LABELS.values()) + " |",
    ]
    lines.append("| --- | --- |" + " ---: |" * len(KIND_LABELS))
    for row in payload["kind_table"]:
        cells = ["—" if row[k] is None else str(row[k]) for k in KIND_LABELS]
        lines.append(
            f"| {sub_label(row['subdistrict'])} | {KINDS[row['kind']].zh} | " + " | ".join(cells) + " |"
        )
    lines += ["", "## 指标口径", ""]
    for f in payload["figures"]:
        lines.append(f"- **{f['label']}**(`{f['key']}`):{f['definition']['text']}")
    lines += ["", f"来源:{payload['source']}", ""]
    return "\n".join(lines)


def geojson_feature(site: ReportSite) -> str:
    """One site as a GeoJSON Feature (compact JSON) with its status as of the report's moment."""
    kind = KINDS[site.kind]
    properties = {
        "key": site.key,
        "kind": site.kind,
        "kind_zh": kind.zh,
        "name": site.name,
        "status": site.status,
        "status_zh": kind.status(site.status).zh,
        "subdistrict": site.subdistrict,
        "reported_at": zone_iso(site.reported_at),
        "deadline": zone_iso(site.deadline),
        "done_at": zone_iso(site.done_at),
        **site.measures,
        **({"capacity_pct": site.level} if site.level is not None else {}),
        **site.attributes,
    }
    return geojson.feature(site.key, site.geometry, properties)


def geojson_chunks(sites: Iterator[ReportSite]) -> Iterator[str]:
    """RFC 7946, CRS84: one Feature per site with its status as of the report's moment."""
    return geojson.chunks(geojson_feature(site) for site in sites)


def _columns(kind) -> tuple[list[str], list[str], list[str], list[int]]:
    """A kind's sheet: its measures, attributes, Chinese headers and column widths."""
    measures = [m for m in FLOW_MEASURES if m in kind.measures] + (
        ["capacity_pct"] if kind.status_capacity else []
    )
    attributes = [a.key for a in kind.attributes]
    names = ["编号", "名称", "地址", "状态", "办事处", "上报时间", "截止时间", "完成时间"]
    names += [f"{MEASURES[m].zh}({MEASURES[m].unit})" for m in measures]
    names += [a.zh for a in kind.attributes] + ["经度", "纬度"]
    widths = [14, 28, 28, 10, 10, 18, 18, 18] + [14] * len(measures) + [12] * len(attributes) + [12, 12]
    return measures, attributes, names, widths


def xlsx_chunks(
    payload: dict,
    sites: Iterator[ReportSite],
    progress: Callable[[int], None] | None = None,
    counts: dict[str, int] | None = None,
) -> Iterator[bytes]:
    """The ledger (台账) as a stream of bytes: a summary sheet, then one sheet per kind with one row per site.
    `sites` must come grouped by kind (`iter_sites` orders them so); each kind's sheet is written as its rows
    arrive, so memory stays flat however many sites. `counts` receives the rows written per kind."""
    names = ["汇总", *(k.zh for k in KINDS.values())]
    book = StreamingWorkbook(names)
    summary = book.sheet("汇总", [28, 14, 8, 12, 60, 32])
    summary.append(["指标", "数值", "单位", "较前一日", "口径", "指标代码"], BOLD)
    for f in payload["figures"]:
        value = f["value"] if not f["definition"]["percent"] or f["value"] is None else float(f["printed"])
        delta = payload["change"].get(f["key"], {}).get("delta")
        summary.append([f["label"], value, f["unit"], delta, f["definition"]["text"], f["key"]])
    summary.append([])
    summary.append(["办事处", "类型", *KIND_LABELS.values()], BOLD)
    for row in payload["kind_table"]:
        summary.append([sub_label(row["subdistrict"]), KINDS[row["kind"]].zh, *(row[k] for k in KIND_LABELS)])
    summary.append([])
    summary.append(["截至", payload["as_of"]])
    summary.append(["记录截至", payload.get("known_at") or "—"])
    summary.append(["来源", payload["source"]])
    summary.append(["信息报送", payload["bulletin"]])
    summary.close(filter_rows=len(payload["figures"]) + 1)
    yield from book.chunks()

    counts = counts if counts is not None else {}
    counts.update(dict.fromkeys(KINDS, 0))
    subs = {None: None, "": None, **{k: sub_label(k) for k in SUBDISTRICT_ORDER}}
    open_sheet: tuple | None = None
    done = 0

    def start(kind_key: str) -> tuple:
        kind = KINDS[kind_key]
        measures, attributes, names, widths = _columns(kind)
        sheet = book.sheet(kind.zh, widths)
        sheet.append(names, BOLD)
        statuses = {s.key: text(s.zh) for s in kind.statuses}
        return kind_key, sheet, measures, attributes, sheet.letters, statuses

    def finish(layout: tuple) -> None:
        kind_key, sheet = layout[0], layout[1]
        counts[kind_key] = sheet.rows - 1
        sheet.close()

    for site in sites:
        if open_sheet is None or open_sheet[0] != site.kind:
            if open_sheet is not None:
                finish(open_sheet)
                yield from book.chunks()
            open_sheet = start(site.kind)
        _kind, sheet, measures, attributes, letters, statuses = open_sheet
        n = sheet.next_row()
        sub = subs[site.subdistrict] if site.subdistrict in subs else sub_label(site.subdistrict)
        status = statuses.get(site.status)
        parts = [
            f'<row r="{n}">{text_cell(f"A{n}", site.key)}{text_cell(f"B{n}", site.name)}',
            text_cell(f"C{n}", site.address) if site.address else "",
            f'<c r="D{n}" t="inlineStr">{status}</c>' if status else text_cell(f"D{n}", site.status),
            text_cell(f"E{n}", sub) if sub else "",
        ]
        for letter, moment in (("F", site.reported_at), ("G", site.deadline), ("H", site.done_at)):
            if moment is not None:
                parts.append(f'<c r="{letter}{n}" s="{DATE}"><v>{excel_date(moment)!r}</v></c>')
        col = 8
        for m in measures:
            value = site.level if m == "capacity_pct" else site.measures.get(m)
            if value is not None:
                parts.append(cell(f"{letters[col]}{n}", value))
            col += 1
        for a in attributes:
            value = site.attributes.get(a)
            if isinstance(value, bool):
                value = label("boolean", "true" if value else "false", "zh")
            if value is not None:
                parts.append(cell(f"{letters[col]}{n}", value))
            col += 1
        parts.append(f'<c r="{letters[col]}{n}"><v>{round(site.lon, 7)!r}</v></c>')
        parts.append(f'<c r="{letters[col + 1]}{n}"><v>{round(site.lat, 7)!r}</v></c></row>')
        sheet.raw("".join(parts))
        done += 1
        if done % 1000 == 0:
            if progress is not None:
                progress(1000)
            yield from book.chunks()
    if open_sheet is not None:
        finish(open_sheet)
    for kind in KINDS.values():  # kinds with no site still get their sheet and header
        if kind.zh not in book.sheets:
            finish(start(kind.key))
    if progress is not None:
        progress(done % 1000)
    book.close()
    yield from book.chunks()


def write_xlsx(
    payload: dict,
    sites: Iterator[ReportSite],
    out: Path | str | io.BufferedIOBase,
    progress: Callable[[int], None] | None = None,
) -> dict[str, int]:
    """The ledger written to a file (path or binary file object). Returns the rows written per kind."""
    counts: dict[str, int] = {}
    handle = open(out, "wb") if isinstance(out, str | Path) else out  # noqa: SIM115
    try:
        for chunk in xlsx_chunks(payload, sites, progress, counts):
            handle.write(chunk)
    finally:
        if handle is not out:
            handle.close()
    return counts


#: an office file shows labels (已修复, 石佛办事处), not keys: the rows come through metrics.records.with_labels
RECORD_COLUMNS = ("type_label", "id", "key", "name", "status_label", "subdistrict_label", "valid_at", "value")
RECORD_HEADERS = ("类型", "ID", "编号", "名称", "状态", "办事处", "发生时间", "计数/数值")


def records_csv(rows: list[dict]) -> str:
    """The records behind a figure as CSV."""
    return csv_file.text(RECORD_HEADERS, ([row.get(c) for c in RECORD_COLUMNS] for row in rows))


def records_xlsx(rows: list[dict], out: io.BufferedIOBase, title: str) -> None:
    """The records behind a figure as one sheet."""
    rows_out = ([row.get(c) for c in RECORD_COLUMNS] for row in rows)
    write_table(out, sheet_name(title, "records"), RECORD_HEADERS, rows_out, [16, 10, 14, 28, 10, 10, 22, 12])


def as_instant(value: str | None) -> datetime | None:
    return parse_instant(value) if value else None
