"""The conversation around the answers: the elder-mode switch, repeating the last answer, contacts."""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

import yaml
from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from knowledge import lexicon
from knowledge.policy import DECLINE, SURE
from knowledge.text import has_meaningful_text, letters_and_digits, normalize_question

from . import replies
from .resources import knowledge_base, question_log

ELDER_ON = "好的，已换成长者模式。\n回答会更短、更简单。\n想换回来，请发“普通模式”。"
ELDER_ON_HINT = "您可以直接打字问，也可以按下面的按钮："
SIMPLER_NOW = "刚才的回答，简单说："
SIMPLER_AGAIN = "好的，再简单说一遍："
# 讲简单点 when the last answer was already the short form: saying it again word for word does not help.
SIMPLEST = "这已经是最短的说法了。最要紧的是这一句：\n{first}\n还不明白的话，可以请家人帮忙打电话问：{phone}。"
# Questions to start with, one press each (the payload is sent as if typed: within Telegram's 64 bytes).
ELDER_EXAMPLES = [
    {"title": "老人吃饭", "payload": "老人在哪里吃饭？"},
    {"title": "找工作", "payload": "年纪大了找工作难，有什么帮助？"},
    {"title": "哪条路在修", "payload": "今年哪些路在修？"},
]
STARTER_QUESTIONS = {b["title"]: b["payload"] for b in ELDER_EXAMPLES}  # a label typed or sent: its question
ELDER_OFF = "已换回普通模式，回答会更完整。想要简短的回答，请发“长者模式”。"
VOICE_REPLIES = {
    "voice_cantonese": ("yue", "好，长者模式的语音会用广东话读。想换回普通话，请发“讲普通话”。"),
    "voice_mandarin": ("cmn", "好，长者模式的语音会用普通话读。"),
}


class ActionSwitchMode(Action):
    """Elder mode on or off, and the voice's language; slots live in the tracker store, so they survive restarts."""

    def name(self) -> str:
        return "action_switch_mode"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        if passes_on_as_question(tracker.latest_message or {}):
            return await answer_as_question(dispatcher, tracker, domain)
        intent = ((tracker.latest_message or {}).get("intent") or {}).get("name")
        if intent in VOICE_REPLIES:
            lang, reply = VOICE_REPLIES[intent]
            dispatcher.utter_message(text=reply)
            return [SlotSet("voice_lang", lang)]
        turn_on = intent == "elder_mode_on"
        if turn_on:
            # 看不懂，讲简单点 right after an answer: that answer again, in the short form.
            answered = _answered_passage(next(iter(last_bot_turn(tracker.events)), {}))
            already = bool(tracker.get_slot("elder_mode"))
            if not already:
                dispatcher.utter_message(text=ELDER_ON, json_message={"mode": "elder"})
            if answered is not None:
                intro = SIMPLER_AGAIN if already else SIMPLER_NOW
                said = CollectingDispatcher()
                events = await _say_again_for_elders(said, tracker, answered, intro)
                before = next(iter(last_bot_turn(tracker.events)), {}).get("text") or ""
                if already and said.messages and said.messages[0].get("text", "").removeprefix(intro + "\n") == before:
                    contacts = knowledge_base().contacts(tracker.get_slot("last_topic"))
                    phone = (contacts[0] if contacts else replies.CONTACT_FALLBACK)["phone"]
                    dispatcher.utter_message(text=SIMPLEST.format(first=before.split("\n")[0], phone=phone))
                    return [SlotSet("elder_mode", True)]
                dispatcher.messages.extend(said.messages)
                return [SlotSet("elder_mode", True), *events]
            dispatcher.utter_message(text=ELDER_ON_HINT, buttons=ELDER_EXAMPLES)
        else:
            dispatcher.utter_message(text=ELDER_OFF, json_message={"mode": "standard"})
        return [SlotSet("elder_mode", turn_on)]


async def _say_again_for_elders(dispatcher, tracker: Tracker, passage: int, intro: str) -> list[dict[str, Any]]:
    """The last answer in the short form: its question asked again in elder mode, so the short answer keeps what
    was asked (长者助餐, 上门康复); the passage itself when the question is not in the tracker or finds another."""
    from .plan import ActionAnswerFromPlan

    users = [e for e in tracker.events if e.get("event") == "user"]
    question = tracker.copy()
    question.slots = {**question.slots, "elder_mode": True}
    if len(users) >= 2 and not pressed_passage(users[-2].get("parse_data") or {}):
        question.latest_message = {"text": users[-2].get("text"), **(users[-2].get("parse_data") or {})}
        said = CollectingDispatcher()
        events = await ActionAnswerFromPlan().run(said, question, {})
        if [_answered_passage({"data": m}) for m in said.messages][:1] == [passage]:
            said.messages[0]["text"] = f"{intro}\n{said.messages[0]['text']}"
            dispatcher.messages.extend(said.messages)
            return events
    return await ActionAnswerFromPlan()._show_passage(dispatcher, question, passage, True, intro=intro)


class ActionRepeatLast(Action):
    """再说一遍: send the assistant's last answer again, exactly as it was."""

    def name(self) -> str:
        return "action_repeat_last"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        if passes_on_as_question(tracker.latest_message or {}):
            return await answer_as_question(dispatcher, tracker, domain)
        for message in last_bot_turn(tracker.events):
            data = message.get("data") or {}
            dispatcher.utter_message(
                text=message.get("text"),
                buttons=data.get("buttons"),
                json_message=data.get("custom"),
            )
            break
        else:
            dispatcher.utter_message(text="我们还没有开始聊。请问您想了解什么？")
        return []


def last_bot_turn(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The bot messages of the last turn before the current question, the answer (with a source) first."""
    turns: list[list[dict[str, Any]]] = []
    current: list[dict[str, Any]] = []
    for event in events:
        if event.get("event") == "user":
            if current:
                turns.append(current)
            current = []
        elif event.get("event") == "bot" and (event.get("text") or (event.get("data") or {}).get("custom")):
            current.append(event)
    if current:
        turns.append(current)
    if not turns:
        return []
    last = turns[-1]
    return sorted(last, key=lambda e: not ((e.get("data") or {}).get("custom") or {}).get("source"))


class ActionGiveContacts(Action):
    """打电话问: the staff-kept contacts for the conversation's topic."""

    def name(self) -> str:
        return "action_give_contacts"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        message = tracker.latest_message or {}
        if lexicon.is_emergency(normalize_question(message.get("text") or "")):
            dispatcher.utter_message(text=replies.EMERGENCY)  # 急救电话是多少, 消防局电话几多: not 12345
            return []
        if passes_on_as_question(message):
            events = await answer_as_question(dispatcher, tracker, domain)
            answered = any(e.get("name") == "last_passage" for e in events)  # a decline lists the contacts itself
            if answered and _cues(CHITCHAT_CUES["ask_contact"]).search(normalize_question(message.get("text") or "")):
                # 上门康复找谁问: what the plan says, then whom to call about that topic
                topic = next((e["value"] for e in events if e.get("name") == "last_topic"), None)
                self._say_contacts(dispatcher, topic or tracker.get_slot("last_topic"))
            return events
        self._say_contacts(dispatcher, tracker.get_slot("last_topic"), first=what_the_plan_lacks(message))
        return []

    @staticmethod
    def _say_contacts(dispatcher, topic: str | None, first: str = "") -> None:
        contacts = knowledge_base().contacts(topic)
        lines = ["可以打这些电话咨询："]
        for c in contacts[:3]:
            where = f"，地址：{c['address']}" if c.get("address") else ""
            hours = f"（{c['hours']}）" if c.get("hours") else ""
            lines.append(f"{c['name']}：{c['phone']}{hours}{where}")
        if len(lines) == 1:
            lines.append(replies.contact_text([]))
        dispatcher.utter_message(text="\n".join([first, *lines] if first else lines))


def what_the_plan_lacks(message: dict[str, Any]) -> str:
    """For a message asking whom to call about a subject the plan names, for a fact it does not give (马山安置房一平方
    几多钱？想帮屋企人问下): what the plan lacks, said before the phone list, so the resident is not left to wonder
    whether the plan has the price. Empty when the message names none of the plan's words besides its cue words."""
    text = normalize_question(message.get("text") or "")
    if not plan_words(_cues(CHITCHAT_CUES["ask_contact"]).sub("", text)):
        return ""
    found = read_as_question(message)
    return found.why if found is not None and found.decision.kind == DECLINE else ""


class ActionRecordFeedback(Action):
    """👍 / 👎 on an answer, kept for staff (`kb unanswered`). The channels send the answer's passage with the
    press (`/feedback_helpful{"passage_id":12}`), so a press under an older answer counts for that answer, once."""

    def name(self) -> str:
        return "action_record_feedback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        latest = tracker.latest_message or {}
        if passes_on_as_question(latest):
            # Typed words the NLU took for a verdict (楼下垃圾老是没人扫，环卫归谁管: 没人… reads like 没用) but
            # that name things of the plan: a question, answered as one.
            return await answer_as_question(dispatcher, tracker, domain)
        helpful = (latest.get("intent") or {}).get("name") == "feedback_helpful"
        passage = pressed_passage(latest) or tracker.get_slot("last_passage")
        if passage is None:
            dispatcher.utter_message(text="谢谢！请先问一个问题，再告诉我回答有没有用。")
            return []
        passage = int(passage)
        if already_rated(tracker.events, passage):
            dispatcher.utter_message(text="这条回答您已经评价过了，谢谢！")
            return []
        question_log().record_feedback(
            tracker.sender_id, passage, helpful, question_answered_by(tracker.events, passage)
        )
        if helpful:
            dispatcher.utter_message(text="谢谢您的反馈！")
        else:
            contacts = knowledge_base().contacts(tracker.get_slot("last_topic"))
            dispatcher.utter_message(
                text=f"抱歉没帮上忙，工作人员会看到您的反馈。您也可以咨询{replies.contact_text(contacts)}。"
            )
        return []


# A typed message naming this many words of the plan is a question, whatever else it says; one that asks
# (one of QUESTION_CUES) needs one plan word.
PLAN_WORDS_OF_A_QUESTION = 2
# fmt: off
QUESTION_CUES = (
    "?", "吗", "有没有", "谁", "怎么", "怎样", "如何", "哪里", "几时", "什么时候", "能不能", "可不可以", "会不会",
    "了没", "了未",
)
# fmt: on


def asks_about_the_plan(text: str) -> bool:
    """True when typed text names two words (of two characters or more) that the plan has, or names one and
    asks something (街边的垃圾没人清理，有人管吗): a question, not a verdict on an answer (这个回答没什么用)."""
    query = knowledge_base().analyze(text)
    named = _plan_words(query)
    asks = any(cue in query.text for cue in QUESTION_CUES)
    return len(named) >= PLAN_WORDS_OF_A_QUESTION or (len(named) == 1 and asks)


def plan_words(text: str) -> list[str]:
    """The words (of two characters or more) of `text` that the plan has."""
    return _plan_words(knowledge_base().analyze(text))


def _plan_words(query) -> list[str]:
    kb = knowledge_base()
    return [g.label for g in query.groups if g.is_content and g.kind != "char" and kb.in_plan(g.alternatives)]


# Residents ask where the answers come from (about) or whom to call (contacts) in a few words; a long message that
# names the plan's words and asks (我是退休老师…想问下区里有没有打算建新的文化活动场所？) is a question about the plan
# whatever short intent the NLU gave it.
LONG_QUESTION_CHARS = 20


def is_long_plan_question(message: dict[str, Any]) -> bool:
    text = message.get("text") or ""
    if text.startswith("/") or len(letters_and_digits(text)) < LONG_QUESTION_CHARS:
        return False
    return asks_about_the_plan(text)


# Asked in a few words (我关注了什么, 删除我的信息, 再说一遍): a long message that names the plan's words and asks is a
# question. It matters most for forget_me, which deletes everything kept about the resident on Telegram.
LONG_QUESTION_INTENTS = ("following", "forget_me", "repeat")
# The words by which the NLU's classifier tells these intents (nlu/data/cues.yml): a short message that has none
# of them and that the plan surely answers is a question (「爱心父母大联盟」是做什么的？ is not about the bot's
# sources; 有人收保护费，有冇人理 is not asking for a phone number). 我要找人工 and 数据从哪里来 keep their replies.
CHITCHAT_CUES = {"about": ("cue_source", "cue_about_bot"), "ask_contact": ("cue_contact",)}
# A mode or voice switch is asked in a few words too; a long message that names the plan's words and asks, and says
# none of these cues (开长者模式, 普通模式, 广东话), is a question (每年过年…想问西区今年春运期间有没有加强交通安全管理).
_SWITCH_CUES = ("cue_mode_off", "cue_mode_on", "cue_normal_mode", "cue_mode_word")
MODE_CUES = {
    "elder_mode_on": _SWITCH_CUES,
    "elder_mode_off": _SWITCH_CUES,
    "voice_cantonese": ("cue_cantonese", "cue_mandarin"),
    "voice_mandarin": ("cue_cantonese", "cue_mandarin"),
}
CUES_FILE = Path(__file__).resolve().parent.parent / "nlu" / "data" / "cues.yml"
# 这正常吗 asks whether something is right, not for the normal mode (正常模式, 恢复正常).
IS_IT_NORMAL = re.compile(r"正常[吗嘛么啊呀吧不]|正不正常|正唔正常")
# Following is asked in a few words too (关注金沙路, 有新消息告诉我, 取消关注); a long message that names the plan's words
# and asks, and says none of these, is a question (…金沙路一下大雨就水浸…今年区里有没有打算修一修金沙路？).
FOLLOW_CUES = re.compile(r"关注|订阅|退订|通知|提醒|告诉我|盯着|更新|新消息|不用再|别再|不要再|唔使")

# How residents ask to stop (取消关注, 唔使再通知我, 招聘的消息不用发了), normalized: an unfollow message says one of these.
STOP_CUES = re.compile(
    r"取消|退订|不要|不用|别再|别发|停止|停发|不使|不好再|不想|不再|没有需要|够了|算了|关掉|关闭|撤销|删除"
)


def asks_to_stop(message: dict[str, Any]) -> bool:
    return bool(STOP_CUES.search(normalize_question(message.get("text") or "")))


def passes_on_as_question(message: dict[str, Any]) -> bool:
    """Whether the action of the message's intent passes it on to the answer action: a typed 👍/👎 that names
    the plan's words; a long about, what_can_you_do, ask_contact, following, forget_me or repeat message that names
    them and asks, and a long mode, voice, follow or unfollow message that also says none of its intent's cue words;
    an unfollow message that asks to stop nothing and names the plan's words; a short one of about, what_can_you_do
    or ask_contact that the plan answers (`_chitchat_is_a_question`). The question bank routes with this too
    (benchmarks/question_bank.py)."""
    intent = (message.get("intent") or {}).get("name")
    if intent in ("feedback_helpful", "feedback_not_helpful"):
        return pressed_passage(message) is None and asks_about_the_plan(message.get("text") or "")
    if intent in LONG_QUESTION_INTENTS:
        return is_long_plan_question(message)
    if intent == "unfollow" and not asks_to_stop(message):
        # Not a request to stop anything (厂里出事之前能不能提前发个通知提醒一下 asks about early warnings): a question
        # when it names the plan's words besides those of following (提醒一下 names the plan's 提醒); never an unfollow
        # (actions/follow.py).
        return bool(plan_words(FOLLOW_CUES.sub("", normalize_question(message.get("text") or ""))))
    if intent in ("follow", "unfollow"):
        says_its_own_cue = FOLLOW_CUES.search(normalize_question(message.get("text") or ""))
        return not says_its_own_cue and is_long_plan_question(message)
    if intent in MODE_CUES:
        text = IS_IT_NORMAL.sub("", normalize_question(message.get("text") or ""))
        says_its_own_cue = _cues(MODE_CUES[intent]).search(text)
        return not says_its_own_cue and is_long_plan_question(message)
    if intent in CHITCHAT_CUES or intent == "what_can_you_do":
        return is_long_plan_question(message) or _chitchat_is_a_question(message, intent)
    return False


# A message about the bot speaks to it (你会什么, 您的资料从哪里来, 这个助手怎么用).
ADDRESSES_THE_BOT = re.compile(r"你|您|助手|机器人|bot|\bai\b|人工智能|这个系统|这个程序|小程序", re.IGNORECASE)


def _chitchat_is_a_question(message: dict[str, Any], intent: str) -> bool:
    """A short about, what_can_you_do or ask_contact message that is a question about the plan (the plan is asked
    once):
    - ask_contact that names the plan's words besides its cue words, or says none of those, and that the plan
      answers surely or fairly: 企业想参与慈善事业找谁 gets the plan's answer (which says whom to ask), or its closest
      passage offered as such, and then the phone list; 有人收保护费，有冇人理 is not asking for a phone number;
      有没有人工 and 可以打给谁 keep the phone list;
    - about or what_can_you_do that names the plan's words, does not speak to the bot or ask where its answers come
      from (數據係邊度嚟), and that the plan surely answers: its cue word is the subject's (政务服务一体化智能终端有
      什么功能, 那些片区的用途), not the bot's;
    - about that says none of its cue words and that the plan answers surely or fairly (工厂出事前能不能早点提醒工人);
    - about or what_can_you_do that does not speak to the bot and asks the way somewhere or an office holder's name
      (退役军人服务站的站长是谁): the plan's decline says what it lacks.
    """
    raw = message.get("text") or ""
    text = normalize_question(raw)
    says_its_own_cue = intent in CHITCHAT_CUES and bool(_cues(CHITCHAT_CUES[intent]).search(text))
    if intent == "ask_contact":
        # Its cue word asks (找谁); the rest must name a subject of the plan's: 有没有人工 names the plan's 人工
        # (wages) only through its cue.
        subject = _cues(CHITCHAT_CUES[intent]).sub("", text)
        return (bool(plan_words(subject)) or not says_its_own_cue) and plan_answer(message) != DECLINE
    not_the_bots = (
        not text.startswith("/")
        and not ADDRESSES_THE_BOT.search(text)
        and not _cues(("cue_source",)).search(text)
        and asks_about_the_plan(text)
    )
    offered_will_do = intent == "about" and not says_its_own_cue
    if not (not_the_bots or offered_will_do):
        return False
    if not_the_bots and lexicon.asks_what_no_plan_gives(text):
        return True  # 退役军人服务站的站长是谁 (是谁 as in 你是谁): declined with what the plan lacks, and whom to call
    kind = plan_answer(message)
    return (not_the_bots and kind == SURE) or (offered_will_do and kind != DECLINE)


@functools.lru_cache(maxsize=8)
def _cues(names: tuple[str, ...]) -> re.Pattern:
    cues = {c["regex"]: c["examples"] for c in yaml.safe_load(CUES_FILE.read_text(encoding="utf-8"))["nlu"]}
    return re.compile("|".join(line.strip()[2:] for n in names for line in cues[n].splitlines() if line.strip()))


def plan_answer(message: dict[str, Any]) -> str:
    """What the plan would do with the message read as a question (policy.SURE, FAIRLY_SURE or DECLINE), with the
    NLU's best topic intent: 「爱心父母大联盟」是做什么的？, which the NLU may take for a question about the bot's
    sources, is answered surely; 资料是哪里来的 is declined. The topic intents' confidence is low for such a
    message, which the model counts against the plan: that is why a fairly-sure reading may be enough."""
    found = read_as_question(message)
    return found.decision.kind if found is not None else DECLINE


def read_as_question(message: dict[str, Any]):
    """The plan's assessment (actions.plan.Assessment) of the message read as a question with the NLU's best topic
    intent; None when it has nothing to read."""
    from .plan import assess

    text = normalize_question(message.get("text") or "")
    if not has_meaningful_text(text):
        return None
    intent = question_intent(message)
    return assess(knowledge_base(), text, intent["name"], intent["confidence"])


async def answer_as_question(dispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict[str, Any]]:
    """Answer the latest message from the plan, read with the NLU's best-ranked topic intent."""
    from .plan import ActionAnswerFromPlan

    latest = tracker.latest_message or {}
    question = tracker.copy()
    question.latest_message = {**latest, "intent": question_intent(latest)}
    return await ActionAnswerFromPlan().run(dispatcher, question, domain)


def question_intent(message: dict[str, Any]) -> dict[str, Any]:
    """The NLU's best reading of a message as a question about the plan: the highest-ranked topic intent."""
    from knowledge.policy import TOPIC_INTENTS

    for ranked in message.get("intent_ranking") or []:
        if ranked.get("name") in TOPIC_INTENTS:
            return {"name": ranked["name"], "confidence": ranked.get("confidence")}
    return {"name": "ask_plan", "confidence": 0.0}


PASSAGE_BUTTON = "\0passage button"  # question_answered_by: the answer was asked for with a passage button


def pressed_passage(message: dict[str, Any]) -> int | None:
    """The passage a 👍/👎 press names (the `passage_id` entity of its payload), if it names one."""
    for entity in message.get("entities") or []:
        if entity.get("entity") == "passage_id":
            try:
                return int(entity.get("value"))
            except (TypeError, ValueError):
                return None
    return None


def _answered_source(event: dict[str, Any]) -> dict[str, Any]:
    return ((event.get("data") or {}).get("custom") or {}).get("source") or {}


def _answered_passage(event: dict[str, Any]) -> int | None:
    return _answered_source(event).get("passage_id")


def question_answered_by(events: list[dict[str, Any]], passage: int) -> str:
    """What the resident asked that the latest answer from `passage` replied to ("" if none is in the tracker).

    A typed question is kept as typed. A passage button (`/ask_plan{"passage_id":"87"}`) is not a question in
    words: the resident chose the passage by its heading, so the heading is what they asked for."""
    question, found = "", ""
    for event in events:
        if event.get("event") == "user":
            text = event.get("text") or ""
            question = PASSAGE_BUTTON if text.startswith("/ask_plan{") else "" if text.startswith("/") else text
        elif event.get("event") == "bot" and _answered_passage(event) == passage and question:
            found = question
            if question == PASSAGE_BUTTON:
                source = _answered_source(event)
                found = "按钮：" + (source.get("heading") or source.get("section") or source.get("document") or "")
    return found


def already_rated(events: list[dict[str, Any]], passage: int) -> bool:
    """Whether an earlier 👍/👎 in this conversation already counted for `passage` (a double press counts once)."""
    user_events = [e for e in events if e.get("event") == "user"]
    for event in user_events[:-1]:  # the last one is this press
        parse = event.get("parse_data") or {}
        if (parse.get("intent") or {}).get("name") in ("feedback_helpful", "feedback_not_helpful") and pressed_passage(
            parse
        ) == passage:
            return True
    return False


class ActionWhatCanYouDo(Action):
    """What residents can ask (utter_what_can_you_do, short in elder mode); a question about a plan subject that the
    NLU took for this (政务服务一体化智能终端有什么功能) is answered from the plan instead."""

    def name(self) -> str:
        return "action_what_can_you_do"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        if passes_on_as_question(tracker.latest_message or {}):
            return await answer_as_question(dispatcher, tracker, domain)
        dispatcher.utter_message(response="utter_what_can_you_do")
        return []


class ActionAbout(Action):
    """Which documents the answers come from, with their dates."""

    def name(self) -> str:
        return "action_about"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        if passes_on_as_question(tracker.latest_message or {}):
            return await answer_as_question(dispatcher, tracker, domain)
        documents = knowledge_base().documents()
        lines = ["我根据这些文件回答问题："]
        lines += [f"· 《{d['title']}》（{d['source']}，{d['published']}发布）" for d in documents]
        lines.append("文件里没有的，我会告诉您去哪里问。")
        dispatcher.utter_message(text="\n".join(lines))
        return []
