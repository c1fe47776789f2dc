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


# -- one mechanism: no Chinese/English choice written inline ------------------------------------------------------
# Messages go through the catalogue (gettext, or recovery.i18n.in_locale for another language than the
# request's); enumerated values through the vocabulary's labels. Bilingual data held by a registry is read by
# the one function each registry gives for it, listed here; nothing else may pick between two texts by language.
CHOOSERS = {
    ("recovery/i18n.py", "is_chinese"),
    ("recovery/i18n.py", "language"),
    ("recovery/i18n.py", "locale_for"),
    ("recovery/i18n.py", "catalogue_locale"),
    ("recovery/i18n.py", "pick"),
    ("recovery/terms.py", "Term.label"),  # the vocabulary's terms
    ("recovery/incident.py", "Wording.get"),  # the incident's names and titles
}
_LANGUAGE_NAME = re.compile(r"(^|_)(zh|en|cn|lang|locale|language|chinese|english)($|_)", re.I)
_LANGUAGE_SIDE = re.compile(r"(?:^|_)(zh|en|cn)$")


def _text(node) -> bool:
    """A literal text: a string, an f-string, a list or tuple of them, or a sum with one."""
    import ast

    if isinstance(node, ast.Constant):
        return isinstance(node.value, str)
    if isinstance(node, ast.JoinedStr):
        return True
    if isinstance(node, ast.List | ast.Tuple):
        return bool(node.elts) and all(_text(e) for e in node.elts)
    if isinstance(node, ast.BinOp):
        return _text(node.left) or _text(node.right)
    if isinstance(node, ast.IfExp):  # ("是" if v else "否") if zh else ("true" if v else "false")
        return _text(node.body) and _text(node.orelse)
    return False


def _side(node) -> str | None:
    """ "zh" or "en" when the node reads one language's variant: x.zh, m.unit_en, props["name_zh"]."""
    import ast

    name = None
    if isinstance(node, ast.Attribute):
        name = node.attr
    elif isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant):
        name = node.slice.value if isinstance(node.slice.value, str) else None
    elif isinstance(node, ast.Name):
        name = node.id
    match = _LANGUAGE_SIDE.search(name or "")
    return match.group(1) if match else None


def _about_language(node) -> bool:
    import ast

    for sub in ast.walk(node):
        name = sub.id if isinstance(sub, ast.Name) else sub.attr if isinstance(sub, ast.Attribute) else None
        if name and _LANGUAGE_NAME.search(name):
            return True
        if (
            isinstance(sub, ast.Constant)
            and isinstance(sub.value, str)
            and sub.value.lower()[:2] in ("zh", "en")
        ):
            return True
    return False


def inline_language_choices(source: str, filename: str = "") -> list[int]:
    """Lines of `a if <language test> else b` where a and b are two texts, or one language's and the other's
    variant of a thing (`kind.zh if zh else kind.en`), outside the functions listed in CHOOSERS."""
    import ast

    tree = ast.parse(source)
    allowed: set[int] = set()

    def visit(node, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                name = f"{prefix}{child.name}"
                if (filename, name) in CHOOSERS:
                    allowed.update(range(child.lineno, (child.end_lineno or child.lineno) + 1))
                visit(child, name + ".")
            else:
                visit(child, prefix)

    visit(tree, "")
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.IfExp) or node.lineno in allowed:
            continue
        pair = {_side(node.body), _side(node.orelse)}
        if pair in ({"zh", "en"}, {"cn", "en"}) or (
            _text(node.body) and _text(node.orelse) and _about_language(node.test)
        ):
            found.append(node.lineno)
    return sorted(found)


PLANTED = """
def title(zh):
    return "塌陷点" if zh else "collapse points"
def kind_name(kind, locale):
    return kind.zh if locale.startswith("zh") else kind.en
def unit(m, lang):
    return m.unit_zh if lang == "zh" else m.unit_en
def header(is_zh):
    return ["经度", "纬度"] if is_zh else ["lon", "lat"]
def sheet(lang):
    return f"{lang}台账" if lang == "zh" else f"{lang} sites"
def fine(done, zh):
    return "—" if done is None else "x"
def yes(value, office_zh):
    return ("是" if value else "否") if office_zh else ("true" if value else "false")
"""


def test_the_scan_catches_planted_inline_choices():
    assert inline_language_choices(PLANTED) == [3, 5, 7, 9, 11, 15]


def test_no_inline_chinese_english_choice_in_the_code():
    found = []
    for path in sorted((PROJECT_ROOT / "recovery").rglob("*.py")):
        name = path.relative_to(PROJECT_ROOT).as_posix()
        lines = path.read_text(encoding="utf-8").splitlines()
        for lineno in inline_language_choices(path.read_text(encoding="utf-8"), name):
            found.append(f"{name}:{lineno}: {lines[lineno - 1].strip()}")
    assert found == [], (
        "use gettext / in_locale (messages) or the vocabulary's labels (values):\n" + "\n".join(found)
    )


def test_the_choosers_listed_exist():
    """A chooser renamed or gone must leave the list, so the list cannot hide a choice."""
    import ast

    for filename, qualname in CHOOSERS:
        tree = ast.parse((PROJECT_ROOT / filename).read_text(encoding="utf-8"))
        names = {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}
        for node in tree.body:
            if isinstance(node, ast.ClassDef):
                names |= {f"{node.name}.{f.name}" for f in node.body if isinstance(f, ast.FunctionDef)}
        assert qualname in names, (filename, qualname)


def test_in_locale_renders_a_message_in_a_chosen_language_outside_a_request():
    from recovery.i18n import in_locale

    chinese = _po("zh_CN")[UNKNOWN_KIND].string
    assert in_locale(UNKNOWN_KIND, "zh", kind="x") == chinese % {"kind": "x"}
    assert in_locale(UNKNOWN_KIND, "zh_CN", kind="x") == chinese % {"kind": "x"}
    assert in_locale(UNKNOWN_KIND, "en", kind="x") == "Unknown site kind x."
