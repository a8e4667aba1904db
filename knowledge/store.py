"""The knowledge base: one SQLite file, schema kept by recorded sqlite-utils migrations.

Writers open it with `open_for_writing` (WAL, migrations applied, one transaction per change); the bot opens it
with `open_read_only`, so a staff write can never make a resident's question fail.
"""

from __future__ import annotations

import sqlite3
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import sqlite_utils
from sqlite_utils.migrations import Migrations

migrations = Migrations("westbot-knowledge")


@migrations()
def m001_documents_and_passages(db: sqlite_utils.Database) -> None:
    db.table("documents").create(
        {
            "id": int,
            "title": str,
            "source": str,
            "published": str,
            "year": int,
            "content_hash": str,
            "imported_at": str,
        },
        pk="id",
    )
    db.table("documents").create_index(["content_hash"], unique=True)
    db.table("passages").create(
        {
            "id": int,
            "document_id": int,
            "seq": int,
            "part_no": int,
            "section": str,
            "heading": str,
            "text": str,
            "plain": str,
            "topics": str,  # JSON list of topic keys
            "entities": str,  # JSON list of entity names
            "heading_tokens": str,  # jieba words, space-separated: what FTS5 indexes
            "tokens": str,
            "status": str,  # active | retired
            "valid_from": str,
            "valid_to": str,
            "updated_at": str,
        },
        pk="id",
        foreign_keys=[("document_id", "documents", "id")],
        defaults={"status": "active"},
    )
    db.table("passages").create_index(["document_id", "seq"])
    db.table("passages").enable_fts(
        ["heading_tokens", "tokens"],
        create_triggers=True,
        tokenize="unicode61 remove_diacritics 0",
    )
    db.execute("CREATE VIRTUAL TABLE passages_vocab USING fts5vocab(passages_fts, 'row')")
    db.table("entities").create({"name": str, "type": str, "aliases": str}, pk="name")
    db.table("contacts").create(
        {"id": int, "topic": str, "name": str, "phone": str, "hours": str, "address": str},
        pk="id",
    )
    db.table("meta").create({"key": str, "value": str}, pk="key")


@migrations()
def m002_staff_edits(db: sqlite_utils.Database) -> None:
    """Staff edits: revisions for conflict checks, per-passage dates, a glossary and the change history."""
    db.table("passages").add_column("revision", int, not_null_default=1)
    db.table("passages").add_column("published", str)
    db.table("documents").add_column("kind", str, not_null_default="plan")
    db.table("contacts").add_column("updated_at", str)
    db.table("glossary").create({"term": str, "plain": str, "updated_at": str}, pk="term")
    db.table("changes").create(
        {
            "id": int,
            "at": str,
            "by": str,
            "table_name": str,
            "row_key": str,
            "action": str,
            "before": str,  # JSON of the row before, null when it was added
            "after": str,  # JSON of the row after, null when it was deleted
            "undo_of": int,
            "undone_by": int,
        },
        pk="id",
    )
    db.table("changes").create_index(["table_name", "row_key"])


@migrations()
def m003_phrases(db: sqlite_utils.Database) -> None:
    """Resident phrases staff attach to plan words (`kb phrase`): 打零工 -> 公益性岗位, 就业."""
    db.table("phrases").create({"phrase": str, "means": str, "updated_at": str}, pk="phrase")  # means: JSON list


@migrations()
def m004_staff_accounts(db: sqlite_utils.Database) -> None:
    """Staff console accounts (`kb staff`): argon2 password hashes, role, and the count of wrong passwords."""
    db.table("staff_accounts").create(
        {
            "name": str,
            "role": str,  # editor | viewer
            "password_hash": str,  # argon2id, never the password
            "disabled": int,
            "failures": int,  # wrong passwords in a row
            "locked_until": str,  # ISO time; set after too many wrong passwords
            "created_at": str,
            "password_changed_at": str,
            "last_login_at": str,
        },
        pk="name",
        defaults={"disabled": 0, "failures": 0},
    )


@migrations()
def m005_examples(db: sqlite_utils.Database) -> None:
    """Resident questions staff attach to the passage that answers them (`kb example`): the search finds the
    passage through them as through the shipped examples (data/examples.yml)."""
    db.table("examples").create({"id": int, "passage_id": int, "question": str, "updated_at": str}, pk="id")
    db.table("examples").create_index(["passage_id"])


@contextmanager
def write_transaction(db: sqlite_utils.Database):
    """One staff change: BEGIN IMMEDIATE takes the write lock at once, so two writers queue, never interleave."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        db.execute("ROLLBACK")
        raise
    else:
        db.execute("COMMIT")


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def open_for_writing(path: Path, migration_set: Migrations = migrations) -> sqlite_utils.Database:
    """Open (creating if needed) a database for a writer, with every migration of the set applied."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # One writer connection may be handed between threads (the action server's executor); callers lock.
    conn = sqlite3.connect(str(path), timeout=10, isolation_level=None, check_same_thread=False)
    db = sqlite_utils.Database(conn)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA busy_timeout=10000")
    db.execute("PRAGMA foreign_keys=ON")
    migration_set.apply(db)
    return db


def open_in_memory() -> sqlite_utils.Database:
    """A fresh knowledge base in memory, every migration applied (tests)."""
    db = sqlite_utils.Database(memory=True)
    migrations.apply(db)
    return db


def open_read_only(path: Path) -> sqlite_utils.Database:
    """Open the knowledge base read-only for serving. Raises FileNotFoundError if it was never built."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"knowledge base not found at {path}: run `make kb` or `kb build`")
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5, check_same_thread=False)
    conn.execute("PRAGMA busy_timeout=5000")
    return sqlite_utils.Database(conn)


def bump_version(db: sqlite_utils.Database) -> None:
    """Mark the knowledge base as changed, so every reader reloads it on its next question."""
    current = int(get_meta(db, "version", "0") or 0)
    db.table("meta").upsert({"key": "version", "value": str(current + 1)}, pk="key")


def get_meta(db: sqlite_utils.Database, key: str, default: str | None = None) -> str | None:
    # Asked before every answer (search.py checks the version), so one query, without listing the tables first.
    try:
        row = db.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
    except sqlite3.OperationalError as error:
        if "no such table" in str(error):
            return default
        raise
    return row[0] if row else default
