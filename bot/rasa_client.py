"""Talk to Rasa's REST channel: the one way every front end reaches the bot."""

from __future__ import annotations

import logging

import httpx

from knowledge.texts import MAINTENANCE  # noqa: F401  (the channels import it from here)

logger = logging.getLogger(__name__)


class RasaUnavailable(RuntimeError):
    """Rasa (or the action server behind it) did not answer properly."""


class RasaClient:
    """An open httpx client for the REST channel. Open it at startup (`post_init`), close it at shutdown."""

    def __init__(self, url: str, timeout: float = 20.0, client: httpx.AsyncClient | None = None):
        self.url = url.rstrip("/")
        self._client = client or httpx.AsyncClient(timeout=timeout)
        self._down = False

    async def send(self, sender: str, text: str) -> list[dict]:
        """Send one message; return the bot's messages. Raises RasaUnavailable when there is no proper answer."""
        try:
            response = await self._client.post(
                f"{self.url}/webhooks/rest/webhook", json={"sender": sender, "message": text}
            )
            response.raise_for_status()
            messages = response.json()
        except (httpx.HTTPError, ValueError) as error:
            self._report_down(f"Rasa at {self.url} failed: {error!r}")
            raise RasaUnavailable(str(error)) from error
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
        await self._client.aclose()
