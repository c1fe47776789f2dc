"""The module graph (issue 13): every module imports; no import cycles among recovery's modules; no view module
(one that makes a Blueprint) imports another or holds SQL; no module uses another's private name; only the
database's own modules branch on its dialect. Read from the source itself: import statements (those inside
functions too, which only hide a cycle until the function runs, but not those made only for type checkers),
calls and attributes."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

from recovery.settings import PROJECT_ROOT

ROOT = PROJECT_ROOT / "recovery"


def _modules() -> dict[str, Path]:
    out = {}
    for path in ROOT.rglob("*.py"):
        parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _type_checking_only(node: ast.AST) -> bool:
    test = getattr(node, "test", None)
    return isinstance(node, ast.If) and (
        (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING")
        or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")
    )


def _imports(name: str, path: Path) -> set[str]:
    """The recovery modules `name` imports. `from pkg import sub` imports the submodule, not the package's code
    beyond its __init__, so it counts as an import of `pkg.sub`."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if _type_checking_only(node):
            return
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name in MODULES)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            for alias in node.names:
                sub = f"{module}.{alias.name}"
                if sub in MODULES:
                    found.add(sub)
                elif module in MODULES:
                    found.add(module)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    found.discard(name)
    return found


def _graph() -> dict[str, set[str]]:
    return {name: _imports(name, path) for name, path in MODULES.items()}


def _cycles(graph: dict[str, set[str]]) -> list[frozenset[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[frozenset[str]] = []

    def connect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.add(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(frozenset(component))

    for v in sorted(graph):
        if v not in index:
            connect(v)
    return found


def _is_view(name: str) -> bool:
    """A view module is one that makes a Blueprint (wherever it lives)."""
    tree = ast.parse(MODULES[name].read_text(encoding="utf-8"))
    return any(
        isinstance(node, ast.Call) and _called_name(node.func) == "Blueprint" for node in ast.walk(tree)
    )


def _called_name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


#: SQL in a view, as the scan sees it. Building a statement: SQLAlchemy's constructors, called bare or as
#: `sa.select`/`sqlalchemy.text` (a view has no other use for these names). Running one: `.execute`,
#: `.scalar`, `.scalars`, `.query` on anything (connections and sessions alike; nothing else a view calls
#: has these methods). The session's own row reads and writes: `.get(Model, id)` with a class as the first
#: argument (so Flask's cookie `session.get(KEY)` and dicts' `.get` are not SQL), `.add`, `.add_all`,
#: `.delete`, `.merge`, `.refresh` on a session (a name `session`/`*_session`, or `get_session()`).
#: Left to the views on purpose: commit, rollback, flush, expunge, catching IntegrityError. Transactions
#: belong to the doors (ARCHITECTURE.md); the statements inside them belong to the rules' modules.
SQL_BUILDERS = frozenset({"select", "insert", "update", "delete", "text", "union", "union_all", "exists"})
SQL_RUNNERS = frozenset({"execute", "scalar", "scalars", "query"})
SESSION_ROW_METHODS = frozenset({"add", "add_all", "delete", "merge", "refresh"})


def _is_session(node: ast.expr) -> bool:
    if isinstance(node, ast.Call):
        return _called_name(node.func) == "get_session"
    name = node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else ""
    return name == "session" or name.endswith("_session")


def _sql_in(source: str) -> list[tuple[int, str]]:
    """(line, what) of each piece of SQL in `source`."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Name) and func.id in SQL_BUILDERS:
            found.append((node.lineno, f"{func.id}()"))
        elif isinstance(func, ast.Attribute):
            receiver = func.value
            if (
                func.attr in SQL_BUILDERS
                and isinstance(receiver, ast.Name)
                and receiver.id in ("sa", "sqlalchemy")
            ):
                found.append((node.lineno, f"{receiver.id}.{func.attr}()"))
            elif func.attr in SQL_RUNNERS:
                found.append((node.lineno, f".{func.attr}()"))
            elif func.attr in SESSION_ROW_METHODS and _is_session(receiver):
                found.append((node.lineno, f"session.{func.attr}()"))
            elif (
                func.attr == "get"
                and _is_session(receiver)
                and node.args
                and isinstance(node.args[0], ast.Name)
                and node.args[0].id[:1].isupper()
                and not node.args[0].id.isupper()
            ):
                found.append((node.lineno, f"session.get({node.args[0].id}, …)"))
    return sorted(found)


def _private_names_used(name: str, source: str) -> list[tuple[str, str]]:
    """(module, name) of each private name of another recovery module that `source` (module `name`) imports
    (`from recovery.x import _y`) or reads (`x._y` where x is a module it imported)."""
    path = MODULES.get(name)
    package = name if path is not None and path.name == "__init__.py" else name.rpartition(".")[0]
    tree = ast.parse(source)
    modules: dict[str, str] = {}  # local name -> the recovery module it is bound to
    found = []

    def private(attr: str) -> bool:
        return attr.startswith("_") and not attr.startswith("__")

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in MODULES or alias.name.split(".")[0] == "recovery":
                    modules[alias.asname or alias.name.split(".")[0]] = (
                        alias.name if alias.asname else "recovery"
                    )
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            for alias in node.names:
                if f"{module}.{alias.name}" in MODULES:
                    modules[alias.asname or alias.name] = f"{module}.{alias.name}"
                elif module in MODULES and private(alias.name):
                    found.append((module, alias.name))
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and private(node.attr):
            chain, value = [], node.value
            while isinstance(value, ast.Attribute):
                chain.insert(0, value.attr)
                value = value.value
            if isinstance(value, ast.Name) and value.id in modules:
                owner = ".".join([modules[value.id], *chain])
                if owner in MODULES and owner != name:
                    found.append((owner, node.attr))
    return found


#: the modules that may branch on the database's dialect: the database's own (recovery/db) and the as-of reads
#: with the indexes that make them fast (ARCHITECTURE.md: state as of T and its dialect branches)
DIALECT_MODULES = ("recovery.db", "recovery.ledger.asof", "recovery.ledger.spans", "recovery.ledger.measures")


def _dialect_branches(source: str) -> list[tuple[int, str]]:
    """(line, what) where `source` looks at the dialect: any `.dialect` (`session.bind.dialect.name`,
    `conn.dialect`), or an import of SQLAlchemy's dialect-specific modules (`postgresql.insert` vs
    `sqlite.insert`)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and node.attr == "dialect":
            found.append((node.lineno, ".dialect"))
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sqlalchemy.dialects"):
            found.append((node.lineno, f"from {node.module} import"))
        elif isinstance(node, ast.Import) and any(
            a.name.startswith("sqlalchemy.dialects") for a in node.names
        ):
            found.append((node.lineno, "import sqlalchemy.dialects"))
    return sorted(found)


@pytest.mark.parametrize("name", sorted(MODULES))
def test_every_module_imports(name):
    importlib.import_module(name)


def test_no_import_cycles():
    assert [sorted(c) for c in _cycles(_graph())] == []


def test_no_view_imports_another_view():
    views = {name for name in MODULES if _is_view(name)}
    assert {"recovery.web.sites_api", "recovery.web.photos_api", "recovery.map.views"} <= views
    graph = _graph()
    crossings = sorted((v, w) for v in views for w in graph[v] & views)
    assert crossings == []


def test_no_view_holds_sql():
    """Views parse the request, call a function that takes a session and values, and serialize its answer: every
    statement lives in the module that owns its rule (ARCHITECTURE.md)."""
    views = {name for name in MODULES if _is_view(name)}
    assert {"recovery.web.sites_api", "recovery.auth.views", "recovery.dashboard.command_api"} <= views
    found = {name: _sql_in(MODULES[name].read_text(encoding="utf-8")) for name in sorted(views)}
    assert {name: sql for name, sql in found.items() if sql} == {}


#: the modules beside the views under recovery/web that may hold SQL, each with its reason; the request helpers
#: (site_access, params, features…) call the rules' modules as the views do
WEB_MODULES_WITH_SQL = {
    "recovery.web.idempotency": "its table is its rule: the stored answers to Idempotency-Keys, under a lock",
}


def test_the_web_helpers_hold_no_sql_but_idempotency():
    helpers = {name for name in MODULES if name.startswith("recovery.web.") and not _is_view(name)}
    assert {"recovery.web.site_access", "recovery.web.params", *WEB_MODULES_WITH_SQL} <= helpers
    found = {
        name: sql for name in sorted(helpers) if (sql := _sql_in(MODULES[name].read_text(encoding="utf-8")))
    }
    assert set(found) == set(WEB_MODULES_WITH_SQL)


def test_the_scan_sees_sql_in_a_view():
    """Each kind of SQL the scan looks for is seen where it is planted; what is not SQL (Flask's cookie
    session, a dict's get, the transaction's commit, a function named like a statement) is not."""
    planted = """
from flask import session
from sqlalchemy import select, text
import sqlalchemy as sa

def view():
    s = get_session()
    rows = s.scalars(select(Site).where(Site.id == 1))
    one = get_session().get(Photo, 3)
    db_session.execute(text("SELECT 1"))
    session.add(Site())
    sa.delete(Site)
    n = s.scalar(q)
    photo = user_session.get(Photo, 4)
    lang = session.get(SESSION_KEY)
    labels = {}.get("a", "b")
    get_session().commit()
    select_sites(s, q)
    return sa.func.count()
"""
    assert _sql_in(planted) == [
        (8, ".scalars()"),
        (8, "select()"),
        (9, "session.get(Photo, …)"),
        (10, ".execute()"),
        (10, "text()"),
        (11, "session.add()"),
        (12, "sa.delete()"),
        (13, ".scalar()"),
        (14, "session.get(Photo, …)"),
    ]


def test_no_module_uses_another_modules_private_name():
    """A name shared between modules is public (no `_`); a private one is its module's own."""
    found = {
        n: used for n, path in MODULES.items() if (used := _private_names_used(n, path.read_text("utf-8")))
    }
    assert found == {}


def test_the_scan_sees_a_private_name_of_another_module():
    source = """
from recovery.models import _json, Site
from recovery.cli_support import bar as _bar
from recovery import photos
import recovery.ledger.asof
from . import spans
import recovery.ledger.fold as fold

photos._locked(path)
recovery.ledger.asof._dialect(session)
spans._COLUMNS
fold._private
photos.PhotoStore._method
self._own
__name__
"""
    assert sorted(_private_names_used("recovery.ledger.bulk", source)) == [
        ("recovery.ledger.asof", "_dialect"),
        ("recovery.ledger.fold", "_private"),
        ("recovery.ledger.spans", "_COLUMNS"),
        ("recovery.models", "_json"),
        ("recovery.photos", "_locked"),
    ]


def test_only_the_database_modules_branch_on_the_dialect():
    """SQLite and PostgreSQL differences live in recovery/db (recovery.db.dialect answers for both) and in the
    as-of reads; a feature calls them instead of asking which database it runs on."""
    found = {
        name: branches
        for name, path in MODULES.items()
        if not name.startswith(DIALECT_MODULES) and (branches := _dialect_branches(path.read_text("utf-8")))
    }
    assert found == {}
    assert _dialect_branches(MODULES["recovery.db.dialect"].read_text("utf-8"))  # the scan sees them there


def test_the_scan_sees_a_dialect_branch():
    source = """
from sqlalchemy.dialects import postgresql
import sqlalchemy.dialects.sqlite
if session.bind.dialect.name == "postgresql":
    pass
read(path, sql_dialect="SQLITE")
"""
    assert _dialect_branches(source) == [
        (2, "from sqlalchemy.dialects import"),
        (3, "import sqlalchemy.dialects"),
        (4, ".dialect"),
    ]


def test_the_analysis_sees_a_cycle_and_a_view_import(tmp_path):
    """The analysis itself: a function-level import closing a cycle is a cycle; a type-only import is not."""
    graph = {"a": {"b"}, "b": {"a"}, "c": {"a"}}
    assert _cycles(graph) == [frozenset({"a", "b"})]
    source = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from recovery import kinds\n"
    source += "def f():\n    from recovery.web import sites_api\n"
    module = tmp_path / "m.py"
    module.write_text(source)
    assert _imports("recovery.m", module) == {"recovery.web.sites_api"}
