"""The tests' own layout (issue 13): every test file sits in unit/, integration/ or browser/; unit/ needs no
database and no app, so that `pytest tests/unit` stays a loop of seconds; browser/ is marked `browser`; shared
helpers come from `support`, never from `conftest` or from another test module. Read from the source with ast."""

from __future__ import annotations

import ast
from collections import Counter
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parents[1]
FOLDERS = ("unit", "integration", "browser")
#: the fixtures that give a database or an app (tests/conftest.py); any fixture built on one needs it too
DB_FIXTURES = frozenset(
    {
        "db_url",
        "seeded_url",
        "session",
        "seeded_session",
        "app",
        "seeded_app",
        "client",
        "seeded_client",
        "runner",
        "seeded_runner",
        "sqlite_templates",
        "pg_templates",
    }
)
TEST_FILES = sorted(p for p in TESTS.rglob("test_*.py"))
PY_FILES = sorted(p for p in TESTS.rglob("*.py"))


def _name(path: Path) -> str:
    return path.relative_to(TESTS).as_posix()


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _functions(tree: ast.Module) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    return [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]


def _is_fixture(function: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    for decorator in function.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        if isinstance(target, ast.Attribute | ast.Name) and getattr(
            target, "attr", getattr(target, "id", "")
        ) == ("fixture"):
            return True
    return False


def _parameters(function: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    args = function.args
    return {a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs]}


def _named_by_string(tree: ast.AST) -> set[str]:
    """Fixtures asked for by name: request.getfixturevalue("x"), pytest.mark.usefixtures("x", …)."""
    names = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("getfixturevalue", "usefixtures")
        ):
            names |= {a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)}
    return names


def _fixtures(tree: ast.Module) -> dict[str, set[str]]:
    """Each fixture defined in `tree` and the fixtures it asks for."""
    out = {}
    for function in _functions(tree):
        if _is_fixture(function):
            out[function.name] = _parameters(function) | _named_by_string(function)
    return out


def needs_a_database(tree: ast.Module, shared: dict[str, set[str]]) -> set[str]:
    """The database or app fixtures that the tests and fixtures of `tree` ask for, directly or through fixtures
    (those of `tree`, then the shared ones of the conftest files)."""
    fixtures = {**shared, **_fixtures(tree)}
    needing = set(DB_FIXTURES)
    changed = True
    while changed:
        changed = False
        for name, asks in fixtures.items():
            if name not in needing and asks & needing:
                needing.add(name)
                changed = True
    asked = _named_by_string(tree)
    for function in _functions(tree):
        if function.name.startswith("test") or _is_fixture(function):
            asked |= _parameters(function)
    return asked & needing


def _shared_fixtures() -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for conftest in sorted(TESTS.rglob("conftest.py")):
        out |= _fixtures(_tree(conftest))
    return out


def imported_modules(tree: ast.Module) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


def forbidden_imports(tree: ast.Module) -> set[str]:
    """Imports of a conftest or of a test module: shared helpers belong in `support`."""
    out = set()
    for module in imported_modules(tree):
        last = module.rsplit(".", 1)[-1]
        if last == "conftest" or last.startswith("test_") or module in ("tests", "tests.conftest"):
            out.add(module)
    return out


def is_marked_browser(tree: ast.Module) -> bool:
    """The module carries `pytestmark = pytest.mark.browser` (alone or in a list)."""
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "pytestmark" for t in node.targets
        ):
            return any(
                isinstance(n, ast.Attribute)
                and n.attr == "browser"
                and ast.unparse(n) == "pytest.mark.browser"
                for n in ast.walk(node.value)
            )
    return False


def test_there_are_test_files_in_every_folder():
    folders = Counter(p.relative_to(TESTS).parts[0] for p in TEST_FILES)
    assert all(folders[f] for f in FOLDERS), folders


@pytest.mark.parametrize("path", TEST_FILES, ids=_name)
def test_every_test_file_is_in_unit_integration_or_browser(path):
    parts = path.relative_to(TESTS).parts
    assert len(parts) == 2 and parts[0] in FOLDERS, (
        "move it to tests/unit, tests/integration or tests/browser"
    )


def test_no_two_test_files_share_a_name():
    twice = [name for name, n in Counter(p.name for p in TEST_FILES).items() if n > 1]
    assert twice == []  # pytest's default import mode imports test files by their base name


@pytest.mark.parametrize("path", PY_FILES, ids=_name)
def test_shared_helpers_come_from_support(path):
    assert forbidden_imports(_tree(path)) == set()


@pytest.mark.parametrize("path", [p for p in TEST_FILES if p.parent.name == "unit"], ids=_name)
def test_unit_tests_need_no_database_and_no_app(path):
    assert needs_a_database(_tree(path), _shared_fixtures()) == set(), "it belongs in tests/integration"


@pytest.mark.parametrize("path", [p for p in TEST_FILES if p.parent.name == "browser"], ids=_name)
def test_browser_tests_are_marked_browser(path):
    assert is_marked_browser(_tree(path)), "add `pytestmark = pytest.mark.browser`"


@pytest.mark.parametrize(
    ("source", "needs"),
    [
        ("def test_a(tmp_path): pass", set()),
        ("def test_a(seeded_client): pass", {"seeded_client"}),
        ("def test_a(site_id): pass", {"site_id"}),  # a shared fixture built on client
        ("@pytest.fixture\ndef mine(app): pass\ndef test_a(mine): pass", {"mine", "app"}),
        ("@pytest.fixture\ndef mine(request): request.getfixturevalue('db_url')", {"db_url"}),
        ("@pytest.mark.usefixtures('session')\ndef test_a(): pass", {"session"}),
    ],
)
def test_the_database_check_sees_fixtures_by_every_road(source, needs):
    assert needs_a_database(ast.parse(source), _shared_fixtures()) == needs


@pytest.mark.parametrize(
    ("source", "forbidden"),
    [
        ("from support.accounts import login", set()),
        ("from conftest import login", {"conftest"}),
        ("from tests.conftest import auth", {"tests.conftest"}),
        ("def f():\n    from test_sites_api import db", {"test_sites_api"}),
        ("import test_browser", {"test_browser"}),
    ],
)
def test_the_import_check_sees_conftest_and_test_modules(source, forbidden):
    assert forbidden_imports(ast.parse(source)) == forbidden


def test_the_browser_mark_check_reads_pytestmark():
    assert is_marked_browser(ast.parse("import pytest\npytestmark = pytest.mark.browser"))
    assert is_marked_browser(ast.parse("pytestmark = [pytest.mark.slow, pytest.mark.browser]"))
    assert not is_marked_browser(ast.parse("pytestmark = pytest.mark.slow"))
