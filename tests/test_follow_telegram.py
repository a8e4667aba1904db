"""Following on Telegram, against the Bot API stand-in with Telegram's limits: the notifier (quiet hours, limits,
403, elder voice), the relay's follow buttons and commands, and /forget_me. The real Rasa and the relay process
restarted mid-send are in test_follow_end_to_end.py."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import datetime, timezone

import pytest
from telegram import Bot

from bot.telegram import follow as tg_follow
from bot.telegram.app import build_application
from bot.telegram.notifier import Notifier, NotifierConfig
from devtools.botapi_limited import LimitedBotApiStandIn
from devtools.botapi_standin import relay_settings
from knowledge import follows, store
from knowledge.follows import Subject
from knowledge.questions import QuestionLog

ROAD = Subject("entity", "金沙路")
NOON = datetime(2026, 11, 27, 4, 0, tzinfo=timezone.utc)  # 12:00 in Shanghai
NIGHT = datetime(2026, 11, 27, 15, 0, tzinfo=timezone.utc)  # 23:00 in Shanghai


class Clock:
    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def api():
    stand_in = LimitedBotApiStandIn()
    await stand_in.start()
    yield stand_in
    await stand_in.stop()


@pytest.fixture
def paths(kb_path, tmp_path, monkeypatch):
    monkeypatch.setenv("WESTBOT_KB", str(kb_path))
    monkeypatch.setenv("WESTBOT_FOLLOWS", str(tmp_path / "follows.db"))
    monkeypatch.setenv("WESTBOT_TRACKERS", str(tmp_path / "trackers.db"))
    monkeypatch.setenv("WESTBOT_QUESTIONS", str(tmp_path / "questions.db"))
    return kb_path, tmp_path / "follows.db", tmp_path


def queue_change(kb_path, follows_path, text="金沙路提升改造工程已完工，全线通车。") -> int:
    """A staff change to a passage about 金沙路 only, told to its followers. Returns the chats told."""
    kb = store.open_for_writing(kb_path)
    db = follows.open_follows(follows_path)
    from knowledge import staff

    pid = staff.add_passage(kb, topic="roads", entities=["金沙路"], text=text, by="李明")
    told = follows.notify_change(kb, db, follows.latest_change(kb, "passages", pid))
    db.conn.close()
    kb.conn.close()
    return told


async def run_notifier(api, follows_path, kb_path, tmp_path, clock, until, rate=25.0):
    config = NotifierConfig(
        follows_path, kb_path, follows.QuietHours.parse("22:00-08:00", "Asia/Shanghai"), rate, tmp_path / "voice"
    )
    async with Bot("4242:TEST", base_url=api.base_url) as bot:
        notifier = Notifier(bot, config, clock=clock)
        task = asyncio.create_task(notifier.run())
        try:
            await api.wait_for(until, 60)
        finally:
            notifier.stop()
            await task
    return notifier


def state(follows_path, key):
    db = follows.open_follows(follows_path)
    try:
        return follows.get_state(db, key)
    finally:
        db.conn.close()


async def test_followers_get_it_within_telegrams_limits_and_elders_the_short_form_and_voice(api, paths):
    kb_path, follows_path, tmp = paths
    db = follows.open_follows(follows_path)
    for chat in range(2000, 2060):
        follows.follow(db, chat, ROAD)
    follows.follow(db, 3000, ROAD, elder=True)
    follows.follow(db, 4000, Subject("entity", "粤信路"))
    db.conn.close()
    assert queue_change(kb_path, follows_path) == 61
    await run_notifier(api, follows_path, kb_path, tmp, Clock(NOON), lambda: len(api.delivered) >= 62)
    assert api.too_many == 0  # never over 30/s overall or 1/s per chat
    assert sorted({c for _, c, _ in api.delivered}) == [*range(2000, 2060), 3000]  # not 4000
    standard = api.texts(2000)
    assert len(standard) == 1 and standard[0].startswith("您关注的「金沙路」有新消息：")
    elder_text = api.texts(3000)
    assert len(elder_text) == 1 and len(elder_text[0]) < len(standard[0]) and "来源：" in elder_text[0]
    (text_at,) = api.delivered_to(3000, "sendMessage")
    (voice_at,) = api.delivered_to(3000, "sendVoice")
    assert voice_at - text_at >= 0.95  # one a second in a chat


async def test_nothing_is_sent_in_the_quiet_hours_and_it_goes_in_the_morning(api, paths):
    kb_path, follows_path, tmp = paths
    db = follows.open_follows(follows_path)
    follows.follow(db, 2001, ROAD)
    db.conn.close()
    queue_change(kb_path, follows_path)
    clock = Clock(NIGHT)
    config = NotifierConfig(
        follows_path, kb_path, follows.QuietHours.parse("22:00-08:00", "Asia/Shanghai"), 25.0, tmp / "voice"
    )
    async with Bot("4242:TEST", base_url=api.base_url) as bot:
        notifier = Notifier(bot, config, clock=clock)
        task = asyncio.create_task(notifier.run())
        await api.wait_for(lambda: state(follows_path, "held_for_quiet_hours") is True, 30)
        assert api.texts(2001) == []
        clock.now = datetime(2026, 11, 28, 0, 0, tzinfo=timezone.utc)  # 08:00 in Shanghai
        await api.wait_for(lambda: len(api.texts(2001)) == 1, 30)
        notifier.stop()
        await task


async def test_a_resident_who_blocked_the_bot_is_unfollowed(api, paths):
    kb_path, follows_path, tmp = paths
    db = follows.open_follows(follows_path)
    follows.follow(db, 2001, ROAD)
    follows.follow(db, 2002, ROAD)
    db.conn.close()
    api.blocked.add(2002)
    queue_change(kb_path, follows_path)
    await run_notifier(
        api,
        follows_path,
        kb_path,
        tmp,
        Clock(NOON),
        lambda: len(api.texts(2001)) == 1 and any(m == "sendMessage:refused" for m, _ in api.calls),
    )
    db = follows.open_follows(follows_path)
    await api.wait_for(lambda: follows.following(db, 2002) == [], 10)
    assert follows.following(db, 2001) == [ROAD]
    assert db.execute("SELECT count(*) FROM outbox WHERE chat_id = 2002").fetchone()[0] == 0


async def test_flood_control_puts_the_message_back_and_it_is_sent_once(api, paths):
    kb_path, follows_path, tmp = paths
    db = follows.open_follows(follows_path)
    follows.follow(db, 2001, ROAD)
    db.conn.close()
    api.per_second = 0  # everything is refused with 429 at first
    queue_change(kb_path, follows_path)

    def lift():
        if api.too_many and api.per_second == 0:
            api.per_second = 30
        return len(api.texts(2001)) == 1

    await run_notifier(api, follows_path, kb_path, tmp, Clock(NOON), lift)
    assert api.too_many >= 1 and len(api.texts(2001)) == 1


# ---------------------------------------------------------------- the relay's buttons and commands


class CannedRasa:
    """What Rasa answers, for the relay's follow hooks (the real Rasa is in test_follow_end_to_end.py)."""

    def __init__(self):
        self.replies: list[list[dict]] = []
        self.heard: list[tuple[str, str]] = []

    async def send(self, sender, text):
        self.heard.append((sender, text))
        return self.replies.pop(0) if self.replies else []

    async def close(self):
        pass


@pytest.fixture
async def relay(api, paths):
    kb_path, follows_path, tmp = paths
    settings = relay_settings(api, tmp / "voice")
    rasa = CannedRasa()
    app = build_application(settings, rasa=rasa)
    async with app:
        await app.post_init(app)
        await app.start()
        await app.updater.start_polling(poll_interval=0.05, timeout=1)
        try:
            yield app, rasa, follows_path, tmp
        finally:
            await app.updater.stop()
            await app.stop()
            await app.post_stop(app)


ANSWER = [
    {
        "text": "《西区2020年工作计划》中写道：提升改造金沙路……",
        "buttons": [
            {"title": "👍 有用", "payload": "/feedback_helpful"},
            {"title": "👎 没用", "payload": "/feedback_not_helpful"},
            {"title": "关注「金沙路」的新消息", "payload": "follow:e:金沙路"},
        ],
    },
    {
        "custom": {
            "source": {"document": "西区2020年工作计划", "passage_id": 67},
            "follow_offer": {"kind": "entity", "subject": "金沙路", "label": "金沙路"},
        }
    },
]


async def test_follow_from_the_button_list_and_stop(api, relay):
    app, rasa, follows_path, _ = relay
    rasa.replies.append(ANSWER)
    api.push_text("金沙路几时修好")
    await api.wait_for(lambda: api.texts(1001))
    keyboard = api.sent("sendMessage", 1001)[0]["reply_markup"]["inline_keyboard"]
    assert any(b["callback_data"] == "follow:e:金沙路" for row in keyboard for b in row)
    api.push_button("follow:e:金沙路")
    await api.wait_for(lambda: any("已关注「金沙路」" in t for t in api.texts(1001)))
    db = follows.open_follows(follows_path)
    assert follows.following(db, 1001) == [ROAD]
    api.push_text("/following")
    await api.wait_for(lambda: any(t.startswith("您关注了这些") for t in api.texts(1001)))
    listing = [m for m in api.sent("sendMessage", 1001) if m["text"].startswith("您关注了这些")][-1]
    stop = listing["reply_markup"]["inline_keyboard"][0][0]
    assert stop["text"] == "不再关注「金沙路」" and stop["callback_data"] == "unfollow:e:金沙路"
    api.push_button(stop["callback_data"])
    await api.wait_for(lambda: any("已取消关注「金沙路」" in t for t in api.texts(1001)))
    assert follows.following(db, 1001) == []
    assert len(rasa.heard) == 1  # buttons and commands of following never needed Rasa


async def test_follow_requested_by_text_is_stored_from_the_action_and_spoken_to_elders(api, relay):
    app, rasa, follows_path, _ = relay
    rasa.replies.append(
        [
            {
                "custom": {
                    "follow_op": {
                        "op": "follow",
                        "kind": "topic",
                        "subject": "roads",
                        "label": "道路与交通建设",
                        "elder": True,
                        "voice_lang": "cmn",
                    }
                }
            }
        ]
    )
    api.push_text("关注道路建设")
    await api.wait_for(lambda: any("已关注「道路与交通建设」" in t for t in api.texts(1001)))
    await api.wait_for(lambda: api.sent("sendVoice", 1001))  # the confirmation is spoken
    db = follows.open_follows(follows_path)
    assert follows.following(db, 1001) == [Subject("topic", "roads")]
    assert db.execute("SELECT elder FROM follows WHERE chat_id = 1001").fetchone()[0] == 1


async def test_the_big_elder_button_follows_what_was_offered(api, relay):
    app, rasa, follows_path, _ = relay
    rasa.replies.append(
        [
            {
                **ANSWER[0],
                "buttons": [
                    {"title": "再说一遍", "payload": "/repeat"},
                    {"title": "关注「金沙路」的新消息", "payload": "follow:e:金沙路"},
                ],
            },
            {"custom": {**ANSWER[1]["custom"], "mode": "elder"}},
        ]
    )
    api.push_text("金沙路几时修好")
    await api.wait_for(lambda: api.texts(1001))
    keyboard = api.sent("sendMessage", 1001)[0]["reply_markup"]["keyboard"]
    assert ["关注「金沙路」的新消息"] in [[b["text"] for b in row] for row in keyboard]
    api.push_text("关注「金沙路」的新消息")  # what pressing the big button sends
    await api.wait_for(lambda: any("已关注「金沙路」" in t for t in api.texts(1001)))
    await api.wait_for(lambda: api.sent("sendVoice", 1001))
    assert len(rasa.heard) == 1


async def test_forget_me_removes_follows_queue_conversation_and_questions(api, relay):
    app, rasa, follows_path, tmp = relay
    db = follows.open_follows(follows_path)
    follows.follow(db, 1001, ROAD)
    follows.follow(db, 1002, ROAD)
    db["outbox"].insert(
        {
            "chat_id": 1001,
            "ref": "change:1",
            "seq": 0,
            "kind": "text",
            "subject": ROAD.key,
            "body": "x",
            "status": "queued",
            "queued_at": store.now(),
        }
    )
    log = QuestionLog(tmp / "questions.db")
    # Rasa knows residents by a keyed pseudonym; conversations from before the relay used them, by the raw id.
    resident, other = (f"telegram-{log.pseudonym(f'user:{n}')}" for n in (1001, 1002))
    with sqlite3.connect(tmp / "trackers.db") as trackers:
        trackers.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, sender_id TEXT, data TEXT)")
        trackers.executemany(
            "INSERT INTO events (sender_id, data) VALUES (?, '{}')",
            [(resident,)] * 3 + [("telegram-1001",)] * 2 + [(other,)],
        )
    log.record(resident, "今天会下雨吗", "out_of_scope", 0.9, "declined", 0.0)
    log.record(other, "明天呢", "out_of_scope", 0.9, "declined", 0.0)
    api.push_text("/forget_me")
    await api.wait_for(lambda: any(t.startswith("已删除") for t in api.texts(1001)))
    confirmation = [t for t in api.texts(1001) if t.startswith("已删除")][0]
    assert "关注（1项）" in confirmation and "待发的消息（1条）" in confirmation and "聊天记录（5条）" in confirmation
    assert "提问记录（1条）" in confirmation
    assert follows.following(db, 1001) == [] and follows.following(db, 1002) == [ROAD]
    with sqlite3.connect(tmp / "trackers.db") as trackers:
        assert trackers.execute("SELECT sender_id FROM events").fetchall() == [(other,)]
    with sqlite3.connect(tmp / "questions.db") as questions:
        assert questions.execute("SELECT count(*) FROM questions").fetchone()[0] == 1


def test_button_data_fits_telegrams_64_bytes():
    assert tg_follow.callback("follow", ROAD) == "follow:e:金沙路"
    assert tg_follow.callback("follow", Subject("entity", "很" * 30)) is None
    assert tg_follow.parse_callback("unfollow:t:roads") == ("unfollow", Subject("topic", "roads"))
    assert tg_follow.parse_callback("/feedback_helpful") is None
