"""The catalogues: every message in the code has a Chinese translation, the .mo files match the .po files,
and a request gets the language it asks for (Chinese by default)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from recovery import create_app
from recovery.errors import UnknownKindError
from recovery.i18n import HTTP_ERROR_NAMES, LOCALES, translate
from recovery.settings import PROJECT_ROOT

TRANSLATIONS = PROJECT_ROOT / "recovery" / "translations"


def _error_classes() -> set[str]:
    """Every RecoveryError subclass in the package: the first argument of each is a message to translate."""
    import importlib
    import pkgutil

    import recovery
    from recovery.errors import RecoveryError

    for info in pkgutil.walk_packages(recovery.__path__, "recovery."):
        importlib.import_module(info.name)
    found, todo = set(), [RecoveryError]
    while todo:
        for sub in todo.pop().__subclasses__():
            found.add(sub.__name__)
            todo.append(sub)
    return found


# The keywords of the `pybabel extract` command in babel.cfg: Babel's defaults (_, gettext, N_ …) and every
# error class, found here rather than listed, so that a new error class cannot slip past the catalogue.
KEYWORDS = {**DEFAULT_KEYWORDS, **dict.fromkeys(("_", "gettext", "lazy_gettext", "N_", *_error_classes()))}


def test_babel_cfg_names_every_error_class():
    text = (PROJECT_ROOT / "babel.cfg").read_text(encoding="utf-8")
    assert [name for name in sorted(_error_classes()) if f"-k {name}" not in text] == []


PLACEHOLDER = re.compile(r"%(?:\(\w+\))?[#0 +-]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]")
UNKNOWN_KIND = "Unknown site kind %(kind)s."


def _po(locale: str):
    with open(TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po", "rb") as f:
        return read_po(f, locale=locale)


def _placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text.replace("%%", "")))


@pytest.fixture(scope="module")
def extracted() -> dict[str, list[str]]:
    """msgid -> where it is used, extracted from the current sources."""
    with open(PROJECT_ROOT / "babel.cfg", encoding="utf-8") as f:
        method_map, options_map = parse_mapping_cfg(f, "babel.cfg")
    found: dict[str, list[str]] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        str(PROJECT_ROOT), method_map, options_map, keywords=KEYWORDS, strip_comment_tags=True
    ):
        msgid = message[0] if isinstance(message, tuple) else message
        found.setdefault(msgid, []).append(f"{filename}:{lineno}")
    return found


def test_extraction_finds_templates_errors_and_http_names(extracted):
    assert UNKNOWN_KIND in extracted  # an error message (UnknownKindError)
    assert "Daily bulletin" in extracted  # a template message
    assert "Method Not Allowed" in extracted  # a Werkzeug name listed in recovery/i18n.py
    assert len(extracted) > 100


def test_every_message_has_a_chinese_translation_with_the_same_placeholders(extracted):
    catalog = _po("zh_CN")
    problems = []
    for msgid, where in sorted(extracted.items()):
        message = catalog.get(msgid)
        if message is None or not message.string:
            problems.append(f"untranslated: {msgid!r} ({', '.join(where)})")
        elif message.fuzzy:
            problems.append(f"fuzzy: {msgid!r} ({', '.join(where)})")
        elif _placeholders(message.string) != _placeholders(msgid):
            problems.append(f"placeholders differ: {msgid!r} -> {message.string!r}")
    assert not problems, "zh_CN catalogue (see babel.cfg for how to update it):\n" + "\n".join(problems)


def test_english_catalogue_has_every_message(extracted):
    catalog = _po("en")
    missing = sorted(m for m in extracted if catalog.get(m) is None)
    assert not missing


def test_every_werkzeug_error_name_is_in_the_catalogue():
    from werkzeug.exceptions import default_exceptions

    names = {exc().name for exc in default_exceptions.values()}
    assert names <= set(HTTP_ERROR_NAMES)


@pytest.mark.parametrize("locale", LOCALES)
def test_compiled_catalogue_matches_the_po_file(locale):
    """`pybabel compile -d recovery/translations` was run after the last edit of the .po file."""
    po = _po(locale)
    with open(TRANSLATIONS / locale / "LC_MESSAGES" / "messages.mo", "rb") as f:
        mo = read_mo(f)
    # what write_mo puts in a .mo: the translated, non-fuzzy messages
    expected = {m.id: m.string for m in po if m.id and m.string and not m.fuzzy}
    compiled = {m.id: m.string for m in mo if m.id}
    assert compiled == expected


@pytest.fixture
def app(tmp_path: Path):
    return create_app({"DATABASE_URL": "sqlite:///" + str(tmp_path / "x.sqlite3"), "TESTING": True})


def test_request_language(app):
    chinese = _po("zh_CN")[UNKNOWN_KIND].string
    assert chinese and chinese != UNKNOWN_KIND
    with app.test_request_context("/?lang=en"):
        assert translate(UNKNOWN_KIND) == UNKNOWN_KIND
    with app.test_request_context("/?lang=zh_CN"):
        assert translate(UNKNOWN_KIND) == chinese
    with app.test_request_context("/"):
        assert translate(UNKNOWN_KIND) == chinese
    with app.test_request_context("/api/v1/metrics", headers={"Accept-Language": "en-US,en;q=0.9"}):
        assert translate(UNKNOWN_KIND) == UNKNOWN_KIND
    with app.test_request_context("/api/v1/metrics", headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"}):
        assert translate(UNKNOWN_KIND) == chinese
    assert translate(UNKNOWN_KIND) == UNKNOWN_KIND  # outside a request: English as written


def test_error_message_is_translated_with_its_parameters(app):
    with app.test_request_context("/"):
        message = UnknownKindError(UNKNOWN_KIND, kind="x").translated()
    assert message == _po("zh_CN")[UNKNOWN_KIND].string % {"kind": "x"}
    assert "x" in message and "未知" in message
    with app.test_request_context("/?lang=en"):
        assert UnknownKindError(UNKNOWN_KIND, kind="x").translated() == "Unknown site kind x."


def test_http_error_names_are_translated(app):
    client = app.test_client()
    zh = client.get("/api/no-such-thing")
    assert zh.status_code == 404
    assert zh.get_json()["error"]["message"] == _po("zh_CN")["Not Found"].string
    en = client.get("/api/no-such-thing?lang=en")
    assert en.get_json()["error"]["message"] == "Not Found"
