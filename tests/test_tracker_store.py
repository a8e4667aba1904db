"""The cached SQL tracker store reads and writes exactly what Rasa's SQLTrackerStore would, only cheaper."""

from __future__ import annotations

import asyncio
import sqlite3
import time

import pytest
import sqlalchemy.exc
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from devtools.servers import ROOT
from rasa_ext.tracker_store import CachedSQLTrackerStore

DOMAIN = Domain.load(str(ROOT / "domain.yml"))


def run(coroutine):
    return asyncio.run(coroutine)


def turn(tracker: DialogueStateTracker, text: str, topic: str = "roads") -> None:
    """What Rasa adds to a conversation for one question and its answer."""
    tracker.update(
        UserUttered(
            text,
            {"name": "ask_roads", "confidence": 0.9},
            parse_data={"intent": {"name": "ask_roads", "confidence": 0.9}, "entities": [], "text": text},
        )
    )
    tracker.update(ActionExecuted("action_answer_from_plan"))
    tracker.update(BotUttered(f"关于{text}的回答"))
    tracker.update(SlotSet("last_topic", topic))
    tracker.update(ActionExecuted("action_listen"))


def start(store, sender: str) -> DialogueStateTracker:
    """A conversation as Rasa starts one: created, then a session begins, then the first question."""
    tracker = run(store.get_or_create_tracker(sender))
    tracker.update(ActionExecuted("action_session_start"))
    tracker.update(SessionStarted())
    tracker.update(ActionExecuted("action_listen"))
    turn(tracker, "粤信路会改造吗")
    run(store.save(tracker))
    return tracker


def rows(db) -> list[tuple]:
    with sqlite3.connect(db) as connection:
        return connection.execute(
            "SELECT sender_id, type_name, intent_name, action_name FROM events ORDER BY id"
        ).fetchall()


@pytest.fixture()
def db(tmp_path):
    return tmp_path / "trackers.db"


@pytest.fixture()
def store(db):
    return CachedSQLTrackerStore(DOMAIN, dialect="sqlite", db=str(db))


def rasa_reads(db, sender: str) -> DialogueStateTracker:
    """What Rasa's own store reads from the same file."""
    return run(SQLTrackerStore(DOMAIN, dialect="sqlite", db=str(db)).retrieve(sender))


def same(a: DialogueStateTracker, b: DialogueStateTracker) -> bool:
    return [e.as_dict() for e in a.events] == [
        e.as_dict() for e in b.events
    ] and a.current_slot_values() == b.current_slot_values()


def test_writes_the_same_rows_as_rasas_store(tmp_path):
    ours, theirs = tmp_path / "ours.db", tmp_path / "theirs.db"
    for store in (CachedSQLTrackerStore(DOMAIN, db=str(ours)), SQLTrackerStore(DOMAIN, db=str(theirs))):
        tracker = start(store, "resident")
        for text in ("那个什么时候修好？", "金沙路呢"):
            tracker = run(store.retrieve("resident"))
            turn(tracker, text)
            run(store.save(tracker))
    assert rows(ours) == rows(theirs)
    assert len(rows(ours)) == 1 + 3 + 3 * 5  # created, session start, three turns; nothing written twice


def test_a_saved_conversation_is_reused_and_reads_as_rasa_reads_it(store, db):
    tracker = start(store, "resident")
    first = run(store.retrieve("resident"))  # a new session was saved: read from the file once
    turn(first, "那个什么时候修好？")
    run(store.save(first))
    again = run(store.retrieve("resident"))
    assert again is first  # the database holds exactly what was saved
    assert same(again, rasa_reads(db, "resident"))
    assert again.get_slot("last_topic") == "roads"
    assert tracker is not first


def test_a_tracker_goes_to_one_caller_at_a_time(store):
    start(store, "resident")
    run(store.save(run(store.retrieve("resident"))))
    held = run(store.retrieve("resident"))
    other = run(store.retrieve("resident"))  # e.g. the HTTP API reads the conversation while a message runs
    assert other is not held
    assert same(other, held)


def test_a_change_that_was_not_saved_is_never_handed_out(store, db):
    start(store, "resident")
    run(store.save(run(store.retrieve("resident"))))
    saved = run(store.retrieve("resident"))
    run(store.save(saved))
    turn(saved, "这句没有保存")  # changed after saving, and not saved again
    reread = run(store.retrieve("resident"))
    assert reread is not saved
    assert same(reread, rasa_reads(db, "resident"))
    assert "这句没有保存" not in [e.text for e in reread.events if isinstance(e, UserUttered)]


def test_another_server_writing_the_conversation_is_seen(store, db):
    start(store, "resident")
    mine = run(store.retrieve("resident"))
    run(store.save(mine))
    other_server = CachedSQLTrackerStore(DOMAIN, db=str(db))
    theirs = run(other_server.retrieve("resident"))
    turn(theirs, "金沙路呢", topic="jobs")
    run(other_server.save(theirs))
    now = run(store.retrieve("resident"))
    assert now is not mine
    assert now.get_slot("last_topic") == "jobs"
    turn(now, "谢谢")
    run(store.save(now))  # and saving after that writes only the new turn
    assert same(run(other_server.retrieve("resident")), rasa_reads(db, "resident"))
    assert len(rows(db)) == 1 + 3 + 3 * 5


def test_events_deleted_by_retention_are_gone_from_the_next_read(store, db):
    start(store, "resident")
    tracker = run(store.retrieve("resident"))
    run(store.save(tracker))
    with sqlite3.connect(db) as connection:  # what `kb forget` does with events older than the cutoff
        connection.execute("DELETE FROM events WHERE timestamp < ?", [time.time() + 1])
    assert run(store.retrieve("resident")) is None


def test_a_tracker_it_did_not_hand_out_is_saved_without_duplicates(store, db):
    start(store, "resident")
    fresh = rasa_reads(db, "resident")  # built elsewhere, e.g. by Rasa's own store in a script
    turn(fresh, "金沙路呢")
    run(store.save(fresh))
    assert len(rows(db)) == 1 + 3 + 2 * 5
    assert same(run(store.retrieve("resident")), rasa_reads(db, "resident"))


def test_a_new_session_reads_as_rasa_reads_it(store, db):
    start(store, "resident")
    tracker = run(store.retrieve("resident"))
    tracker.update(ActionExecuted("action_session_start"))
    tracker.update(SessionStarted())
    tracker.update(ActionExecuted("action_listen"))
    turn(tracker, "你好")
    run(store.save(tracker))
    reread = run(store.retrieve("resident"))
    assert reread is not tracker
    assert same(reread, rasa_reads(db, "resident"))  # the latest session only, as Rasa reads it


def test_remembers_a_bounded_number_of_conversations(db):
    store = CachedSQLTrackerStore(DOMAIN, db=str(db), cache_size=3)
    for n in range(5):
        start(store, f"resident-{n}")
    assert len(store._conversations) == 3
    assert run(store.retrieve("resident-0")).get_slot("last_topic") == "roads"  # forgotten here, read from the file


def test_sqlite_uses_write_ahead_logging(store, db):
    start(store, "resident")
    with sqlite3.connect(db) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_failed_write_keeps_nothing_half_written(store, db, monkeypatch):
    tracker = start(store, "resident")
    before = rows(db)
    turn(tracker, "金沙路呢")

    def full_disk(*args, **kwargs):  # fails after the insert, inside the same transaction
        raise sqlalchemy.exc.OperationalError("INSERT", {}, sqlite3.OperationalError("database or disk is full"))

    monkeypatch.setattr(CachedSQLTrackerStore, "_fingerprint", full_disk)
    with pytest.raises(sqlalchemy.exc.OperationalError):
        run(store.save(tracker))
    monkeypatch.undo()
    assert rows(db) == before
    reread = run(store.retrieve("resident"))
    assert reread is not tracker and same(reread, rasa_reads(db, "resident"))


def test_retention_reads_the_tracker_store_as_rasa_does(monkeypatch):
    from knowledge import retention

    monkeypatch.setenv("DB_HOST", "db.internal")
    monkeypatch.setenv("DB_PORT", "5433")
    monkeypatch.setenv("DB_NAME", "rasa")
    monkeypatch.setenv("DB_USER", "westbot")
    monkeypatch.setenv("DB_PASSWORD", "s3cret")
    for name in ("ACTION_ENDPOINT_URL", "REDIS_HOST", "REDIS_PORT"):
        monkeypatch.setenv(name, "x")
    assert (
        retention.tracker_store_url(ROOT / "endpoints.scaled.yml")
        == "postgresql://westbot:s3cret@db.internal:5433/rasa"
    )
    assert retention.tracker_store_url(ROOT / "endpoints.yml") == "sqlite:///var/trackers.db"


def test_retention_deletes_old_events_through_a_tracker_store_url(tmp_path):
    from knowledge import retention

    db = tmp_path / "trackers.db"
    with sqlite3.connect(db) as connection:
        connection.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, sender_id TEXT, timestamp REAL)")
        connection.executemany(
            "INSERT INTO events (sender_id, timestamp) VALUES (?, ?)",
            [("old", time.time() - 100 * 86400), ("new", time.time())],
        )
    removed = retention.forget(tmp_path / "none.db", tmp_path / "questions.db", 90, tracker_store=f"sqlite:///{db}")
    assert removed["conversation events"] == 1
    with sqlite3.connect(db) as connection:
        assert connection.execute("SELECT sender_id FROM events").fetchall() == [("new",)]
