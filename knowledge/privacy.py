"""What residents type stays private: personal numbers masked before storing, senders kept as pseudonyms.

The masking rules are data (`data/privacy.yml`): phone numbers (+86, spaced, dashed), landlines, ID numbers
(18 and 15 digits, spaced), bank cards and e-mail addresses. Full-width digits are folded first, so ０１３９… is
masked like 0139…. Pseudonyms are an HMAC of the sender id with a secret kept in a 0600 file, so they cannot be
reversed by trying every `telegram-<id>`.

Files holding private data are made 0600 and their folder 0700 (`private_file`, `private_dir`).

Logs: `mask_logs()` masks the same forms in every log record the process makes (its message with its arguments,
its traceback), whatever logger or handler, so an error or debug line of Rasa, the action server, the Telegram
relay or the web server never shows a resident's numbers.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import logging
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

import yaml

from .settings import DATA_DIR

RULES_FILE = DATA_DIR / "privacy.yml"
# Full-width digits and the signs typed around numbers -> ASCII, so one set of rules covers both.
# Chinese punctuation such as ，and ： is left as typed.
_FOLD = {c: c - 0xFEE0 for c in [*range(0xFF10, 0xFF1A), *range(0xFF21, 0xFF3B), *range(0xFF41, 0xFF5B)]}
_FOLD.update(str.maketrans("＋－　（）＠．＿％", "+- ()@._%"))
_FOLD.update({0x2014: "-", 0x2013: "-", 0x2012: "-", 0x2212: "-"})  # dashes typed by phone keyboards


@dataclass(frozen=True)
class MaskRule:
    name: str
    pattern: re.Pattern
    keep_start: int = 0
    keep_end: int = 0
    mask_as: str | None = None  # a fixed replacement (e-mail), instead of keeping digits
    strip_prefix: re.Pattern | None = None  # dropped before the digits are counted (+86)
    examples: tuple[tuple[str, str], ...] = ()

    def replace(self, match: re.Match) -> str:
        if self.mask_as is not None:
            return self.mask_as
        found = match.group(0)
        if self.strip_prefix is not None:
            found = self.strip_prefix.sub("", found)
        digits = re.sub(r"[^\dXx]", "", found)
        hidden = len(digits) - self.keep_start - self.keep_end
        return digits[: self.keep_start] + "*" * hidden + digits[len(digits) - self.keep_end :]


def load_rules(path: Path = RULES_FILE) -> tuple[MaskRule, ...]:
    """The masking rules of a YAML file, in the order they are applied."""
    raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    rules = []
    for r in raw["rules"]:
        rules.append(
            MaskRule(
                name=r["name"],
                pattern=re.compile(r["pattern"]),
                keep_start=int(r.get("keep_start", 0)),
                keep_end=int(r.get("keep_end", 0)),
                mask_as=r.get("mask_as"),
                strip_prefix=re.compile(r["strip_prefix"]) if r.get("strip_prefix") else None,
                examples=tuple((str(a), str(b)) for a, b in r.get("examples", ())),
            )
        )
    return tuple(rules)


@functools.lru_cache(maxsize=1)
def rules() -> tuple[MaskRule, ...]:
    return load_rules()


def mask_personal_data(text: str) -> str:
    """Text with every phone, ID, bank card number and e-mail address masked: 13912345678 -> 139****5678."""
    if not text or not isinstance(text, str):
        return text
    if not any(ch.isdigit() or ch in "@＠" for ch in text):
        return text  # most messages: nothing to do
    text = text.translate(_FOLD)
    for rule in rules():
        text = rule.pattern.sub(rule.replace, text)
    return text


# What names a personal number (身份证号：…, 我电话…), dropped with it when a question is read; and a number
# masked already (440102********1234, ***@***).
_NUMBER_LABEL = re.compile(
    r"(?:身份证号码?|身份证|证件号码?|电话号码?|电话|手机号码?|手机|卡号|银行卡号?|邮箱)[是为:： ]*$"
)
_MASKED = re.compile(r"[\dXx]*\*{3,}[\dXx]*(?:@\*+)?")


def has_personal_data(text: str) -> bool:
    """True when `text` holds a phone, ID or card number or an e-mail address, masked or not."""
    return bool(text) and (mask_personal_data(text) != text or bool(_MASKED.search(text)))


def without_personal_data(text: str) -> str:
    """`text` with each personal number (and the words that name it: 身份证号) replaced by a space: a question is
    read without them (身份证号440620…，我爸能不能申请上门康复 asks about 上门康复)."""
    masked = mask_personal_data(text)
    if masked == text and not _MASKED.search(text):
        return text
    out, at = [], 0
    for found in _MASKED.finditer(masked):
        out.append(_NUMBER_LABEL.sub("", masked[at : found.start()]) + " ")
        at = found.end()
    return "".join(out) + masked[at:]


# Keys of a Rasa event whose values are never typed by a resident (numbers the rules must not touch).
_MACHINE_KEYS = frozenset(
    {
        "timestamp",
        "confidence",
        "start",
        "end",
        "message_id",
        "input_channel",
        "model_id",
        "assistant_id",
        "policy",
        "event",
        "name",
        "intent_ranking",
    }
)


def mask_in(value, key: str | None = None):
    """A copy of a JSON-like value (a Rasa event as a dict) with personal data masked in every string."""
    if key in _MACHINE_KEYS:
        return value
    if isinstance(value, str):
        return mask_personal_data(value)
    if isinstance(value, dict):
        return {k: mask_in(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_in(v) for v in value]
    return value


# ---------------------------------------------------------------- log records


def mask_record(record: logging.LogRecord) -> logging.LogRecord:
    """`record` with personal data masked in its message (formatted with its arguments: the arguments are
    merged into the message when masking changed it), its traceback and its stack."""
    try:
        message = record.getMessage()
    except Exception:  # a bad format: logging reports it itself when the record is emitted
        return record
    masked = mask_personal_data(message)
    if masked != message:
        record.msg, record.args = masked, ()
    if record.exc_info and not record.exc_text:
        record.exc_text = mask_personal_data(logging.Formatter().formatException(record.exc_info))
    if record.stack_info:
        record.stack_info = mask_personal_data(record.stack_info)
    return record


def mask_logs() -> None:
    """Mask personal data in every log record of this process from now on (a log record factory: it covers every
    logger and handler, including those configured later, as Rasa and Sanic do). Calling it again does nothing."""
    make_record = logging.getLogRecordFactory()
    if getattr(make_record, "masks_personal_data", False):
        return

    def masked_record(*args, **kwargs) -> logging.LogRecord:
        return mask_record(make_record(*args, **kwargs))

    masked_record.masks_personal_data = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(masked_record)


# ---------------------------------------------------------------- pseudonyms and private files


def private_dir(path: Path) -> Path:
    """Create `path` (and parents) if needed and make it 0700: only the bot's user may list or enter it."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o700)
    return path


def private_file(path: Path) -> Path:
    """Create `path` if missing and make it 0600, with its SQLite -wal and -shm files (SQLite gives those the
    database file's mode, so call this before the first connection)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    for each in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if each.exists():
            os.chmod(each, 0o600)
    return path


def read_or_create_secret(path: Path) -> bytes:
    """The secret in `path`, made (32 random bytes, hex, mode 0600) the first time. Two processes may race: the
    first to create the file wins and the other reads it."""
    path = Path(path)
    try:
        secret = path.read_text(encoding="ascii").strip()
        if secret:
            return secret.encode("ascii")
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text(encoding="ascii").strip().encode("ascii")
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(secrets.token_hex(32) + "\n")
    return path.read_text(encoding="ascii").strip().encode("ascii")


def pseudonym(sender: str, secret: bytes) -> str:
    """A stable pseudonym of a sender id: HMAC-SHA256 with the secret, 16 hex characters."""
    return hmac.new(secret, (sender or "").encode("utf-8", "replace"), hashlib.sha256).hexdigest()[:16]
