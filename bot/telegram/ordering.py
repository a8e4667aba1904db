"""Many residents at once, each resident's messages in the order sent.

python-telegram-bot handles one update at a time by default, so one slow answer held up every resident. This
processor runs up to `limit` updates at once and keeps one lock per chat: a chat's next message waits for its
previous answer, nobody else does. The rate limit is checked as an update arrives, before it queues for its
chat, so one resident sending fast cannot fill the shared slots.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor


class ChatOrderedProcessor(BaseUpdateProcessor):
    """Concurrent updates, bounded, in order within each chat. `admit(update)` -> False drops an update."""

    def __init__(self, limit: int = 64):
        super().__init__(max_concurrent_updates=limit)
        self.admit: Callable[[object], Awaitable[bool]] | None = None
        self._locks: dict[int, asyncio.Lock] = {}
        self._waiting: dict[int, int] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        if self.admit is not None and not await self.admit(update):
            coroutine.close()  # never started: closing it keeps asyncio from warning that it was not awaited
            return
        key = chat_key(update)
        if key is None:
            await coroutine
            return
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._waiting[key] = self._waiting.get(key, 0) + 1
        try:
            async with lock:
                await coroutine
        finally:
            self._waiting[key] -= 1
            if not self._waiting[key]:  # nobody else queued for this chat: forget its lock
                del self._waiting[key], self._locks[key]

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass


def chat_key(update: object) -> int | None:
    if not isinstance(update, Update):
        return None
    if update.effective_chat is not None:
        return update.effective_chat.id
    return update.effective_user.id if update.effective_user is not None else None
