"""Cells that spreadsheet programs open: the one rule by which user text never becomes a live formula.

Excel, WPS and LibreOffice read a cell that begins with `=`, `+`, `-` or `@` (and, in some versions and
input methods, a tab, a line break or the full-width ＝＋－＠) as a formula: a site named
`=HYPERLINK("http://…")` or `@SUM(…)` would run when an office opens the ledger. Every writer of CSV or
Excel uses this module:

- CSV has no cell types, so such text is written with a leading apostrophe, which spreadsheets show as
  text (OWASP's advice). A leading apostrophe is itself doubled, so `from_csv_cell` gives the exact text
  back and every export imports back into the same sites.
- .xlsx keeps the text exactly as it is, in a text cell (never a formula cell) marked `quotePrefix`, as
  Excel marks text typed with a leading apostrophe; editing the cell then keeps it text.

Numbers stay numbers: only `str` values are ever touched, and a string that is a plain decimal number
(`-5`, `+3.25`) is harmless and left as it is.
"""

from __future__ import annotations

import re
from typing import Any

#: the first characters that make a spreadsheet read a cell as a formula
FORMULA_STARTS = frozenset("=+-@\t\r\n＝＋－＠")
_QUOTE = "'"
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def is_formula_like(text: str) -> bool:
    """Whether a spreadsheet would read `text` as a formula (a plain number is not: it stays a number)."""
    return text[:1] in FORMULA_STARTS and not _PLAIN_NUMBER.fullmatch(text)


def csv_cell(value: Any) -> Any:
    """A value as a CSV writer should get it: None as empty, formula-like text (and text that begins with an
    apostrophe, so that the quoting can be undone) behind an apostrophe, anything else unchanged."""
    if value is None:
        return ""
    if isinstance(value, str) and (value[:1] == _QUOTE or is_formula_like(value)):
        return _QUOTE + value
    return value


def csv_row(values: list[Any]) -> list[Any]:
    """`csv_cell` of every value of a row."""
    return [csv_cell(v) for v in values]


def from_csv_cell(text: str) -> str:
    """The text that `csv_cell` wrote as `text` (a reader of exported CSV files undoes the quoting with it)."""
    if text[:1] == _QUOTE and (text[1:2] == _QUOTE or is_formula_like(text[1:])):
        return text[1:]
    return text
