"""Rasa's REST channel, made safe for text that residents type (credentials.yml names it; the URL is unchanged:
POST /webhooks/rest/webhook {"sender", "message"}).

Every front end reaches Rasa through this channel, and residents can also call it directly, so the checks live
here rather than in each front end:

- a body that is not a JSON object, or a sender or message that is not a string, gets 400 with a reason;
- lone surrogates (\\ud800 from broken JSON) are dropped, so nothing downstream (OpenCC, SQLite) fails on them;
- Rasa reads a message starting with `/` as an intent to run (`/restart` wipes the conversation,
  `/session_start` starts a new one, `/ask_roads{"road": …}` sets entities). Only the exact payloads of our
  own buttons and Telegram commands (`BUTTON_PAYLOADS`, `PASSAGE_BUTTON`) keep that meaning; any other text starting with `/`
  gets a full-width ／ in its place, so Rasa's NLU reads it as words like any other message;
- a message is cut at `MAX_MESSAGE_CHARS`; the body size is capped by Sanic (`bot/run_rasa.py`).
"""

from __future__ import annotations

import re

from rasa.core.channels.rest import RestInput
from sanic.exceptions import InvalidUsage
from sanic.request import Request

from bot.settings import get_channel_settings
from knowledge.text import drop_unencodable, start_and_end

# The payloads our buttons (actions/replies.py, actions/elder.py) and Telegram commands (bot/telegram/handlers.py)
# send; tests/test_rest_channel.py checks that every one of them is listed.
BUTTON_PAYLOADS = frozenset(
    {
        "/greet",
        "/what_can_you_do",
        "/elder_mode_on",
        "/elder_mode_off",
        "/about",
        "/repeat",
        "/ask_contact",
        "/feedback_helpful",
        "/feedback_not_helpful",
    }
)
# Buttons that name a passage: a fairly-sure reply's other passages (actions/replies.py alternative_buttons:
# a made-up id only gets "that passage is gone") and 👍/👎 bound to the answer they were pressed on (the channels
# add the id: bot/telegram/render.py, bot/web/static/app.js).
PASSAGE_BUTTON = re.compile(r'/ask_plan\{"passage_id":"\d{1,9}"\}|/feedback_(not_)?helpful\{"passage_id":\d{1,9}\}')


def is_button_payload(text: str) -> bool:
    return text in BUTTON_PAYLOADS or PASSAGE_BUTTON.fullmatch(text) is not None


def as_resident_text(text: str, limit: int) -> str:
    """What a resident sent -> the text Rasa should read: no lone surrogates, no command syntax, at most `limit`
    characters (the start and the end of a longer one, where a long message says what it asks)."""
    text = start_and_end(drop_unencodable(text), limit)
    stripped = text.strip()
    if stripped.startswith("/") and not is_button_payload(stripped):
        text = text.replace("/", "／", 1)
    return text


class ResidentRestInput(RestInput):
    """The standard REST channel with the checks above."""

    @classmethod
    def name(cls) -> str:
        return "rest"

    @staticmethod
    def _body(req: Request) -> dict:
        try:
            body = req.json
        except Exception:  # Sanic raises its own error type for a body that is not JSON at all
            body = None
        if not isinstance(body, dict):
            raise InvalidUsage('请求格式不对：需要一个 JSON 对象 {"sender": …, "message": …}')
        return body

    async def _extract_sender(self, req: Request) -> str | None:
        sender = self._body(req).get("sender")
        if sender is None:
            return None  # Rasa picks a new id, as its own channel does
        if not isinstance(sender, str) or not sender.strip():
            raise InvalidUsage("请求格式不对：sender 需要是文字")
        return drop_unencodable(sender)[:128]

    def _extract_message(self, req: Request) -> str | None:
        message = self._body(req).get("message")
        if not isinstance(message, str):
            raise InvalidUsage("请求格式不对：message 需要是文字")
        return as_resident_text(message, get_channel_settings().max_message_chars)

    def _extract_input_channel(self, req: Request) -> str:
        return self.name()  # not the client's to choose

    def get_metadata(self, request: Request) -> None:
        return None  # nothing the client sends besides sender and message is kept
