"""What the bot says to a question, worked out the way the action server does, for staff to see before saving."""
from __future__ import annotations

import sqlite3
from pathlib import Path

import sqlite_utils

from actions import replies
from actions.plan import COVERAGE_FOR_TOPIC, COVERAGE_OTHERWISE, INTENT_TOPIC, find_answer
from knowledge import staff
from knowledge.search import KnowledgeBase
from knowledge.text import has_meaningful_text, normalize_question


def bot_reply(kb: KnowledgeBase, question: str, intent: str | None = None) -> dict:
    """The standard-mode reply to `question` from the knowledge base as it is now.

    Returns {answered, text, passage_id, coverage}. `intent` is the one the NLU gave when the question was asked;
    it sets the coverage needed, as in actions/plan.py.
    """
    text = normalize_question(question)
    if not has_meaningful_text(text):
        return {"answered": False, "text": replies.nothing_to_read(), "passage_id": None, "coverage": 0.0}
    threshold = COVERAGE_FOR_TOPIC if intent in INTENT_TOPIC else COVERAGE_OTHERWISE
    hits, topic, _ = find_answer(kb, text, intent, [], None, None, threshold)
    contacts = kb.contacts(topic)
    if not hits or hits[0].coverage < threshold:
        return {"answered": False, "text": replies.decline_answer(contacts), "passage_id": None,
                "coverage": hits[0].coverage if hits else 0.0}
    return {"answered": True, "text": replies.standard_answer(hits, contacts), "passage_id": hits[0].passage["id"],
            "coverage": hits[0].coverage}


def preview_new_passage(kb_path: Path, question: str, intent: str | None, fields: dict, by: str) -> dict:
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
        reply = bot_reply(KnowledgeBase.from_database(db), question, intent)
        reply["uses_new_passage"] = reply["passage_id"] == passage_id
        return reply
    finally:
        source.close()
        copy.close()
