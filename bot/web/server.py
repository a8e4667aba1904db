"""Serve the chat page and relay its messages to Rasa (same origin, so no CORS is opened on Rasa).

    python -m bot.web [--port 8080]

POST /api/chat {"message"} -> Rasa's messages; a voice payload is swapped for a URL of its clip.
GET /api/voice/<id>.ogg -> the elder answer spoken (espeak-ng, cached). GET /api/voice/status -> {"available"}:
whether this machine can speak, so the page offers ▶ only when it works. Errors come back in words, with status
503 when Rasa is down, 429 when one sender (or one address) is too fast, 413 when a message is too long.

Who is talking is the server's to say: the first response gives the browser a random sender id in a signed,
HttpOnly cookie (`westbot_sender`), and a sender id in the request body is ignored, so nobody can read another
resident's answers (再说一遍) or change their mode. Every response, error pages included, carries the security
headers. A client must send its request headers within HEADER_TIMEOUT and its body within BODY_TIMEOUT.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import html
import json
import logging
import secrets
from collections import OrderedDict
from pathlib import Path

from aiohttp import web
from aiohttp.web_protocol import RequestHandler

from bot.rasa_client import MAINTENANCE, RasaClient, RasaUnavailable
from bot.ratelimit import RateLimiter
from bot.settings import ChannelSettings, get_channel_settings
from bot.voice import VoiceUnavailable, synthesize_async
from bot.voice import available as voice_available
from knowledge import privacy
from knowledge.text import drop_unencodable

logger = logging.getLogger(__name__)
SETTINGS = web.AppKey("settings", ChannelSettings)
RASA = web.AppKey("rasa", RasaClient)
VOICES = web.AppKey("voices", object)
LIMITER = web.AppKey("rate_limiter", RateLimiter)
ADDRESS_LIMITER = web.AppKey("address_rate_limiter", RateLimiter)
COOKIE_KEY = web.AppKey("cookie_key", bytes)
STATIC = Path(__file__).resolve().parent / "static"
VOICE_MEMORY = 2000
COOKIE = "westbot_sender"
COOKIE_MAX_AGE = 365 * 24 * 3600
HEADER_TIMEOUT = 10.0  # seconds for a new connection to send its first request's headers
KEEPALIVE_TIMEOUT = 15.0  # an idle (or half-sent) later request on a kept-alive connection
BODY_TIMEOUT = 10.0  # seconds to send a request body once its headers are in
LINGERING_TIME = 2.0  # after an error answer, how long the rest of an unread body is read and dropped

SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; media-src 'self' blob:; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()",
    "X-Frame-Options": "DENY",
    "Server": "westbot",  # no name or version of the software behind it
}
ERROR_WORDS = {
    400: "请求格式不对，请刷新页面再试。",
    404: "找不到这个页面。请回到首页提问。",
    405: "不支持这种请求方式。请回到首页提问。",
    408: "请求发送得太慢，连接已断开，请再试一次。",
    413: "发送的内容太大了，请说得简短一些。",
    429: "您发得有点快，请稍等一下再问。",
    500: "服务器出了点问题，我们会尽快处理。请稍后再试，或拨打12345政务服务热线。",
}
_PAGE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} - 西区居民助手</title></head>
<body><main><h1>{title}</h1><p>{words}</p><p><a href="/">回到西区居民助手首页</a></p></main></body></html>
"""


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
    return web.json_response({"error": message}, status=status, dumps=lambda o: json.dumps(o, ensure_ascii=False))


# ---------------------------------------------------------------- the sender cookie


def sign_sender(key: bytes, sender: str) -> str:
    return f"{sender}.{hmac.new(key, sender.encode(), hashlib.sha256).hexdigest()[:32]}"


def verified_sender(key: bytes, cookie: str | None) -> str | None:
    """The sender id in a cookie this server signed, or None for a missing, forged or changed one."""
    sender, _, signature = (cookie or "").rpartition(".")
    if not sender or len(sender) > 64:
        return None
    expected = sign_sender(key, sender).rpartition(".")[2]
    return sender if hmac.compare_digest(signature, expected) else None


def sender_of(request: web.Request) -> tuple[str, bool]:
    """(sender id, whether it is new and the response must set the cookie)."""
    sender = verified_sender(request.app[COOKIE_KEY], request.cookies.get(COOKIE))
    if sender:
        return sender, False
    return secrets.token_urlsafe(16), True


def give_cookie(request: web.Request, response: web.StreamResponse, sender: str) -> None:
    response.set_cookie(
        COOKIE,
        sign_sender(request.app[COOKIE_KEY], sender),
        max_age=COOKIE_MAX_AGE,
        path="/",
        httponly=True,
        samesite="Strict",
        secure=request.secure,
    )


# ---------------------------------------------------------------- handlers


async def chat(request: web.Request) -> web.Response:
    app = request.app
    settings: ChannelSettings = app[SETTINGS]
    try:
        raw = await asyncio.wait_for(request.read(), BODY_TIMEOUT)
    except asyncio.TimeoutError:
        logger.info("request body from %s not sent within %.0f s: closed", request.remote, BODY_TIMEOUT)
        raise web.HTTPRequestTimeout() from None
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return error(400, ERROR_WORDS[400])
    if not isinstance(body, dict) or not isinstance(body.get("message"), str):
        return error(400, ERROR_WORDS[400])
    message = drop_unencodable(body["message"])  # a lone surrogate (\ud800): nothing downstream accepts it
    if len(message) > settings.max_message_chars:
        return error(413, f"您的消息太长了，请说得简短一些（{settings.max_message_chars}字以内）。")
    sender, new = sender_of(request)
    if not app[ADDRESS_LIMITER].allow(request.remote or "") or not app[LIMITER].allow(sender):
        response = error(429, ERROR_WORDS[429])
    else:
        try:
            messages = await app[RASA].send(f"web-{sender}", message)
        except RasaUnavailable:
            response = error(503, MAINTENANCE)
        else:
            for m in messages:
                voice = (m.get("custom") or {}).get("voice")
                if voice and voice.get("text"):
                    clip_id = app[VOICES].remember(voice["text"], voice.get("lang", "cmn"))
                    m["custom"]["voice"] = {"url": f"/api/voice/{clip_id}.ogg", "lang": voice.get("lang", "cmn")}
            response = web.json_response(messages)
    if new:
        give_cookie(request, response, sender)
    return response


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
    response = web.FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})
    sender, new = sender_of(request)
    if new:
        give_cookie(request, response, sender)
    return response


# ---------------------------------------------------------------- errors, headers, timeouts


def error_page(request: web.Request, status: int, headers=None) -> web.Response:
    """An error in Chinese: JSON for the page's API calls, a small page otherwise."""
    words = ERROR_WORDS.get(status) or ERROR_WORDS[500 if status >= 500 else 400]
    keep = {k: v for k, v in (headers or {}).items() if k.lower() == "allow"}
    if request.path.startswith("/api/"):
        response = error(status, words)
    else:
        title = {404: "找不到页面", 405: "请求方式不对", 413: "内容太大", 500: "服务器出错"}.get(status, "出错了")
        response = web.Response(
            text=_PAGE.format(title=title, words=html.escape(words)),
            status=status,
            content_type="text/html",
            charset="utf-8",
        )
    response.headers.update(keep)
    return response


@web.middleware
async def errors_in_words(request: web.Request, handler):
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return error_page(request, exc.status, exc.headers)
    except ConnectionError as exc:
        # The client went away mid-upload: nothing to answer, one line to log.
        logger.info(
            "client %s went away during %s %s (%s)",
            request.remote,
            request.method,
            request.path,
            exc.__class__.__name__,
        )
        return error_page(request, 400)
    except Exception:
        logger.exception("error answering %s %s", request.method, request.path)
        return error_page(request, 500)


async def add_security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """Runs for every response (static files and errors too) just before its headers are sent."""
    response.headers.update(SECURITY_HEADERS)


class GuardedRequestHandler(RequestHandler):
    """aiohttp's connection handler, closing a connection that sends no complete request within
    HEADER_TIMEOUT (later requests on the connection are bounded by keepalive_timeout)."""

    header_timeout = HEADER_TIMEOUT

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        self._loop.call_later(self.header_timeout, self._first_request_due)

    def _first_request_due(self) -> None:
        if self._request_count == 0 and self.transport is not None and not self._force_close:
            peer = self.transport.get_extra_info("peername")
            logger.info("connection from %s sent no request within %.0f s: closed", peer, self.header_timeout)
            self.force_close()


class _GuardedServer(web.Server):
    def __call__(self) -> RequestHandler:
        return GuardedRequestHandler(self, loop=self._loop, **self._kwargs)


class GuardedAppRunner(web.AppRunner):
    """AppRunner whose connections have the header timeout."""

    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        return _GuardedServer(
            server.request_handler, request_factory=server.request_factory, loop=server._loop, **server._kwargs
        )


def build_app(settings: ChannelSettings | None = None, rasa: RasaClient | None = None) -> web.Application:
    settings = settings or get_channel_settings()
    app = web.Application(middlewares=[errors_in_words], client_max_size=64 * 1024)
    app[SETTINGS] = settings
    app[VOICES] = VoiceClips()
    app[LIMITER] = RateLimiter(settings.rate_limit_messages, settings.rate_limit_seconds)
    app[ADDRESS_LIMITER] = RateLimiter(settings.rate_limit_address_messages, settings.rate_limit_seconds)
    app[COOKIE_KEY] = privacy.read_or_create_secret(settings.web_cookie_key)
    app.on_response_prepare.append(add_security_headers)

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


async def serve(app: web.Application, host: str, port: int) -> None:
    """Serve until cancelled, with the header, keep-alive and body timeouts."""
    runner = GuardedAppRunner(app, keepalive_timeout=KEEPALIVE_TIMEOUT, lingering_time=LINGERING_TIME)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
        print(f"Web chat page: http://{host}:{port}/", flush=True)
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description="西区居民助手: the web chat page")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args()
    privacy.mask_logs()
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s %(message)s", level=logging.INFO)
    try:
        asyncio.run(serve(build_app(), args.host, args.port))
    except KeyboardInterrupt:
        pass
