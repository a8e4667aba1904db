"""Every setting of the knowledge base, the actions and the staff tools, read from the environment here.

The channels' own settings (Telegram, the web page, the staff console) are beside them, in bot/settings.py.

Each has a default that works on a fresh clone, so `make run` needs no setup.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = Path(__file__).resolve().parent / "data"


def _path(name: str, default: Path) -> Path:
    value = os.environ.get(name)
    return Path(value).expanduser() if value else default


@dataclass(frozen=True)
class Settings:
    kb_path: Path = field(default_factory=lambda: _path("WESTBOT_KB", ROOT / "var" / "knowledge.db"))
    questions_path: Path = field(default_factory=lambda: _path("WESTBOT_QUESTIONS", ROOT / "var" / "questions.db"))
    trackers_path: Path = field(default_factory=lambda: _path("WESTBOT_TRACKERS", ROOT / "var" / "trackers.db"))
    retention_days: int = field(default_factory=lambda: int(os.environ.get("WESTBOT_RETENTION_DAYS", "90")))
    # Generated jieba dictionaries: Rasa's JiebaTokenizer reads every file in this folder.
    jieba_dict_dir: Path = field(
        default_factory=lambda: _path("WESTBOT_JIEBA_DICT", ROOT / "nlu" / "generated" / "jieba")
    )
    lookup_dir: Path = field(default_factory=lambda: _path("WESTBOT_LOOKUPS", ROOT / "nlu" / "generated" / "lookups"))
    cache_dir: Path = field(default_factory=lambda: _path("WESTBOT_CACHE", ROOT / "var" / "cache"))
    documents_dir: Path = DATA_DIR / "documents"
    default_contact: str = field(
        default_factory=lambda: os.environ.get("WESTBOT_DEFAULT_CONTACT", "12345 政务服务热线")
    )
    # Following (docs/following.md): who follows what, and the queue of messages to them, apart from the
    # knowledge base. Nothing is sent in the quiet hours, local time; the send rate stays under Telegram's 30/s.
    follows_path: Path = field(default_factory=lambda: _path("WESTBOT_FOLLOWS", ROOT / "var" / "follows.db"))
    local_timezone: str = field(default_factory=lambda: os.environ.get("WESTBOT_TIMEZONE", "Asia/Shanghai"))
    quiet_hours: str = field(default_factory=lambda: os.environ.get("WESTBOT_QUIET_HOURS", "22:00-08:00"))
    follow_send_rate: float = field(default_factory=lambda: float(os.environ.get("WESTBOT_FOLLOW_SEND_RATE", "25")))


def get_settings() -> Settings:
    """Return the settings as the environment says now (tests may change it between calls)."""
    return Settings()
