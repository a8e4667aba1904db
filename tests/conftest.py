"""Shared fixtures: a knowledge base built from the shipped plan, in a temporary folder per test session."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from knowledge import dictionary, ingest, segment, store
from knowledge.search import KnowledgeBase
from knowledge.settings import get_settings

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
    folder = tmp_path_factory.mktemp("kb")
    path = folder / "knowledge.db"
    db = store.open_for_writing(path)
    ingest.build(db, get_settings().documents_dir, "12345 政务服务热线")
    dictionary.write_jieba_dictionary(db, folder / "jieba")
    db.conn.close()
    segment.init_jieba(folder / "jieba")
    return path


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
