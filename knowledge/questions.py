"""What residents asked that the bot could not answer well, kept for staff (`kb unanswered`).

They live in their own SQLite file (default var/questions.db), apart from the knowledge base, so the bot
never writes to the knowledge base. The bot writes here through one writer connection per process. A write that fails (full disk, read-only
file, a staff backup holding the lock) is logged and dropped: a resident's answer never waits on it.
"""
from __future__ import annotations

import hashlib
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

MAX_LOGGED_CHARS = 500


def pseudonym(sender: str) -> str:
    """A stable pseudonym for a sender id, so staff can count repeat askers without seeing who they are."""
    return hashlib.sha256(sender.encode("utf-8", "replace")).hexdigest()[:12]


class QuestionLog:
    def __init__(self, path: Path):
        self._path = Path(path)
        self._db = None
        self._lock = threading.Lock()

    def record(self, sender: str, text: str, intent: str | None, confidence: float | None,
               outcome: str, best_score: float | None) -> bool:
        """Keep one unanswered question. Returns False (and logs why) when it could not be written."""
        row = {
            "asked_at": store.now(),
            "sender": pseudonym(sender or ""),
            "text": (text or "")[:MAX_LOGGED_CHARS],
            "intent": intent,
            "confidence": confidence,
            "outcome": outcome,
            "best_score": best_score,
        }
        with self._lock:
            try:
                if self._db is None:
                    self._db = store.open_for_writing(self._path, migrations)
                with self._db.atomic():
                    self._db["questions"].insert(row)
                return True
            except (sqlite3.Error, OSError) as error:
                logger.warning("could not log an unanswered question: %s", error)
                self._db = None
                return False
