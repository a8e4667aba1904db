"""The channels' HTTP clients on their own: RasaClient (REST channel) and the relay's Bot API requests (aiohttp)."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp import web
from telegram import InputFile
from telegram.error import NetworkError, TimedOut
from telegram.request import RequestData
from telegram.request._requestparameter import RequestParameter

from bot.rasa_client import RasaClient, RasaUnavailable
from bot.telegram.request import AiohttpRequest
from devtools.servers import free_port, serve_on_free_port


@pytest.fixture
async def server():
    """An HTTP server on 127.0.0.1 whose one route does what the test sets in `handle`."""
    state = {}

    async def route(request: web.Request) -> web.StreamResponse:
        return await state["handle"](request)

    app = web.Application()
    app.router.add_post("/{tail:.*}", route)
    runner, state["url"] = await serve_on_free_port(app)
    yield state
    await runner.cleanup()


async def test_rasa_client_posts_the_message_as_json_and_reuses_one_session(server):
    seen = []

    async def handle(request):
        seen.append((request.path, await request.json()))
        return web.json_response([{"recipient_id": "a", "text": "好"}])

    server["handle"] = handle
    client = RasaClient(server["url"] + "/")
    first = await client.send("telegram-1", "金沙路")
    session = client._session
    await client.send("telegram-1", "谢谢")
    await client.close()
    assert first == [{"recipient_id": "a", "text": "好"}]
    assert seen[0] == ("/webhooks/rest/webhook", {"sender": "telegram-1", "message": "金沙路"})
    assert client._session is None and session.closed


@pytest.mark.parametrize(
    "reply",
    [
        lambda: web.json_response([]),  # the action server failed behind Rasa
        lambda: web.Response(status=500, text="boom"),
        lambda: web.Response(text="not json"),
    ],
)
async def test_rasa_client_turns_every_failure_into_rasa_unavailable(server, reply):
    async def handle(request):
        return reply()

    server["handle"] = handle
    client = RasaClient(server["url"])
    with pytest.raises(RasaUnavailable):
        await client.send("web-1", "你好")
    await client.close()


async def test_rasa_client_down_and_slow_are_unavailable(server):
    client = RasaClient(f"http://127.0.0.1:{free_port()}")  # nobody listens
    with pytest.raises(RasaUnavailable):
        await client.send("web-1", "你好")
    await client.close()

    async def handle(request):
        await asyncio.sleep(5)
        return web.json_response([{"text": "迟到"}])

    server["handle"] = handle
    slow = RasaClient(server["url"], timeout=0.2)
    with pytest.raises(RasaUnavailable):
        await slow.send("web-1", "你好")
    await slow.close()


async def test_bot_api_request_sends_json_and_files_as_multipart(server):
    seen = []

    async def handle(request):
        if request.content_type == "application/json":
            seen.append(("json", await request.json()))
        else:
            form = await request.post()
            seen.append(
                ("form", {k: (v.filename, v.file.read()) if hasattr(v, "file") else v for k, v in form.items()})
            )
        return web.json_response({"ok": True, "result": True})

    server["handle"] = handle
    request = AiohttpRequest(connections=4)
    await request.initialize()
    markup = {"inline_keyboard": [[{"text": "👍", "callback_data": "/feedback_helpful"}]]}
    data = RequestData([RequestParameter("chat_id", 7, []), RequestParameter("reply_markup", markup, [])])
    status, body = await request.do_request(server["url"] + "/botT/sendMessage", "POST", data)
    clip = InputFile(b"OggS-clip", filename="a.ogg")
    voice = RequestData([RequestParameter("chat_id", 7, []), RequestParameter.from_input("voice", clip)])
    await request.do_request(server["url"] + "/botT/sendVoice", "POST", voice)
    await request.shutdown()
    assert status == 200 and b'"ok": true' in body
    assert seen[0] == ("json", {"chat_id": 7, "reply_markup": markup})  # nested objects stay objects
    kind, fields = seen[1]
    assert kind == "form" and fields["chat_id"] == "7" and fields["voice"] == ("a.ogg", b"OggS-clip")


async def test_bot_api_request_errors_are_telegram_errors(server):
    request = AiohttpRequest(connections=1, read_timeout=0.2)
    await request.initialize()
    with pytest.raises(NetworkError):
        await request.do_request(f"http://127.0.0.1:{free_port()}/botT/getMe", "POST")

    async def handle(request):
        await asyncio.sleep(5)
        return web.json_response({"ok": True, "result": True})

    server["handle"] = handle
    with pytest.raises(TimedOut):
        await request.do_request(server["url"] + "/botT/getMe", "POST")
    await request.shutdown()
