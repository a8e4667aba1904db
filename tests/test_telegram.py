"""The Telegram relay, offline: the real python-telegram-bot Application against a Bot API stand-in on 127.0.0.1.

Rasa is replaced by a scripted client here; tests/test_telegram_conversation.py runs the real one.
"""

from __future__ import annotations

import asyncio
import re
import subprocess

import pytest
from telegram import Update

from bot.rasa_client import MAINTENANCE, RasaUnavailable
from bot.ratelimit import RateLimiter, Verdict
from bot.telegram import handlers
from bot.telegram.app import COMMANDS, build_application
from bot.telegram.render import TELEGRAM_LIMIT, split_message
from bot.voice import duration_seconds, synthesize
from devtools.botapi_standin import BotApiStandIn, relay_settings

ANSWER = [
    {
        "recipient_id": "x",
        "text": "《西区2020年工作计划》中写道：\n加强长者助餐配餐服务。\n来源：《西区2020年工作计划》五、…",
        "buttons": [
            {"title": "👍 有用", "payload": "/feedback_helpful"},
            {"title": "👎 没用", "payload": "/feedback_not_helpful"},
        ],
    },
    {"recipient_id": "x", "custom": {"source": {"document": "西区2020年工作计划", "passage_id": 11}, "kind": "answer"}},
]
ELDER_ANSWER = [
    {
        "recipient_id": "x",
        "text": "加强长者助餐配餐服务。\n想问清楚，请打12345。\n来源：2020年工作计划",
        "buttons": [
            {"title": "再说一遍", "payload": "/repeat"},
            {"title": "打电话问", "payload": "/ask_contact"},
            {"title": "回到开头", "payload": "/what_can_you_do"},
        ],
    },
    {
        "recipient_id": "x",
        "custom": {
            "source": {"document": "西区2020年工作计划"},
            "mode": "elder",
            "voice": {"text": "加强长者助餐配餐服务。", "lang": "cmn"},
        },
    },
]


def answer_from(passage_id: int, text: str) -> list[dict]:
    return [{**ANSWER[0], "text": text}, {"recipient_id": "x", "custom": {"source": {"passage_id": passage_id}}}]


def sender(app, user_id: int) -> str:
    """The sender id the relay gives Rasa for a Telegram user: a keyed pseudonym, never the id itself."""
    return "telegram-" + app.bot_data["questions"].pseudonym(f"user:{user_id}")


class ScriptedRasa:
    """Answers like Rasa's REST channel would, from a script; `down` makes it fail like a dead server.
    A sender in `held` waits until its event is set, like a resident whose answer takes long."""

    def __init__(self):
        self.received: list[tuple[str, str]] = []
        self.reply = ANSWER
        self.down = False
        self.held: dict[str, asyncio.Event] = {}

    async def send(self, sender, text):
        self.received.append((sender, text))
        await asyncio.sleep(0)  # a real request lets other tasks run
        if sender in self.held:
            await self.held[sender].wait()
        if self.down:
            raise RasaUnavailable("connection refused")
        return [
            {**m, "text": m["text"] + "：" + text} if m.get("text") and text.startswith("问") else m for m in self.reply
        ]

    async def close(self):
        pass


@pytest.fixture
async def relay(tmp_path, monkeypatch):
    api = BotApiStandIn()
    await api.start()
    monkeypatch.setenv("WESTBOT_QUESTIONS", str(tmp_path / "questions.db"))
    settings = relay_settings(
        api, tmp_path / "voice", telegram_staff_ids=frozenset({7}), rate_limit_messages=5, rate_limit_seconds=60
    )
    rasa = ScriptedRasa()
    app = build_application(settings, rasa=rasa)
    async with app:
        await app.post_init(app)
        yield app, api, rasa
    await api.stop()


async def feed(app, update: dict):
    """Hand one update to the relay the way its update fetcher does: through the ordering processor."""
    update = Update.de_json(update, app.bot)
    await app.update_processor.process_update(update, app.process_update(update))


@pytest.fixture
def fast_retries(monkeypatch):
    monkeypatch.setattr(handlers, "RETRY_DELAY", 0.01)


async def test_commands_are_listed_in_chinese(relay):
    app, api, _ = relay
    [call] = api.sent("setMyCommands")
    assert [c["command"] for c in call["commands"]] == [c.command for c in COMMANDS]
    assert all("\u4e00" <= c["description"][0] <= "\u9fff" for c in call["commands"])


async def test_a_question_is_relayed_with_inline_buttons_and_no_typing_when_quick(relay):
    app, api, rasa = relay
    await feed(app, api.push_text("老人家去边度食饭"))
    assert rasa.received == [(sender(app, 1001), "老人家去边度食饭")]
    assert "1001" not in rasa.received[0][0] and sender(app, 1001) != sender(app, 1002)  # keyed, per resident
    assert api.sent("sendChatAction") == []  # answered within TYPING_AFTER: no "typing…" call
    [message] = api.sent("sendMessage")
    assert "长者助餐配餐" in message["text"] and "来源" in message["text"]
    buttons = message["reply_markup"]["inline_keyboard"][0]
    assert [b["callback_data"] for b in buttons] == [
        '/feedback_helpful{"passage_id":11}',
        '/feedback_not_helpful{"passage_id":11}',
    ]


async def test_a_button_press_is_answered_and_relayed(relay):
    app, api, rasa = relay
    await feed(app, api.push_button("/elder_mode_on"))
    assert api.sent("answerCallbackQuery")
    assert rasa.received[-1] == (sender(app, 1001), "/elder_mode_on")


async def test_feedback_counts_for_the_answer_it_was_pressed_on_once(relay):
    app, api, rasa = relay
    rasa.reply = answer_from(11, "第一条回答")
    await feed(app, api.push_text("老人吃饭"))
    rasa.reply = answer_from(22, "第二条回答")
    await feed(app, api.push_text("找工作"))
    older, newer = api.sent("sendMessage")
    assert [b["callback_data"] for b in older["reply_markup"]["inline_keyboard"][0]] == [
        '/feedback_helpful{"passage_id":11}',
        '/feedback_not_helpful{"passage_id":11}',
    ]
    assert all(len(b["callback_data"].encode()) <= 64 for b in newer["reply_markup"]["inline_keyboard"][0])

    press = api.push_button('/feedback_not_helpful{"passage_id":11}', under=older)
    await feed(app, press)
    await feed(app, api.push_button('/feedback_not_helpful{"passage_id":11}', under=older))  # a double tap
    assert [t for _, t in rasa.received if "feedback" in t] == ['/feedback_not_helpful{"passage_id":11}']
    assert [a.get("text") for a in api.sent("answerCallbackQuery")] == [handlers.THANKS, handlers.THANKS]
    [edit] = api.sent("editMessageReplyMarkup")
    assert int(edit["message_id"]) == older["message_id"]
    [[chosen]] = edit["reply_markup"]["inline_keyboard"]
    assert chosen["text"] == "✓ 您选了：👎 没用"
    await feed(app, api.push_button(chosen["callback_data"], under=older))  # pressing the choice counts nothing
    assert len([t for _, t in rasa.received if "feedback" in t]) == 1


async def test_feedback_while_rasa_is_down_is_not_shown_as_counted_and_can_be_pressed_again(relay):
    app, api, rasa = relay
    rasa.reply = answer_from(11, "第一条回答")
    await feed(app, api.push_text("老人吃饭"))
    [answer] = api.sent("sendMessage")
    helpful = answer["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    rasa.down = True
    await feed(app, api.push_button(helpful, under=answer))
    assert [a.get("text") for a in api.sent("answerCallbackQuery")] == [handlers.FEEDBACK_NOT_RECORDED_SHORT]
    assert api.texts()[-1] == handlers.FEEDBACK_NOT_RECORDED
    assert api.sent("editMessageReplyMarkup") == []  # the 👍/👎 stay, to press again

    rasa.down = False
    await feed(app, api.push_button(helpful, under=answer))
    assert [t for _, t in rasa.received if "feedback" in t] == [helpful, helpful]  # the first found Rasa down
    assert api.sent("answerCallbackQuery")[-1].get("text") == handlers.THANKS
    [edit] = api.sent("editMessageReplyMarkup")
    assert edit["reply_markup"]["inline_keyboard"][0][0]["text"] == "✓ 您选了：👍 有用"


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
    assert int(voice["duration"]) >= 1
    actions = [a["action"] for a in api.sent("sendChatAction")]
    assert "record_voice" in actions and "upload_voice" in actions

    await feed(app, api.push_text("再说一遍"))  # the same answer again: Telegram's file_id, no second upload
    first, again = api.sent("sendVoice")
    assert again["voice"] == f"voice-{first['message_id']}" and int(again["duration"]) == int(first["duration"])


def test_voice_duration_is_read_from_the_clip(tmp_path):
    clip = synthesize("加强长者助餐配餐服务，保障老年人基本生活。", tmp_path)
    info = subprocess.run(["opusinfo", str(clip)], capture_output=True, text=True, check=True).stdout
    minutes, seconds = re.search(r"Playback length: (\d+)m:([\d.]+)s", info).groups()
    assert duration_seconds(clip) == max(1, round(int(minutes) * 60 + float(seconds)))


@pytest.mark.parametrize(
    "command,payload",
    [
        ("/start", "/greet"),
        ("/help", "/what_can_you_do"),
        ("/elder", "/elder_mode_on"),
        ("/normal", "/elder_mode_off"),
        ("/about", "/about"),
    ],
)
async def test_commands_become_intents(relay, command, payload):
    app, api, rasa = relay
    await feed(app, api.push_text(command))
    assert rasa.received[-1][1] == payload
    if command == "/start":
        choice = api.sent("sendMessage")[-1]
        assert [b["callback_data"] for b in choice["reply_markup"]["inline_keyboard"][0]] == [
            "/elder_mode_on",
            "/elder_mode_off",
        ]


@pytest.mark.parametrize(
    "fields",
    [
        {
            "sticker": {
                "file_id": "s",
                "file_unique_id": "s1",
                "width": 512,
                "height": 512,
                "is_animated": False,
                "is_video": False,
                "type": "regular",
            }
        },
        {"photo": [{"file_id": "p", "file_unique_id": "p1", "width": 90, "height": 90}]},
        {"location": {"latitude": 22.52, "longitude": 113.36}},
        {"voice": {"file_id": "v", "file_unique_id": "v1", "duration": 3}},
    ],
)
async def test_non_text_gets_a_kind_reply(relay, fields):
    app, api, rasa = relay
    await feed(app, api.push_message(fields))
    assert api.texts() == [handlers.ONLY_TEXT]
    assert rasa.received == []


async def test_a_photo_with_a_question_beside_it(relay):
    app, api, rasa = relay
    await feed(
        app,
        api.push_message(
            {
                "photo": [{"file_id": "p", "file_unique_id": "p1", "width": 90, "height": 90}],
                "caption": "老人在哪里吃饭",
            }
        ),
    )
    assert rasa.received == [(sender(app, 1001), "老人在哪里吃饭")]
    answer, note = api.texts()
    assert "长者助餐" in answer and note == handlers.PHOTO_NOTE


async def test_edited_messages_and_group_chatter_are_ignored_on_purpose(relay):
    app, api, rasa = relay
    await feed(app, api.push_message({"text": "改过的问题"}, edited=True))
    await feed(app, api.push_text("大家好", chat_type="group", chat_id=-500))
    assert rasa.received == [] and api.sent("sendMessage") == []
    await feed(app, api.push_text("/help", chat_type="group", chat_id=-500))
    assert rasa.received and api.sent("sendMessage", chat_id=-500)


@pytest.mark.parametrize(
    "command,answered",
    [
        ("/start@OtherBot", False),
        ("/help@some_other_bot", False),
        ("/help@xiqu_helper_bot", True),
        ("/help", True),
        ("/weather@OtherBot", False),
    ],
)
async def test_in_groups_only_commands_for_this_bot_are_answered(relay, command, answered):
    app, api, rasa = relay
    await feed(app, api.push_text(command, chat_type="supergroup", chat_id=-500))
    assert bool(rasa.received) == answered and bool(api.sent("sendMessage", chat_id=-500)) == answered


async def test_staff_commands_work_only_in_private_chats(relay):
    app, api, _ = relay
    app.bot_data["questions"].record("telegram-1", "垃圾分类怎么做", "ask_plan", 0.5, "declined", 0.3)
    for command in ("/unanswered", "/unanswered@xiqu_helper_bot"):
        await feed(app, api.push_text(command, user_id=7, chat_type="group", chat_id=-500))
    assert api.texts(-500) == [handlers.STAFF_PRIVATE_ONLY] * 2  # said so, and no resident's question shown
    await feed(app, api.push_text("/unanswered@OtherBot", user_id=7, chat_type="group", chat_id=-500))
    assert len(api.texts(-500)) == 2
    await feed(app, api.push_text("/unanswered", user_id=7))
    assert "垃圾分类怎么做" in api.texts(7)[-1]


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


async def test_a_refused_message_is_not_retried_and_the_resident_gets_an_apology(relay, fast_retries):
    app, api, _ = relay
    api.fail_next = [(400, "Bad Request: message is too long")]  # BadRequest is a NetworkError: still no retry
    await feed(app, api.push_text("金沙路"))
    attempts = api.texts()
    assert len(attempts) == 2 and attempts[1] == handlers.APOLOGY


async def test_network_errors_are_retried_then_apologised_for(relay, fast_retries):
    app, api, _ = relay
    api.fail_next = [(502, "Bad Gateway")]
    await feed(app, api.push_text("金沙路"))
    assert len(api.texts()) == 2 and "长者助餐" in api.texts()[-1]  # one retry, delivered

    api.fail_next = [(502, "Bad Gateway")] * handlers.SEND_ATTEMPTS
    await feed(app, api.push_text("金沙路"))
    assert len(api.texts()) == 2 + handlers.SEND_ATTEMPTS + 1 and api.texts()[-1] == handlers.APOLOGY


async def test_no_apology_to_a_resident_who_blocked_the_bot(relay, fast_retries):
    app, api, _ = relay
    api.fail_next = [(403, "Forbidden: bot was blocked by the user")]
    await feed(app, api.push_text("金沙路"))
    assert len(api.texts()) == 1


async def test_one_sender_cannot_flood_with_any_kind_of_message_and_is_told_once(relay):
    app, api, rasa = relay
    sticker = {
        "sticker": {
            "file_id": "s",
            "file_unique_id": "s1",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "type": "regular",
        }
    }
    for _ in range(3):
        await feed(app, api.push_text("金沙路"))
    for _ in range(6):
        await feed(app, api.push_message(sticker))
    await feed(app, api.push_text("金沙路"))
    await feed(app, api.push_button("/elder_mode_on"))
    assert len(rasa.received) == 3
    assert api.texts().count(handlers.ONLY_TEXT) == 2  # the limit of 5 reached by stickers
    assert api.texts().count(handlers.TOO_FAST) == 1  # one notice for the whole burst
    assert api.sent("answerCallbackQuery")[-1].get("text") is None


def test_a_burst_is_told_once_and_a_new_burst_again():
    now = [0.0]
    limiter = RateLimiter(2, 10, clock=lambda: now[0])
    assert [limiter.admit("a") for _ in range(4)] == [
        Verdict.ALLOW,
        Verdict.ALLOW,
        Verdict.REFUSE_AND_TELL,
        Verdict.REFUSE_QUIETLY,
    ]
    now[0] = 11
    assert [limiter.admit("a") for _ in range(3)] == [Verdict.ALLOW, Verdict.ALLOW, Verdict.REFUSE_AND_TELL]


async def test_typing_shows_once_rasa_is_slow_and_is_renewed_while_it_works(relay, monkeypatch):
    app, api, rasa = relay
    monkeypatch.setattr(handlers, "CHAT_ACTION_EVERY", 0.05)
    monkeypatch.setattr(handlers, "TYPING_AFTER", 0.1)
    rasa.held[sender(app, 1001)] = asyncio.Event()
    task = asyncio.create_task(feed(app, api.push_text("金沙路")))
    await api.wait_for(lambda: len(api.sent("sendChatAction")) >= 3, 10)
    assert {a["action"] for a in api.sent("sendChatAction")} == {"typing"}
    rasa.held[sender(app, 1001)].set()
    await task
    count = len(api.sent("sendChatAction"))
    await asyncio.sleep(0.2)
    assert len(api.sent("sendChatAction")) == count  # and it stops with the answer


async def test_a_slow_answer_holds_no_other_resident_and_keeps_its_own_order(relay):
    """The real update fetcher (long polling on the stand-in): one resident waits on Rasa, others are answered
    meanwhile; that resident's second question is answered after the first."""
    app, api, rasa = relay
    rasa.held[sender(app, 2001)] = asyncio.Event()
    await app.start()
    await app.updater.start_polling(poll_interval=0.01, timeout=1)
    try:
        api.push_text("问一", user_id=2001)
        api.push_text("问二", user_id=2001)
        for user in range(3001, 3011):
            api.push_text("问", user_id=user)
        await api.wait_for(lambda: all(api.texts(u) for u in range(3001, 3011)), 20)
        assert api.texts(2001) == [] and rasa.received.count((sender(app, 2001), "问二")) == 0
        rasa.held[sender(app, 2001)].set()
        await api.wait_for(lambda: len(api.texts(2001)) == 2, 20)
        assert [t.rsplit("：", 1)[-1] for t in api.texts(2001)] == ["问一", "问二"]
    finally:
        rasa.held[sender(app, 2001)].set()  # so stopping never waits on a held answer
        await app.updater.stop()
        await app.stop()


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
    rasa.reply = [
        {"recipient_id": "x", "text": "金沙路的位置："},
        {"recipient_id": "x", "image": "https://example.org/map.png"},
    ]
    await feed(app, api.push_text("金沙路在哪"))
    assert api.texts() == ["金沙路的位置："]
    assert api.sent("sendPhoto")[0]["photo"] == "https://example.org/map.png"
