"""A per-person limit on messages, so one sender cannot flood the bot."""

from __future__ import annotations

import time
from collections import deque
from enum import Enum


class Verdict(Enum):
    """What to do with one message: take it, refuse it and say so (first of a burst), or refuse it quietly."""

    ALLOW = "allow"
    REFUSE_AND_TELL = "refuse_and_tell"
    REFUSE_QUIETLY = "refuse_quietly"


class RateLimiter:
    """At most `limit` messages per `window` seconds for each key (a Telegram user id, a web session)."""

    def __init__(self, limit: int, window: float, clock=time.monotonic, max_keys: int = 100_000):
        self.limit, self.window, self._clock = limit, window, clock
        self._seen: dict[object, deque] = {}
        self._told: set = set()  # keys already told to slow down in their current burst
        self._max_keys = max_keys

    def allow(self, key) -> bool:
        now = self._clock()
        times = self._seen.get(key)
        if times is None:
            if len(self._seen) >= self._max_keys:
                self._forget_idle(now)
            times = self._seen[key] = deque()
        while times and now - times[0] > self.window:
            times.popleft()
        if len(times) >= self.limit:
            return False
        times.append(now)
        return True

    def admit(self, key) -> Verdict:
        """Like allow(), but says whether this refusal is the first of its burst: one notice per burst is enough."""
        if self.allow(key):
            self._told.discard(key)
            return Verdict.ALLOW
        if key in self._told:
            return Verdict.REFUSE_QUIETLY
        self._told.add(key)
        return Verdict.REFUSE_AND_TELL

    def _forget_idle(self, now: float) -> None:
        for key in [k for k, t in self._seen.items() if not t or now - t[-1] > self.window]:
            del self._seen[key]
            self._told.discard(key)
