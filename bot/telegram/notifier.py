"""Sends the follow messages queued in the follows store (knowledge/follows.py) to Telegram.

- Within Telegram's limits: at most `rate` messages a second overall (default 25, leaving room under the 30/s
  for answers) and one a second per chat (a chat's next message waits a second after its last).
- Each message is marked `sending` on disk before it goes and `sent` after, before that chat's next one: a
  restart never sends a message twice, and everything still queued goes after the restart.
- Nothing goes in the quiet hours (22:00-08:00 Asia/Shanghai by default); the queue waits for the morning.
- Flood control (429) puts the message back and pauses; a resident who blocked the bot (403) is unfollowed
  and their queue dropped; a time-out, after which Telegram may have delivered it, is not sent again.
- Once a day it queues the messages for passages that became valid or expired on their dates.
"""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut

from bot.voice import VoiceUnavailable, synthesize_async
from knowledge import follows, store
from knowledge.settings import Settings

logger = logging.getLogger(__name__)

PER_CHAT_GAP = 1.0  # seconds between two messages to one chat
IDLE_POLL = 1.0  # seconds between looks at the queue when it is empty (the kb CLI queues from another process)
IN_FLIGHT = 8  # messages on their way at once (Telegram answers in ~0.1-0.3 s; 8 keep 25/s flowing)
NETWORK_PAUSE = 5.0
STATE_EVERY = 10.0  # seconds between writes of the notifier's state when nothing changes


@dataclass
class NotifierConfig:
    follows_path: Path
    kb_path: Path
    quiet: follows.QuietHours
    rate: float
    voice_cache_dir: Path

    @classmethod
    def from_settings(cls, settings: Settings, voice_cache_dir: Path) -> NotifierConfig:
        return cls(
            settings.follows_path,
            settings.kb_path,
            follows.QuietHours.parse(settings.quiet_hours, settings.local_timezone),
            settings.follow_send_rate,
            voice_cache_dir,
        )


class Notifier:
    """One per relay. `run()` until `stop()`; `clock` gives the current time (tests move it)."""

    def __init__(self, bot, config: NotifierConfig, clock=None):
        self.bot = bot
        self.config = config
        self.clock = clock or (lambda: datetime.now(timezone.utc))
        self._stop = asyncio.Event()
        self._db_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="follows-db")
        self._db = None
        self._last_sent: dict[int, float] = {}
        self._in_flight: dict[int, asyncio.Task] = {}
        self._next_slot = 0.0
        self._paused_until = 0.0
        self._held: bool | None = None
        self._state_written = 0.0
        self._voice_lock = asyncio.Lock()  # one synthesis at a time: the same text for many elders is made once
        self.sent = 0

    async def _call(self, fn, *args):
        return await asyncio.get_running_loop().run_in_executor(self._db_thread, fn, *args)

    def stop(self) -> None:
        self._stop.set()

    async def run(self) -> None:
        self._db = await self._call(follows.open_follows, self.config.follows_path)
        uncertain = await self._call(follows.recover_interrupted, self._db)
        if uncertain:
            logger.warning("%d follow message(s) were being sent when the relay stopped; not sent again", uncertain)
        try:
            while not self._stop.is_set():
                busy = await self._cycle()
                if not busy:
                    await self._wait(IDLE_POLL)
        finally:
            if self._in_flight:
                await asyncio.gather(*self._in_flight.values(), return_exceptions=True)
            await self._call(self._db.conn.close)
            self._db_thread.shutdown(wait=False)

    async def _wait(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self._stop.wait(), seconds)
        except asyncio.TimeoutError:
            pass

    async def _cycle(self) -> bool:
        """One look at the queue; True when it started sending something."""
        now = self.clock()
        await self._dated(now)
        held = self.config.quiet.holds(now)
        if held != self._held or time.monotonic() - self._state_written >= STATE_EVERY:
            # For staff and tests: when the notifier last looked, and whether the quiet hours hold the queue.
            await self._call(lambda: follows.set_state(self._db, last_cycle=now.isoformat(), held_for_quiet_hours=held))
            self._held, self._state_written = held, time.monotonic()
        if held or time.monotonic() < self._paused_until:
            return False
        mono = time.monotonic()
        skip = set(self._in_flight) | {c for c, t in self._last_sent.items() if mono - t < PER_CHAT_GAP}
        room = IN_FLIGHT - len(self._in_flight)
        if room <= 0:
            await asyncio.wait(list(self._in_flight.values()), return_when=asyncio.FIRST_COMPLETED)
            return True
        rows = await self._call(follows.queued, self._db, room, skip)
        if not rows:
            if self._in_flight or any(mono - t < PER_CHAT_GAP for t in self._last_sent.values()):
                await self._wait(0.05)  # messages are waiting on their chat's one-a-second
                return True
            return False
        for row in rows:
            if self._stop.is_set():
                break
            task = asyncio.create_task(self._send(row))
            self._in_flight[row["chat_id"]] = task
            task.add_done_callback(lambda _t, chat=row["chat_id"]: self._in_flight.pop(chat, None))
        return True

    async def _pace(self) -> None:
        """At most `rate` sends a second, evenly spaced."""
        now = time.monotonic()
        self._next_slot = max(self._next_slot, now)
        wait = self._next_slot - now
        self._next_slot += 1.0 / self.config.rate
        if wait > 0:
            await asyncio.sleep(wait)

    async def _send(self, row: dict) -> None:
        chat_id = row["chat_id"]
        if not await self._call(follows.claim, self._db, row["id"]):
            return
        try:
            await self._pace()  # here, just before the call: a slow disk must not bunch the sends up
            if row["kind"] == "voice":
                await self._send_voice(chat_id, row)
            else:
                await self.bot.send_message(chat_id, row["body"])
        except RetryAfter as error:
            wait = (
                error.retry_after.total_seconds()
                if hasattr(error.retry_after, "total_seconds")
                else float(error.retry_after)
            )
            self._paused_until = max(self._paused_until, time.monotonic() + wait)
            await self._call(follows.release, self._db, row["id"], f"flood control: {wait:.0f} s")
            logger.warning("Telegram flood control: follow messages wait %.1f s", wait)
        except Forbidden as error:
            removed = await self._call(follows.forget_chat, self._db, chat_id)
            logger.info("chat %s blocked the bot (%s): unfollowed %d subject(s)", chat_id, error, removed["follows"])
        except BadRequest as error:
            await self._call(follows.mark, self._db, row["id"], "failed", str(error)[:200])
            logger.warning("follow message %s refused by Telegram: %s", row["id"], error)
        except TimedOut as error:
            # It may have arrived: at most once, so it is not sent again.
            await self._call(follows.mark, self._db, row["id"], "uncertain", str(error)[:200])
            logger.warning("follow message %s timed out; not sent again", row["id"])
        except NetworkError as error:
            await self._call(follows.release, self._db, row["id"], str(error)[:200])
            self._paused_until = max(self._paused_until, time.monotonic() + NETWORK_PAUSE)
            logger.warning("network error sending follow messages (%s); retrying in %.0f s", error, NETWORK_PAUSE)
        else:
            await self._call(follows.mark, self._db, row["id"], "sent")
            self.sent += 1
        finally:
            self._last_sent[chat_id] = time.monotonic()

    async def _send_voice(self, chat_id: int, row: dict) -> None:
        try:
            async with self._voice_lock:
                path = await synthesize_async(row["body"], self.config.voice_cache_dir, row["voice_lang"] or "cmn")
        except (VoiceUnavailable, ValueError, OSError) as error:
            await self._call(follows.mark, self._db, row["id"], "failed", f"no voice: {error}"[:200])
            raise BadRequest(f"no voice: {error}") from error
        await self.bot.send_voice(chat_id, voice=path.read_bytes())

    async def _dated(self, now: datetime) -> None:
        """Once a local day: messages for passages that became valid or expired on their dates."""
        today = now.astimezone(self.config.quiet.zone).date()
        if await self._call(follows.get_state, self._db, "dated_checked") == today.isoformat():
            return

        def check() -> int:
            try:
                kb = store.open_read_only(self.config.kb_path)
            except FileNotFoundError:
                return 0
            try:
                return follows.notify_dated(kb, self._db, today)
            finally:
                kb.conn.close()

        try:
            told = await self._call(check)
        except Exception as error:  # a knowledge base being rebuilt: try again tomorrow's first cycle... or next
            logger.error("could not check dated passages: %s", error)
            return
        await self._call(lambda: follows.set_state(self._db, dated_checked=today.isoformat()))
        if told:
            logger.info("queued dated follow messages for %d chats", told)
