"""Every setting of the project, read from the environment here and nowhere else.

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
    questions_path: Path = field(
        default_factory=lambda: _path("WESTBOT_QUESTIONS", ROOT / "var" / "questions.db")
    )
    # Generated jieba dictionaries: Rasa's JiebaTokenizer reads every file in this folder.
    jieba_dict_dir: Path = field(
        default_factory=lambda: _path("WESTBOT_JIEBA_DICT", ROOT / "nlu" / "generated" / "jieba")
    )
    lookup_dir: Path = field(
        default_factory=lambda: _path("WESTBOT_LOOKUPS", ROOT / "nlu" / "generated" / "lookups")
    )
    cache_dir: Path = field(default_factory=lambda: _path("WESTBOT_CACHE", ROOT / "var" / "cache"))
    documents_dir: Path = DATA_DIR / "documents"
    default_contact: str = field(
        default_factory=lambda: os.environ.get("WESTBOT_DEFAULT_CONTACT", "12345 政务服务热线")
    )


def get_settings() -> Settings:
    """Return the settings as the environment says now (tests may change it between calls)."""
    return Settings()
