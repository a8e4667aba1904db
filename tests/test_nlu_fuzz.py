"""Fuzzed resident messages through the trained NLU pipeline: every one gets an intent; none raises or hangs."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import HealthCheck, given, settings

from devtools.servers import MODEL
from tests.test_faults import RESIDENT_TEXT

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def parse(built_kb):
    """Rasa's own parse of a message with our trained model, the knowledge features read from `built_kb`."""
    assert MODEL.exists(), "no trained model: run `make train` (make test does)"
    from rasa.core.agent import load_agent

    from nlu.components.knowledge_featurizer import _knowledge_base

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("WESTBOT_KB", str(built_kb))
        _knowledge_base.cache_clear()
        loop = asyncio.new_event_loop()
        agent = loop.run_until_complete(load_agent(model_path=str(MODEL)))
        yield lambda text: loop.run_until_complete(agent.parse_message(text))
        loop.close()
        _knowledge_base.cache_clear()


@settings(max_examples=300, deadline=2000, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=RESIDENT_TEXT)
def test_fuzzed_messages_get_an_intent(parse, text):
    parsed = parse(text)
    assert parsed["intent"]["name"]
    assert 0.0 <= parsed["intent"]["confidence"] <= 1.0
    for entity in parsed.get("entities") or []:
        assert 0 <= entity["start"] < entity["end"] <= len(parsed["text"])


@pytest.mark.parametrize("text", ["", " ", "😀😀😀", "<b>粤信路</b>", "金沙路" * 400, "NEAR(老人 饭堂)", "\x00"])
def test_odd_messages_get_an_intent(parse, text):
    assert parse(text)["intent"]["name"]
