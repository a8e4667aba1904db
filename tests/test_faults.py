"""Faults and odd input: fuzzed messages, reads during writes, a full disk or read-only database for staff."""

from __future__ import annotations

import sqlite3
import threading

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from knowledge import staff, store
from knowledge.cli import cli
from knowledge.search import KnowledgeBase
from knowledge.text import normalize_question

PIECES = list("老人饭堂金沙路粤信路搵工冇嘅喺長者助餐服務？！，。 \"*()ORANDNEAR:;'-😀👍\n\t\x00") + [
    "金沙路",
    "NEAR(",
    "OR",
    "*",
    "'; DROP TABLE passages; --",
    "4050人员",
    "月信路",
]
RESIDENT_TEXT = st.lists(st.sampled_from(PIECES), max_size=80).map("".join) | st.text(max_size=300)


@settings(max_examples=300, deadline=2000, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=RESIDENT_TEXT)
def test_fuzzed_messages_never_break_normalizing_or_search(kb, text):
    normalized = normalize_question(text)
    assert isinstance(normalized, str) and len(normalized) <= 500
    for hit in kb.search(text):
        assert 0.0 <= hit.coverage <= 1.0


def test_a_hundred_readers_during_staff_writes(kb_path):
    kb = KnowledgeBase.from_path(kb_path)
    errors: list[BaseException] = []
    answered = []

    def read():
        try:
            for _ in range(5):
                answered.append(kb.search("长者助餐配餐")[0].coverage)
        except BaseException as error:  # noqa: BLE001 - any failure is the finding
            errors.append(error)

    writer = store.open_for_writing(kb_path)
    readers = [threading.Thread(target=read) for _ in range(100)]
    for r in readers:
        r.start()
    for i in range(20):
        staff.add_passage(writer, topic="livelihood", text=f"并发测试第{i}条社区服务信息。", by="test")
    for r in readers:
        r.join(60)
    assert errors == []
    assert len(answered) == 500 and min(answered) == 1.0
    count = writer.execute("SELECT count(*) FROM passages WHERE text LIKE '并发测试%'").fetchone()[0]
    assert count == 20


def full_disk(path):
    db = store.open_for_writing(path)
    used = db.execute("PRAGMA page_count").fetchone()[0]
    db.execute(f"PRAGMA max_page_count = {used}")  # the file may not grow: a full disk, as SQLite sees it
    return db


def test_a_full_disk_writes_nothing_half(kb_path):
    db = full_disk(kb_path)
    passages = db.execute("SELECT count(*) FROM passages").fetchone()[0]
    changes = db.execute("SELECT count(*) FROM changes").fetchone()[0]
    with pytest.raises(sqlite3.OperationalError, match="full"):
        staff.add_passage(db, topic="roads", text="翠湾路通车。" * 300, by="test")
    assert db.execute("SELECT count(*) FROM passages").fetchone()[0] == passages
    assert db.execute("SELECT count(*) FROM changes").fetchone()[0] == changes


def test_the_cli_says_clearly_when_the_disk_is_full(kb_path, monkeypatch):
    monkeypatch.setattr("knowledge.cli.writer", full_disk)
    result = CliRunner().invoke(cli, ["add", "--db", str(kb_path), "--topic", "roads", "--text", "翠湾路通车。" * 300])
    assert result.exit_code == 1
    assert "Nothing was changed" in result.output and "full" in result.output


def read_only(path):
    db = store.open_for_writing(path)
    db.execute("PRAGMA query_only = 1")  # SQLite refuses every write, as on a read-only file or mount
    return db


def test_a_read_only_database_writes_nothing_half(kb_path):
    db = read_only(kb_path)
    passages = db.execute("SELECT count(*) FROM passages").fetchone()[0]
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        staff.add_passage(db, topic="roads", text="翠湾路通车。", by="test")
    assert db.execute("SELECT count(*) FROM passages").fetchone()[0] == passages


def test_the_cli_says_clearly_when_the_database_is_read_only(kb_path, monkeypatch):
    monkeypatch.setattr("knowledge.cli.writer", read_only)
    result = CliRunner().invoke(cli, ["add", "--db", str(kb_path), "--topic", "roads", "--text", "翠湾路通车。"])
    assert result.exit_code == 1
    assert "Nothing was changed" in result.output and "readonly" in result.output
    db = store.open_for_writing(kb_path)
    assert not db.execute("SELECT count(*) FROM passages WHERE text LIKE '翠湾路通车。%'").fetchone()[0]
