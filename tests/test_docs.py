"""The README documents every staff command, and every command has help."""
from pathlib import Path

import pytest

from knowledge.cli import cli

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
# A command may be documented in README.md or in a longer docs/<topic>.md (e.g. `kb announce`, docs/following.md).
DOCS = README + "".join(p.read_text(encoding="utf-8") for p in sorted((ROOT / "docs").glob("*.md")))


import click


def all_commands(group=cli, prefix="kb"):
    for name, command in sorted(group.commands.items()):
        yield f"{prefix} {name}", command
        if isinstance(command, click.Group):
            yield from all_commands(command, f"{prefix} {name}")


COMMANDS = dict(all_commands())


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_has_help(name):
    assert (COMMANDS[name].help or "").strip(), name


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_is_in_the_readme(name):
    assert name in DOCS, name


def test_readme_opens_with_the_two_commands():
    opening = README[:1500]
    assert "make run" in opening and "make test" in opening
