"""Our patches to Rasa keep Rasa's behaviour, apply only when asked, and only on the Rasa they were written for."""

import asyncio
import logging

import aiohttp
import pytest
from aiohttp import web
from jsonschema import ValidationError
from rasa.core.actions.action import ActionSessionStart, RemoteAction
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import ClientResponseError, EndpointConfig

from devtools.servers import ROOT, free_port, serve_on_free_port
from rasa_ext import patches


@pytest.fixture(autouse=True)
def patched():
    assert patches.apply({}) == ["validator", "session_slots", "action_server_wait"]
    yield
    patches.remove()


def remote():
    return RemoteAction("action_answer_from_plan", None)


def test_importing_changes_nothing_and_apply_patches_explicitly():
    patches.remove()
    assert RemoteAction._validate_action_result is patches._rasa_validate_action_result
    import importlib

    importlib.reload(patches)  # importing again applies nothing either
    assert RemoteAction._validate_action_result is patches._rasa_validate_action_result
    assert patches.apply({}) == list(patches.PATCHES)
    assert RemoteAction._validate_action_result is patches._validate_action_result
    assert ActionSessionStart._slot_set_events_from_tracker is patches._carried_slots


def test_the_switch_turns_them_off_or_picks_some(caplog):
    caplog.set_level(logging.INFO, logger=patches.logger.name)
    assert patches.apply({"WESTBOT_RASA_PATCHES": "0"}) == []
    assert RemoteAction._validate_action_result is patches._rasa_validate_action_result
    assert ActionSessionStart._slot_set_events_from_tracker is patches._rasa_carried_slots
    assert "Rasa patches off" in caplog.text
    assert patches.apply({"WESTBOT_RASA_PATCHES": "validator"}) == ["validator"]
    assert RemoteAction._validate_action_result is patches._validate_action_result
    assert ActionSessionStart._slot_set_events_from_tracker is patches._rasa_carried_slots
    with pytest.raises(ValueError, match="no patch named speed"):
        patches.wanted({"WESTBOT_RASA_PATCHES": "speed"})


def test_another_rasa_version_is_not_patched_and_one_line_says_so(caplog):
    patches.remove()
    caplog.set_level(logging.INFO, logger=patches.logger.name)
    assert patches.apply({}, version="3.6.22") == []
    assert RemoteAction._validate_action_result is patches._rasa_validate_action_result
    assert ActionSessionStart._slot_set_events_from_tracker is patches._rasa_carried_slots
    [record] = [r for r in caplog.records if r.name == patches.logger.name]
    assert record.levelno == logging.WARNING
    assert "written for Rasa 3.6.21 and this is Rasa 3.6.22" in record.getMessage()


def test_they_were_written_for_the_rasa_we_pin():
    import rasa

    pinned = [line for line in (ROOT / "requirements.lock").read_text().splitlines() if line.startswith("rasa==")]
    assert pinned == [f"rasa=={patches.WRITTEN_FOR}"] and rasa.__version__ == patches.WRITTEN_FOR


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
    assert patches._response_validator() is patches._response_validator()


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
    rasas = patches._rasa_carried_slots(tracker)
    assert len(rasas) == 301 and len(ours) == 3
    after = lambda carried: DialogueStateTracker.from_events(  # noqa: E731
        "resident", [*events, SessionStarted(), *carried, ActionExecuted("action_listen")], domain.slots
    )
    assert after(ours).current_slot_values() == after(rasas).current_slot_values()
    assert after(ours).get_slot("elder_mode") is True and after(ours).get_slot("last_entity") == "金沙路"


async def _serve(port):
    async def webhook(request):
        return web.json_response({"events": [], "responses": [{"text": "好"}]})

    app = web.Application()
    app.router.add_post("/webhook", webhook)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner


def test_a_call_waits_for_an_action_server_that_is_restarting():
    async def scenario():
        port = free_port()
        endpoint = EndpointConfig(f"http://127.0.0.1:{port}/webhook")
        started = asyncio.Event()

        async def come_back():
            await asyncio.sleep(0.5)  # the action server is down for half a second, then back
            started.set()
            return await _serve(port)

        back = asyncio.create_task(come_back())
        reply = await endpoint.request(json={"next_action": "action_about"})
        assert started.is_set()
        await (await back).cleanup()
        return reply

    assert asyncio.run(scenario()) == {"events": [], "responses": [{"text": "好"}]}


def test_an_action_server_that_stays_down_fails_as_in_rasa_after_the_wait(monkeypatch):
    monkeypatch.setattr(patches, "ACTION_SERVER_WAIT_SECONDS", 0.3)
    endpoint = EndpointConfig(f"http://127.0.0.1:{free_port()}/webhook")
    with pytest.raises(aiohttp.ClientConnectorError):
        asyncio.run(endpoint.request(json={}))
    patches.remove()  # and Rasa's own code gives up at once
    with pytest.raises(aiohttp.ClientConnectorError):
        asyncio.run(endpoint.request(json={}))


def test_an_error_reply_is_not_sent_again():
    calls = []

    async def scenario():
        async def webhook(request):
            calls.append(1)
            return web.json_response({"error": "boom"}, status=500)

        app = web.Application()
        app.router.add_post("/webhook", webhook)
        runner, url = await serve_on_free_port(app)
        try:
            await EndpointConfig(f"{url}/webhook").request(json={})
        finally:
            await runner.cleanup()

    with pytest.raises(ClientResponseError):
        asyncio.run(scenario())
    assert calls == [1]


REPLY = b'{"events": [], "responses": [{"text": "\\u597d"}]}'


async def _raw_server(port, first_connections):
    """An action server that handles its first connections as `first_connections` says ("drop": closed before
    reading anything, as a listening socket that closes resets its queue; "crash": the whole request read, then
    closed with no reply, as a killed server; "hang": read and never answered), and answers the rest. Returns
    the server and the list of requests it read."""
    seen: list[bytes] = []
    plan = list(first_connections)

    async def handle(reader, writer):
        how = plan.pop(0) if plan else "answer"
        if how == "drop":
            writer.transport.abort()
            return
        head = await reader.readuntil(b"\r\n\r\n")
        length = int(next(h.split(b":")[1] for h in head.split(b"\r\n") if h.lower().startswith(b"content-length")))
        seen.append(head + await reader.readexactly(length))
        if how == "crash":
            writer.transport.abort()
            return
        if how == "hang":
            await asyncio.sleep(5)
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n"
            % len(REPLY)
            + REPLY
        )
        await writer.drain()
        writer.close()

    return await asyncio.start_server(handle, "127.0.0.1", port), seen


@pytest.mark.parametrize("how", ["drop", "crash"])
def test_a_call_cut_before_any_reply_is_sent_again(how):
    """Reset before the request was read (a restart), or closed after it with no reply (a killed server)."""

    async def scenario():
        port = free_port()
        server, seen = await _raw_server(port, [how, how])
        async with server:
            reply = await EndpointConfig(f"http://127.0.0.1:{port}/webhook").request(json={"next_action": "x"})
        return reply, seen

    reply, seen = asyncio.run(scenario())
    assert reply == {"events": [], "responses": [{"text": "好"}]}
    assert len(seen) == (1 if how == "drop" else 3)  # dropped calls never reached the server; crashed ones did


def test_a_call_cut_before_any_reply_fails_as_in_rasa_without_the_patch():
    patches.remove()

    async def scenario():
        port = free_port()
        server, _ = await _raw_server(port, ["crash"])
        async with server:
            await EndpointConfig(f"http://127.0.0.1:{port}/webhook").request(json={})

    with pytest.raises((aiohttp.ServerDisconnectedError, aiohttp.ClientOSError)):
        asyncio.run(scenario())


def test_a_timeout_is_not_sent_again():
    async def scenario():
        port = free_port()
        server, seen = await _raw_server(port, ["hang"])
        async with server:
            with pytest.raises(asyncio.TimeoutError):
                await EndpointConfig(f"http://127.0.0.1:{port}/webhook").request(
                    json={}, timeout=aiohttp.ClientTimeout(sock_read=0.3)
                )
        return seen

    assert len(asyncio.run(scenario())) == 1
