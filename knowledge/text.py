"""Text normalization shared by the NLU pipeline, the search and the ingest.

`normalize_question` turns what a resident typed into the plain simplified Mandarin the plan is written in:
full-width forms folded (NFKC), Cantonese words replaced from a data table, traditional characters converted
with OpenCC, emoji and control characters dropped, runs of punctuation collapsed.
"""

from __future__ import annotations

import functools
import html
import re
import unicodedata

from . import pinyin, privacy
from .settings import DATA_DIR

MAX_QUESTION_CHARS = 500

_EMOJI = re.compile(
    "[\U0001f000-\U0001faff\U00002600-\U000027bf\U0001f900-\U0001f9ff\U00002b00-\U00002bff"
    "\ufe00-\ufe0f\u200b-\u200f\u2060-\u206f\U000e0000-\U000e007f]+"
)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_SURROGATES = re.compile("[\ud800-\udfff]")
_REPEATED_PUNCT = re.compile(r"([!?.,;:~。！？，、；：…·\-_=*#])\1+")
_SPACES = re.compile(r"\s+")
_MARKUP = re.compile(r"<[^>]{0,200}>")
# [链接](http://example.com) 家庭医生: the link's words stay, its address goes, as does any bare address.
_MARKDOWN_LINK = re.compile(r"\[([^\]]{0,200})\]\([^)\s]{0,500}\)")
_LINK = re.compile(r"(?:https?://|www\.)[^\s\u4e00-\u9fff]{1,500}", re.IGNORECASE)
# What a script or style element holds is code, not words of the question: <script>alert(1)</script>长者饭堂.
# A verb said as "try and do" (修一修, 查一查, 看一看) is the verb itself: 修一修金沙路 asks about 修 金沙路.
_TRIED_VERB = re.compile(r"([\u4e00-\u9fff])一\1")
_CODE_ELEMENT = re.compile(r"<(script|style)\b[^>]{0,200}>.{0,2000}?</\1\s*>", re.IGNORECASE | re.DOTALL)


@functools.lru_cache(maxsize=1)
def _opencc():
    import opencc  # imported lazily: nothing heavy happens at import time

    return opencc.OpenCC("t2s")


@functools.lru_cache(maxsize=1)
def cantonese_table() -> tuple[tuple[str, str], ...]:
    """The Cantonese -> Mandarin pairs from `data/cantonese.tsv`, longest key first."""
    pairs = []
    for line in (DATA_DIR / "cantonese.tsv").read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        key, _, value = line.partition("\t")
        if key and value:
            pairs.append((key.strip(), value.strip()))
    return tuple(sorted(pairs, key=lambda p: -len(p[0])))


@functools.lru_cache(maxsize=1)
def _cantonese_pattern() -> tuple[re.Pattern, dict[str, str]]:
    table = dict(cantonese_table())
    pattern = re.compile("|".join(re.escape(k) for k, _ in cantonese_table()))
    return pattern, table


def _word_starts_before(text: str) -> set[int]:
    """Positions of `text` that fall inside a dictionary word begun at an earlier character (街边 in 街边啲垃圾:
    the 边 of 街边), by jieba's dictionary-only cut."""
    from .segment import inside_word_positions

    simplified = to_simplified(text)  # jieba knows 街边, not 街邊; OpenCC keeps the length but for rare phrases
    return inside_word_positions(simplified if len(simplified) == len(text) else text)


def replace_cantonese(text: str) -> str:
    """Cantonese words of `text` replaced by Mandarin ones, longest key first, left to right.

    A key is not replaced where its first character ends a word that begins before it: in 街边啲垃圾 the 边 belongs
    to 街边, so 边啲 (哪些) is not read there, and 啲 alone is.
    """
    pattern, table = _cantonese_pattern()
    if not pattern.search(text):
        return text
    inside = None
    out, at = [], 0
    while at < len(text):
        match = pattern.match(text, at)
        if match and at > 0 and len(match.group(0)) > 1:
            if inside is None:
                inside = _word_starts_before(text)
            if at in inside:
                match = None
        if match:
            out.append(table[match.group(0)])
            at = match.end()
        else:
            out.append(text[at])
            at += 1
    return "".join(out)


def to_simplified(text: str) -> str:
    return _opencc().convert(text)


def drop_unencodable(text: str) -> str:
    """Text without lone surrogates (\\ud800 from broken JSON), which no UTF-8 encoder, OpenCC or SQLite accepts."""
    return _SURROGATES.sub("", text) if _SURROGATES.search(text) else text


def normalize_question(text: str | None, limit: int = MAX_QUESTION_CHARS) -> str:
    """What a resident typed -> simplified Mandarin with half-width ASCII, ready for NLU and search.

    Empty or non-string input gives "". A text longer than `limit` characters keeps its start and its end, where
    a long message says what it asks (我想问一下，金沙路今年会不会改造？ after a life story).
    """
    if not isinstance(text, str):
        return ""
    text = drop_unencodable(start_and_end(text, limit * 2))
    escaped_command = text.lstrip().startswith("／")
    text = unicodedata.normalize("NFKC", text)
    text = html.unescape(text) if "&" in text else text  # &lt;p&gt;上门康复&lt;/p&gt;
    text = _MARKDOWN_LINK.sub(r" \1 ", text)
    text = _LINK.sub(" ", text)
    text = privacy.without_personal_data(text)
    text = _CODE_ELEMENT.sub(" ", text)
    text = _MARKUP.sub(" ", text)
    text = _EMOJI.sub(" ", text)
    text = _CONTROL.sub(" ", text)
    text = pinyin.read(text)  # jiating yisheng -> 家庭医生
    # Cantonese before and after OpenCC: keys are written in both scripts, some only match one way.
    text = replace_cantonese(text)
    text = to_simplified(text)
    text = replace_cantonese(text)
    text = _TRIED_VERB.sub(r"\1", text)
    text = _REPEATED_PUNCT.sub(r"\1", text)
    text = _SPACES.sub(" ", text).strip()
    if escaped_command:
        # The REST channel wrote a resident's /restart as ／restart so that Rasa reads it as words; NFKC made it
        # /restart again, which Rasa's RegexMessageHandler (after this pipeline) would run as a command.
        text = text.lstrip("/ ")
    return start_and_end(text, limit)


def start_and_end(text: str, limit: int) -> str:
    """`text` cut to `limit` characters: its first fifth and the rest from its end, joined by …"""
    if len(text) <= limit:
        return text
    start = limit // 5
    return text[:start] + "…" + text[len(text) - (limit - start - 1) :]


def letters_and_digits(text: str) -> str:
    """`text` without punctuation, spaces or symbols: what its length as a message is counted on."""
    return "".join(ch for ch in text if ch.isalnum())


def has_meaningful_text(text: str) -> bool:
    """True when the text has at least one letter or digit (Chinese included)."""
    return any(ch.isalnum() for ch in text)


def fix_plan_punctuation(text: str) -> str:
    """The scraped plan uses ASCII commas and colons inside Chinese; use the Chinese ones there.

    A comma or colon between two digits (1,000 or 12:30) is left alone.
    """
    text = re.sub(r"(?<!\d),|,(?!\d)", "，", text)
    text = re.sub(r"(?<!\d):|:(?!\d)", "：", text)
    text = re.sub(r"(?<=[\u4e00-\u9fff]);|;(?=[\u4e00-\u9fff])", "；", text)
    text = re.sub(r"(?<=[\u4e00-\u9fff])\((?=[\u4e00-\u9fff])", "（", text)
    text = re.sub(r"(?<=[\u4e00-\u9fff])\)", "）", text)
    return text


_SENTENCE_END = re.compile(r"(?<=[。！？；])")


def split_sentences(text: str) -> list[str]:
    """Split Chinese text after 。！？； keeping the punctuation; blank pieces dropped."""
    return [s.strip() for s in _SENTENCE_END.split(text) if s.strip()]
