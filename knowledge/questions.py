"""What residents asked that the bot could not answer well, kept for staff (`kb unanswered`).

They live in their own SQLite file (default var/questions.db), apart from the knowledge base, so the bot
never writes to the knowledge base. The bot writes here through one writer connection per process. A write that fails (full disk, read-only
file, a staff backup holding the lock) is logged and dropped: a resident's answer never waits on it.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from pathlib import Path

import sqlite_utils
from sqlite_utils.migrations import Migrations

from . import privacy, store

logger = logging.getLogger(__name__)

migrations = Migrations("westbot-questions")


@migrations()
def m001_questions(db: sqlite_utils.Database) -> None:
    db.table("questions").create(
        {
            "id": int,
            "asked_at": str,
            "sender": str,  # a pseudonym, see QuestionLog.pseudonym()
            "text": str,
            "intent": str,
            "confidence": float,
            "outcome": str,  # declined | low_confidence
            "best_score": float,
        },
        pk="id",
    )
    db.table("questions").create_index(["asked_at"])


@migrations()
def m002_feedback(db: sqlite_utils.Database) -> None:
    db.table("feedback").create(
        {"id": int, "at": str, "sender": str, "passage_id": int, "helpful": int, "question": str},
        pk="id",
    )
    db.table("feedback").create_index(["passage_id"])


MAX_LOGGED_CHARS = 500


WRITE_ATTEMPTS = 3
LOCK_WAIT_MS = 2000  # per attempt: a staff backup or `kb forget` holds the lock for moments, not seconds


def mask_personal_numbers(text: str) -> str:
    """Hide the middle of phone, ID and bank card numbers and e-mail addresses: 440102********1234."""
    return privacy.mask_personal_data(text)


class QuestionLog:
    """The question log in one SQLite file; its pseudonym secret lives beside it (`pseudonym.key`, 0600)."""

    def __init__(self, path: Path):
        self._path = Path(path)
        self._db: sqlite_utils.Database | None = None
        self._secret: bytes | None = None
        self._lock = threading.Lock()

    def pseudonym(self, sender: str) -> str:
        if self._secret is None:
            self._secret = privacy.read_or_create_secret(self._path.with_name("pseudonym.key"))
        return privacy.pseudonym(sender or "", self._secret)

    def _open(self) -> sqlite_utils.Database:
        privacy.private_file(self._path)
        db = store.open_for_writing(self._path, migrations)
        db.execute(f"PRAGMA busy_timeout={LOCK_WAIT_MS}")
        return db

    def _write(self, table: str, make_row) -> bool:
        """Insert the row `make_row()` gives; a locked database is waited for and retried, other errors logged."""
        with self._lock:
            for attempt in range(1, WRITE_ATTEMPTS + 1):
                try:
                    if self._db is None:
                        self._db = self._open()
                    row = make_row()
                    # BEGIN IMMEDIATE waits for the lock (busy_timeout) instead of failing on a stale read.
                    with store.write_transaction(self._db):
                        self._db.table(table).insert(row)
                    return True
                except sqlite3.OperationalError as error:
                    if "locked" in str(error) or "busy" in str(error):
                        logger.info("question log busy (attempt %d of %d)", attempt, WRITE_ATTEMPTS)
                        time.sleep(0.05 * attempt)
                        continue
                    logger.warning("could not write to the question log: %s", error)
                    self._db = None
                    return False
                except (sqlite3.Error, OSError) as error:
                    logger.warning("could not write to the question log: %s", error)
                    self._db = None
                    return False
            logger.warning("could not write to the question log: still locked after %d tries", WRITE_ATTEMPTS)
            return False

    def _read(self) -> sqlite_utils.Database | None:
        if not self._path.exists():
            return None
        db = store.open_for_writing(self._path, migrations)
        return db

    def record_feedback(self, sender: str, passage_id: int | None, helpful: bool, question: str = "") -> bool:
        """A resident's 👍 (helpful) or 👎 on the answer taken from `passage_id`."""
        return self._write(
            "feedback",
            lambda: {
                "at": store.now(),
                "sender": self.pseudonym(sender),
                "passage_id": passage_id,
                "helpful": 1 if helpful else 0,
                "question": mask_personal_numbers((question or "")[:MAX_LOGGED_CHARS]),
            },
        )

    def unanswered(self, limit: int = 30) -> list[dict]:
        """Declined questions grouped by their text, with a count and the last time, newest first."""
        db = self._read()
        if db is None:
            return []
        rows = db.execute(
            "SELECT text, count(*), max(asked_at), count(DISTINCT sender), min(outcome) FROM questions "
            "GROUP BY text ORDER BY max(id) DESC LIMIT ?",
            [limit],
        ).fetchall()
        # min(outcome): 'declined' sorts before 'low_confidence', so a text ever declined shows as declined.
        return [dict(zip(["text", "count", "last_asked", "people", "outcome"], r)) for r in rows]

    def feedback_summary(self) -> list[dict]:
        db = self._read()
        if db is None:
            return []
        rows = db.execute(
            "SELECT passage_id, sum(helpful), sum(1 - helpful), max(at) FROM feedback GROUP BY passage_id "
            "ORDER BY max(at) DESC"
        ).fetchall()
        return [dict(zip(["passage_id", "up", "down", "last"], r)) for r in rows]

    def record(
        self,
        sender: str,
        text: str,
        intent: str | None,
        confidence: float | None,
        outcome: str,
        best_score: float | None,
    ) -> bool:
        """Keep one unanswered question. Returns False (and logs why) when it could not be written."""
        return self._write(
            "questions",
            lambda: {
                "asked_at": store.now(),
                "sender": self.pseudonym(sender),
                "text": mask_personal_numbers((text or "")[:MAX_LOGGED_CHARS]),
                "intent": intent,
                "confidence": confidence,
                "outcome": outcome,
                "best_score": best_score,
            },
        )
