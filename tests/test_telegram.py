"""The Telegram relay, offline: the real python-telegram-bot Application against a Bot API stand-in on 127.0.0.1.

Rasa is replaced by a scripted client here; tests/test_telegram_conversation.py runs the real one.
"""
from __future__ import annotations

from dataclasses import replace

import pytest
from telegram import Update

from bot.rasa_client import MAINTENANCE, RasaUnavailable
from bot.telegram import handlers
from bot.telegram.app import COMMANDS, build_application
from bot.telegram.render import TELEGRAM_LIMIT, split_message
from knowledge.settings import get_channel_settings
from tests.botapi_standin import BotApiStandIn

ANSWER = [
    {"recipient_id": "x", "text": "《西区2020年工作计划》中写道：\n加强长者助餐配餐服务。\n来源：《西区2020年工作计划》五、…",
     "buttons": [{"title": "👍 有用", "payload": "/feedback_helpful"}, {"title": "👎 没用", "payload": "/feedback_not_helpful"}]},
    {"recipient_id": "x", "custom": {"source": {"document": "西区2020年工作计划"}, "kind": "answer"}},
]
ELDER_ANSWER = [
    {"recipient_id": "x", "text": "加强长者助餐配餐服务。\n想问清楚，请打12345。\n来源：2020年工作计划",
     "buttons": [{"title": "再说一遍", "payload": "/repeat"}, {"title": "打电话问", "payload": "/ask_contact"},
                 {"title": "回到开头", "payload": "/what_can_you_do"}]},
    {"recipient_id": "x", "custom": {"source": {"document": "西区2020年工作计划"}, "mode": "elder",
                                     "voice": {"text": "加强长者助餐配餐服务。", "lang": "cmn"}}},
]


class ScriptedRasa:
    """Answers like Rasa's REST channel would, from a script; `down` makes it fail like a dead server."""

    def __init__(self):
        self.received: list[tuple[str, str]] = []
        self.reply = ANSWER
        self.down = False

    async def send(self, sender, text):
        self.received.append((sender, text))
        if self.down:
            raise RasaUnavailable("connection refused")
        return self.reply

    async def close(self):
        pass


@pytest.fixture
async def relay(tmp_path, monkeypatch):
    api = BotApiStandIn()
    await api.start()
    monkeypatch.setenv("WESTBOT_QUESTIONS", str(tmp_path / "questions.db"))
    settings = replace(get_channel_settings(), telegram_token="4242:TEST", telegram_base_url=api.base_url,
                       telegram_staff_ids=frozenset({7}), rate_limit_messages=5, rate_limit_seconds=60,
                       voice_cache_dir=tmp_path / "voice")
    rasa = ScriptedRasa()
    app = build_application(settings, rasa=rasa)
    async with app:
        await app.post_init(app)
        yield app, api, rasa
    await api.stop()


async def feed(app, update: dict):
    await app.process_update(Update.de_json(update, app.bot))


async def test_commands_are_listed_in_chinese(relay):
    app, api, _ = relay
    [call] = api.sent("setMyCommands")
    assert [c["command"] for c in call["commands"]] == [c.command for c in COMMANDS]
    assert all("\u4e00" <= c["description"][0] <= "\u9fff" for c in call["commands"])


async def test_a_question_is_relayed_with_typing_and_inline_buttons(relay):
    app, api, rasa = relay
    await feed(app, api.push_text("老人家去边度食饭"))
    assert rasa.received == [("telegram-1001", "老人家去边度食饭")]
    assert api.sent("sendChatAction")[0]["action"] == "typing"
    [message] = api.sent("sendMessage")
    assert "长者助餐配餐" in message["text"] and "来源" in message["text"]
    buttons = message["reply_markup"]["inline_keyboard"][0]
    assert [b["callback_data"] for b in buttons] == ["/feedback_helpful", "/feedback_not_helpful"]


async def test_a_button_press_is_answered_and_relayed(relay):
    app, api, rasa = relay
    await feed(app, api.push_button("/feedback_helpful"))
    assert api.sent("answerCallbackQuery")
    assert rasa.received[-1] == ("telegram-1001", "/feedback_helpful")


@pytest.mark.needs("espeak-ng")
async def test_elder_answers_get_a_big_keyboard_and_a_voice(relay):
    app, api, rasa = relay
    rasa.reply = ELDER_ANSWER
    await feed(app, api.push_text("老人吃饭"))
    [message] = api.sent("sendMessage")
    keyboard = message["reply_markup"]["keyboard"]
    assert [row[0]["text"] for row in keyboard] == ["再说一遍", "打电话问", "回到开头"]
    [voice] = api.sent("sendVoice")
    assert voice["voice"]["bytes"] > 1000  # a real OGG/Opus clip from espeak-ng


@pytest.mark.parametrize("command,payload", [("/start", "/greet"), ("/help", "/what_can_you_do"),
                                             ("/elder", "/elder_mode_on"), ("/normal", "/elder_mode_off"),
                                             ("/about", "/about")])
async def test_commands_become_intents(relay, command, payload):
    app, api, rasa = relay
    await feed(app, api.push_text(command))
    assert rasa.received[-1][1] == payload
    if command == "/start":
        choice = api.sent("sendMessage")[-1]
        assert [b["callback_data"] for b in choice["reply_markup"]["inline_keyboard"][0]] == \
            ["/elder_mode_on", "/elder_mode_off"]


@pytest.mark.parametrize("fields", [
    {"sticker": {"file_id": "s", "file_unique_id": "s1", "width": 512, "height": 512, "is_animated": False,
                 "is_video": False, "type": "regular"}},
    {"photo": [{"file_id": "p", "file_unique_id": "p1", "width": 90, "height": 90}]},
    {"location": {"latitude": 22.52, "longitude": 113.36}},
    {"voice": {"file_id": "v", "file_unique_id": "v1", "duration": 3}},
])
async def test_non_text_gets_a_kind_reply(relay, fields):
    app, api, rasa = relay
    await feed(app, api.push_message(fields))
    assert api.texts() == [handlers.ONLY_TEXT]
    assert rasa.received == []


async def test_edited_messages_and_group_chatter_are_ignored_on_purpose(relay):
    app, api, rasa = relay
    await feed(app, api.push_message({"text": "改过的问题"}, edited=True))
    await feed(app, api.push_text("大家好", chat_type="group", chat_id=-500))
    assert rasa.received == [] and api.sent("sendMessage") == []
    await feed(app, api.push_text("/help", chat_type="group", chat_id=-500))
    assert rasa.received and api.sent("sendMessage", chat_id=-500)


async def test_rasa_down_gets_the_maintenance_message_and_recovers(relay):
    app, api, rasa = relay
    rasa.down = True
    await feed(app, api.push_text("金沙路"))
    assert api.texts()[-1] == MAINTENANCE
    rasa.down = False
    await feed(app, api.push_text("金沙路"))
    assert "长者助餐" in api.texts()[-1]


async def test_flood_control_is_waited_out(relay):
    app, api, _ = relay
    api.flood_for = 1
    await feed(app, api.push_text("金沙路"))
    attempts = api.sent("sendMessage")
    assert len(attempts) == 2 and attempts[0]["text"] == attempts[1]["text"]


async def test_one_sender_cannot_flood(relay):
    app, api, rasa = relay
    for _ in range(7):
        await feed(app, api.push_text("金沙路"))
    assert len(rasa.received) == 5
    assert api.texts()[-1] == handlers.TOO_FAST


async def test_a_huge_message_is_refused_politely(relay):
    app, api, rasa = relay
    await feed(app, api.push_text("路" * 10_000))
    assert rasa.received == [] and "太长" in api.texts()[-1]


async def test_a_long_answer_is_split_at_sentence_ends(relay):
    app, api, rasa = relay
    rasa.reply = [{"recipient_id": "x", "text": "这是一句比较长的回答内容。" * 700}]
    await feed(app, api.push_text("金沙路"))
    texts = api.texts()
    assert len(texts) >= 3
    assert all(len(t) <= TELEGRAM_LIMIT for t in texts)
    assert all(t.endswith("。") for t in texts)


def test_split_message_keeps_everything():
    text = "第一句。" * 2000
    parts = split_message(text)
    assert "".join(parts) == text and all(len(p) <= TELEGRAM_LIMIT for p in parts)


async def test_unanswered_is_for_staff_only(relay):
    app, api, _ = relay
    app.bot_data["questions"].record("telegram-1", "垃圾分类怎么做", "ask_plan", 0.5, "declined", 0.3)
    await feed(app, api.push_text("/unanswered", user_id=1001))
    assert api.texts(1001)[-1] == handlers.NOT_STAFF
    await feed(app, api.push_text("/unanswered", user_id=7))
    assert "垃圾分类怎么做" in api.texts(7)[-1]


async def test_an_image_from_rasa_is_sent_as_a_photo(relay):
    app, api, rasa = relay
    rasa.reply = [{"recipient_id": "x", "text": "金沙路的位置："}, {"recipient_id": "x", "image": "https://example.org/map.png"}]
    await feed(app, api.push_text("金沙路在哪"))
    assert api.texts() == ["金沙路的位置："]
    assert api.sent("sendPhoto")[0]["photo"] == "https://example.org/map.png"
