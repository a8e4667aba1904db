"""The docs say what the code does: the staff guide documents every `kb` command, every command has help,
the README is short and opens with the two commands, and every link resolves inside the repository."""

import re
from pathlib import Path

import click
import pytest

from knowledge.cli import cli

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
STAFF_GUIDE = (ROOT / "docs" / "staff.md").read_text(encoding="utf-8")
DOCS = sorted((ROOT / "docs").glob("*.md"))


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
def test_every_command_is_in_the_staff_guide(name):
    assert name in STAFF_GUIDE, name


def test_the_readme_is_short():
    assert len(README.encode("utf-8")) <= 8 * 1024


@pytest.mark.parametrize("page", [ROOT / "README.md", *DOCS], ids=lambda p: p.name)
def test_every_link_resolves_inside_the_repository(page):
    text = page.read_text(encoding="utf-8")
    assert "../shared" not in text, "the repository must not depend on files outside it"
    for target in re.findall(r"\]\(([^)#\s]+)", text):
        if "://" in target:
            continue
        resolved = (page.parent / target).resolve()
        assert resolved.exists() and ROOT in resolved.parents, (page.name, target)


def test_readme_opens_with_the_two_commands():
    opening = README[:1500]
    assert "make run" in opening and "make test" in opening
