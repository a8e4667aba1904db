"""Spoken elder-mode answers: espeak-ng (Debian) speaks, opusenc makes OGG/Opus for Telegram voice and the web.

Synthesis runs in a worker thread (never on the event loop) and every clip is cached by language and text, so
an answer asked twice is spoken once.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

logger = logging.getLogger(__name__)

VOICES = {"cmn": "cmn", "yue": "yue"}  # Mandarin (default) and Cantonese
SPEED = 140  # words a minute: slower than espeak-ng's 175, for older listeners
MAX_CHARS = 400


class VoiceUnavailable(RuntimeError):
    """espeak-ng or opusenc is not installed (Debian packages espeak-ng and opus-tools)."""


def speakable(text: str) -> str:
    """What to read aloud: the answer without its source line, buttons or symbols a voice would spell out."""
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("来源")]
    spoken = "。".join(line.rstrip("。") for line in lines)
    spoken = re.sub(r"[“”\"《》【】\[\]·*#_>]", "", spoken)
    return spoken[:MAX_CHARS]


def cache_path(cache_dir: Path, text: str, lang: str) -> Path:
    digest = hashlib.sha256(f"{lang}\x1f{text}".encode()).hexdigest()[:24]
    return Path(cache_dir) / f"{lang}-{digest}.ogg"


def synthesize(text: str, cache_dir: Path, lang: str = "cmn") -> Path:
    """The OGG/Opus clip of `text` in `lang` ("cmn" or "yue"), made once and then read from the cache."""
    if lang not in VOICES:
        raise ValueError(f"unknown voice {lang!r}; voices are {', '.join(VOICES)}")
    text = speakable(text)
    if not text:
        raise ValueError("nothing to say")
    target = cache_path(cache_dir, text, lang)
    if target.exists():
        return target
    espeak, opusenc = shutil.which("espeak-ng"), shutil.which("opusenc")
    if not espeak or not opusenc:
        raise VoiceUnavailable("install Debian's espeak-ng and opus-tools for spoken answers")
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as work:
        wav = Path(work) / "voice.wav"
        subprocess.run(
            [espeak, "-v", VOICES[lang], "-s", str(SPEED), "-w", str(wav), text],
            check=True,
            capture_output=True,
            timeout=30,
        )
        partial = target.with_suffix(".part")
        subprocess.run(
            [opusenc, "--quiet", "--speech", "--bitrate", "24", str(wav), str(partial)],
            check=True,
            capture_output=True,
            timeout=30,
        )
        partial.replace(target)
    return target


def available() -> bool:
    """Whether this machine can speak: espeak-ng and opusenc are installed (cached clips play regardless)."""
    return bool(shutil.which("espeak-ng") and shutil.which("opusenc"))


def duration_seconds(path: Path) -> int:
    """The length of an OGG/Opus clip in whole seconds (at least 1), read from its last page's granule position.

    Opus always counts 48 000 samples a second; the encoder's pre-skip (in the OpusHead header) is not heard.
    """
    data = Path(path).read_bytes()
    head, last = data.find(b"OpusHead"), data.rfind(b"OggS")
    if head < 0 or last < 0:
        raise ValueError(f"{path} is not an OGG/Opus file")
    pre_skip = int.from_bytes(data[head + 10 : head + 12], "little")
    granule = int.from_bytes(data[last + 6 : last + 14], "little")
    return max(1, round((granule - pre_skip) / 48_000))


async def synthesize_async(text: str, cache_dir: Path, lang: str = "cmn") -> Path:
    return await asyncio.to_thread(synthesize, text, cache_dir, lang)
