"""A stand-in for Telegram's Bot API on 127.0.0.1: it hands out queued updates and records what the bot sends.

python-telegram-bot is pointed at it with `base_url`, so the real relay runs with no network beyond loopback.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time

from aiohttp import web

BOT = {
    "id": 4242,
    "is_bot": True,
    "first_name": "西区居民助手",
    "username": "xiqu_helper_bot",
    "can_join_groups": True,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}


class BotApiStandIn:
    """`record=False` (benchmarks) keeps only a count of calls per method, not every call's parameters."""

    def __init__(self, record: bool = True) -> None:
        self.record = record
        self.calls: list[tuple[str, dict]] = []
        self.counts: dict[str, int] = {}
        self.updates: list[dict] = []
        self.flood_for: int = 0  # answer this many sendMessage calls with 429 first
        self.fail_next: list[tuple[int, str]] = []  # answer the next sendMessage calls with these (status, reason)
        self.on_call = None  # called with (method, params) as each call arrives, for benchmarks
        self._ids = itertools.count(1)
        self._update_ids = itertools.count(1)
        self._new = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._runner:
            await self._runner.cleanup()

    # ---- what a test does

    def push_text(self, text: str, user_id: int = 1001, chat_type: str = "private", chat_id: int | None = None):
        message = self._message(text, user_id, chat_type, chat_id)
        if text.startswith("/"):
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        return self._push({"message": message})

    def push_message(self, fields: dict, user_id: int = 1001, edited: bool = False):
        message = {**self._message(None, user_id, "private", None), **fields}
        return self._push({"edited_message" if edited else "message": message})

    def push_button(self, data: str, user_id: int = 1001, under: dict | None = None):
        """A press of a button with callback `data`, on the sent message `under` (default: a fresh one)."""
        message = {**self._message("按钮", BOT["id"], "private", user_id), "from": BOT}
        if under is not None:
            message.update(message_id=under["message_id"], text=under.get("text", ""))
            if under.get("reply_markup"):
                message["reply_markup"] = under["reply_markup"]
        query = {
            "id": str(next(self._ids)),
            "from": self._user(user_id),
            "chat_instance": "ci",
            "data": data,
            "message": message,
        }
        return self._push({"callback_query": query})

    def sent(self, method: str | None = None, chat_id: int | None = None) -> list[dict]:
        return [
            p
            for m, p in self.calls
            if (method is None or m == method) and (chat_id is None or str(p.get("chat_id")) == str(chat_id))
        ]

    def texts(self, chat_id: int = 1001) -> list[str]:
        return [p["text"] for p in self.sent("sendMessage", chat_id)]

    async def wait_for(self, predicate, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise TimeoutError(f"the relay did not send what was expected; sent: {self.calls[-5:]}")
            await asyncio.sleep(0.05)

    # ---- the Bot API

    def _user(self, user_id: int) -> dict:
        return {"id": user_id, "is_bot": False, "first_name": "阿婆", "language_code": "zh-hans"}

    def _message(self, text, user_id, chat_type, chat_id) -> dict:
        chat = {"id": chat_id or user_id, "type": chat_type}
        if chat_type != "private":
            chat["title"] = "西区街坊群"
        message = {"message_id": next(self._ids), "date": int(time.time()), "chat": chat, "from": self._user(user_id)}
        if text is not None:
            message["text"] = text
        return message

    def _push(self, update: dict) -> dict:
        update = {"update_id": next(self._update_ids), **update}
        self.updates.append(update)
        self._new.set()
        return update

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = await self._params(request)
        self.counts[method] = self.counts.get(method, 0) + 1
        if self.record:
            self.calls.append((method, params))
        if self.on_call is not None:
            self.on_call(method, params)
        if method == "getUpdates":
            return self._ok(await self._get_updates(params))
        if method == "sendMessage" and self.flood_for > 0:
            self.flood_for -= 1
            return web.json_response(
                {
                    "ok": False,
                    "error_code": 429,
                    "description": "Too Many Requests: retry after 1",
                    "parameters": {"retry_after": 1},
                },
                status=429,
            )
        if method == "sendMessage" and self.fail_next:
            status, reason = self.fail_next.pop(0)
            return web.json_response({"ok": False, "error_code": status, "description": reason}, status=status)
        if method in ("sendMessage", "sendVoice", "sendPhoto"):
            message = self._message(params.get("text"), BOT["id"], "private", int(params["chat_id"]))
            message["from"] = BOT
            params["message_id"] = message["message_id"]  # so a test can press a button under this message
            if method == "sendVoice":
                file_id = params["voice"] if isinstance(params["voice"], str) else f"voice-{message['message_id']}"
                message["voice"] = {
                    "file_id": file_id,
                    "file_unique_id": file_id,
                    "duration": int(params.get("duration") or 0),
                }
            if method == "sendPhoto":
                message["photo"] = [{"file_id": "photo-1", "file_unique_id": "p1", "width": 64, "height": 64}]
            return self._ok(message)
        if method == "getMe":
            return self._ok(BOT)
        return self._ok(True)  # setMyCommands, sendChatAction, answerCallbackQuery, deleteWebhook, ...

    async def _get_updates(self, params: dict) -> list[dict]:
        offset = int(params.get("offset") or 0)
        self.updates = [u for u in self.updates if u["update_id"] >= offset]  # the bot confirmed the rest
        timeout = min(float(params.get("timeout") or 0), 1.0)
        ready = [u for u in self.updates if u["update_id"] >= offset]
        if not ready and timeout:
            self._new.clear()
            try:
                await asyncio.wait_for(self._new.wait(), timeout)
            except asyncio.TimeoutError:
                pass
            ready = [u for u in self.updates if u["update_id"] >= offset]
        return ready

    @staticmethod
    async def _params(request: web.Request) -> dict:
        if request.content_type == "application/json":
            return await request.json()
        form = await request.post()
        params = {}
        for key, value in form.items():
            if hasattr(value, "file"):
                params[key] = {"filename": value.filename, "bytes": len(value.file.read())}
                continue
            try:
                params[key] = json.loads(value) if value[:1] in "[{" else value
            except (ValueError, TypeError):
                params[key] = value
        return params

    @staticmethod
    def _ok(result) -> web.Response:
        return web.json_response({"ok": True, "result": result})


def relay_settings(api: BotApiStandIn, voice_cache_dir, **changes):
    """The channel settings of a Telegram relay that talks to `api` (a test token, a generous rate limit), with
    `changes` (rasa_url, staff ids, a stricter rate limit …) on top."""
    from dataclasses import replace

    from bot.settings import get_channel_settings

    base = {
        "telegram_token": "4242:TEST",
        "telegram_base_url": api.base_url,
        "voice_cache_dir": voice_cache_dir,
        "rate_limit_messages": 100,
    }
    return replace(get_channel_settings(), **(base | changes))
