"""Following end to end: the real relay against the Bot API stand-in with Telegram's limits, the real Rasa and
action server, the kb CLI for staff; and the relay process stopped in the middle of sending (gracefully and
killed), then started again: nothing lost, nothing doubled."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.telegram.app import build_application
from devtools.botapi_limited import LimitedBotApiStandIn
from devtools.botapi_standin import relay_settings
from devtools.servers import ROOT, running_bot
from knowledge import follows, staff, store
from knowledge.cli import cli
from knowledge.follows import Subject

pytestmark = pytest.mark.slow
ROAD = Subject("entity", "金沙路")


@pytest.fixture(scope="module")
def rasa(built_kb, tmp_path_factory):
    with running_bot(built_kb, tmp_path_factory.mktemp("follow")) as servers:
        yield servers


def kb_cli(*args, input=None):
    return CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)


async def test_residents_follow_on_telegram_and_are_told_of_a_staff_edit(rasa, tmp_path, monkeypatch):
    kb_path = rasa.workdir / "knowledge.db"
    follows_path = tmp_path / "follows.db"
    for name, value in {
        "WESTBOT_KB": kb_path,
        "WESTBOT_FOLLOWS": follows_path,
        "WESTBOT_QUIET_HOURS": "",
        "WESTBOT_TRACKERS": rasa.workdir / "trackers.db",
        "WESTBOT_QUESTIONS": rasa.workdir / "questions.db",
    }.items():
        monkeypatch.setenv(name, str(value))
    api = LimitedBotApiStandIn()
    await api.start()
    settings = relay_settings(api, tmp_path / "voice", rasa_url=rasa.url)
    app = build_application(settings)
    texts = lambda chat: [m["text"] for m in api.sent("sendMessage", chat)]  # noqa: E731

    async def said(chat, predicate):
        await api.wait_for(lambda: any(predicate(t) for t in texts(chat)), 60)
        return [t for t in texts(chat) if predicate(t)][-1]

    async with app:
        await app.post_init(app)
        await app.start()
        await app.updater.start_polling(poll_interval=0.05, timeout=1)
        try:
            # 1001 follows from the button under an answer
            api.push_text("金沙路什么时候修好", user_id=1001)
            await said(1001, lambda t: "金沙路" in t and "来源" in t)
            answer = [m for m in api.sent("sendMessage", 1001) if "来源" in m["text"]][-1]
            buttons = [b for row in answer["reply_markup"]["inline_keyboard"] for b in row]
            follow_button = next(b for b in buttons if b["text"] == "关注「金沙路」的新消息")
            api.push_button(follow_button["callback_data"], user_id=1001)
            await said(1001, lambda t: t.startswith("好的，已关注「金沙路」"))

            # 1002 follows another road by typing it
            api.push_text("关注粤信路", user_id=1002)
            await said(1002, lambda t: t.startswith("好的，已关注「粤信路」"))

            # 1003, in elder mode, follows with the big button and hears the confirmation
            api.push_text("/elder", user_id=1003)
            await said(1003, lambda t: "长者模式" in t)
            api.push_text("金沙路什么时候修好", user_id=1003)
            await said(1003, lambda t: "金沙路" in t and "来源" in t)
            elder_answer = [m for m in api.sent("sendMessage", 1003) if "来源" in m["text"]][-1]
            big = [row[0]["text"] for row in elder_answer["reply_markup"]["keyboard"]]
            assert "关注「金沙路」的新消息" in big
            voices = len(api.sent("sendVoice", 1003))
            api.push_text("关注「金沙路」的新消息", user_id=1003)
            await said(1003, lambda t: t.startswith("好的，已关注「金沙路」"))
            await api.wait_for(lambda: len(api.sent("sendVoice", 1003)) > voices, 60)

            # the list, from words
            api.push_text("我关注了什么", user_id=1002)
            listing = await said(1002, lambda t: t.startswith("您关注了这些"))
            assert "粤信路" in listing

            # staff add news about 金沙路: its followers are told, in their form; 粤信路's follower is not
            result = kb_cli(
                "add",
                "--topic",
                "roads",
                "--entity",
                "金沙路",
                "--text",
                "金沙路提升改造工程已于2026年11月完工，全线通车。",
                "--plain",
                "金沙路已经修好通车了。",
                "--by",
                "李明",
            )
            assert "2 followers will be told" in result.output, result.output
            news = await said(1001, lambda t: t.startswith("您关注的「金沙路」有新消息"))
            assert "全线通车" in news and "来源：《西区居民助手补充信息》" in news
            short = await said(1003, lambda t: t.startswith("「金沙路」有新消息"))
            assert "金沙路已经修好通车了" in short and len(short) < len(news)
            await api.wait_for(lambda: len(api.sent("sendVoice", 1003)) > voices + 1, 60)
            assert not any("金沙路" in t and "新消息" in t for t in texts(1002))

            # an announcement, after the preview and a yes
            result = kb_cli(
                "announce", "--entity", "金沙路", "--text", "本周六金沙路部分路段停电。", "--by", "李明", input="y\n"
            )
            assert "recipients: 2" in result.output and "queued for 2 followers" in result.output
            await said(1001, lambda t: "本周六金沙路部分路段停电" in t)
            await said(1003, lambda t: "本周六金沙路部分路段停电" in t)

            # Rasa knew them only by pseudonyms: no Telegram id in the tracker store, yet they were told above
            stored = b"".join(
                (rasa.workdir / n).read_bytes()
                for n in ("trackers.db", "trackers.db-wal")
                if (rasa.workdir / n).exists()
            )
            for user in (1001, 1002, 1003):
                assert f"telegram-{user}".encode() not in stored and f"user:{user}".encode() not in stored
            with sqlite3.connect(rasa.workdir / "trackers.db") as trackers:
                senders = {s for (s,) in trackers.execute("SELECT DISTINCT sender_id FROM events")}
            residents = {s for s in senders if s.startswith("telegram-")}
            assert len(residents) == 3 and all(re.fullmatch(r"telegram-[0-9a-f]{16}", s) for s in residents)

            # 1001 asks to be forgotten, in words
            api.push_text("删除我的信息", user_id=1001)
            await said(1001, lambda t: t.startswith("已删除"))
            pseudonym = lambda user: "telegram-" + app.bot_data["questions"].pseudonym(f"user:{user}")  # noqa: E731
            with sqlite3.connect(rasa.workdir / "trackers.db") as trackers:
                count = "SELECT count(*) FROM events WHERE sender_id = ?"
                assert trackers.execute(count, [pseudonym(1001)]).fetchone()[0] == 0
                assert trackers.execute(count, [pseudonym(1003)]).fetchone()[0] > 0
            db = follows.open_follows(follows_path)
            assert follows.following(db, 1001) == [] and follows.following(db, 1003) == [ROAD]
        finally:
            await app.updater.stop()
            await app.stop()
            await app.post_stop(app)
    await api.stop()


# ---------------------------------------------------------------- the relay restarted mid-send


def start_relay(api, kb_path, follows_path, log: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "TELEGRAM_TOKEN": "4242:TEST",
        "TELEGRAM_BASE_URL": api.base_url,
        "RASA_URL": "http://127.0.0.1:9",
        "WESTBOT_KB": str(kb_path),
        "WESTBOT_FOLLOWS": str(follows_path),
        "WESTBOT_QUIET_HOURS": "",
        "WESTBOT_FOLLOW_SEND_RATE": "25",
        "WESTBOT_QUESTIONS": str(log.parent / "q.db"),
        "WESTBOT_TRACKERS": str(log.parent / "t.db"),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "bot.telegram"],
        cwd=ROOT,
        env=env,
        stdout=open(log, "ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


async def wait_exit(process: subprocess.Popen) -> None:
    for _ in range(600):
        if process.poll() is not None:
            return
        await asyncio.sleep(0.05)
    raise TimeoutError("the relay did not stop")


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL])
async def test_a_relay_restart_in_the_middle_of_sending_loses_and_doubles_nothing(kb_path, tmp_path, how):
    follows_path = tmp_path / "follows.db"
    db = follows.open_follows(follows_path)
    chats = list(range(5000, 5150))
    for chat in chats:
        follows.follow(db, chat, ROAD)
    kb = store.open_for_writing(kb_path)
    pid = staff.add_passage(kb, topic="roads", entities=["金沙路"], text="金沙路今晚起封闭施工。", by="李明")
    assert follows.notify_change(kb, db, follows.latest_change(kb, "passages", pid)) == len(chats)
    api = LimitedBotApiStandIn()
    await api.start()
    news = lambda: [c for _, c, m in api.delivered if m == "sendMessage" and c >= 5000]  # noqa: E731
    relay = start_relay(api, kb_path, follows_path, tmp_path / "relay.log")
    try:
        await api.wait_for(lambda: len(news()) >= 40, 120)
        os.killpg(relay.pid, how)
        await wait_exit(relay)
        stopped_at = len(news())
        assert stopped_at < len(chats)  # it really was in the middle
        uncertain = follows.counts(db).get("sending", 0)
        relay = start_relay(api, kb_path, follows_path, tmp_path / "relay.log")
        await api.wait_for(
            lambda: follows.counts(db).get("queued", 0) == 0 and follows.counts(db).get("sending", 0) == 0, 120
        )
        received = news()
        assert len(received) == len(set(received))  # nothing doubled
        counts = follows.counts(db)
        if how == signal.SIGTERM:
            assert uncertain == 0 and counts == {"sent": len(chats)}  # nothing lost
            assert sorted(received) == chats
        else:
            # killed: a message caught between "sending" and "sent" is not sent again (at most once)
            assert counts.get("uncertain", 0) == uncertain <= 8
            assert counts["sent"] + counts.get("uncertain", 0) == len(chats)
            assert set(chats) - set(received) <= {
                r[0] for r in db.execute("SELECT chat_id FROM outbox WHERE status = 'uncertain'").fetchall()
            }
    finally:
        if relay.poll() is None:
            os.killpg(relay.pid, signal.SIGTERM)
            await wait_exit(relay)
        await api.stop()
