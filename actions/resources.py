"""The action server's long-lived resources, opened once at startup and shared by every action."""

from __future__ import annotations

import functools
import logging
import os

from knowledge import segment
from knowledge.questions import QuestionLog
from knowledge.search import KnowledgeBase
from knowledge.settings import get_settings

logger = logging.getLogger(__name__)


@functools.lru_cache(maxsize=1)
def knowledge_base() -> KnowledgeBase:
    """The read-only knowledge base, with jieba initialized with the district dictionary first."""
    settings = get_settings()
    segment.init_jieba(settings.jieba_dict_dir, settings.cache_dir)
    if os.environ.get("WESTBOT_KB_SYNC"):  # the scaled profile: follow the published knowledge base (knowledge/sync.py)
        from knowledge.sync import Follower

        Follower(os.environ["WESTBOT_KB_SYNC"], settings.kb_path).start()
    kb = KnowledgeBase.from_path(settings.kb_path)
    try:
        kb.snapshot()  # warm: the first resident should not wait for the load
        # and jieba's part-of-speech model, the index of questions the plan cannot answer and the classifier
        # learned from the example questions (a few seconds), made on first use
        kb.search("老人饭堂在哪里")
        kb.decline_likeness(kb.analyze("老人饭堂在哪里"))
    except Exception as error:  # a missing file is reported to the resident per question, not here
        logger.error("knowledge base not loaded yet: %s", error)
    return kb


@functools.lru_cache(maxsize=1)
def question_log() -> QuestionLog:
    return QuestionLog(get_settings().questions_path)
