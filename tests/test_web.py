"""The web page's server: the same-origin bridge to Rasa, its limits, errors and voice clips."""
from __future__ import annotations

from dataclasses import replace

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.rasa_client import MAINTENANCE, RasaUnavailable
from bot.web.server import build_app
from knowledge.settings import get_channel_settings

ELDER = [
    {"recipient_id": "x", "text": "加强长者助餐配餐服务。\n来源：2020年工作计划"},
    {"recipient_id": "x", "custom": {"source": {"document": "西区2020年工作计划"}, "mode": "elder",
                                     "voice": {"text": "加强长者助餐配餐服务。", "lang": "cmn"}}},
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
    settings = replace(get_channel_settings(), rate_limit_messages=3, rate_limit_seconds=60, max_message_chars=100,
                       voice_cache_dir=tmp_path / "voice")
    async with TestClient(TestServer(build_app(settings, rasa=rasa))) as client:
        client.rasa = rasa
        yield client


async def test_the_page_is_chinese_and_locked_down(client):
    response = await client.get("/")
    html = await response.text()
    assert '<html lang="zh-CN">' in html and 'aria-live="polite"' in html and "<label for=\"question\"" in html
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert (await client.get("/static/app.js")).status == 200


@pytest.mark.needs("espeak-ng")
async def test_chat_relays_and_swaps_voice_text_for_a_clip_url(client):
    response = await client.post("/api/chat", json={"sender": "abc", "message": "老人吃饭"})
    assert response.status == 200
    messages = await response.json()
    assert client.rasa.received == [("web-abc", "老人吃饭")]
    voice = messages[1]["custom"]["voice"]
    assert voice["url"].startswith("/api/voice/") and "text" not in voice
    clip = await client.get(voice["url"])
    assert clip.status == 200 and clip.headers["Content-Type"] == "audio/ogg"
    assert (await clip.read())[:4] == b"OggS"


async def test_unknown_voice_clips_are_not_made(client):
    assert (await client.get("/api/voice/0123456789abcdef0123.ogg")).status == 404


@pytest.mark.parametrize("body,status", [
    ({"sender": "a", "message": "路" * 101}, 413),
    ({"sender": "", "message": "hi"}, 400),
    ({"sender": "a", "message": 5}, 400),
])
async def test_bad_requests_get_words_not_crashes(client, body, status):
    response = await client.post("/api/chat", json=body)
    assert response.status == status
    assert (await response.json())["error"]


async def test_rasa_down_is_a_503_with_the_maintenance_message(client):
    client.rasa.down = True
    response = await client.post("/api/chat", json={"sender": "a", "message": "金沙路"})
    assert response.status == 503 and (await response.json())["error"] == MAINTENANCE


async def test_one_sender_is_rate_limited(client):
    codes = [(await client.post("/api/chat", json={"sender": "same", "message": "金沙路"})).status for _ in range(5)]
    assert codes == [200, 200, 200, 429, 429]
    other = await client.post("/api/chat", json={"sender": "other", "message": "金沙路"})
    assert other.status == 200
