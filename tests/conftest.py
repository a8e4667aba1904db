"""Shared fixtures: a knowledge base built from the shipped plan, in a temporary folder per test session."""

from __future__ import annotations

import glob
import os
import shutil
from pathlib import Path

import pytest

from devtools.knowledge_base import build_knowledge_base
from knowledge.search import KnowledgeBase

PLAN = Path(__file__).resolve().parent.parent / "knowledge" / "data" / "documents" / "xiqu-2020-work-plan.txt"


@pytest.fixture(scope="session", autouse=True)
def private_follows_store(tmp_path_factory):
    """Tests that start the Telegram relay never write the repository's var/follows.db (docs/following.md)."""
    if "WESTBOT_FOLLOWS" not in os.environ:
        os.environ["WESTBOT_FOLLOWS"] = str(tmp_path_factory.mktemp("follows") / "follows.db")
    yield


@pytest.fixture(scope="session")
def built_kb(tmp_path_factory) -> Path:
    """A knowledge base file built from the shipped documents, with its jieba dictionary loaded."""
    return build_knowledge_base(tmp_path_factory.mktemp("kb"))


@pytest.fixture
def kb_path(built_kb, tmp_path) -> Path:
    """A private copy of the built knowledge base, for tests that write."""
    path = tmp_path / "knowledge.db"
    shutil.copy(built_kb, path)
    return path


@pytest.fixture(scope="session")
def kb(built_kb) -> KnowledgeBase:
    return KnowledgeBase.from_path(built_kb)


@pytest.fixture
def plan_text() -> str:
    return PLAN.read_text(encoding="utf-8")


# Debian programs some tests need (`make system-deps` installs them). A test marked `@pytest.mark.needs("chromium")`
# is skipped, with the reason, where one is missing; under CI=true a skip for a missing program fails the run,
# since CI installs them all.
TOOLS = {
    "espeak-ng": ("espeak-ng and opus-tools", lambda: bool(shutil.which("espeak-ng") and shutil.which("opusenc"))),
    "chromium": ("chromium", lambda: bool(shutil.which("chromium") or os.path.exists("/usr/bin/chromium"))),
    "postgresql": ("postgresql", lambda: bool(glob.glob("/usr/lib/postgresql/*/bin/initdb"))),
    "redis-server": ("redis-server", lambda: bool(shutil.which("redis-server"))),
}
_skipped_for_tools: list[str] = []


def pytest_configure(config):
    config.addinivalue_line("markers", "needs(*tools): needs Debian programs: " + ", ".join(TOOLS))


def pytest_collection_modifyitems(config, items):
    for item in items:
        for marker in item.iter_markers("needs"):
            unknown = [t for t in marker.args if t not in TOOLS]
            if unknown or not marker.args:
                raise pytest.UsageError(f"{item.nodeid}: needs() takes tools from {list(TOOLS)}, not {unknown}")


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    missing = [TOOLS[t][0] for marker in item.iter_markers("needs") for t in marker.args if not TOOLS[t][1]()]
    if missing:
        _skipped_for_tools.append(item.nodeid)
        pytest.skip(f"needs {', '.join(missing)}: not installed (make system-deps installs them)")


def pytest_sessionfinish(session, exitstatus):
    if os.environ.get("CI", "").lower() == "true" and _skipped_for_tools:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(
                f"CI=true, but tests were skipped for a missing program (CI installs them all): "
                f"{len(_skipped_for_tools)}",
                red=True,
            )
            for nodeid in _skipped_for_tools:
                reporter.write_line(f"  {nodeid}", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture
def action_resources(built_kb, tmp_path, monkeypatch):
    """The action server's resources (actions/resources.py) opened on the test knowledge base and a private log."""
    from actions import resources

    monkeypatch.setenv("WESTBOT_KB", str(built_kb))
    monkeypatch.setenv("WESTBOT_QUESTIONS", str(tmp_path / "questions.db"))
    resources.knowledge_base.cache_clear()
    resources.question_log.cache_clear()
    yield resources
    resources.knowledge_base.cache_clear()
    resources.question_log.cache_clear()
