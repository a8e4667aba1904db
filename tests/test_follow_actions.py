"""The follow actions and the offer under answers, with real Rasa SDK objects."""

from __future__ import annotations

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import follow
from actions.plan import ActionAnswerFromPlan


@pytest.fixture(autouse=True)
def _actions_on_the_test_kb(action_resources):
    yield


def tracker(text, intent, sender="telegram-1001", entities=(), slots=None):
    return Tracker(
        sender_id=sender,
        slots={"elder_mode": False, "last_topic": None, "last_entity": None, "voice_lang": "cmn", **(slots or {})},
        latest_message={"text": text, "intent": {"name": intent, "confidence": 0.9}, "entities": list(entities)},
        events=[],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


async def run(action, t):
    dispatcher = CollectingDispatcher()
    await action.run(dispatcher, t, {})
    return dispatcher.messages


async def test_a_telegram_answer_offers_to_follow_its_road():
    messages = await run(ActionAnswerFromPlan(), tracker("金沙路几时修好", "ask_roads"))
    answer = messages[0]
    assert {"title": "关注「金沙路」的新消息", "payload": "follow:e:金沙路"} in answer["buttons"]
    assert answer["custom"]["follow_offer"] == {"kind": "entity", "subject": "金沙路", "label": "金沙路"}


async def test_a_topic_answer_offers_the_topic_and_elders_get_a_big_button():
    messages = await run(ActionAnswerFromPlan(), tracker("找工作", "ask_employment", slots={"elder_mode": True}))
    titles = [b["title"] for b in messages[0]["buttons"]]
    assert titles == ["再说一遍", "打电话问", "回到开头", "关注「就业与招聘」的新消息"]


async def test_the_web_page_offers_nothing_it_could_not_keep():
    messages = await run(ActionAnswerFromPlan(), tracker("金沙路几时修好", "ask_roads", sender="web-abc"))
    assert not any(b["payload"].startswith("follow:") for b in messages[0]["buttons"])
    assert "follow_offer" not in messages[0]["custom"]
    said = await run(follow.ActionFollow(), tracker("关注金沙路", "follow", sender="web-abc"))
    assert said[0]["text"] == follow.ONLY_TELEGRAM


@pytest.mark.parametrize(
    "text,entities,slots,expected",
    [
        ("关注金沙路", [{"entity": "road", "value": "金沙路"}], {}, ("entity", "金沙路")),
        ("关注一下粤信路", [], {}, ("entity", "粤信路")),  # found by the knowledge base, without the NLU
        ("关注道路与交通建设", [], {}, ("topic", "roads")),
        ("有新的招聘消息就提醒我", [], {}, ("topic", "employment")),
        ("关注这个", [], {"last_entity": "翠湾路"}, ("entity", "翠湾路")),
        ("帮我关注", [], {"last_topic": "elderly"}, ("topic", "elderly")),
        ("关注", [], {}, None),
    ],
)
def test_what_the_resident_asks_to_follow(text, entities, slots, expected):
    assert follow.find_subject(tracker(text, "follow", entities=entities, slots=slots)) == expected


async def test_follow_and_unfollow_are_handed_to_the_relay_with_the_form():
    said = await run(follow.ActionFollow(), tracker("关注金沙路", "follow", slots={"elder_mode": True}))
    assert said[0]["custom"]["follow_op"] == {
        "op": "follow",
        "kind": "entity",
        "subject": "金沙路",
        "label": "金沙路",
        "elder": True,
        "voice_lang": "cmn",
    }
    said = await run(follow.ActionFollow(), tracker("取消关注金沙路", "unfollow"))
    assert said[0]["custom"]["follow_op"]["op"] == "unfollow"
    said = await run(follow.ActionFollow(), tracker("关注", "follow"))
    assert said[0]["text"] == follow.WHAT_TO_FOLLOW
    assert (await run(follow.ActionListFollowing(), tracker("我关注了什么", "following")))[0]["custom"] == {
        "following": True
    }
    assert (await run(follow.ActionForgetMe(), tracker("删除我的信息", "forget_me")))[0]["custom"] == {
        "forget_me": True
    }
