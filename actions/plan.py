"""Answer a resident's question from the plan: surely, as the closest passage, or by declining honestly.

The decision itself is `knowledge.policy.decide`; this module gathers what it needs (the NLU's reading, the
conversation's last subject), speaks the reply in the resident's mode and logs unsure questions for staff.
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass, field
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from knowledge import lexicon, policy, privacy
from knowledge.search import Hit, term_credit
from knowledge.text import MAX_QUESTION_CHARS, has_meaningful_text, letters_and_digits, normalize_question

from . import conversation, elder, follow, replies
from .resources import knowledge_base, question_log

logger = logging.getLogger(__name__)

# Words by which a follow-up ("那个什么时候修好？", "它在哪里？") points back to the last entity.
FOLLOW_UP_WORDS = ("那个", "这个", "那条", "这条", "它", "呢", "那里", "这里", "那边")
ENTITY_TYPES = ("road", "group", "programme", "community")
NAMED_FIRST = ("road", "programme", "community", "place")  # not groups of people: 老人吃饭 is about the meals
# A button of a fairly-sure reply sends /ask_plan{"passage_id":"87"}: that passage is shown, no search.
PASSAGE_ENTITY = "passage_id"
_RANK = {policy.SURE: 2, policy.FAIRLY_SURE: 1, policy.DECLINE: 0}
# 还有呢 / 另外一条呢 / 还有没有别的 / 仲有冇: the next related passage of the last question, not a new search. The
# slot holds those passages' ids, best first (None: no answer to go on from; []: nothing more).
MORE_INTENT = "ask_more"
MORE_SLOT = "more_passages"
MORE_INTENT_CHARS = 8
# In elder mode the slot starts with "rest:87" when the short answer left part of passage 87 out. After the related
# passages come "section:88", others under the answer's heading: 还有呢 after 长者饭堂 goes on with its section.
REST_MARK = "rest:"
SECTION_MARK = "section:"
_MORE_CUE = re.compile(r"还有|另外|其他|其它|别的|下一|再来一|再说一|再给一|换一")
_MORE_ONLY = re.compile(
    r"^(?:还有|另外|其他|其它|别的|下一|再来|再说|再给|换|那么|那|请问|相关|有关|计划里|内容|"
    r"一|个|条|点|些|项|样|种|方面|件|段|的|呢|吗|嘛|吧|啊|呀|没有|没|么|不|了)+$"
)


@dataclass
class Assessment:
    """What the plan offers for one question, and what to do with it."""

    hits: list[Hit]
    topic: str | None
    entities: list[str]
    decision: policy.Decision
    features: dict[str, float] = field(default_factory=dict)  # what the decision was made on
    # The places and programmes the question names, as it names them (金沙路): elder answers start with them.
    names: list[str] = field(default_factory=list)
    # The staff glossary's terms the question asks the meaning of (白改黑是什么意思), with their explanations.
    meanings: dict[str, str] = field(default_factory=dict)
    # Why a decline is certain, when a rule knows (西区的工作计划里没有提到岐江公路。): said to the resident.
    why: str = ""
    # 金沙路几时修好: the question asks when (the reply says so when the passage gives no date).
    asks_when: bool = False

    def others(self) -> list[dict]:
        """The other passages worth showing (也可能您想问 buttons, 还有呢), best first."""
        return replies.related(self.hits)


class ActionAnswerFromPlan(Action):
    def name(self) -> str:
        return "action_answer_from_plan"

    def __init__(self) -> None:
        privacy.mask_logs()  # the action server starts here: no log line of it shows a resident's numbers
        knowledge_base()  # load jieba and the knowledge base when the server starts, not on the first question

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        message = tracker.latest_message or {}
        raw = message.get("original_text") or message.get("text") or ""
        intent = (message.get("intent") or {}).get("name")
        confidence = (message.get("intent") or {}).get("confidence")
        elder_mode = bool(tracker.get_slot("elder_mode"))
        if elder_mode:  # 哪条路在修: Telegram's elder keyboard sends a starter button's label; it asks its question
            raw = conversation.STARTER_QUESTIONS.get(raw.strip(), raw)
        kb = knowledge_base()
        loop = asyncio.get_running_loop()
        wanted = next(
            (e.get("value") for e in message.get("entities") or [] if e.get("entity") == PASSAGE_ENTITY), None
        )
        if wanted is not None:
            return await self._show_passage(dispatcher, tracker, wanted, elder_mode)
        text = normalize_question(raw)
        if not has_meaningful_text(text):
            dispatcher.utter_message(text=replies.nothing_to_read())
            return []
        if replies.in_another_language(text):  # Is there any help for elderly people…: not "the plan doesn't say"
            dispatcher.utter_message(text=replies.ASK_IN_CHINESE)
            return []
        urgent = lexicon.is_emergency(text)
        if urgent:  # 着火了！快救命: the emergency numbers first; the plan only if it answers a question as well
            dispatcher.utter_message(text=replies.EMERGENCY)
            text = lexicon.without_emergency(text)
        if asks_for_more(text, intent):
            return await self._show_more(dispatcher, tracker, elder_mode)
        nlu_entities = [
            e.get("value") for e in message.get("entities") or [] if e.get("entity") in ENTITY_TYPES and e.get("value")
        ]
        try:
            found = await loop.run_in_executor(
                None,
                find_answer,
                kb,
                text,
                intent,
                confidence,
                nlu_entities,
                tracker.get_slot("last_topic"),
                tracker.get_slot("last_entity"),
            )
        except FileNotFoundError as error:
            logger.error("%s", error)
            dispatcher.utter_message(text=replies.MAINTENANCE)
            return []
        parts = await loop.run_in_executor(
            None,
            answered_parts,
            kb,
            text,
            intent,
            confidence,
            tracker.get_slot("last_topic"),
            tracker.get_slot("last_entity"),
        )
        if len(parts) >= 2:  # 长者饭堂怎么申请？家庭医生怎么签约？ gets both answers
            return await self._answer_each(dispatcher, tracker, parts, elder_mode, raw)
        contacts = await loop.run_in_executor(None, kb.contacts, found.topic)
        decision = found.decision
        if decision.kind != policy.SURE:
            # Declined or answered unsurely: staff see these in `kb unanswered` and the console.
            outcome = "declined" if decision.kind == policy.DECLINE else "low_confidence"
            await loop.run_in_executor(
                None,
                question_log().record,
                tracker.sender_id,
                raw,
                intent,
                confidence,
                outcome,
                found.hits[0].coverage if found.hits else 0.0,
            )
        note = replies.privacy_note(elder_mode) if privacy.has_personal_data(raw) else ""
        if decision.kind == policy.DECLINE:
            if urgent:
                return [SlotSet(MORE_SLOT, None)]
            declined = replies.decline_answer(contacts, elder=elder_mode, why=found.why)
            dispatcher.utter_message(text=f"{note}\n{declined}" if note else declined)
            return [SlotSet(MORE_SLOT, None)]
        too_long = len(raw) > MAX_QUESTION_CHARS
        return await _reply(dispatcher, tracker, found, contacts, elder_mode, too_long=too_long, intro=note)

    async def _answer_each(self, dispatcher, tracker, parts, elder_mode, raw) -> list[dict[str, Any]]:
        """A message asking two or three things, each answered by its own passage: one answer each."""
        loop = asyncio.get_running_loop()
        events: list[dict[str, Any]] = []
        note = replies.privacy_note(elder_mode) if privacy.has_personal_data(raw) else ""
        for at, (part, found) in enumerate(parts):
            contacts = await loop.run_in_executor(None, knowledge_base().contacts, found.topic)
            intro = replies.part_intro(part)
            if at == 0 and note:
                intro = f"{note}\n{intro}"
            if found.decision.kind == policy.DECLINE:
                # One line: the other parts' answers already say where to ask. Staff see the part as declined.
                dispatcher.utter_message(text=f"{intro}\n{found.why or replies.PART_NOT_IN_PLAN}")
                coverage = found.hits[0].coverage if found.hits else 0.0
                await loop.run_in_executor(
                    None, question_log().record, tracker.sender_id, part, None, None, "declined", coverage
                )
                continue
            events += await _reply(dispatcher, tracker, found, contacts, elder_mode, intro=intro)
        return events

    async def _show_passage(self, dispatcher, tracker, wanted, elder_mode, intro: str = "") -> list[dict[str, Any]]:
        """A button of a fairly-sure reply, or 还有呢: that passage, as a sure answer."""
        kb = knowledge_base()
        loop = asyncio.get_running_loop()
        passage = await loop.run_in_executor(None, kb.passage, _as_int(wanted))
        if passage is None:  # retired since the button was shown, or a made-up payload
            dispatcher.utter_message(text=replies.passage_gone())
            return []
        hit = Hit(passage=passage, score=1.0, coverage=1.0)
        found = Assessment(
            [hit], next(iter(passage["topics"]), None), list(passage["entities"])[:1], policy.Decision(policy.SURE, 1.0)
        )
        contacts = await loop.run_in_executor(None, kb.contacts, found.topic)
        more = [
            p
            for p in tracker.get_slot(MORE_SLOT) or []
            if _listed_id(p) != passage["id"] and not str(p).startswith(REST_MARK)
        ]
        return await _reply(dispatcher, tracker, found, contacts, elder_mode, more=more, intro=intro)

    async def _show_more(self, dispatcher, tracker, elder_mode) -> list[dict[str, Any]]:
        """还有呢: the next related passage of the last question still in use, or that there is none."""
        kb = knowledge_base()
        loop = asyncio.get_running_loop()
        remaining = tracker.get_slot(MORE_SLOT)
        for at, wanted in enumerate(remaining or []):
            if str(wanted).startswith(REST_MARK):
                passage = await loop.run_in_executor(None, kb.passage, _as_int(str(wanted)[len(REST_MARK) :]))
                if passage is not None and (rest := await self._show_rest(dispatcher, tracker, passage)):
                    return [SlotSet(MORE_SLOT, remaining[at + 1 :]), *rest]
                continue
            passage = await loop.run_in_executor(None, kb.passage, _listed_id(wanted))
            if passage is None:
                continue
            intro = replies.MORE_INTRO
            if str(wanted).startswith(SECTION_MARK):
                intro = replies.SECTION_INTRO.format(heading=passage["heading"])
            return await self._show_passage(dispatcher, tracker, passage["id"], elder_mode, intro=intro)
        contacts = await loop.run_in_executor(None, kb.contacts, tracker.get_slot("last_topic"))
        dispatcher.utter_message(text=replies.no_more(contacts, asked_before=remaining is not None))
        return [SlotSet(MORE_SLOT, [] if remaining is not None else None)]

    async def _show_rest(self, dispatcher, tracker, passage: dict) -> list[dict[str, Any]]:
        """仲有呢 in elder mode, after a short answer: what it left out of its passage (an answer, with its source)."""
        loop = asyncio.get_running_loop()
        kb = knowledge_base()
        said = next((e["text"] for e in reversed(tracker.events) if e.get("event") == "bot" and e.get("text")), "")
        parts = elder.left_out(passage, said)
        if not parts:
            return []
        contacts = await loop.run_in_executor(None, kb.contacts, next(iter(passage["topics"]), None))
        glossary = await loop.run_in_executor(None, kb.glossary)
        text = elder.rest_of(passage, parts, contacts, glossary)
        custom = {
            "source": replies.source_of(passage),
            "kind": "answer",
            "mode": "elder",
            "voice": {"text": text, "lang": tracker.get_slot("voice_lang") or "cmn"},
        }
        dispatcher.utter_message(text=text, buttons=elder.BUTTONS, json_message=custom)
        return [SlotSet("last_passage", float(passage["id"]))]


async def _reply(
    dispatcher,
    tracker,
    found: Assessment,
    contacts: list[dict],
    elder_mode: bool,
    too_long: bool = False,
    more: list | None = None,
    intro: str = "",
) -> list[dict[str, Any]]:
    """Say a sure or fairly-sure reply in the resident's mode; remember its topic, passage and entity, and the
    related passages 还有呢 shows next (`more`, or those of this search that the reply does not quote)."""
    glossary = await asyncio.get_running_loop().run_in_executor(None, knowledge_base().glossary) if elder_mode else {}
    text_out, buttons, custom = compose(
        found,
        contacts,
        elder_mode,
        glossary,
        tracker.get_slot("voice_lang") or "cmn",
        too_long=too_long,
        follow_offer=follow.offer_for(tracker.sender_id, found),  # following (actions/follow.py)
    )
    dispatcher.utter_message(text=f"{intro}\n{text_out}" if intro else text_out, buttons=buttons, json_message=custom)
    best = found.hits[0]
    if more is None:
        quoted = replies.second_passage(found.hits) if found.decision.kind == policy.SURE and not elder_mode else None
        shown = {best.passage["id"], quoted["id"] if quoted else None}
        more = [p["id"] for p in found.others() if p["id"] not in shown]
        section = await asyncio.get_running_loop().run_in_executor(
            None, knowledge_base().same_heading, best.passage["id"]
        )
        more += [f"{SECTION_MARK}{p['id']}" for p in section if p["id"] not in shown and p["id"] not in more]
    if elder_mode and elder.left_out(best.passage, text_out):
        more = [f"{REST_MARK}{best.passage['id']}", *more]  # 仲有呢: the rest of this passage first
    events = [
        SlotSet("last_topic", found.topic or next(iter(best.passage["topics"]), None)),
        SlotSet("last_passage", float(best.passage["id"])),
        SlotSet(MORE_SLOT, more),
    ]
    if found.entities:
        events.append(SlotSet("last_entity", found.entities[0]))
    return events


# Where a message asking several things divides them: question marks, semicolons, and 还有/另外/顺便问 after a comma.
_PART_END = re.compile(r"[?;]+|,(?=还有|另外|以及|还想问|顺便问|再问)")
MAX_PARTS = 3
PART_MIN_CHARS = 4


def answered_parts(
    kb, text: str, intent, confidence, last_topic=None, last_entity=None
) -> list[tuple[str, Assessment]]:
    """The parts of a message asking two or three things (长者饭堂怎么申请？家庭医生怎么签约？) with their answers, when
    they are answered by passages of their own; [] otherwise, and the message is answered as one question. The
    NLU's topic is the whole message's, so a part is read as a plan question of any topic.

    A part the plan cannot answer is kept as a decline of its own (長者飯堂點樣申請？一餐幾錢？ gets the answer and
    "the plan gives no fee"), as long as another part is answered; a part that asks nothing of substance (谢谢你啊)
    is left out. A part with no subject of its own that asks a kind of fact (一餐几钱, 人工几多) is about the
    subject an earlier part named."""
    parts = [p.strip(" ,.") for p in _PART_END.split(text)]
    parts = [p for p in parts if len(letters_and_digits(p)) >= PART_MIN_CHARS]
    if not 2 <= len(parts) <= MAX_PARTS:
        return []
    intent = "ask_plan" if intent in policy.TOPIC_INTENTS else intent
    answered: list[tuple[str, Assessment]] = []
    subject = None  # the first entity a part named
    for part in parts:
        found = find_answer(kb, part, intent, confidence, [], last_topic, last_entity)
        asks_a_fact = any(found.features.get(f"asks_{kind}") for kind in policy.ASK_KINDS)
        if subject and not found.entities and asks_a_fact:
            about = assess(kb, part, intent, confidence, [subject])
            if about.decision.kind == policy.DECLINE:
                found = about
        subject = subject or next(iter(found.entities), None)
        if found.decision.kind == policy.DECLINE or not found.hits:
            if found.features.get("content_terms") and lexicon.asks_something(part):
                answered.append((part, found))  # not 我老公有高血压，不想搬来搬去: told, not asked
            continue
        if any(other.hits and found.hits[0].passage["id"] == other.hits[0].passage["id"] for _, other in answered):
            continue  # 区里有冇措施提高 after a question on the same passage: answered with it
        answered.append((part, found))
    given = [found for _, found in answered if found.decision.kind != policy.DECLINE]
    # One passage answers them all, or none is answered: one answer (or decline) for the whole message.
    return answered if len(answered) >= 2 and given else []


def _listed_id(value) -> int | None:
    """The passage id of an entry of the 还有呢 slot (87, "87", "section:87")."""
    return _as_int(str(value).removeprefix(SECTION_MARK))


def _as_int(value) -> int | None:
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return None


def compose(
    found: Assessment,
    contacts: list[dict],
    elder_mode: bool,
    glossary: dict[str, str],
    voice_lang: str = "cmn",
    too_long: bool = False,
    follow_offer: tuple[list[dict], dict] = ([], {}),
) -> tuple[str, list[dict], dict]:
    """The reply for a sure or fairly-sure decision: (text, buttons, custom), in the resident's mode.

    `follow_offer` (actions/follow.py): the 关注 button and its `custom` keys, last among the buttons."""
    follow_buttons, follow_custom = follow_offer
    best = found.hits[0]
    closest = found.decision.kind == policy.FAIRLY_SURE
    others = found.others()[: policy.ALTERNATIVES_OFFERED] if closest else []
    shown = best.passage
    standard = (
        replies.closest_answer(found.hits, contacts, offered=bool(others))
        if closest
        else replies.standard_answer(found.hits, contacts)
    )
    if found.meanings and not elder_mode:  # elder answers explain every glossary term they use anyway
        standard = "\n".join(f"{term}：{meaning}。" for term, meaning in found.meanings.items()) + "\n" + standard
    no_date = found.asks_when and not lexicon.gives_a_time(shown["text"])
    in_passage = [n for n in found.names if n in shown["text"]]  # not 沙朗 where the resident lives
    if no_date:
        standard = replies.no_date_note(shown, in_passage) + "\n" + standard
    if too_long:
        standard = replies.too_long_note(MAX_QUESTION_CHARS) + "\n" + standard
    custom = {
        "source": replies.source_of(best.passage),
        "kind": "closest" if closest else "answer",
        "score": best.score,
        "probability": round(found.decision.probability, 3),
        **follow_custom,
    }
    if not elder_mode:
        return (
            standard,
            replies.alternative_buttons(others, shown=shown) + replies.FEEDBACK_BUTTONS + follow_buttons,
            custom,
        )
    others = others[:1]  # big buttons: one other passage at most beside the three of elder mode
    buttons = replies.alternative_buttons(others, elder=True, shown=shown) + elder.BUTTONS + follow_buttons
    names = [*found.names, *(m for m in best.matched if any(m in n or n in m for n in found.names))]
    reply = elder.simplify_for_elders(
        best.passage, best.matched, len(standard), contacts, glossary, buttons=buttons, names=names
    )
    if no_date:
        reply = replies.no_date_note(shown, in_passage, elder=True) + "\n" + reply
    if closest:
        reply = replies.CLOSEST_ELDER + "\n" + reply
    # The channels speak it (bot/voice.py): Telegram as a voice message, the web page with a play button.
    custom["voice"] = {"text": reply, "lang": voice_lang}
    custom["mode"] = "elder"
    return reply, buttons, custom


def _has_own_words(kb, text: str, found: Assessment) -> bool:
    """True when the passage found with the conversation's subject also has most words the question says itself:
    after 金沙路, 几时开工 is about 金沙路's works, 今天会下雨吗 is not about 金沙路 at all, and after 马山旧改 哪条路在修
    is about roads (its 修 alone is in the 改造 of 马山)."""
    if not found.hits:
        return False
    passage = found.hits[0].passage["match_text"]
    own = [g for g in kb.analyze(text).groups if g.is_content]
    return not own or 2 * sum(term_credit(g, passage)[0] > 0 for g in own) > len(own)


def asks_for_more(text: str, intent: str | None = None) -> bool:
    """还有呢, 另外一条呢, 还有没有别的, 下一条: the message asks only for more of the last answer (a short message
    the NLU reads as such counts too, unless it names a subject of the plan: 河长制还有吗 and 还有别的养老服务吗
    are questions of their own, and so is 东区呢, which asks about another place)."""
    bare = letters_and_digits(text)
    if lexicon.other_place(text, ""):
        return False
    if _MORE_CUE.search(bare) and _MORE_ONLY.match(bare):
        return True
    return intent == MORE_INTENT and len(bare) <= MORE_INTENT_CHARS and not _names_a_subject(text)


def _names_a_subject(text: str) -> bool:
    """True when `text` names a subject the plan has: a name, a resident phrase, or a word of three or more
    characters (河长制, read through a typo too); not an everyday word such as 服务 or 工作."""
    kb = knowledge_base()
    return any(
        g.is_content and (g.kind in ("entity", "synonym") or len(g.label) >= 3) and kb.in_plan(g.alternatives)
        for g in kb.analyze(text).groups
    )


def points_back(text: str) -> bool:
    """这个/那条/它/…呢: the question leans on what was said before."""
    return any(w in text for w in FOLLOW_UP_WORDS)


def assess(
    kb,
    text: str,
    intent: str | None,
    confidence: float | None,
    entities=(),
    topic: str | None = None,
    model: policy.Model | None = None,
) -> Assessment:
    """Search the plan for `text` and decide (policy.decide) what to do with the best passage."""
    own = kb.analyze(text)
    query = kb.with_entities(own, entities)
    topic = topic or policy.TOPIC_INTENTS.get(intent or "")
    # 那边呢 / 那个呢 with a road from the NLU or the conversation says nothing but the road: only the passages that
    # name it are candidates (the examples would otherwise find one for 那边 itself).
    about_entity = bool(entities) and not any(g.is_content for g in own.groups)
    hits = kb.search(
        text,
        topic=topic,
        entities=list(entities),
        limit=1 + policy.ALTERNATIVES_OFFERED + 2,
        query=query,
        only_entities=about_entity,
    )
    values = policy.features(hits, query, intent, confidence, kb.plan_years())
    values["decline_like"] = kb.decline_likeness(own)
    # A rule of policy.decide(), not a feature: a road by a name the plan never uses.
    named = {alt for g in own.groups if g.kind == "entity" for alt in (g.label, *g.alternatives)}  # with aliases
    unknown = [name for name in lexicon.road_names(own.text) if name not in named and not kb.in_plan((name,))]
    values["unknown_road"] = float(bool(unknown))
    if about_entity:
        # 那边呢 / 那个呢 with a road from the NLU or the conversation: the question is that road itself.
        decision = policy.decide_about_entity(values)
    else:
        decision = policy.decide(values, model)
    names = [g.label for g in query.groups if g.kind == "entity" and g.entity_type in NAMED_FIRST]
    glossary = kb.glossary()
    meanings = {t: glossary[t] for t in lexicon.terms_asked_about(own.text, glossary)}
    with_term = [h for h in hits if any(lexicon.term_core(t) in h.passage["text"] for t in meanings)]
    if meanings and with_term and not any(values.get(k) for k in ("another_year", "unknown_road", "another_district")):
        # What a term of the plan means is the staff glossary's to say, whatever else the question adds (4050是什么
        # 意思，我算不算): the answer is the explanation and the passage that uses the term.
        hits = with_term + [h for h in hits if h not in with_term]
        values["asks_meaning"] = 1.0
        decision = policy.decide(values, model)
    return Assessment(
        hits,
        topic,
        list(dict.fromkeys([*query.entities, *entities])),
        decision,
        values,
        names,
        meanings,
        _why_declined(kb, own.text, values, unknown, hits, model, query.entities)
        if decision.kind == policy.DECLINE
        else "",
        lexicon.asks_when(own.text),
    )


# What a work plan does not give, as a decline says it (policy.ASK_KINDS).
NOT_GIVEN = {
    "price": "具体的金额和收费",
    "place": "具体地点",
    "hours": "具体几点钟的时间安排",
    "contact": "具体的联系电话",
    "person": "个人的情况怎么办",
    "who": "负责人是谁",
    "date": "具体日期",
    "detail": "这些细节",
}


def _lacks(asked: list[str]) -> str:
    """计划里没有写具体地点, and the second kind asked too (那招聘会具体哪天在哪里办: 也没有写具体日期)."""
    return "计划里没有写" + "，也没有写".join(NOT_GIVEN[kind] for kind in asked[:2])


def _why_declined(
    kb, text: str, values: dict[str, float], unknown_roads: list[str], hits: list[Hit], model=None, entities=()
) -> str:
    """What a decline can say of itself: a road the plan never names, another year, a place outside the district,
    or a kind of fact the plan does not give about a subject it does speak of (长者饭堂在哪)."""
    if unknown_roads:
        return f"西区的工作计划里没有提到{unknown_roads[0]}。"
    if values.get("another_year"):
        years = "、".join(str(y) for y in sorted(kb.plan_years())) or "2020"
        return f"我这里只有西区{years}年的工作计划，别的年份它讲不了。"
    passage = hits[0].passage["text"] if hits else ""
    place = next((p for p in lexicon.other_places() if p in text and p not in passage), None)
    if values.get("other_place") and place:
        return f"我只能回答西区工作计划里的事，{place}的情况计划里没有讲。"
    asked = [kind for kind in policy.ASK_KINDS if values.get(f"asks_{kind}")]
    if asked and hits:
        # The plan speaks of what is asked about (a name the best passage has, or a subject it would answer for
        # without the kind of fact asked), not of that fact: say what it lacks and where it speaks.
        # Where the plan names what is asked about, if a passage among the best does (沙朗社区 is in the land-use
        # passage, not in the roads passage the examples put first for 停车场).
        best = next((h for h in hits if set(entities) & set(h.passage["entities"])), hits[0])
        named = [e for e in entities if e in best.passage["entities"]]
        # Whether the plan speaks of the subject is a question of its words: the second opinion's (words alone).
        model = model or policy.default_model()
        subject = policy.decide(
            values | {f"asks_{kind}": 0.0 for kind in asked} | {"asks_no_plan_fact": 0.0}, model.lexical or model
        )
        where = f"「{best.passage['heading']}」这部分" if best.passage["heading"] else ""
        if subject.kind != policy.DECLINE:
            longest = {
                e: max((len(m) for m in best.matched if m and m in e), default=0) for e in best.passage["entities"]
            }
            named = named or sorted((e for e in longest if longest[e]), key=lambda e: -longest[e])
            about = f"讲到{named[0]}" if named else "讲到这件事"
            return f"{_lacks(asked)}。计划{_only_there(kb, best, named)}{where}{about}，没有更多细节。"
        if named:  # only the name is the plan's: 沙朗那边有没有打算建停车场
            return f"计划里没有讲到这一点。计划{_only_there(kb, best, named)}{where}提到{named[0]}。"
        # 河长是谁, 区政务服务中心在哪里: whatever the plan speaks of, it does not give that kind of fact.
        return f"{_lacks(asked)}。"
    return ""


def _only_there(kb, best: Hit, named: list[str]) -> str:
    """只在 when no other passage in use names what is asked about (as an entity or in its text), else 在: 沙朗 is
    in the roads passage too."""
    others = [p for p in kb.snapshot().passages if p["id"] != best.passage["id"]]
    if named and any(named[0] in p["entities"] or named[0] in p["text"] for p in others):
        return "在"
    return "只在"


def find_answer(
    kb, text, intent, confidence, nlu_entities, last_topic, last_entity, model: policy.Model | None = None
) -> Assessment:
    """Assess `text` alone and, for a question with no entity of its own, in the conversation's context.

    The NLU's entities are added to those the knowledge base finds itself (so a road staff added today is
    found without retraining). The context reading (last entity and topic) wins when the question points back
    (那个…, …呢) or when it is surer than the question alone.
    """
    alone = assess(kb, text, intent, confidence, nlu_entities, model=model)
    if alone.entities or not last_entity:
        return alone
    if points_back(text) or alone.decision.kind != policy.SURE:
        in_context = assess(
            kb,
            text,
            intent,
            confidence,
            [*nlu_entities, last_entity],
            topic=policy.TOPIC_INTENTS.get(intent or "") or last_topic,
            model=model,
        )
        promotes = _RANK[in_context.decision.kind] > _RANK[alone.decision.kind] and (
            points_back(text) or _has_own_words(kb, text, in_context)
        )
        # 空气质量方面呢 after 污水管道 leans on nothing of it: its own subject, answered surely alone, wins over a
        # context passage that has none of its words.
        own_subject = alone.decision.kind == policy.SURE and not _has_own_words(kb, text, in_context)
        if promotes or (points_back(text) and in_context.decision.kind != policy.DECLINE and not own_subject):
            in_context.entities = [last_entity]
            return in_context
    return alone
