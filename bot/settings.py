"""The channels' settings (Telegram relay, web page, staff console), read from the environment here.

Each has a default that works on a fresh clone; the knowledge base's own settings are in knowledge/settings.py.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from knowledge.settings import ROOT, _path


def _ids(value: str) -> frozenset[int]:
    return frozenset(int(v) for v in value.replace(",", " ").split() if v.strip().lstrip("-").isdigit())


@dataclass(frozen=True)
class ChannelSettings:
    """Settings of the front ends (Telegram relay, web page); none is needed to run locally without Telegram."""

    rasa_url: str = field(default_factory=lambda: os.environ.get("RASA_URL", "http://127.0.0.1:5005"))
    rasa_timeout: float = field(default_factory=lambda: float(os.environ.get("RASA_TIMEOUT", "20")))
    telegram_token: str = field(default_factory=lambda: os.environ.get("TELEGRAM_TOKEN", ""))
    # python-telegram-bot's base_url, for a self-hosted Bot API server (or the offline stand-in in tests).
    telegram_base_url: str = field(
        default_factory=lambda: os.environ.get("TELEGRAM_BASE_URL", "https://api.telegram.org/bot")
    )
    telegram_staff_ids: frozenset[int] = field(default_factory=lambda: _ids(os.environ.get("TELEGRAM_STAFF_IDS", "")))
    # Webhook mode when a public URL is set; long polling otherwise.
    telegram_webhook_url: str = field(default_factory=lambda: os.environ.get("TELEGRAM_WEBHOOK_URL", ""))
    telegram_webhook_secret: str = field(default_factory=lambda: os.environ.get("TELEGRAM_WEBHOOK_SECRET", ""))
    telegram_webhook_port: int = field(default_factory=lambda: int(os.environ.get("TELEGRAM_WEBHOOK_PORT", "8443")))
    # Per person: at most this many messages in the window; more get a polite "slow down".
    rate_limit_messages: int = field(default_factory=lambda: int(os.environ.get("RATE_LIMIT_MESSAGES", "15")))
    rate_limit_seconds: float = field(default_factory=lambda: float(os.environ.get("RATE_LIMIT_SECONDS", "30")))
    max_message_chars: int = field(default_factory=lambda: int(os.environ.get("MAX_MESSAGE_CHARS", "2000")))
    # Per client address (several residents may share one, e.g. a community centre's Wi-Fi).
    rate_limit_address_messages: int = field(
        default_factory=lambda: int(os.environ.get("RATE_LIMIT_ADDRESS_MESSAGES", "60"))
    )
    # The web page's signed sender cookie: the key is made (0600) at first start.
    web_cookie_key: Path = field(default_factory=lambda: _path("WESTBOT_WEB_KEY", ROOT / "var" / "web-cookie.key"))
    voice_cache_dir: Path = field(default_factory=lambda: _path("WESTBOT_VOICE_CACHE", ROOT / "var" / "voice"))


@dataclass(frozen=True)
class ConsoleSettings:
    """Settings of the staff console (bot/staff); it reads the knowledge base and logs named in Settings."""

    host: str = field(default_factory=lambda: os.environ.get("WESTBOT_CONSOLE_HOST", "127.0.0.1"))
    port: int = field(default_factory=lambda: int(os.environ.get("WESTBOT_CONSOLE_PORT", "8081")))
    # A session lasts one working day from sign-in.
    session_hours: float = field(default_factory=lambda: float(os.environ.get("WESTBOT_CONSOLE_SESSION_HOURS", "9")))
    # The key that encrypts and signs session cookies; made (readable by its owner only) at first start.
    secret_file: Path = field(
        default_factory=lambda: _path("WESTBOT_CONSOLE_SECRET", ROOT / "var" / "staff-console-secret")
    )
    # Uploaded plans larger than this are refused before they are read (a plan is some 30 kB).
    max_upload_bytes: int = field(
        default_factory=lambda: int(os.environ.get("WESTBOT_CONSOLE_MAX_UPLOAD", str(2 * 1024 * 1024)))
    )


def get_console_settings() -> ConsoleSettings:
    return ConsoleSettings()


def get_channel_settings() -> ChannelSettings:
    return ChannelSettings()
