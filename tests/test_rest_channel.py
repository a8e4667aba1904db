"""Rasa's REST channel as residents reach it (bot/rest_channel.py): /commands typed are text, buttons still work."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from actions.replies import alternative_buttons
from bot.rest_channel import BUTTON_PAYLOADS, as_resident_text
from bot.telegram.handlers import FEEDBACK_DONE
from knowledge.text import normalize_question

ROOT = Path(__file__).resolve().parent.parent


def test_every_payload_our_buttons_and_commands_send_is_allowed():
    sources = [*ROOT.glob("actions/*.py"), ROOT / "bot" / "telegram" / "handlers.py"]  # buttons, commands
    sent = {m for path in sources for m in re.findall(r'"(/[a-z_]+)"', path.read_text(encoding="utf-8"))}
    sent -= {FEEDBACK_DONE}  # the relay answers this callback itself; it never reaches Rasa
    assert sent and sent <= BUTTON_PAYLOADS, sent - BUTTON_PAYLOADS
    assert "/restart" not in BUTTON_PAYLOADS and "/session_start" not in BUTTON_PAYLOADS


@pytest.mark.parametrize(
    "typed",
    [
        "/restart",
        "/session_start",
        "/back",
        '/ask_roads{"road": "金沙路"}',
        '/repeat{"x": 1}',
        "/feedback_helpful/",
        "  /restart",
        "//restart",
        '/ask_plan{"passage_id":"1","road":"金沙路"}',
        '/ask_plan{"passage_id":"x"}',
    ],
)
def test_command_syntax_typed_by_a_resident_is_not_a_command(typed):
    text = as_resident_text(typed, 2000)
    assert not text.strip().startswith("/")
    assert not normalize_question(text).startswith("/")  # nor after NFKC folds ／ back to /


@pytest.mark.parametrize("payload", sorted(BUTTON_PAYLOADS))
def test_our_payloads_pass_unchanged(payload):
    assert as_resident_text(payload, 2000) == payload


def test_the_buttons_of_a_fairly_sure_reply_pass_unchanged():
    passages = [{"id": 67, "heading": "完善道路设施建设", "text": "…"}, {"id": 123456, "heading": "", "text": "某条"}]
    for button in alternative_buttons(passages):
        assert as_resident_text(button["payload"], 2000) == button["payload"]


def test_feedback_bound_to_an_answer_passes_unchanged():
    from bot.telegram.render import button_payload

    for feedback in ("/feedback_helpful", "/feedback_not_helpful"):
        payload = button_payload(feedback, 67)
        assert payload == feedback + '{"passage_id":67}'
        assert as_resident_text(payload, 2000) == payload
    assert as_resident_text('/feedback_helpful{"passage_id":67,"x":1}', 2000).startswith("／")


def test_lone_surrogates_are_dropped_and_length_is_capped():
    assert as_resident_text("\ud800金沙路\udfff", 2000) == "金沙路"
    assert as_resident_text("路" * 5000, 2000) == "路" * 400 + "…" + "路" * 1599
    assert as_resident_text("我" * 5000 + "金沙路会改造吗", 2000).endswith("金沙路会改造吗")
    assert as_resident_text("a/b 金沙路", 2000) == "a/b 金沙路"  # a slash inside text is just text
