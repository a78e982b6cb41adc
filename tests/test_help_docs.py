"""A docs test over every command (as sqlite-utils does): ``--help`` works for each command and
subcommand, and each shows at least one example invocation of itself."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from patentscope.cli import main


def commands(group: click.Group, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out = []
    for name, cmd in sorted(group.commands.items()):
        out.append((*path, name))
        if isinstance(cmd, click.Group):
            out.extend(commands(cmd, (*path, name)))
    return out


ALL = commands(main)


def test_every_command_is_listed():
    assert {("ingest", "sample"), ("ingest", "ops"), ("ingest", "bulk"), ("status",), ("sql",), ("findings",)} <= set(ALL)


def test_every_command_module_is_registered():
    """A module in patentscope/cli/commands/ that is missing from MODULES registers nothing: its
    commands would silently not exist (as `findings` once did)."""
    from pathlib import Path

    from patentscope.cli import commands as pkg

    present = {p.stem for p in Path(pkg.__file__).parent.glob("*.py") if p.stem != "__init__"}
    assert present == set(pkg.MODULES)


@pytest.mark.parametrize("path", ALL, ids=" ".join)
def test_help_has_an_example(path):
    r = CliRunner().invoke(main, [*path, "--help"])
    assert r.exit_code == 0 and r.stdout.startswith("Usage:"), r.output
    lines = r.stdout.splitlines()
    assert any(line.strip().startswith(f"patentscope {' '.join(path)}") or
               (line.strip().startswith("patentscope ") and f" {path[-1]}" in line) for line in lines), \
        f"`patentscope {' '.join(path)} --help` shows no example of the command"
