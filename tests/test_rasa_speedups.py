"""Rasa's per-message work made cheaper keeps Rasa's behaviour: the reply check, the action server's connections."""

import asyncio
from contextlib import asynccontextmanager

import aiohttp
import pytest
from aiohttp import web
from jsonschema import ValidationError
from rasa.core.actions.action import ActionSessionStart, RemoteAction
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, Event, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.utils.common import all_subclasses
from rasa.utils.endpoints import EndpointConfig

import nlu.components  # noqa: F401  (applies the change, as loading our model does)
from devtools.servers import ROOT, free_port
from nlu import rasa_speedups


def remote():
    return RemoteAction("action_answer_from_plan", None)


def test_loading_our_components_applies_the_changes():
    assert RemoteAction._validate_action_result is rasa_speedups._validate_action_result
    assert EndpointConfig.session is rasa_speedups._session


def test_a_valid_reply_passes():
    reply = {
        "events": [{"event": "slot", "name": "last_topic", "value": "roads"}],
        "responses": [{"text": "金沙路……", "custom": {"source": "《西区2020年工作计划》"}}],
    }
    assert remote()._validate_action_result(reply) is True


@pytest.mark.parametrize(
    "reply", [{"events": "not a list"}, {"events": [{"no": "event key"}]}, {"responses": {"text": "not a list"}}]
)
def test_an_invalid_reply_fails_as_in_rasa(reply):
    with pytest.raises(ValidationError) as error:
        remote()._validate_action_result(reply)
    assert "Failed to validate Action server response" in error.value.message


def test_the_validator_is_built_once():
    assert rasa_speedups._response_validator() is rasa_speedups._response_validator()


async def _serve(port, seen):
    async def webhook(request):
        seen.append(request.transport.get_extra_info("peername"))
        return web.json_response({"events": [], "responses": [{"text": "好"}]})

    app = web.Application()
    app.router.add_post("/webhook", webhook)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner


@asynccontextmanager
async def action_server():
    """A stand-in action server on a free port: its endpoint, the port, and the client address of every call."""
    port, seen = free_port(), []
    runner = await _serve(port, seen)
    try:
        yield EndpointConfig(f"http://127.0.0.1:{port}/webhook"), port, seen
    finally:
        await runner.cleanup()


def test_calls_to_the_action_server_reuse_one_connection_and_survive_its_restart():
    async def scenario():
        async with action_server() as (endpoint, port, seen):
            for _ in range(5):
                assert await endpoint.request(json={"next_action": "action_about"}) == {
                    "events": [],
                    "responses": [{"text": "好"}],
                }
            assert len(seen) == 5 and len(set(seen)) == 1  # five calls, one connection
        with pytest.raises(aiohttp.ClientError):  # the action server died
            await endpoint.request(json={"next_action": "action_about"})
        runner = await _serve(port, seen)  # and comes back
        try:
            assert await endpoint.request(json={"next_action": "action_about"})
        finally:
            await runner.cleanup()

    asyncio.run(scenario())


def test_rasa_opens_a_connection_per_call_without_the_change():
    async def scenario():
        async with action_server() as (endpoint, _, seen):
            for _ in range(3):
                async with rasa_speedups._rasa_session(endpoint) as session:
                    async with session.post(endpoint.url, json={}) as response:
                        await response.json()
        return seen

    assert len(set(asyncio.run(scenario()))) == 3


def test_event_types_resolve_as_in_rasa():
    names = {cls.type_name for cls in all_subclasses(Event)}
    for name in names:
        assert Event.resolve_by_type(name) is rasa_speedups._rasa_resolve_by_type(name)
    assert Event.resolve_by_type("topic") is None
    with pytest.raises(ValueError):
        Event.resolve_by_type("no such event")


def test_a_domain_is_empty_as_in_rasa():
    assert Domain.empty().is_empty()
    domain = Domain.load(str(ROOT / "domain.yml"))
    assert not domain.is_empty() and not domain.is_empty()


def test_a_new_session_carries_each_slot_once_with_its_last_value():
    domain = Domain.load(str(ROOT / "domain.yml"))
    events = [ActionExecuted("action_listen"), SessionStarted(), ActionExecuted("action_listen")]
    for topic, road in [("roads", "粤信路"), ("employment", None), ("roads", "金沙路")] * 50:
        events += [
            UserUttered("问"),
            SlotSet("last_topic", topic),
            SlotSet("last_entity", road),
            ActionExecuted("action_listen"),
        ]
    events.insert(5, SlotSet("elder_mode", True))
    tracker = DialogueStateTracker.from_events("resident", events, domain.slots)

    ours = ActionSessionStart._slot_set_events_from_tracker(tracker)
    rasas = rasa_speedups._rasa_carried_slots(tracker)
    assert len(rasas) == 301 and len(ours) == 3
    after = lambda carried: DialogueStateTracker.from_events(  # noqa: E731
        "resident", [*events, SessionStarted(), *carried, ActionExecuted("action_listen")], domain.slots
    )
    assert after(ours).current_slot_values() == after(rasas).current_slot_values()
    assert after(ours).get_slot("elder_mode") is True and after(ours).get_slot("last_entity") == "金沙路"
