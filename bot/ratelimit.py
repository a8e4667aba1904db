"""A per-person limit on messages, so one sender cannot flood the bot."""
from __future__ import annotations

import time
from collections import deque


class RateLimiter:
    """At most `limit` messages per `window` seconds for each key (a Telegram user id, a web session)."""

    def __init__(self, limit: int, window: float, clock=time.monotonic, max_keys: int = 100_000):
        self.limit, self.window, self._clock = limit, window, clock
        self._seen: dict[object, deque] = {}
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

    def _forget_idle(self, now: float) -> None:
        for key in [k for k, t in self._seen.items() if not t or now - t[-1] > self.window]:
            del self._seen[key]
