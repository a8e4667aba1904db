"""The web page's server: the same-origin bridge to Rasa, its limits, errors and voice clips."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.rasa_client import MAINTENANCE, RasaUnavailable
from bot.settings import get_channel_settings
from bot.web import server
from bot.web.server import COOKIE, build_app, sign_sender, verified_sender

ELDER = [
    {"recipient_id": "x", "text": "加强长者助餐配餐服务。\n来源：2020年工作计划"},
    {
        "recipient_id": "x",
        "custom": {
            "source": {"document": "西区2020年工作计划"},
            "mode": "elder",
            "voice": {"text": "加强长者助餐配餐服务。", "lang": "cmn"},
        },
    },
]


class ScriptedRasa:
    def __init__(self):
        self.down = False
        self.received = []

    async def send(self, sender, text):
        self.received.append((sender, text))
        if self.down:
            raise RasaUnavailable("refused")
        return [dict(m, custom=dict(m["custom"])) if "custom" in m else dict(m) for m in ELDER]

    async def close(self):
        pass


@pytest.fixture
async def client(tmp_path):
    rasa = ScriptedRasa()
    settings = replace(
        get_channel_settings(),
        rate_limit_messages=3,
        rate_limit_seconds=60,
        max_message_chars=100,
        rate_limit_address_messages=6,
        voice_cache_dir=tmp_path / "voice",
        web_cookie_key=tmp_path / "web-cookie.key",
    )
    async with TestClient(TestServer(build_app(settings, rasa=rasa))) as client:
        client.rasa = rasa
        yield client


async def test_the_page_is_chinese_and_locked_down(client):
    response = await client.get("/")
    html = await response.text()
    assert '<html lang="zh-CN">' in html and 'aria-live="polite"' in html and '<label for="question"' in html
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert (await client.get("/static/app.js")).status == 200


@pytest.mark.needs("espeak-ng")
async def test_chat_relays_and_swaps_voice_text_for_a_clip_url(client):
    response = await client.post("/api/chat", json={"sender": "abc", "message": "老人吃饭"})
    assert response.status == 200
    messages = await response.json()
    [(sender, text)] = client.rasa.received
    assert text == "老人吃饭" and sender.startswith("web-") and sender != "web-abc"  # the server names the sender
    voice = messages[1]["custom"]["voice"]
    assert voice["url"].startswith("/api/voice/") and "text" not in voice
    clip = await client.get(voice["url"])
    assert clip.status == 200 and clip.headers["Content-Type"] == "audio/ogg"
    assert (await clip.read())[:4] == b"OggS"


async def test_unknown_voice_clips_are_not_made(client):
    assert (await client.get("/api/voice/0123456789abcdef0123.ogg")).status == 404


@pytest.mark.parametrize(
    "body,status",
    [
        ({"sender": "a", "message": "路" * 101}, 413),
        ({"message": 5}, 400),
        ({"sender": "a"}, 400),
        ([1, 2], 400),
        ("x", 400),
        (None, 400),
        (3, 400),
    ],
)
async def test_bad_requests_get_words_not_crashes(client, body, status):
    response = await client.post("/api/chat", json=body)
    assert response.status == status
    assert (await response.json())["error"]
    assert client.rasa.received == []


async def test_a_lone_surrogate_is_dropped_before_rasa(client):
    response = await client.post("/api/chat", data=b'{"message": "\\ud800\\u91d1\\u6c99\\u8def"}')
    assert response.status == 200
    assert client.rasa.received[-1][1] == "金沙路"


async def test_a_body_that_is_not_json_is_a_400(client):
    response = await client.post("/api/chat", data=b"\xff\xfe{not json", headers={"Content-Type": "application/json"})
    assert response.status == 400 and (await response.json())["error"] == "请求格式不对，请刷新页面再试。"


async def test_rasa_down_is_a_503_with_the_maintenance_message(client):
    client.rasa.down = True
    response = await client.post("/api/chat", json={"sender": "a", "message": "金沙路"})
    assert response.status == 503 and (await response.json())["error"] == MAINTENANCE


async def test_one_sender_is_rate_limited(client):
    codes = [(await client.post("/api/chat", json={"message": "金沙路"})).status for _ in range(5)]
    assert codes == [200, 200, 200, 429, 429]
    client.session.cookie_jar.clear()  # another resident at the same address
    other = await client.post("/api/chat", json={"message": "金沙路"})
    assert other.status == 200


async def test_one_address_is_rate_limited_whatever_cookie_it_sends(client):
    codes = []
    for _ in range(8):
        client.session.cookie_jar.clear()  # a new sender each time: only the address limit can stop it
        codes.append((await client.post("/api/chat", json={"message": "金沙路"})).status)
    assert codes == [200] * 6 + [429, 429]


async def test_the_sender_is_a_signed_http_only_cookie_the_client_cannot_choose(client):
    first = await client.get("/")
    cookie = first.cookies[COOKIE]
    assert cookie["httponly"] and cookie["samesite"] == "Strict" and cookie["path"] == "/"
    await client.post("/api/chat", json={"sender": "neighbour", "message": "金沙路"})
    await client.post("/api/chat", json={"sender": "someone-else", "message": "再说一遍"})
    senders = {sender for sender, _ in client.rasa.received}
    assert len(senders) == 1 and "neighbour" not in next(iter(senders))  # the cookie's sender, not the body's
    mine = next(iter(senders)).removeprefix("web-")
    assert cookie.value.startswith(mine + ".")

    # A forged or altered cookie is not believed: a new sender is issued instead.
    forged = mine[:-1] + ("A" if mine[-1] != "A" else "B")
    client.session.cookie_jar.clear()
    client.session.cookie_jar.update_cookies({COOKIE: f"{forged}.{cookie.value.rpartition('.')[2]}"})
    response = await client.post("/api/chat", json={"message": "长者模式"})
    assert response.status == 200 and COOKIE in response.cookies
    last_sender = client.rasa.received[-1][0].removeprefix("web-")
    assert last_sender not in (mine, forged)
    assert verified_sender(b"k", sign_sender(b"k", "abc")) == "abc"
    assert verified_sender(b"k", sign_sender(b"other", "abc")) is None
    assert verified_sender(b"k", "abc") is None and verified_sender(b"k", None) is None


HEADERS = ("Content-Security-Policy", "X-Content-Type-Options", "Referrer-Policy", "Permissions-Policy")


@pytest.mark.parametrize(
    "method,path,status",
    [
        ("GET", "/", 200),
        ("GET", "/static/app.js", 200),
        ("GET", "/nothing-here", 404),
        ("GET", "/static/nothing.js", 404),
        ("PUT", "/api/chat", 405),
        ("GET", "/api/chat", 405),
        ("POST", "/api/chat", 413),
    ],
)
async def test_every_response_carries_the_security_headers_and_errors_are_in_chinese(client, method, path, status):
    data = b"x" * (70 * 1024) if status == 413 else None
    response = await client.request(method, path, data=data)
    assert response.status == status
    for name in HEADERS:
        assert response.headers.get(name), name
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Server"] == "westbot"  # no software name or version
    if status >= 400:
        body = await response.text()
        assert any("\u4e00" <= ch <= "\u9fff" for ch in body) and "Traceback" not in body
    if status == 405:
        assert response.headers["Allow"]


async def test_an_unexpected_error_is_a_chinese_500_with_the_headers(client, caplog):
    async def broken(sender, text):
        raise KeyError("bug")

    client.rasa.send = broken
    response = await client.post("/api/chat", json={"message": "金沙路"})
    assert response.status == 500
    assert "服务器出了点问题" in (await response.json())["error"]
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    page = await client.get("/static/../../etc/passwd")
    assert page.status in (403, 404) and page.headers["Permissions-Policy"]


# ---------------------------------------------------------------- read timeouts and aborted uploads


@pytest.fixture
async def served(tmp_path, monkeypatch):
    """The app behind the real runner (with its header timeout) on a free port, timeouts made short."""
    monkeypatch.setattr(server.GuardedRequestHandler, "header_timeout", 0.5)
    monkeypatch.setattr(server, "BODY_TIMEOUT", 0.5)
    settings = replace(
        get_channel_settings(), voice_cache_dir=tmp_path / "voice", web_cookie_key=tmp_path / "web-cookie.key"
    )
    runner = server.GuardedAppRunner(
        build_app(settings, rasa=ScriptedRasa()), keepalive_timeout=0.5, lingering_time=0.5
    )
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    yield port
    await runner.cleanup()


async def _read_until_closed(reader, limit: float = 10.0) -> bytes:
    return await asyncio.wait_for(reader.read(), limit)  # read() returns when the server closes


async def test_half_sent_headers_are_cut_off(served, caplog):
    caplog.set_level(logging.INFO, logger="bot.web.server")
    reader, writer = await asyncio.open_connection("127.0.0.1", served)
    writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n")  # and never the blank line
    await writer.drain()
    assert await _read_until_closed(reader) == b""
    writer.close()
    assert any("sent no request" in r.getMessage() for r in caplog.records)


async def test_a_body_that_never_arrives_gets_a_408(served):
    reader, writer = await asyncio.open_connection("127.0.0.1", served)
    writer.write(
        b'POST /api/chat HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"message"'
    )
    await writer.drain()
    answer = await _read_until_closed(reader)
    writer.close()
    assert answer.startswith(b"HTTP/1.1 408")
    assert "请求发送得太慢".encode() in answer and b"frame-ancestors 'none'" in answer


async def test_an_aborted_upload_is_one_info_line(served, caplog):
    caplog.set_level(logging.INFO)
    reader, writer = await asyncio.open_connection("127.0.0.1", served)
    writer.write(b"POST /api/chat HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n" + b"x" * 100)
    await writer.drain()
    writer.transport.abort()
    for _ in range(100):
        if any("went away" in r.getMessage() for r in caplog.records):
            break
        await asyncio.sleep(0.05)
    went_away = [r for r in caplog.records if "went away" in r.getMessage()]
    assert len(went_away) == 1 and went_away[0].levelno == logging.INFO
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
