"""The Excel writer: a streaming .xlsx writer for the ledger, the exports and the record lists. Sheets are written one after another straight into the zip, so
a workbook of any size is produced in flat memory, as a stream of bytes, with no temporary files.

openpyxl (write-only) and XlsxWriter (constant memory) spend 5-8 µs of Python per cell on checks, cell
objects and generic XML serialisation; a ledger of 100,000 sites has 1.5 million cells. Here a row is one
formatted string, which makes the export several times faster (bench/report_daily.py prints all three).
The output is plain SpreadsheetML (inline strings, one bold and one date style, frozen header, column widths,
autofilter) that Excel, WPS, LibreOffice and openpyxl read. The parts carry a fixed timestamp, so the same
rows give the same bytes.
"""

from __future__ import annotations

import math
import re
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from xml.sax.saxutils import escape, quoteattr

from openpyxl.utils import get_column_letter

from recovery.spreadsheet import is_formula_like
from recovery.timeutil import ZONE

MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_XML = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
#: characters a sheet's name may not hold
_SHEET_NAME_ILLEGAL = re.compile(r"[\[\]:*?/\\]")
#: characters XML 1.0 does not allow, even escaped
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
#: cell styles (indexes into cellXfs below); the QUOTED ones mark formula-like text as text, as Excel marks text
#: typed with a leading apostrophe (recovery.spreadsheet)
PLAIN, BOLD, DATE, QUOTED, BOLD_QUOTED = 0, 1, 2, 3, 4
_STYLES = (
    f'{_XML}<styleSheet xmlns="{_MAIN}">'
    '<numFmts count="1"><numFmt numFmtId="164" formatCode="yyyy-mm-dd hh:mm"/></numFmts>'
    '<fonts count="2"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="5"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0" quotePrefix="1"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" quotePrefix="1" applyFont="1"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)
#: every part's timestamp: the same rows give the same bytes
_STAMP = (2021, 7, 20, 0, 0, 0)
#: day 0 of Excel's 1900 date system, as Excel counts after its phantom 29 February 1900
_EXCEL_EPOCH = datetime(1899, 12, 30)


def text(value: str) -> str:
    """A string as an inline-string cell's content."""
    if _ILLEGAL.search(value):
        value = _ILLEGAL.sub("", value)
    value = escape(value)
    if value[:1].isspace() or value[-1:].isspace():
        return f'<is><t xml:space="preserve">{value}</t></is>'
    return f"<is><t>{value}</t></is>"


def excel_date(moment: datetime) -> float:
    """An instant as an Excel serial date, in the zone's local time."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(ZONE).replace(tzinfo=None)
    return (moment - _EXCEL_EPOCH).total_seconds() / 86400


def text_cell(ref: str, value: str, style: int = PLAIN) -> str:
    """A text cell: always an inline string, never a formula, and marked as text when a spreadsheet would
    read it as one (recovery.spreadsheet)."""
    if is_formula_like(value):
        style = BOLD_QUOTED if style == BOLD else QUOTED
    s = f' s="{style}"' if style else ""
    return f'<c r="{ref}"{s} t="inlineStr">{text(value)}</c>'


def cell(ref: str, value: object, style: int = PLAIN) -> str:
    """One cell, or '' for an empty one. Strings are inline text (`text_cell`), numbers as shortest
    round-trip text."""
    if isinstance(value, str):
        return text_cell(ref, value, style)
    s = f' s="{style}"' if style else ""
    if isinstance(value, bool):
        return f'<c r="{ref}"{s} t="b"><v>{int(value)}</v></c>'
    if isinstance(value, datetime):
        return f'<c r="{ref}" s="{DATE}"><v>{excel_date(value)!r}</v></c>'
    if isinstance(value, int | float):
        if isinstance(value, float) and not math.isfinite(value):
            return ""
        return f'<c r="{ref}"{s}><v>{value!r}</v></c>'
    return ""


class _Sink:
    """An unseekable file for zipfile: what it writes is collected and handed out by `drain`."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def write(self, data: bytes) -> int:
        self.parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def drain(self) -> bytes:
        data = b"".join(self.parts)
        self.parts.clear()
        return data


class Sheet:
    """One worksheet being written. Rows go out in order; `rows` counts them, the header included."""

    def __init__(self, book: StreamingWorkbook, index: int, name: str, widths: Sequence[float]) -> None:
        self.book, self.index, self.name = book, index, name
        self.letters = [get_column_letter(i) for i in range(1, max(len(widths), 64) + 1)]
        self.rows = 0
        self.width = len(widths)
        self.filter = ""
        info = zipfile.ZipInfo(f"xl/worksheets/sheet{index}.xml", date_time=_STAMP)
        info.compress_type = zipfile.ZIP_DEFLATED
        self.handle = book.zip.open(info, "w")
        cols = "".join(
            f'<col min="{i}" max="{i}" width="{w}" customWidth="1"/>' for i, w in enumerate(widths, 1)
        )
        self.buffer = [
            f'{_XML}<worksheet xmlns="{_MAIN}" xmlns:r="{_REL}">'
            '<sheetViews><sheetView workbookViewId="0"'
            + (' tabSelected="1"' if index == 1 else "")
            + '><pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
            '<selection pane="bottomLeft" activeCell="A2" sqref="A2"/></sheetView></sheetViews>'
            f'<sheetFormatPr defaultRowHeight="15"/>{"<cols>" + cols + "</cols>" if cols else ""}<sheetData>'
        ]

    def append(self, values: Sequence[object], style: int = PLAIN) -> None:
        """A row of plain values (str, number, bool, datetime or None)."""
        self.rows += 1
        n = self.rows
        letters = self.letters
        cells = "".join(cell(f"{letters[i]}{n}", v, style) for i, v in enumerate(values) if v is not None)
        self.raw(f'<row r="{n}">{cells}</row>')

    def raw(self, row_xml: str) -> None:
        """A row already formatted (see `cell`); the caller counts it with `next_row`."""
        self.buffer.append(row_xml)
        if len(self.buffer) >= 500:
            self.flush()

    def next_row(self) -> int:
        self.rows += 1
        return self.rows

    def flush(self) -> None:
        self.handle.write("".join(self.buffer).encode())
        self.buffer.clear()

    def close(self, autofilter: bool = True, filter_rows: int | None = None) -> None:
        self.buffer.append("</sheetData>")
        last = filter_rows or max(self.rows, 1)
        if autofilter and self.width:
            self.filter = f"$A$1:${self.letters[self.width - 1]}${last}"
            self.buffer.append(f'<autoFilter ref="A1:{self.letters[self.width - 1]}{last}"/>')
        self.buffer.append("</worksheet>")
        self.flush()
        self.handle.close()


class StreamingWorkbook:
    """Sheets are declared up front (their order in the workbook), then written one at a time, in any order.
    `chunks()` hands out the bytes written so far; `close()` writes the workbook parts."""

    def __init__(self, names: Sequence[str], out=None, compresslevel: int = 1) -> None:
        self.names = list(names)
        self.sink = _Sink() if out is None else None
        self.zip = zipfile.ZipFile(
            out if out is not None else self.sink,
            "w",
            compression=zipfile.ZIP_DEFLATED,
            compresslevel=compresslevel,
        )
        self.sheets: dict[str, Sheet] = {}

    def sheet(self, name: str, widths: Sequence[float]) -> Sheet:
        if name in self.sheets:
            raise ValueError(f"sheet {name} was already written")
        sheet = Sheet(self, self.names.index(name) + 1, name, widths)
        self.sheets[name] = sheet
        return sheet

    def chunks(self) -> Iterator[bytes]:
        if self.sink is not None and self.sink.parts:
            yield self.sink.drain()

    def _part(self, name: str, content: str) -> None:
        info = zipfile.ZipInfo(name, date_time=_STAMP)
        info.compress_type = zipfile.ZIP_DEFLATED
        self.zip.writestr(info, content.encode())

    def close(self) -> None:
        for name in self.names:  # a sheet never opened is written empty
            if name not in self.sheets:
                self.sheet(name, []).close(autofilter=False)
        sheets = "".join(
            f'<sheet name={quoteattr(n)} sheetId="{i}" r:id="rId{i}"/>' for i, n in enumerate(self.names, 1)
        )
        filters = "".join(
            f'<definedName name="_xlnm._FilterDatabase" localSheetId="{s.index - 1}" hidden="1">'
            f"{escape(_quote_sheet(s.name))}!{s.filter}</definedName>"
            for s in sorted(self.sheets.values(), key=lambda s: s.index)
            if s.filter
        )
        self._part(
            "xl/workbook.xml",
            f'{_XML}<workbook xmlns="{_MAIN}" xmlns:r="{_REL}"><bookViews><workbookView/></bookViews>'
            f"<sheets>{sheets}</sheets>{'<definedNames>' + filters + '</definedNames>' if filters else ''}"
            "</workbook>",
        )
        rels = "".join(
            f'<Relationship Id="rId{i}" Type="{_REL}/worksheet" Target="worksheets/sheet{i}.xml"/>'
            for i in range(1, len(self.names) + 1)
        )
        styles_id = len(self.names) + 1
        self._part(
            "xl/_rels/workbook.xml.rels",
            f'{_XML}<Relationships xmlns="{_PKG_REL}">{rels}'
            f'<Relationship Id="rId{styles_id}" Type="{_REL}/styles" Target="styles.xml"/></Relationships>',
        )
        self._part("xl/styles.xml", _STYLES)
        self._part(
            "_rels/.rels",
            f'{_XML}<Relationships xmlns="{_PKG_REL}"><Relationship Id="rId1" '
            f'Type="{_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        )
        overrides = "".join(
            f'<Override PartName="/xl/worksheets/sheet{i}.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
            for i in range(1, len(self.names) + 1)
        )
        self._part(
            "[Content_Types].xml",
            f'{_XML}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/styles.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
            f"{overrides}</Types>",
        )
        self.zip.close()


def _quote_sheet(name: str) -> str:
    return "'" + name.replace("'", "''") + "'"


def sheet_name(title: str, default: str = "sheet") -> str:
    """A title as a sheet's name: what a name may not hold replaced, and at most 31 characters."""
    return _SHEET_NAME_ILLEGAL.sub("_", title)[:31] or default


def write_table(
    out,
    name: str,
    header: Sequence[str],
    rows: Iterable[Sequence[object]],
    widths: Sequence[float],
    min_filter_rows: int = 1,
) -> int:
    """A workbook of one sheet, `name` (see `sheet_name`): a bold header row, frozen and filtered, then `rows`,
    written to the binary file `out`. The filter covers at least `min_filter_rows` rows, the header
    included. Returns the rows written, the header not counted."""
    book = StreamingWorkbook([name], out=out)
    sheet = book.sheet(name, widths)
    sheet.append(header, BOLD)
    for row in rows:
        sheet.append(row)
    sheet.close(filter_rows=max(sheet.rows, min_filter_rows))
    book.close()
    return sheet.rows - 1
