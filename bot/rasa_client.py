"""Talk to Rasa's REST channel: the one way every front end reaches the bot."""

from __future__ import annotations

import asyncio
import json
import logging

import aiohttp

from knowledge.texts import MAINTENANCE  # noqa: F401  (the channels import it from here)

logger = logging.getLogger(__name__)
CONNECTIONS = 64  # at most this many questions at Rasa at once per front end; more wait for a free connection


class RasaUnavailable(RuntimeError):
    """Rasa (or the action server behind it) did not answer properly."""


class RasaClient:
    """One aiohttp session (a pool of kept-alive connections) for the REST channel, shared by every resident.

    The session is opened on the first question (inside the running event loop) and closed by `close()` at
    shutdown. aiohttp rather than httpx: under 50 residents at once httpx's pool cost the relay more CPU than
    Rasa spent answering (benchmarks/telegram_load.py)."""

    def __init__(self, url: str, timeout: float = 20.0, connections: int = CONNECTIONS):
        self.url = url.rstrip("/")
        self._endpoint = f"{self.url}/webhooks/rest/webhook"
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._connections = connections
        self._session: aiohttp.ClientSession | None = None
        self._down = False

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._connections), timeout=self._timeout
            )
        return self._session

    async def send(self, sender: str, text: str) -> list[dict]:
        """Send one message; return the bot's messages. Raises RasaUnavailable when there is no proper answer."""
        body = json.dumps({"sender": sender, "message": text}, ensure_ascii=False).encode()
        try:
            async with self._open().post(
                self._endpoint, data=body, headers={"Content-Type": "application/json"}
            ) as response:
                response.raise_for_status()
                messages = json.loads(await response.read())
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as error:
            self._report_down(f"Rasa at {self.url} failed: {error!r}")
            raise RasaUnavailable(str(error) or error.__class__.__name__) from error
        if not isinstance(messages, list) or not messages:
            # Every message gets at least one reply; none means the action server failed behind Rasa.
            self._report_down(f"Rasa at {self.url} answered nothing (is the action server up?)")
            raise RasaUnavailable("empty reply")
        if self._down:
            logger.warning("Rasa at %s answers again", self.url)
            self._down = False
        return messages

    def _report_down(self, message: str) -> None:
        """Log an outage once, not once per resident."""
        if not self._down:
            logger.error(message)
            self._down = True

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
