"""What the bot says to a question, worked out the way the action server does, for staff to see before saving."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import sqlite_utils

from actions import replies
from actions.plan import compose, find_answer
from knowledge import policy, staff
from knowledge.search import KnowledgeBase
from knowledge.text import has_meaningful_text, normalize_question

SAY = {policy.SURE: "answered", policy.FAIRLY_SURE: "closest", policy.DECLINE: "declined"}


def bot_reply(kb: KnowledgeBase, question: str, intent: str | None = None, confidence: float | None = None) -> dict:
    """The standard-mode reply to `question` from the knowledge base as it is now, decided as the action does.

    `intent` and `confidence` are the NLU's when the question was asked. Returns {kind (answered, closest or
    declined), answered, text, passage_id}.
    """
    text = normalize_question(question)
    if not has_meaningful_text(text):
        return {"kind": "declined", "answered": False, "text": replies.nothing_to_read(), "passage_id": None}
    found = find_answer(kb, text, intent, confidence, [], None, None)
    contacts = kb.contacts(found.topic)
    if found.decision.kind == policy.DECLINE:
        return {"kind": "declined", "answered": False, "text": replies.decline_answer(contacts), "passage_id": None}
    reply, buttons, _ = compose(found, contacts, False, {})
    shown = [b["title"] for b in buttons if not b["payload"].startswith("/feedback")]
    if shown:
        reply += "\n[" + "] [".join(shown) + "]"
    return {
        "kind": SAY[found.decision.kind],
        "answered": True,
        "text": reply,
        "passage_id": found.hits[0].passage["id"],
    }


def preview_new_passage(
    kb_path: Path, question: str, intent: str | None, confidence: float | None, fields: dict, by: str
) -> dict:
    """The bot's reply to `question` if the passage `fields` were added, without changing the knowledge base.

    The passage goes through `staff.add_passage` on a copy in memory, so the same checks apply (ValidationError).
    Returns bot_reply's dict with `uses_new_passage`.
    """
    source = sqlite3.connect(f"file:{kb_path}?mode=ro", uri=True)
    copy = sqlite3.connect(":memory:", isolation_level=None)
    try:
        source.backup(copy)
        db = sqlite_utils.Database(copy)
        passage_id = staff.add_passage(db, by=by, **fields)
        reply = bot_reply(KnowledgeBase.from_database(db), question, intent, confidence)
        reply["uses_new_passage"] = reply["passage_id"] == passage_id
        return reply
    finally:
        source.close()
        copy.close()
