"""Sound-alike matching of district names: 月信路 -> 粤信路, 长者住餐 -> 长者助餐.

Older residents type with pinyin or handwriting input, which puts a character of the same sound in place of the
right one. A stretch of the question is read as a known name when every character sounds like the name's
character in the same place (tones ignored, all readings of a character tried) and enough characters are the
very same ones. Thresholds were measured with benchmarks/soundalike.py: no false match on out-of-scope questions.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

# Names shorter than this are too easy to hit by chance (金沙 / 今啥).
MIN_NAME_CHARS = 3
# At least this many characters must be the same, and at most this many may differ.
MIN_SAME_CHARS = 2
MAX_CHANGED_CHARS = 1  # SoundAlikeMatcher._candidates finds names one character away; more needs another index
# Sounds that residents from the Pearl River Delta often merge; compared after this folding.
_FOLD_INITIALS = (("zh", "z"), ("ch", "c"), ("sh", "s"), ("l", "n"))
_FOLD_FINALS = (("ang", "an"), ("eng", "en"), ("ing", "in"))


def fold(syllable: str) -> str:
    for long, short in _FOLD_INITIALS:
        if syllable.startswith(long):
            syllable = short + syllable[len(long) :]
            break
    for long, short in _FOLD_FINALS:
        if syllable.endswith(long):
            syllable = syllable[: -len(long)] + short
            break
    return syllable


@functools.lru_cache(maxsize=8192)
def sounds(char: str) -> frozenset[str]:
    """Every reading of a character, toneless and folded; a non-Chinese character sounds only like itself."""
    from pypinyin import Style, pinyin

    if not ("\u4e00" <= char <= "\u9fff"):
        return frozenset({char.lower()})
    readings = pinyin(char, style=Style.NORMAL, heteronym=True, errors="ignore")
    return frozenset(fold(r) for r in (readings[0] if readings else [])) or frozenset({char})


@dataclass(frozen=True)
class SoundAlike:
    start: int
    end: int
    typed: str
    name: str


class SoundAlikeMatcher:
    def __init__(self, names):
        sounds("路")  # load pypinyin's dictionary now, not on a resident's first question
        self._by_length: dict[int, list[str]] = {}
        # Names by each way of blanking one character: a window finds the names it differs from in at most one
        # place with one look-up per character, instead of comparing itself with every name of its length.
        self._by_blank: dict[tuple[int, str], list[tuple[int, str]]] = {}
        for order, name in enumerate(dict.fromkeys(names)):
            if len(name) >= MIN_NAME_CHARS and all("\u4e00" <= c <= "\u9fff" or c.isalnum() for c in name):
                self._by_length.setdefault(len(name), []).append(name)
                for i in range(len(name)):
                    self._by_blank.setdefault((i, name[:i] + name[i + 1 :]), []).append((order, name))

    def find(self, text: str) -> list[SoundAlike]:
        """Stretches of `text` that sound like a known name but are not written like it, longest first."""
        found: list[SoundAlike] = []
        taken = [False] * len(text)
        for length in sorted(self._by_length, reverse=True):
            for start in range(0, len(text) - length + 1):
                if any(taken[start : start + length]):
                    continue
                window = text[start : start + length]
                name = self._match(window, self._candidates(window))
                if name:
                    found.append(SoundAlike(start, start + length, window, name))
                    for i in range(start, start + length):
                        taken[i] = True
        return sorted(found, key=lambda m: m.start)

    def _candidates(self, window: str) -> list[str]:
        """The names that differ from `window` in at most one character, in the order they were given."""
        close: set[tuple[int, str]] = set()
        for i in range(len(window)):
            close.update(self._by_blank.get((i, window[:i] + window[i + 1 :]), ()))
        return [name for _, name in sorted(close)]

    @staticmethod
    def _match(window: str, names: list[str]) -> str | None:
        for name in names:
            if name == window:
                return None  # written right: not ours to change
            changed = sum(1 for a, b in zip(window, name) if a != b)
            if changed > MAX_CHANGED_CHARS or len(name) - changed < MIN_SAME_CHARS:
                continue
            if all(a == b or sounds(a) & sounds(b) for a, b in zip(window, name)):
                return name
        return None

    def correct(self, text: str) -> str:
        """`text` with every sound-alike name written the way the knowledge base writes it."""
        for match in reversed(self.find(text)):
            text = text[: match.start] + match.name + text[match.end :]
        return text
