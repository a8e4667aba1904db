"""Rasa's per-message work made cheaper keeps Rasa's behaviour: the reply check, the action server's connections."""
import pytest
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction

import nlu.components  # noqa: F401  (applies the change, as loading our model does)
from nlu import rasa_speedups


def remote():
    return RemoteAction("action_answer_from_plan", None)


def test_loading_our_components_applies_the_changes():
    from rasa.utils.endpoints import EndpointConfig
    assert RemoteAction._validate_action_result is rasa_speedups._validate_action_result
    assert EndpointConfig.session is rasa_speedups._session


def test_a_valid_reply_passes():
    reply = {"events": [{"event": "slot", "name": "last_topic", "value": "roads"}],
             "responses": [{"text": "金沙路……", "custom": {"source": "《西区2020年工作计划》"}}]}
    assert remote()._validate_action_result(reply) is True


@pytest.mark.parametrize("reply", [{"events": "not a list"}, {"events": [{"no": "event key"}]},
                                   {"responses": {"text": "not a list"}}])
def test_an_invalid_reply_fails_as_in_rasa(reply):
    with pytest.raises(ValidationError) as error:
        remote()._validate_action_result(reply)
    assert "Failed to validate Action server response" in error.value.message


def test_the_validator_is_built_once():
    assert rasa_speedups._response_validator() is rasa_speedups._response_validator()


async def _server(port, seen):
    from aiohttp import web

    async def webhook(request):
        seen.append(request.transport.get_extra_info("peername"))
        return web.json_response({"events": [], "responses": [{"text": "好"}]})

    app = web.Application()
    app.router.add_post("/webhook", webhook)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner


def test_calls_to_the_action_server_reuse_one_connection_and_survive_its_restart():
    import asyncio

    import aiohttp
    from rasa.utils.endpoints import EndpointConfig

    from tests.servers import free_port

    async def scenario():
        port, seen = free_port(), []
        endpoint = EndpointConfig(f"http://127.0.0.1:{port}/webhook")
        runner = await _server(port, seen)
        for _ in range(5):
            assert await endpoint.request(json={"next_action": "action_about"}) == {
                "events": [], "responses": [{"text": "好"}]}
        assert len(seen) == 5 and len(set(seen)) == 1  # five calls, one connection
        await runner.cleanup()  # the action server dies
        with pytest.raises(aiohttp.ClientError):
            await endpoint.request(json={"next_action": "action_about"})
        runner = await _server(port, seen)  # and comes back
        assert await endpoint.request(json={"next_action": "action_about"})
        await runner.cleanup()

    asyncio.run(scenario())


def test_rasa_opens_a_connection_per_call_without_the_change():
    import asyncio

    from rasa.utils.endpoints import EndpointConfig

    from tests.servers import free_port

    async def scenario():
        port, seen = free_port(), []
        endpoint = EndpointConfig(f"http://127.0.0.1:{port}/webhook")
        runner = await _server(port, seen)
        for _ in range(3):
            async with rasa_speedups._rasa_session(endpoint) as session:
                async with session.post(endpoint.url, json={}) as response:
                    await response.json()
        await runner.cleanup()
        return seen

    assert len(set(asyncio.run(scenario()))) == 3


def test_event_types_resolve_as_in_rasa():
    from rasa.shared.core.events import Event
    from rasa.shared.utils.common import all_subclasses
    names = {cls.type_name for cls in all_subclasses(Event)}
    for name in names:
        assert Event.resolve_by_type(name) is rasa_speedups._rasa_resolve_by_type(name)
    assert Event.resolve_by_type("topic") is None
    with pytest.raises(ValueError):
        Event.resolve_by_type("no such event")


def test_a_domain_is_empty_as_in_rasa():
    from rasa.shared.core.domain import Domain
    from tests.servers import ROOT
    assert Domain.empty().is_empty()
    domain = Domain.load(str(ROOT / "domain.yml"))
    assert not domain.is_empty() and not domain.is_empty()


def test_a_new_session_carries_each_slot_once_with_its_last_value():
    from rasa.core.actions.action import ActionSessionStart
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import ActionExecuted, SessionStarted, SlotSet, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker
    from tests.servers import ROOT

    domain = Domain.load(str(ROOT / "domain.yml"))
    events = [ActionExecuted("action_listen"), SessionStarted(), ActionExecuted("action_listen")]
    for topic, road in [("roads", "粤信路"), ("employment", None), ("roads", "金沙路")] * 50:
        events += [UserUttered("问"), SlotSet("last_topic", topic), SlotSet("last_entity", road),
                   ActionExecuted("action_listen")]
    events.insert(5, SlotSet("elder_mode", True))
    tracker = DialogueStateTracker.from_events("resident", events, domain.slots)

    ours = ActionSessionStart._slot_set_events_from_tracker(tracker)
    rasas = rasa_speedups._rasa_carried_slots(tracker)
    assert len(rasas) == 301 and len(ours) == 3
    after = lambda carried: DialogueStateTracker.from_events(  # noqa: E731
        "resident", [*events, SessionStarted(), *carried, ActionExecuted("action_listen")], domain.slots)
    assert after(ours).current_slot_values() == after(rasas).current_slot_values()
    assert after(ours).get_slot("elder_mode") is True and after(ours).get_slot("last_entity") == "金沙路"
