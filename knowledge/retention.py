"""Forget old conversations: residents' messages are kept no longer than the district needs them.

Deletes, older than N days (default 90): Rasa's tracker-store events (SQLite, the default) and the unanswered
questions and feedback kept for staff. `kb forget` runs it; `make run` runs it at every start.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path


def forget(trackers: Path, questions: Path, days: int, now: float | None = None) -> dict[str, int]:
    """Delete what is older than `days` days. Returns how many rows went from each place."""
    if days < 1:
        raise ValueError("keep conversations at least one day")
    cutoff = (now or time.time()) - days * 86400
    removed = {"conversation events": 0, "unanswered questions": 0, "feedback": 0}
    if Path(trackers).exists():
        with sqlite3.connect(trackers, timeout=30) as db:
            if db.execute("SELECT 1 FROM sqlite_master WHERE name = 'events'").fetchone():
                removed["conversation events"] = db.execute("DELETE FROM events WHERE timestamp < ?", [cutoff]).rowcount
    if Path(questions).exists():
        iso = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(cutoff))
        with sqlite3.connect(questions, timeout=30) as db:
            tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if "questions" in tables:
                removed["unanswered questions"] = db.execute("DELETE FROM questions WHERE asked_at < ?", [iso]).rowcount
            if "feedback" in tables:
                removed["feedback"] = db.execute("DELETE FROM feedback WHERE at < ?", [iso]).rowcount
    return removed
