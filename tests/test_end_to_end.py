"""The whole bot: the real action server and Rasa on free ports, spoken to through the REST channel."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from actions.elder import MAX_RATIO
from devtools.servers import ROOT, running_bot

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def bot(built_kb, tmp_path_factory):
    with running_bot(built_kb, tmp_path_factory.mktemp("e2e")) as servers:
        yield servers


def text(messages):
    return "\n".join(m.get("text") or "" for m in messages)


def source(messages):
    return next((m["custom"]["source"] for m in messages if (m.get("custom") or {}).get("source")), None)


def test_a_resident_conversation(bot):
    greeting = bot.say("e2e-1", "你好")
    assert "西区居民助手" in text(greeting) and source(greeting) is None

    meals = bot.say("e2e-1", "老人家去边度食饭？")
    assert "助餐" in text(meals)
    assert source(meals)["document"] == "西区2020年工作计划"
    assert source(meals)["heading"] == "加大扶助弱势群体力度"

    road = bot.say("e2e-1", "粤信路会改造吗")
    assert "粤信路" in text(road) and source(road)

    follow_up = bot.say("e2e-1", "那个什么时候修好？")
    assert "粤信路" in text(follow_up) and source(follow_up)

    declined = bot.say("e2e-1", "广州塔门票多少钱")
    assert source(declined) is None
    assert "12345" in text(declined)


def test_more_of_an_answer_and_a_long_question_taken_for_chitchat(bot):
    first = bot.say("e2e-more", "污染防治有什么措施")
    seen = {source(first)["passage_id"]}
    for asked in ("还有呢", "另外一条呢"):
        more = bot.say("e2e-more", asked)
        assert text(more).startswith("计划里相关的还有一条") and source(more)["passage_id"] not in seen, asked
        seen.add(source(more)["passage_id"])
    for _ in range(5):  # the rest of the related passages, then the bot says that was all
        more = bot.say("e2e-more", "还有没有别的")
        if source(more) is None:
            break
        assert source(more)["passage_id"] not in seen
        seen.add(source(more)["passage_id"])
    assert "都已经告诉您了" in text(more)
    # The NLU reads this as a question about where the answers come from; it is a question about the plan.
    long = bot.say("e2e-more", "我家老人每天都去社区活动，想问下区里今年有没有打算多建一些文化场馆？")
    assert source(long) and "文化" in text(long)


@pytest.mark.parametrize(
    "message", ["", "😀😀😀", "。。。", '"NEAR(*', "'; DROP TABLE passages; --", "路" * 10_000, "<b>金沙路</b>"]
)
def test_bad_input_gets_a_polite_reply(bot, message):
    reply = bot.say("e2e-bad", message)
    assert text(reply).strip(), message


def test_elder_mode_is_short_and_survives_a_restart(bot):
    standard = bot.say("e2e-std", "找工作")
    switched = bot.say("e2e-elder", "长者模式")
    assert "长者模式" in text(switched)
    examples = [b for m in switched for b in m.get("buttons") or []]
    assert [b["title"] for b in examples] == ["老人吃饭", "找工作", "哪条路在修"]
    # Each example gets a short answer from the plan: its payload (web, inline buttons) or its title (Telegram's
    # elder keyboard sends the label).
    for said in [b[key] for b in examples for key in ("payload", "title")]:
        answer = bot.say("e2e-elder", said)
        assert source(answer) and any((m.get("custom") or {}).get("mode") == "elder" for m in answer), said
    elder = bot.say("e2e-elder", "找工作")
    assert source(elder)
    assert len(text(elder)) < MAX_RATIO * len(text(standard))
    assert [b["title"] for m in elder for b in m.get("buttons") or []] == ["再说一遍", "打电话问", "回到开头"]

    bot.stop_rasa()
    bot.start_rasa()
    again = bot.say("e2e-elder", "找工作")
    assert text(again) == text(elder)

    assert "普通模式" in text(bot.say("e2e-elder", "普通模式"))
    assert text(bot.say("e2e-elder", "找工作")) == text(standard)


def test_a_staff_addition_is_answered_at_once(bot):
    before = bot.say("e2e-staff", "翠湾路什么时候通车")
    assert "2026年10月1日" not in text(before)
    env = {**os.environ, "WESTBOT_KB": bot.env["WESTBOT_KB"], "PYTHONPATH": str(ROOT)}
    subprocess.run(
        [
            sys.executable,
            "-m",
            "knowledge",
            "add",
            "--topic",
            "roads",
            "--entity",
            "翠湾路",
            "--text",
            "翠湾路已于2026年10月1日全线通车。",
            "--by",
            "e2e",
        ],
        check=True,
        env=env,
        cwd=ROOT,
        capture_output=True,
    )
    after = bot.say("e2e-staff", "翠湾路什么时候通车")
    assert "翠湾路已于2026年10月1日全线通车" in text(after)
    assert source(after)["document"] == "西区居民助手补充信息"


def test_feedback_is_kept_for_staff(bot):
    bot.say("e2e-feedback", "金沙路")
    thanks = bot.say("e2e-feedback", "/feedback_helpful")
    assert "谢谢" in text(thanks)
    import sqlite3

    rows = sqlite3.connect(bot.env["WESTBOT_QUESTIONS"]).execute("SELECT passage_id, helpful FROM feedback").fetchall()
    assert len(rows) == 1 and rows[0][1] == 1


def test_restarted_rasa_remembers_the_last_road(bot):
    assert "粤信路" in text(bot.say("e2e-restart", "粤信路会改造吗"))
    bot.stop_rasa()
    bot.start_rasa()
    assert "粤信路" in text(bot.say("e2e-restart", "那个什么时候修好？"))


async def test_a_dead_action_server_gets_the_maintenance_reply_and_recovers(bot):
    from bot.rasa_client import MAINTENANCE, RasaClient, RasaUnavailable

    client = RasaClient(bot.url)
    try:
        assert await client.send("e2e-fault", "金沙路")
        bot.stop_actions()
        with pytest.raises(RasaUnavailable):
            await client.send("e2e-fault", "粤信路")  # what every channel turns into MAINTENANCE
        assert MAINTENANCE.startswith("系统正在维护")
        bot.start_actions()
        answer = await client.send("e2e-fault", "粤信路")
        assert "粤信路" in text(answer)
    finally:
        await client.close()


async def residents_writing_while(bot, disrupt, at_once: int = 8) -> tuple[list[str], int]:
    """`at_once` residents writing without pause while `disrupt()` runs in a thread. Returns what each message got
    ("ok", "empty": a 200 with no message, or "error") and how many messages were waiting for Rasa when
    `disrupt()` began."""
    import httpx

    outcomes: list[str] = []
    waiting = 0
    done = asyncio.Event()
    scripts = [
        ["金沙路", "老人家去边度食饭？", "找工作"],
        ["长者模式", "再说一遍", "普通模式"],
        ["粤信路会改造吗", "好有用"],
    ]

    async def resident(client, n):
        nonlocal waiting
        for round_ in range(1000):
            for message in scripts[(n + round_) % len(scripts)]:
                if done.is_set():
                    return
                waiting += 1
                try:
                    response = await client.post(
                        f"{bot.url}/webhooks/rest/webhook", json={"sender": f"e2e-restart-{n}", "message": message}
                    )
                    outcomes.append("ok" if response.status_code == 200 and response.json() else "empty")
                except (httpx.HTTPError, ValueError):
                    outcomes.append("error")
                finally:
                    waiting -= 1

    async def disrupting():
        await asyncio.sleep(1.0)
        in_flight = waiting
        await asyncio.to_thread(disrupt)
        await asyncio.sleep(1.0)
        done.set()
        return in_flight

    async with httpx.AsyncClient(timeout=60) as client:
        *_, in_flight = await asyncio.gather(*(resident(client, n) for n in range(at_once)), disrupting())
    return outcomes, in_flight


@pytest.mark.parametrize("how", ["restart", "kill -9"])
async def test_no_answer_is_lost_while_the_action_server_restarts_or_is_killed(bot, how):
    def disrupt():
        if how == "kill -9":
            os.killpg(bot.actions.pid, signal.SIGKILL)
            bot.actions.wait()
        else:
            bot.stop_actions()  # SIGTERM, as `make run` and an upgrade stop it
        bot.start_actions()

    outcomes, in_flight = await residents_writing_while(bot, disrupt)
    assert in_flight > 0  # residents were waiting for answers when the action server went away
    assert outcomes.count("ok") > 20 and outcomes.count("ok") == len(outcomes), outcomes


def test_the_action_server_answers_a_request_it_was_reading_when_told_to_stop(bot):
    """SIGTERM: the action server (Sanic) stops listening but finishes every request it has begun to read."""
    body = json.dumps(
        {
            "next_action": "action_about",
            "sender_id": "e2e-sigterm",
            "tracker": {"sender_id": "e2e-sigterm", "slots": {}, "latest_message": {}, "events": []},
            "domain": {},
            "version": "3.6.2",
        }
    ).encode()
    with socket.create_connection(("127.0.0.1", bot.actions_port), timeout=30) as connection:
        connection.sendall(
            b"POST /webhook HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n" % len(body) + body[:20]
        )
        time.sleep(0.5)
        os.killpg(bot.actions.pid, signal.SIGTERM)
        time.sleep(0.5)
        connection.sendall(body[20:])
        reply = b""
        while chunk := connection.recv(65536):
            reply += chunk
    bot.actions.wait(timeout=30)
    bot.start_actions()
    assert reply.startswith(b"HTTP/1.1 200"), reply[:200]
    assert b"responses" in reply


def test_rasas_http_api_needs_the_token_but_the_chat_channel_does_not(bot):
    import urllib.error
    import urllib.request

    tracker = f"{bot.url}/conversations/e2e-1/tracker"
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(tracker, timeout=10)
    assert refused.value.code == 401
    with urllib.request.urlopen(f"{tracker}?token={bot.api_token}", timeout=10) as allowed:
        assert allowed.status == 200
    assert bot.say("e2e-token", "你好")  # the REST channel stays open for residents' front ends


def test_a_resident_back_after_an_hour_starts_a_new_session_and_keeps_elder_mode(bot):
    import asyncio
    import time

    from rasa.core.tracker_store import SQLTrackerStore
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import ActionExecuted, SessionStarted, SlotSet, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    domain = Domain.load(str(ROOT / "domain.yml"))
    store = SQLTrackerStore(domain, dialect="sqlite", db=str(bot.workdir / "trackers.db"))
    then = time.time() - 2 * 3600  # two hours ago this resident switched elder mode on, and asked about jobs
    earlier = [
        ActionExecuted("action_listen", timestamp=then),
        ActionExecuted("action_session_start", timestamp=then),
        SessionStarted(timestamp=then),
        ActionExecuted("action_listen", timestamp=then),
        UserUttered("长者模式", {"name": "elder_mode_on", "confidence": 1.0}, timestamp=then),
        ActionExecuted("action_switch_mode", timestamp=then),
        SlotSet("elder_mode", True, timestamp=then),
        ActionExecuted("action_listen", timestamp=then),
        UserUttered("找工作", {"name": "ask_employment", "confidence": 1.0}, timestamp=then + 1),
        ActionExecuted("action_answer_from_plan", timestamp=then + 1),
        SlotSet("last_topic", "employment", timestamp=then + 1),
        ActionExecuted("action_listen", timestamp=then + 1),
    ]
    asyncio.run(store.save(DialogueStateTracker.from_events("e2e-return", earlier, domain.slots)))

    reply = bot.say("e2e-return", "有没有招聘会")
    assert [b["title"] for m in reply for b in m.get("buttons") or []] == ["再说一遍", "打电话问", "回到开头"]
    latest = asyncio.run(store.retrieve("e2e-return"))  # what Rasa reads now: the new session only
    assert [e.text for e in latest.events if isinstance(e, UserUttered)] == ["有没有招聘会"]
    assert latest.get_slot("elder_mode") is True
