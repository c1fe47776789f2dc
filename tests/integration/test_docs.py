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
