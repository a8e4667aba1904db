"""A ten-message Telegram conversation: the real relay (long polling) against the Bot API stand-in, and the
real Rasa and action server behind it. Checked on what the resident would see."""

from __future__ import annotations

import json
import sqlite3

import pytest

from bot.telegram.app import build_application
from devtools.botapi_standin import BotApiStandIn, relay_settings
from devtools.servers import running_bot

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def rasa(built_kb, tmp_path_factory):
    with running_bot(built_kb, tmp_path_factory.mktemp("tg")) as servers:
        yield servers


def feedback_button(message: dict, kind: str) -> str:
    """The callback data of the 👍 ("helpful") or 👎 ("not_helpful") button under a sent answer."""
    [data] = [
        b["callback_data"]
        for row in message["reply_markup"]["inline_keyboard"]
        for b in row
        if b.get("callback_data", "").startswith(f"/feedback_{kind}{{")
    ]
    return data


@pytest.mark.needs("espeak-ng")
async def test_a_resident_talks_to_the_bot_on_telegram(rasa, tmp_path):
    api = BotApiStandIn()
    await api.start()
    settings = relay_settings(api, tmp_path / "voice", rasa_url=rasa.url)
    app = build_application(settings)
    sent = lambda: len(api.sent("sendMessage"))  # noqa: E731

    async def say(push, expect_messages=1):
        before = sent()
        push()
        await api.wait_for(lambda: sent() >= before + expect_messages)
        await api.wait_for(lambda: not app.update_queue.qsize(), 5)
        return [m["text"] for m in api.sent("sendMessage")[before:]], api.sent("sendMessage")[before:]

    async with app:
        await app.post_init(app)
        await app.start()
        await app.updater.start_polling(poll_interval=0.05, timeout=1)
        try:
            texts, _ = await say(lambda: api.push_text("/start"), 2)
            assert "西区居民助手" in texts[0] and texts[-1] == "请选择回答方式："

            texts, msgs = await say(lambda: api.push_text("老人家去边度食饭？"))
            assert "助餐" in texts[0] and "来源：《西区2020年工作计划》" in texts[0]
            assert msgs[0]["reply_markup"]["inline_keyboard"]  # 👍 / 👎

            meals_answer = msgs[0]
            texts, msgs = await say(lambda: api.push_text("粤信路会改造吗"))
            assert "粤信路" in texts[0]
            road_passage = json.loads("{" + feedback_button(msgs[0], "helpful").split("{", 1)[1])["passage_id"]
            texts, _ = await say(lambda: api.push_text("那个什么时候修好？"))
            assert "粤信路" in texts[0]

            # 👎 on the older answer counts for that answer and its question, once, and shows the choice.
            down = meals_answer["reply_markup"]["inline_keyboard"][0][1]["callback_data"]
            meals_passage = json.loads("{" + down.split("{", 1)[1])["passage_id"]
            texts, _ = await say(lambda: api.push_button(down, under=meals_answer))
            assert "抱歉没帮上忙" in texts[0]
            api.push_button(down, under=meals_answer)  # pressed again before the buttons changed
            await api.wait_for(lambda: len(api.sent("answerCallbackQuery")) == 2)
            await api.wait_for(lambda: not app.update_queue.qsize(), 5)
            with sqlite3.connect(rasa.env["WESTBOT_QUESTIONS"]) as db:
                rows = db.execute("SELECT passage_id, helpful, question FROM feedback").fetchall()
            assert rows == [(meals_passage, 0, "老人家去边度食饭？")]
            assert (
                api.sent("editMessageReplyMarkup")[0]["reply_markup"]["inline_keyboard"][0][0]["text"]
                == "✓ 您选了：👎 没用"
            )

            # A passage button (`/ask_plan{"passage_id":"N"}`), then 👍 on its answer: the question recorded is
            # the passage's heading, as the resident chose it, not an empty one.
            texts, msgs = await say(lambda: api.push_button(f'/ask_plan{{"passage_id":"{road_passage}"}}'))
            up = feedback_button(msgs[0], "helpful")
            texts, _ = await say(lambda: api.push_button(up, under=msgs[0]))
            assert "谢谢" in texts[0]
            with sqlite3.connect(rasa.env["WESTBOT_QUESTIONS"]) as db:
                [(question,)] = db.execute("SELECT question FROM feedback WHERE passage_id = ?", [road_passage])
            heading = question.removeprefix("按钮：")
            assert question.startswith("按钮：") and heading and heading in msgs[0]["text"]  # its source line

            texts, msgs = await say(lambda: api.push_button("/elder_mode_on"), 2)
            assert "长者模式" in texts[0]

            voices = len(api.sent("sendVoice"))
            texts, msgs = await say(lambda: api.push_text("找工作"))
            elder_answer = texts[0]
            assert all(len(line) <= 30 for line in elder_answer.split("\n"))
            assert [row[0]["text"] for row in msgs[0]["reply_markup"]["keyboard"]] == [
                "再说一遍",
                "打电话问",
                "回到开头",
                "关注「就业与招聘」的新消息",
            ]  # the last: docs/following.md
            await api.wait_for(lambda: len(api.sent("sendVoice")) > voices)

            texts, _ = await say(lambda: api.push_text("再说一遍"))
            assert texts[0] == elder_answer
            texts, _ = await say(lambda: api.push_text("打电话问"))
            assert "12345" in texts[0]

            texts, msgs = await say(lambda: api.push_text("/normal"))
            assert "普通模式" in texts[0] and msgs[-1]["reply_markup"] == {"remove_keyboard": True}

            texts, _ = await say(lambda: api.push_text("今天会下雨吗"))
            assert "没有讲到" in texts[0] and "来源" not in texts[0]
        finally:
            await app.updater.stop()
            await app.stop()
    await api.stop()
