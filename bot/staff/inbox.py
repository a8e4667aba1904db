"""What residents asked that went unanswered, and 👎 feedback, as the console's 待处理问题 list.

The questions stay in the question log (var/questions.db, pseudonymous senders, numbers masked, deleted by
`kb forget`). Staff marks (answered, not ours) live beside them in their own table, keyed by the question's text:
a question asked again after it was marked comes back to the list.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import sqlite_utils
from sqlite_utils.migrations import Migrations

from knowledge import questions, store

migrations = Migrations("westbot-staff-console")
MARKS = {"answered": "已写答案", "not_ours": "不是我们的事", "phrase": "已关联计划用语", "example": "已关联资料"}


@migrations()
def m001_question_marks(db: sqlite_utils.Database) -> None:
    db["question_marks"].create({"text": str, "status": str, "by": str, "at": str}, pk="text")


def open_log(path: Path) -> sqlite_utils.Database:
    """The question log with the console's marks table (both migration sets applied)."""
    db = store.open_for_writing(path, questions.migrations)
    migrations.apply(db)
    return db


def mark(db: sqlite_utils.Database, text: str, status: str, by: str) -> None:
    if status not in MARKS:
        raise ValueError(f"unknown mark {status!r}")
    with db.atomic():
        db["question_marks"].upsert({"text": text, "status": status, "by": by, "at": store.now()}, pk="text")


def _marked(db) -> dict[str, str]:
    # A mark whose questions were all deleted (kb forget) goes with them.
    db.execute(
        "DELETE FROM question_marks WHERE text NOT IN (SELECT text FROM questions) "
        "AND text NOT IN (SELECT question FROM feedback)"
    )
    return {text: at for text, at in db.execute("SELECT text, at FROM question_marks")}


def unanswered(db: sqlite_utils.Database, limit: int = 50) -> list[dict]:
    """Declined and unsure questions grouped by text, newest first, with counts and the intent last given.

    A group marked by staff is left out unless it was asked again after the mark.
    """
    marked = _marked(db)
    rows = db.execute(
        "SELECT text, count(*), max(asked_at), count(DISTINCT sender), min(outcome), "
        "(SELECT intent FROM questions q2 WHERE q2.text = q.text ORDER BY id DESC LIMIT 1), "
        "(SELECT confidence FROM questions q2 WHERE q2.text = q.text ORDER BY id DESC LIMIT 1) "
        "FROM questions q GROUP BY text ORDER BY max(id) DESC"
    ).fetchall()
    groups = []
    for text, count, last, people, outcome, intent, confidence in rows:
        if text in marked and marked[text] >= last:
            continue
        groups.append(
            {
                "text": text,
                "count": count,
                "last_asked": last,
                "people": people,
                "outcome": outcome,
                "intent": intent,
                "confidence": confidence,
            }
        )
        if len(groups) >= limit:
            break
    return groups


def thumbs_down(db: sqlite_utils.Database, limit: int = 30) -> list[dict]:
    """👎 on answers, grouped by question and passage, newest first."""
    marked = _marked(db)
    rows = db.execute(
        "SELECT question, passage_id, count(*), max(at) FROM feedback WHERE helpful = 0 "
        "GROUP BY question, passage_id ORDER BY max(id) DESC LIMIT ?",
        [limit * 2],
    ).fetchall()
    found = []
    for text, passage_id, count, last in rows:
        if text in marked and marked[text] >= last:
            continue
        found.append({"text": text or "", "passage_id": passage_id, "count": count, "last": last})
    return found[:limit]


def top_unanswered_this_week(db: sqlite_utils.Database, limit: int = 10, now: datetime | None = None) -> list[dict]:
    since = ((now or datetime.now(timezone.utc)) - timedelta(days=7)).isoformat(timespec="seconds")
    rows = db.execute(
        "SELECT text, count(*) FROM questions WHERE asked_at >= ? GROUP BY text ORDER BY count(*) DESC, max(id) DESC "
        "LIMIT ?",
        [since, limit],
    ).fetchall()
    return [{"text": t, "count": c} for t, c in rows]


def feedback_per_passage(db: sqlite_utils.Database) -> list[dict]:
    rows = db.execute(
        "SELECT passage_id, sum(helpful), sum(1 - helpful) FROM feedback WHERE passage_id IS NOT NULL "
        "GROUP BY passage_id ORDER BY sum(1 - helpful) DESC, sum(helpful) DESC"
    ).fetchall()
    return [{"passage_id": p, "up": u, "down": d} for p, u, d in rows]


def outcomes_per_day(db: sqlite_utils.Database, days: list[str]) -> dict[str, dict[str, int]]:
    """{day: {declined: n, unsure: n}} from the question log (UTC days, like asked_at)."""
    counts = {d: {"declined": 0, "unsure": 0} for d in days}
    for day, outcome, n in db.execute(
        "SELECT substr(asked_at, 1, 10), outcome, count(*) FROM questions WHERE asked_at >= ? GROUP BY 1, 2", [days[0]]
    ):
        if day in counts:
            counts[day]["declined" if outcome == "declined" else "unsure"] += n
    return counts
