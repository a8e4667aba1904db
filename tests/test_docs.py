"""The README documents every staff command, and every command has help."""
from pathlib import Path

import pytest

from knowledge.cli import cli

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", sorted(cli.commands))
def test_every_command_has_help(name):
    assert (cli.commands[name].help or "").strip(), name


@pytest.mark.parametrize("name", sorted(cli.commands))
def test_every_command_is_in_the_readme(name):
    assert f"kb {name}" in README, name


def test_readme_opens_with_the_two_commands():
    opening = README[:1500]
    assert "make run" in opening and "make test" in opening
