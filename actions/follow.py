"""Following a road, programme, group or topic: the offer under an answer, and the follow / unfollow /
following / forget-me requests.

Only a channel that can reach the resident later can follow (Telegram: the sender is `telegram-<pseudonym>`); the web
page has no way back to the resident, so it is told so and offered nothing. The Telegram relay stores the
follow (bot/telegram/follow.py) from the `custom` part of the reply and confirms it, spoken in elder mode.
"""

from __future__ import annotations

import re
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from knowledge import catalog

from .conversation import answer_as_question, asks_to_stop, passes_on_as_question
from .resources import knowledge_base

REACHABLE_PREFIXES = ("telegram-",)
ENTITY_TYPES = ("road", "group", "programme", "community")
OFFER_TITLE = "关注「{label}」的新消息"
# Button callback data (Telegram's limit is 64 bytes): `follow:e:金沙路`, `follow:t:roads`.
CALLBACK_LIMIT = 64
POINTING_BACK = ("这个", "这条", "那个", "那条", "它", "刚才", "这方面", "呢条")
# Words of asking to follow: what is left when they are taken away says whether a subject was named at all.
ASKING_WORDS = re.compile(
    r"关注|订阅|帮我|麻烦|请|我想|我要|一下|提醒|通知|告诉|有新消息|有消息|有变化|有更新|"
    r"以后|第一时间|记得|我|的|吧|啊|呀|了|[，。！？!?、\s]"
)
ONLY_TELEGRAM = (
    "网页上还不能关注：这里没有办法在有新消息时找到您。请在 Telegram 上找“西区居民助手”，问完后点“关注”按钮。"
)
WHAT_TO_FOLLOW = "请告诉我想关注什么，比如：关注金沙路、关注就业招聘。"
NOTHING_HERE = "网页上没有保存关注。对话记录和提问记录保存90天后自动删除。"
FORGET_ON_WEB = (
    "网页上的对话保存90天后自动删除。要马上删除，请关闭网页并清除本网站的Cookie；"
    "在 Telegram 上发 /forget_me 可以马上删除全部信息。"
)


def reachable(sender_id: str) -> bool:
    return (sender_id or "").startswith(REACHABLE_PREFIXES)


def subject_label(kind: str, name: str) -> str:
    if kind == "topic":
        topic = catalog.topics().get(name)
        return topic.label if topic else name
    return name


def follow_offer(sender_id: str, entities: list[str], topic: str | None) -> tuple[list[dict], dict]:
    """(buttons to add, keys to add to `custom`) offering to follow what an answer was about: its first entity,
    else its topic. Nothing for a channel that cannot reach the resident later."""
    if not reachable(sender_id):
        return [], {}
    if entities:
        kind, name = "entity", entities[0]
    elif topic and topic in catalog.topics():
        kind, name = "topic", topic
    else:
        return [], {}
    payload = f"follow:{kind[0]}:{name}"
    if len(payload.encode()) > CALLBACK_LIMIT:
        return [], {}
    label = subject_label(kind, name)
    return (
        [{"title": OFFER_TITLE.format(label=label), "payload": payload}],
        {"follow_offer": {"kind": kind, "subject": name, "label": label}},
    )


def offer_for(sender_id: str, found) -> tuple[list[dict], dict]:
    """The offer under an answer (actions/plan.py `compose`): the question's entity, else its topic, else the
    answer passage's first topic."""
    topic = found.topic or next(iter(found.hits[0].passage["topics"]), None) if found.hits else found.topic
    return follow_offer(sender_id, list(found.entities), topic)


def find_subject(tracker: Tracker) -> tuple[str, str] | None:
    """What the resident asks to follow: a name in the message, else a topic's words, else (关注这个) what the
    conversation was last about."""
    message = tracker.latest_message or {}
    text = message.get("text") or ""
    names = [e.get("value") for e in message.get("entities") or [] if e.get("entity") in ENTITY_TYPES]
    kb = knowledge_base()
    names += kb.analyze(text).entities
    for name in names:
        if name:
            return "entity", name
    topics = catalog.topics()
    for key, topic in topics.items():
        if topic.label in text or key in text:
            return "topic", key
    for key in catalog.RESIDENT_TOPICS:
        if any(word in text for word in topics[key].keywords if len(word) > 1):
            return "topic", key
    if any(word in text for word in POINTING_BACK) or len(ASKING_WORDS.sub("", text)) <= 1:
        if tracker.get_slot("last_entity"):
            return "entity", tracker.get_slot("last_entity")
        if tracker.get_slot("last_topic"):
            return "topic", tracker.get_slot("last_topic")
    return None


class ActionFollow(Action):
    """关注金沙路 / 取消关注金沙路: the relay stores it and confirms (spoken in elder mode)."""

    def name(self) -> str:
        return "action_follow"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        if passes_on_as_question(tracker.latest_message or {}):  # a long question the NLU misread
            return await answer_as_question(dispatcher, tracker, domain)
        intent = ((tracker.latest_message or {}).get("intent") or {}).get("name")
        if not reachable(tracker.sender_id):
            dispatcher.utter_message(text=ONLY_TELEGRAM if intent == "follow" else NOTHING_HERE)
            return []
        subject = find_subject(tracker)
        if intent == "unfollow" and not asks_to_stop(tracker.latest_message or {}):
            subject = None  # 提醒一下 misread as unfollow stops nothing: the list, with a stop button each, instead
        if subject is None:
            if intent == "unfollow":
                dispatcher.utter_message(json_message={"following": True})
            else:
                dispatcher.utter_message(text=WHAT_TO_FOLLOW)
            return []
        kind, name = subject
        dispatcher.utter_message(
            json_message={
                "follow_op": {
                    "op": "unfollow" if intent == "unfollow" else "follow",
                    "kind": kind,
                    "subject": name,
                    "label": subject_label(kind, name),
                    "elder": bool(tracker.get_slot("elder_mode")),
                    "voice_lang": tracker.get_slot("voice_lang") or "cmn",
                }
            }
        )
        return []


class ActionListFollowing(Action):
    """我关注了什么: the relay lists them with a stop button each."""

    def name(self) -> str:
        return "action_list_following"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        if passes_on_as_question(tracker.latest_message or {}):  # a long question the NLU misread
            return await answer_as_question(dispatcher, tracker, domain)
        if reachable(tracker.sender_id):
            dispatcher.utter_message(json_message={"following": True})
        else:
            dispatcher.utter_message(text=NOTHING_HERE)
        return []


class ActionForgetMe(Action):
    """删除我的信息: the relay deletes everything stored about the resident once this turn is saved, and confirms."""

    def name(self) -> str:
        return "action_forget_me"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        if passes_on_as_question(tracker.latest_message or {}):  # a long question the NLU misread
            return await answer_as_question(dispatcher, tracker, domain)
        if reachable(tracker.sender_id):
            dispatcher.utter_message(json_message={"forget_me": True})
        else:
            dispatcher.utter_message(text=FORGET_ON_WEB)
        return []
