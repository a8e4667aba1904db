"""Turn Rasa's messages into what a Telegram resident sees: text within Telegram's limits, keyboards, voice."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, KeyboardButton, ReplyKeyboardMarkup

TELEGRAM_LIMIT = 4096
CALLBACK_DATA_LIMIT = 64  # bytes, Telegram's limit on a button's callback data
FEEDBACK_INTENTS = ("/feedback_helpful", "/feedback_not_helpful")
_SENTENCE_END = re.compile(r"(?<=[。！？；!?\n])")


def split_message(text: str, limit: int = TELEGRAM_LIMIT) -> list[str]:
    """Split text into parts of at most `limit` characters, at sentence ends where possible."""
    parts, current = [], ""
    for sentence in _SENTENCE_END.split(text):
        while len(sentence) > limit:  # one sentence longer than a message: cut it hard
            if current:
                parts.append(current)
                current = ""
            parts.append(sentence[:limit])
            sentence = sentence[limit:]
        if len(current) + len(sentence) > limit:
            parts.append(current)
            current = ""
        current += sentence
    if current.strip():
        parts.append(current)
    return [p.strip("\n") for p in parts if p.strip()]


@dataclass
class Reply:
    """One thing to send: a text with its keyboard, and optionally a voice clip to speak."""

    text: str
    keyboard: object | None = None
    voice: dict | None = None  # {"text", "lang"} from custom.voice
    image: str | None = None  # a picture's URL (Rasa's "image" field)
    mode: str | None = None  # "elder" or "standard" when the bot says which


@dataclass
class Rendered:
    replies: list[Reply] = field(default_factory=list)
    mode: str | None = None


def source_line(source: dict) -> str:
    where = " · ".join(x for x in (source.get("section"), source.get("heading")) if x)
    return f"来源：《{source.get('document', '')}》{where}"


def button_payload(payload: str, passage_id: object | None) -> str | None:
    """The callback data of a button: Rasa's payload, and for 👍/👎 the answer's passage, so a press on an older
    answer is counted for that answer (`/feedback_helpful{"passage_id":12}`). None when it cannot fit."""
    if payload in FEEDBACK_INTENTS and isinstance(passage_id, int):
        payload += json.dumps({"passage_id": passage_id}, separators=(",", ":"))
    return payload if len(payload.encode()) <= CALLBACK_DATA_LIMIT else None


def is_feedback(data: str) -> bool:
    return data.split("{")[0] in FEEDBACK_INTENTS


def render(messages: list[dict], elder: bool) -> Rendered:
    """Rasa REST messages -> replies. Elder mode gets a big reply keyboard; otherwise inline buttons."""
    out = Rendered()
    # REST sends a message's custom payload after its text: read the mode before laying out any buttons.
    for message in messages:
        mode = (message.get("custom") or {}).get("mode")
        if mode in ("elder", "standard"):
            out.mode = mode
            elder = mode == "elder"
    passage_id = next(
        (
            ((m.get("custom") or {}).get("source") or {}).get("passage_id")
            for m in messages
            if ((m.get("custom") or {}).get("source") or {}).get("passage_id") is not None
        ),
        None,
    )
    for message in messages:
        custom = message.get("custom") or {}
        text = message.get("text") or ""
        buttons = message.get("buttons") or []
        if text:
            keyboard = None
            if buttons and elder:
                keyboard = ReplyKeyboardMarkup(
                    [[KeyboardButton(b["title"])] for b in buttons], resize_keyboard=True, is_persistent=True
                )
            elif buttons:
                row = [
                    InlineKeyboardButton(b["title"], callback_data=data)
                    for b in buttons
                    if (data := button_payload(b["payload"], passage_id))
                ]
                keyboard = InlineKeyboardMarkup([row]) if row else None
            parts = split_message(text)
            for i, part in enumerate(parts):
                out.replies.append(Reply(part, keyboard if i == len(parts) - 1 else None))
        if message.get("image"):
            out.replies.append(Reply(text="", image=message["image"]))
        if not out.replies:
            continue
        source = custom.get("source")
        if source and not any("来源" in r.text for r in out.replies[-2:]):
            out.replies[-1].text += "\n" + source_line(source)
        if custom.get("voice"):
            out.replies[-1].voice = custom["voice"]
    return out
