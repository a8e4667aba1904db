"""Answer a resident's question from the plan, or decline honestly and log it for staff."""
from __future__ import annotations

import asyncio
import logging
from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from knowledge.text import MAX_QUESTION_CHARS, has_meaningful_text, normalize_question

from . import elder, follow, replies
from .resources import knowledge_base, question_log

logger = logging.getLogger(__name__)

INTENT_TOPIC = {"ask_elderly": "elderly", "ask_employment": "employment", "ask_roads": "roads", "ask_plan": None}
# How much of a question the best passage must cover to be given as the answer. A question the NLU put in one
# of the plan's topics needs less than one it called out of scope or could not place.
COVERAGE_FOR_TOPIC = 0.6
COVERAGE_OTHERWISE = 0.75
# Answers below this coverage are given but logged for staff as low confidence.
LOW_COVERAGE = 0.75
# Words by which a follow-up ("那个什么时候修好？", "它在哪里？") points back to the last entity.
FOLLOW_UP_WORDS = ("那个", "这个", "那条", "这条", "它", "呢", "那里", "这里", "那边")
ENTITY_TYPES = ("road", "group", "programme", "community")


class ActionAnswerFromPlan(Action):
    def name(self) -> Text:
        return "action_answer_from_plan"

    def __init__(self) -> None:
        knowledge_base()  # load jieba and the knowledge base when the server starts, not on the first question

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        message = tracker.latest_message or {}
        raw = message.get("original_text") or message.get("text") or ""
        text = normalize_question(raw)
        elder_mode = bool(tracker.get_slot("elder_mode"))
        if not has_meaningful_text(text):
            dispatcher.utter_message(text=replies.nothing_to_read())
            return []
        intent = (message.get("intent") or {}).get("name")
        confidence = (message.get("intent") or {}).get("confidence")
        nlu_entities = [
            e.get("value") for e in message.get("entities") or [] if e.get("entity") in ENTITY_TYPES and e.get("value")
        ]
        threshold = COVERAGE_FOR_TOPIC if intent in INTENT_TOPIC else COVERAGE_OTHERWISE
        kb = knowledge_base()
        loop = asyncio.get_running_loop()
        try:
            result = await loop.run_in_executor(
                None, find_answer, kb, text, intent, nlu_entities,
                tracker.get_slot("last_topic"), tracker.get_slot("last_entity"), threshold,
            )
        except FileNotFoundError as error:
            logger.error("%s", error)
            dispatcher.utter_message(text=replies.MAINTENANCE)
            return []
        hits, topic, query_entities = result
        contacts = await loop.run_in_executor(None, kb.contacts, topic)
        if not hits or hits[0].coverage < threshold:
            await loop.run_in_executor(
                None, question_log().record, tracker.sender_id, raw, intent, confidence, "declined",
                hits[0].coverage if hits else 0.0,
            )
            dispatcher.utter_message(text=replies.decline_answer(contacts, elder=elder_mode))
            return []

        best = hits[0]
        if best.coverage < LOW_COVERAGE or intent not in INTENT_TOPIC:
            # Answered, but not surely: staff see these beside the declines in `kb unanswered`.
            await loop.run_in_executor(
                None, question_log().record, tracker.sender_id, raw, intent, confidence, "low_confidence",
                best.coverage,
            )
        standard = replies.standard_answer(hits, contacts)
        if len(raw) > MAX_QUESTION_CHARS:
            standard = replies.too_long_note(MAX_QUESTION_CHARS) + "\n" + standard
        custom = {"source": replies.source_of(best.passage), "kind": "answer", "score": best.score}
        # Following (actions/follow.py): offer to follow what the answer is about, where the resident can be reached.
        follow_buttons, follow_custom = follow.follow_offer(
            tracker.sender_id, query_entities, topic or next(iter(best.passage["topics"]), None))
        custom.update(follow_custom)
        if elder_mode:
            glossary = await loop.run_in_executor(None, kb.glossary)
            reply = elder.simplify_for_elders(best.passage, best.matched, len(standard), contacts, glossary)
            # The channels speak it (bot/voice.py): Telegram as a voice message, the web page with a play button.
            custom["voice"] = {"text": reply, "lang": tracker.get_slot("voice_lang") or "cmn"}
            custom["mode"] = "elder"
            dispatcher.utter_message(text=reply, buttons=elder.BUTTONS + follow_buttons, json_message=custom)
        else:
            dispatcher.utter_message(text=standard, buttons=replies.FEEDBACK_BUTTONS + follow_buttons,
                                     json_message=custom)
        events = [
            SlotSet("last_topic", topic or next(iter(best.passage["topics"]), None)),
            SlotSet("last_passage", float(best.passage["id"])),
        ]
        if query_entities:
            events.append(SlotSet("last_entity", query_entities[0]))
        return events


def points_back(text: str) -> bool:
    """这个/那条/它/…呢: the question leans on what was said before."""
    return any(w in text for w in FOLLOW_UP_WORDS)


def find_answer(kb, text, intent, nlu_entities, last_topic, last_entity, threshold=COVERAGE_FOR_TOPIC):
    """Search the plan for `text`. Returns (hits, topic used, entities of the question).

    The NLU's entities are added to those the knowledge base finds itself (so a road staff added today is
    found without retraining). A question with no entity of its own is also read in the conversation's
    context (last entity and topic): that reading wins when the question points back (那个…, …呢) or when
    the question alone finds no answer.
    """
    query = kb.analyze(text)
    entities = list(dict.fromkeys([*query.entities, *nlu_entities]))
    topic = INTENT_TOPIC.get(intent)
    hits = kb.search(text, topic=topic, entities=nlu_entities, limit=3)
    if entities or not last_entity:
        return hits, topic, entities
    answered = bool(hits) and hits[0].coverage >= threshold
    if points_back(text) or not answered:
        in_context = kb.search(text, topic=topic or last_topic, entities=[*nlu_entities, last_entity], limit=3)
        if in_context and in_context[0].coverage >= threshold:
            return in_context, topic or last_topic, [last_entity]
    return hits, topic, entities
