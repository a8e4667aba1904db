"""What residents asked that the bot could not answer well, kept for staff (`kb unanswered`).

They live in their own SQLite file (default var/questions.db), apart from the knowledge base, so the bot
never writes to the knowledge base. The bot writes here through one writer connection per process. A write that fails (full disk, read-only
file, a staff backup holding the lock) is logged and dropped: a resident's answer never waits on it.
"""
from __future__ import annotations

import hashlib
import re
import logging
import sqlite3
import threading
from pathlib import Path

import sqlite_utils
from sqlite_utils.migrations import Migrations

from . import store

logger = logging.getLogger(__name__)

migrations = Migrations("westbot-questions")


@migrations()
def m001_questions(db: sqlite_utils.Database) -> None:
    db["questions"].create(
        {
            "id": int,
            "asked_at": str,
            "sender": str,  # a pseudonym, see pseudonym()
            "text": str,
            "intent": str,
            "confidence": float,
            "outcome": str,  # declined | low_confidence
            "best_score": float,
        },
        pk="id",
    )
    db["questions"].create_index(["asked_at"])


@migrations()
def m002_feedback(db: sqlite_utils.Database) -> None:
    db["feedback"].create(
        {"id": int, "at": str, "sender": str, "passage_id": int, "helpful": int, "question": str},
        pk="id",
    )
    db["feedback"].create_index(["passage_id"])

MAX_LOGGED_CHARS = 500


_ID_NUMBER = re.compile(r"(?<!\d)(\d{6})\d{8}(\d{3}[\dXx])(?!\d)")
_MOBILE = re.compile(r"(?<!\d)(1[3-9]\d)\d{4}(\d{4})(?!\d)")
_LANDLINE = re.compile(r"(?<!\d)(0\d{2,3}-?)\d{4}(\d{3,4})(?!\d)")


def mask_personal_numbers(text: str) -> str:
    """Hide the middle of ID card and phone numbers residents type: 440102199001011234 -> 440102********1234."""
    text = _ID_NUMBER.sub(lambda m: m.group(1) + "*" * 8 + m.group(2), text)
    text = _MOBILE.sub(lambda m: m.group(1) + "****" + m.group(2), text)
    return _LANDLINE.sub(lambda m: m.group(1) + "****" + m.group(2), text)


def pseudonym(sender: str) -> str:
    """A stable pseudonym for a sender id, so staff can count repeat askers without seeing who they are."""
    return hashlib.sha256(sender.encode("utf-8", "replace")).hexdigest()[:12]


class QuestionLog:
    def __init__(self, path: Path):
        self._path = Path(path)
        self._db = None
        self._lock = threading.Lock()

    def _write(self, table: str, row: dict) -> bool:
        with self._lock:
            try:
                if self._db is None:
                    self._db = store.open_for_writing(self._path, migrations)
                with self._db.atomic():
                    self._db[table].insert(row)
                return True
            except (sqlite3.Error, OSError) as error:
                logger.warning("could not write to the question log: %s", error)
                self._db = None
                return False

    def _read(self) -> sqlite_utils.Database | None:
        if not self._path.exists():
            return None
        db = store.open_for_writing(self._path, migrations)
        return db

    def record_feedback(self, sender: str, passage_id: int | None, helpful: bool, question: str = "") -> bool:
        """A resident's 👍 (helpful) or 👎 on the answer taken from `passage_id`."""
        return self._write("feedback", {
            "at": store.now(),
            "sender": pseudonym(sender or ""),
            "passage_id": passage_id,
            "helpful": 1 if helpful else 0,
            "question": mask_personal_numbers((question or "")[:MAX_LOGGED_CHARS]),
        })

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

    def record(self, sender: str, text: str, intent: str | None, confidence: float | None,
               outcome: str, best_score: float | None) -> bool:
        """Keep one unanswered question. Returns False (and logs why) when it could not be written."""
        return self._write("questions", {
            "asked_at": store.now(),
            "sender": pseudonym(sender or ""),
            "text": mask_personal_numbers((text or "")[:MAX_LOGGED_CHARS]),
            "intent": intent,
            "confidence": confidence,
            "outcome": outcome,
            "best_score": best_score,
        })
