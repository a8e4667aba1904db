"""The Bot API stand-in with Telegram's sending limits: about 30 messages a second overall and one a second per
chat (a short burst of a few is tolerated, as Telegram does), answered with 429 and retry_after beyond them; and
chats that blocked the bot (403). Used by the follow tests and benchmarks/follow_fanout.py."""

from __future__ import annotations

import time
from collections import defaultdict, deque

from aiohttp import web

from devtools.botapi_standin import BotApiStandIn

SENDING = ("sendMessage", "sendVoice", "sendPhoto")


class LimitedBotApiStandIn(BotApiStandIn):
    def __init__(self, per_second: int = 30, per_chat_gap: float = 1.0, burst_slack: float = 0.05) -> None:
        super().__init__()
        self.per_second = per_second
        self.per_chat_gap = per_chat_gap
        self.burst_slack = burst_slack  # timer jitter forgiven, in seconds
        self.blocked: set[int] = set()  # chats that blocked the bot: 403
        self.too_many = 0  # 429s answered
        self.delivered: list[tuple[float, int, str]] = []  # (monotonic time, chat id, method)
        self._recent: deque[float] = deque()
        self._last_in_chat: dict[int, float] = defaultdict(lambda: -1e9)

    def delivered_to(self, chat_id: int, method: str | None = None) -> list[float]:
        return [t for t, c, m in self.delivered if c == chat_id and (method is None or m == method)]

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if method not in SENDING:
            return await super()._handle(request)
        params = await self._params(request)
        chat_id = int(params["chat_id"])
        if chat_id in self.blocked:
            self.calls.append((method + ":refused", params))
            return web.json_response(
                {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"}, status=403
            )
        now = time.monotonic()
        while self._recent and now - self._recent[0] >= 1.0:
            self._recent.popleft()
        if (
            len(self._recent) >= self.per_second
            or now - self._last_in_chat[chat_id] < self.per_chat_gap - self.burst_slack
        ):
            self.too_many += 1
            self.calls.append((method + ":limited", params))
            return web.json_response(
                {
                    "ok": False,
                    "error_code": 429,
                    "description": "Too Many Requests: retry after 1",
                    "parameters": {"retry_after": 1},
                },
                status=429,
            )
        self._recent.append(now)
        self._last_in_chat[chat_id] = now
        self.delivered.append((now, chat_id, method))
        request = _Replay(request, params)
        return await super()._handle(request)


class _Replay:
    """The request again, its body already read (the parent reads the parameters itself)."""

    def __init__(self, request: web.Request, params: dict) -> None:
        self.match_info = request.match_info
        self.content_type = "application/json"
        self._params = params

    async def json(self) -> dict:
        return self._params
