"""A passage is used only on the days it is valid: checked per question by the date, with no restart."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import resources
from actions.plan import ActionAnswerFromPlan
from knowledge import staff, store
from knowledge.search import KnowledgeBase

CLOSURE = "粤信路2026年12月1日至12月3日封闭施工，请绕行岐港路。"
QUESTION = "粤信路什么时候封闭施工"


class Clock:
    def __init__(self, day: date):
        self.day = day

    def __call__(self) -> date:
        return self.day


@pytest.fixture
def closure(kb_path):
    db = store.open_for_writing(kb_path)
    staff.add_passage(
        db, topic="roads", text=CLOSURE, entities=["粤信路"], valid_from="2026-12-01", valid_to="2026-12-03", by="李明"
    )
    return kb_path


def answers_with_closure(kb: KnowledgeBase) -> bool:
    return any(hit.passage["text"] == CLOSURE for hit in kb.search(QUESTION, limit=5))


def test_a_passage_is_used_from_its_first_to_its_last_day_only(closure):
    clock = Clock(date(2026, 11, 30))
    kb = KnowledgeBase.from_path(closure, today=clock)  # one reader for the whole test, as a running server
    assert not answers_with_closure(kb)
    for day in (1, 2, 3):
        clock.day = date(2026, 12, day)
        assert answers_with_closure(kb), day
    clock.day = date(2026, 12, 3) + timedelta(days=1)  # the day after valid_to
    assert not answers_with_closure(kb)
    assert store.get_meta(store.open_read_only(closure), "version") == kb.snapshot().version  # no staff change


async def test_the_action_server_stops_answering_the_day_after_valid_to(closure, tmp_path, monkeypatch):
    monkeypatch.setenv("WESTBOT_KB", str(closure))
    monkeypatch.setenv("WESTBOT_QUESTIONS", str(tmp_path / "questions.db"))
    resources.knowledge_base.cache_clear()
    try:
        kb = resources.knowledge_base()  # the action server's long-lived knowledge base
        clock = Clock(date(2026, 12, 3))
        kb.today = clock

        async def ask() -> str:
            dispatcher = CollectingDispatcher()
            tracker = Tracker(
                "resident-1",
                {"elder_mode": False, "last_topic": None, "last_entity": None},
                {
                    "text": QUESTION,
                    "intent": {"name": "ask_roads", "confidence": 0.9},
                    "entities": [{"entity": "road", "value": "粤信路"}],
                },
                [],
                False,
                None,
                {},
                "action_listen",
            )
            await ActionAnswerFromPlan().run(dispatcher, tracker, {})
            return "\n".join(m.get("text") or "" for m in dispatcher.messages)

        assert "封闭施工" in await ask()
        clock.day = date(2026, 12, 4)
        assert "封闭施工" not in await ask()
    finally:
        resources.knowledge_base.cache_clear()


def test_the_df_cache_is_bounded(built_kb, monkeypatch):
    import knowledge.search as search

    monkeypatch.setattr(search, "DF_CACHE_SIZE", 50)
    snapshot = KnowledgeBase.from_path(built_kb).snapshot()
    for i in range(300):
        snapshot.df((f"从未出现的词{i}",))
    assert len(snapshot._df) == 50
    assert snapshot.df(("金沙路",)) >= 1  # counts are still right
