"""Serve the chat page and relay its messages to Rasa (same origin, so no CORS is opened on Rasa).

    python -m bot.web [--port 8080]

POST /api/chat {"sender", "message"} -> Rasa's messages; a voice payload is swapped for a URL of its clip.
GET /api/voice/<id>.ogg -> the elder answer spoken (espeak-ng, cached). GET /api/voice/status -> {"available"}:
whether this machine can speak, so the page offers ▶ only when it works. Errors come back in words, with status
503 when Rasa is down, 429 when one sender is too fast, 413 when a message is too long.
"""
from __future__ import annotations

import argparse
import hashlib
import logging
from collections import OrderedDict
from pathlib import Path

from aiohttp import web

from bot.rasa_client import MAINTENANCE, RasaClient, RasaUnavailable
from bot.ratelimit import RateLimiter
from bot.voice import VoiceUnavailable, synthesize_async
from bot.voice import available as voice_available
from knowledge.settings import ChannelSettings, get_channel_settings

logger = logging.getLogger(__name__)
SETTINGS = web.AppKey("settings", ChannelSettings)
RASA = web.AppKey("rasa", RasaClient)
VOICES = web.AppKey("voices", object)
LIMITER = web.AppKey("rate_limiter", RateLimiter)
STATIC = Path(__file__).resolve().parent / "static"
VOICE_MEMORY = 2000


class VoiceClips:
    """The voice texts the page may ask for: only what the bot itself said recently."""

    def __init__(self, size: int = VOICE_MEMORY):
        self._texts: OrderedDict[str, tuple[str, str]] = OrderedDict()
        self._size = size

    def remember(self, text: str, lang: str) -> str:
        clip_id = hashlib.sha256(f"{lang}\x1f{text}".encode()).hexdigest()[:20]
        self._texts[clip_id] = (text, lang)
        self._texts.move_to_end(clip_id)
        while len(self._texts) > self._size:
            self._texts.popitem(last=False)
        return clip_id

    def get(self, clip_id: str) -> tuple[str, str] | None:
        return self._texts.get(clip_id)


def error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


async def chat(request: web.Request) -> web.Response:
    app = request.app
    settings: ChannelSettings = app[SETTINGS]
    try:
        body = await request.json()
    except ValueError:
        return error(400, "请求格式不对，请刷新页面再试。")
    sender = str(body.get("sender") or "")[:64]
    message = body.get("message")
    if not sender or not isinstance(message, str):
        return error(400, "请求格式不对，请刷新页面再试。")
    if len(message) > settings.max_message_chars:
        return error(413, f"您的消息太长了，请说得简短一些（{settings.max_message_chars}字以内）。")
    if not app[LIMITER].allow(sender):
        return error(429, "您发得有点快，请稍等一下再问。")
    try:
        messages = await app[RASA].send(f"web-{sender}", message)
    except RasaUnavailable:
        return error(503, MAINTENANCE)
    for m in messages:
        voice = (m.get("custom") or {}).get("voice")
        if voice and voice.get("text"):
            clip_id = app[VOICES].remember(voice["text"], voice.get("lang", "cmn"))
            m["custom"]["voice"] = {"url": f"/api/voice/{clip_id}.ogg", "lang": voice.get("lang", "cmn")}
    return web.json_response(messages)


async def voice(request: web.Request) -> web.StreamResponse:
    found = request.app[VOICES].get(request.match_info["clip"])
    if found is None:
        return error(404, "这段语音已过期，请再问一次。")
    try:
        path = await synthesize_async(found[0], request.app[SETTINGS].voice_cache_dir, found[1])
    except (VoiceUnavailable, ValueError, OSError) as err:
        logger.error("voice failed: %s", err)
        return error(503, "语音暂时不可用。")
    return web.FileResponse(path, headers={"Content-Type": "audio/ogg", "Cache-Control": "max-age=86400"})


async def voice_status(request: web.Request) -> web.Response:
    return web.json_response({"available": voice_available()}, headers={"Cache-Control": "no-cache"})


async def index(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})


@web.middleware
async def security_headers(request: web.Request, handler):
    response = await handler(request)
    response.headers.setdefault("Content-Security-Policy",
                                "default-src 'self'; media-src 'self' blob:; img-src 'self' data:")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    return response


def build_app(settings: ChannelSettings | None = None, rasa: RasaClient | None = None) -> web.Application:
    settings = settings or get_channel_settings()
    app = web.Application(middlewares=[security_headers], client_max_size=64 * 1024)
    app[SETTINGS] = settings
    app[VOICES] = VoiceClips()
    app[LIMITER] = RateLimiter(settings.rate_limit_messages, settings.rate_limit_seconds)

    async def open_rasa(app: web.Application) -> None:
        app[RASA] = rasa or RasaClient(settings.rasa_url, settings.rasa_timeout)

    async def close_rasa(app: web.Application) -> None:
        await app[RASA].close()

    app.on_startup.append(open_rasa)
    app.on_cleanup.append(close_rasa)
    app.router.add_get("/", index)
    app.router.add_post("/api/chat", chat)
    app.router.add_get("/api/voice/status", voice_status)
    app.router.add_get("/api/voice/{clip:[0-9a-f]{20}}.ogg", voice)
    app.router.add_static("/static/", STATIC)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description="西区居民助手: the web chat page")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args()
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s %(message)s", level=logging.INFO)
    print(f"Web chat page: http://{args.host}:{args.port}/", flush=True)
    web.run_app(build_app(), host=args.host, port=args.port, print=None)
