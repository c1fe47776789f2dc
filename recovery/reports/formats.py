"""The daily report's files: .txt (the bulletin), .md, .json, .geojson (streamed) and the Excel ledger (台账)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

from shapely.geometry import mapping

from recovery.errors import ValidationError
from recovery.interop.export import SUBDISTRICT_ZH
from recovery.kinds import KINDS, MEASURES
from recovery.reports.sites import FLOW_MEASURES, ReportSite
from recovery.timeutil import ZONE, parse_instant, zone_iso

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: format → (file suffix, media type); `text` is kept as an alias of `txt`
FORMATS = {
    "txt": (".txt", "text/plain; charset=utf-8"),
    "md": (".md", "text/markdown; charset=utf-8"),
    "json": (".json", "application/json"),
    "xlsx": (".xlsx", XLSX_MIME),
    "geojson": (".geojson", "application/geo+json"),
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
    return "合计" if sub is None else SUBDISTRICT_ZH.get(sub, sub)


def to_txt(payload: dict) -> str:
    return payload["bulletin"] + "\n"


def to_json(payload: dict) -> str:
    return json.dumps(payload, ensure_ascii=False, indent=2) + "\n"


def to_md(payload: dict) -> str:
    """The report in Markdown: bulletin, headline figures with change and definition, the kind table, sources."""
    figures = {f["key"]: f for f in payload["figures"]}
    lines = [f"# 高新区灾后恢复重建日报 {payload['date']}", ""]
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


def _local(moment: datetime | None) -> datetime | None:
    return None if moment is None else moment.astimezone(ZONE).replace(tzinfo=None)


def geojson_chunks(sites: Iterator[ReportSite]) -> Iterator[str]:
    """RFC 7946, CRS84: one Feature per site with its status as of the report's moment."""
    yield '{"type":"FeatureCollection","features":['
    for index, site in enumerate(sites):
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
        feature = {
            "type": "Feature",
            "id": site.key,
            "geometry": mapping(site.geom),
            "properties": properties,
        }
        yield ("," if index else "") + json.dumps(feature, ensure_ascii=False, separators=(",", ":"))
    yield "]}\n"


def write_xlsx(
    payload: dict,
    sites: Iterator[ReportSite],
    out: Path | io.BufferedIOBase,
    progress: Callable[[int], None] | None = None,
) -> dict[str, int]:
    """The ledger (台账): a summary sheet, then one sheet per kind with one row per site. Write-only openpyxl:
    rows go straight to per-sheet temporary files, so memory stays flat however many sites. Returns the rows
    written per kind."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    workbook = Workbook(write_only=True)
    bold = Font(bold=True)

    def header(sheet, names: list[str], widths: list[int]) -> None:
        sheet.freeze_panes = "A2"
        for index, width in enumerate(widths, 1):
            sheet.column_dimensions[get_column_letter(index)].width = width
        cells = []
        for name in names:
            cell = WriteOnlyCell(sheet, value=name)
            cell.font = bold
            cells.append(cell)
        sheet.append(cells)

    summary = workbook.create_sheet("汇总")
    header(summary, ["指标", "数值", "单位", "较前一日", "口径", "指标代码"], [28, 14, 8, 12, 60, 32])
    for f in payload["figures"]:
        summary.append(
            [
                f["label"],
                f["value"] if not f["definition"]["percent"] or f["value"] is None else float(f["printed"]),
                f["unit"],
                payload["change"].get(f["key"], {}).get("delta"),
                f["definition"]["text"],
                f["key"],
            ]
        )
    summary.append([])
    summary.append(["办事处", "类型", *KIND_LABELS.values()])
    for row in payload["kind_table"]:
        summary.append([sub_label(row["subdistrict"]), KINDS[row["kind"]].zh, *(row[k] for k in KIND_LABELS)])
    summary.append([])
    summary.append(["截至", payload["as_of"]])
    summary.append(["记录截至", payload.get("known_at") or "—"])
    summary.append(["来源", payload["source"]])
    summary.append(["信息报送", payload["bulletin"]])
    summary.auto_filter.ref = f"A1:F{len(payload['figures']) + 1}"

    sheets = {}
    columns = {}
    for kind in KINDS.values():
        sheet = workbook.create_sheet(kind.zh)
        measures = [m for m in FLOW_MEASURES if m in kind.measures] + (
            ["capacity_pct"] if kind.status_capacity else []
        )
        attributes = [a for a in kind.attributes]
        names = ["编号", "名称", "地址", "状态", "办事处", "上报时间", "截止时间", "完成时间"]
        names += [f"{MEASURES[m].zh}({MEASURES[m].unit})" for m in measures]
        names += [a.zh for a in attributes] + ["经度", "纬度"]
        widths = [14, 28, 28, 10, 10, 18, 18, 18] + [14] * len(measures) + [12] * len(attributes) + [12, 12]
        header(sheet, names, widths)
        sheets[kind.key] = sheet
        columns[kind.key] = (measures, attributes, len(names))
    counts = {k: 0 for k in KINDS}
    for index, site in enumerate(sites, 1):
        kind = KINDS[site.kind]
        measures, attributes, _ = columns[site.kind]
        lon, lat = site.lonlat
        values = [site.level if m == "capacity_pct" else site.measures.get(m) for m in measures]
        attrs = []
        for a in attributes:
            value = site.attributes.get(a.key)
            attrs.append(("是" if value else "否") if isinstance(value, bool) else value)
        sheets[site.kind].append(
            [
                site.key,
                site.name,
                site.address,
                kind.status(site.status).zh,
                sub_label(site.subdistrict) if site.subdistrict else None,
                _local(site.reported_at),
                _local(site.deadline),
                _local(site.done_at),
                *values,
                *attrs,
                round(lon, 7),
                round(lat, 7),
            ]
        )
        counts[site.kind] += 1
        if progress is not None and index % 1000 == 0:
            progress(1000)
    if progress is not None:
        progress(sum(counts.values()) % 1000)
    for key, sheet in sheets.items():
        sheet.auto_filter.ref = f"A1:{get_column_letter(columns[key][2])}{counts[key] + 1}"
    workbook.save(out)
    return counts


def records_csv(rows: list[dict]) -> str:
    columns = ["type", "id", "key", "name", "status", "subdistrict", "valid_at", "value"]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["类型", "ID", "编号", "名称", "状态", "办事处", "发生时间", "计数/数值"])
    for row in rows:
        writer.writerow(["" if row.get(c) is None else row.get(c) for c in columns])
    return "\ufeff" + buffer.getvalue()


def records_xlsx(rows: list[dict], out: io.BufferedIOBase, title: str) -> None:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title[:31])
    sheet.freeze_panes = "A2"
    sheet.append(["类型", "ID", "编号", "名称", "状态", "办事处", "发生时间", "计数/数值"])
    for row in rows:
        sheet.append(
            [row.get(c) for c in ("type", "id", "key", "name", "status", "subdistrict", "valid_at", "value")]
        )
    sheet.auto_filter.ref = f"A1:H{len(rows) + 1}"
    workbook.save(out)


def as_instant(value: str | None) -> datetime | None:
    return parse_instant(value) if value else None
