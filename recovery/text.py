"""User text on the way in: the one check that every door (API, import, CLI) applies to names, notes and titles.

What a reader sees must be what was typed. Characters that change how the text around them is displayed
(bidirectional overrides and isolates, other invisible format characters) are refused; zero-width spaces and
joiners, which carry nothing in a name but ride along from copied text and spreadsheets, are removed; control
characters are refused, and a line break is allowed only in multi-line text (notes). A lone surrogate is not
text at all: it is refused anywhere, also inside a JSON body (`refuse_lone_surrogates`).
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from recovery.errors import ValidationError

#: invisible characters removed from any text (U+200B–U+200D, U+2060 word joiner, U+FEFF byte-order mark)
ZERO_WIDTH = re.compile("[\u200b\u200c\u200d\u2060\ufeff]")
#: every way of breaking a line; multi-line text keeps them as "\n"
LINE_BREAKS = re.compile("\r\n|[\r\n\x0b\x0c\x85\u2028\u2029]")
_SURROGATE = re.compile("[\ud800-\udfff]")
#: the fields that hold more than one line; every other user text (names, addresses, titles) is one line
MULTILINE_FIELDS = frozenset({"note", "description"})


def _refused(ch: str, multiline: bool) -> bool:
    category = unicodedata.category(ch)
    if category in ("Cf", "Cs"):  # format (bidi controls among them) and surrogates
        return True
    if category == "Cc":
        return not (multiline and ch in "\n\t")
    return False


def clean_text(value: Any, field: str, limit: int, required: bool = False) -> str:
    """The text of a user field, checked: stripped, within `limit` characters, one line unless the field is
    one of `MULTILINE_FIELDS`.

    Parameters
    ----------
    value : str or None
        What the user gave (None is empty text).
    field : str
        The field's name, for the error message.
    limit : int
        The most characters the field holds.
    required : bool
        Refuse empty text.

    A multi-line field may hold line breaks and tabs; any line break is stored as "\\n".
    """
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ValidationError("%(field)s must be text.", field=field)
    multiline = field in MULTILINE_FIELDS
    value = ZERO_WIDTH.sub("", value)
    value = LINE_BREAKS.sub("\n", value).strip() if multiline else value.strip()
    if not multiline and LINE_BREAKS.search(value):
        raise ValidationError("%(field)s must be a single line.", field=field)
    bad = next((ch for ch in value if _refused(ch, multiline)), None)
    if bad is not None:
        raise ValidationError(
            "%(field)s contains an invisible or control character (U+%(code)s), which is not allowed.",
            field=field,
            code=f"{ord(bad):04X}",
        )
    if required and not value:
        raise ValidationError("%(field)s is required.", field=field)
    if len(value) > limit:
        raise ValidationError("%(field)s is longer than %(limit)s characters.", field=field, limit=limit)
    return value


def refuse_lone_surrogates(document: Any) -> None:
    """Refuse a parsed JSON document with a lone surrogate in any key or string (JSON's "\\ud800" escape
    makes one; no database or encoder can store it)."""
    stack = [document]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                raise ValidationError("The text contains an invalid character (a lone surrogate).")
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
