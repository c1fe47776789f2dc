"""The README documents what the code declares: every figure, every command, the two quick-start commands."""

from __future__ import annotations

import re

from recovery.metrics.registry import METRICS
from recovery.settings import PROJECT_ROOT

README = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")


def test_every_figure_is_documented():
    missing = [m.key for m in METRICS if f"`{m.key}`" not in README]
    assert missing == []


def test_every_command_is_documented(app):
    names = []
    for name, command in app.cli.commands.items():
        sub = getattr(command, "commands", None)
        names += [f"recovery {name} {s}" for s in sub] if sub else [f"recovery {name}"]
    missing = [n for n in names if n not in README]
    assert missing == []


def test_quick_start_has_exactly_two_commands():
    section = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```bash\n(.*?)```", section, re.S).group(1)
    commands = [line for line in block.splitlines() if line.strip() and not line.startswith("#")]
    assert [c.split("#")[0].strip() for c in commands] == ["bash scripts/demo", "bash scripts/test"]
    assert "exec bash scripts/test" in (PROJECT_ROOT / ".ci" / "run").read_text()


def _section(text: str, heading: str) -> str:
    return text.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]


ARCHITECTURE = (PROJECT_ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")
#: a module or folder of the package named in backticks, e.g. `recovery/ledger/append.py` or `recovery/writers/`
MODULE = re.compile(r"`(recovery/[\w/]+(?:\.py|/))`")


def test_the_readme_names_the_module_of_every_rule_architecture_names():
    """README's Architecture section and ARCHITECTURE.md's table name the same owners, and each one exists."""
    readme = set(MODULE.findall(_section(README, "Architecture")))
    owners = set(MODULE.findall(_section(ARCHITECTURE, "Who owns which rule")))
    assert len(owners) > 30 and owners <= readme, sorted(owners - readme)
    assert [m for m in readme | owners if not (PROJECT_ROOT / m).exists()] == []


def test_every_test_file_the_documents_name_exists():
    """The documents point at the test that holds each promise; a test that moves must not leave them pointing
    nowhere."""
    named = set()
    for path in ("README.md", "ARCHITECTURE.md", "SECURITY.md", "docs/interop.md"):
        named |= set(re.findall(r"tests/[\w/]+\.py", (PROJECT_ROOT / path).read_text(encoding="utf-8")))
    assert len(named) > 10
    assert sorted(p for p in named if not (PROJECT_ROOT / p).exists()) == []


def test_the_readme_s_incident_file_is_one_the_app_reads(tmp_path):
    from recovery.incident import load_incident

    block = re.search(r"```toml\n(.*?)```", _section(README, "Deploying"), re.S).group(1)
    path = tmp_path / "incident.toml"
    path.write_text("\n".join(line.strip() for line in block.splitlines()), encoding="utf-8")
    incident = load_incident(path)
    assert incident.key == "ice-storm-2023" and incident.road_deadline.isoformat() == "2024-01-10"
    assert incident.last_day.isoformat() == "2024-02-29" and incident.zone.get("zh") == "某某新区"
