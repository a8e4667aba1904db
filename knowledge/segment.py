"""jieba, set up once per process with the district dictionary.

jieba is global state: the dictionary is loaded before serving and never changed while serving. Rasa's
JiebaTokenizer loads the same folder (`dictionary_path` in config.yml), so the NLU and the search split a
question the same way.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

_lock = threading.Lock()
_loaded: set[Path] = set()
_initialized = False


def init_jieba(dict_dir: Path | None = None, cache_dir: Path | None = None) -> None:
    """Initialize jieba (1-3 s the first time) and load every user dictionary file in `dict_dir`.

    Safe to call again: each folder is loaded once per process.
    """
    global _initialized
    import jieba

    with _lock:
        if not _initialized:
            jieba.setLogLevel(logging.WARNING)
            if cache_dir is not None:
                cache_dir.mkdir(parents=True, exist_ok=True)
                jieba.dt.tmp_dir = str(cache_dir)
            jieba.initialize()
            _initialized = True
        if dict_dir is not None:
            dict_dir = Path(dict_dir).resolve()
            if dict_dir not in _loaded and dict_dir.is_dir():
                for path in sorted(dict_dir.iterdir()):
                    if path.is_file():
                        jieba.load_userdict(str(path))
                _loaded.add(dict_dir)


def add_words(words) -> None:
    """Teach jieba words in this process only (used at ingest, before a dictionary file exists)."""
    import jieba

    init_jieba()
    for word in words:
        if word and " " not in word:
            jieba.add_word(word, freq=2000)


def cut(text: str) -> list[str]:
    """Precise-mode words of `text`, spaces dropped."""
    import jieba

    init_jieba()
    return [w for w in jieba.cut(text) if w.strip()]


def cut_dictionary_words(text: str) -> list[str]:
    """`text` cut into jieba dictionary words only (no HMM guesses for unknown runs), spaces kept: the pieces
    join back into `text`."""
    import jieba

    init_jieba()
    return list(jieba.cut(text, HMM=False))


def inside_word_positions(text: str) -> set[int]:
    """Positions of `text` between two characters of one dictionary word (by `cut_dictionary_words`): 1 in 思路,
    the 边 of 街边 in 街边啲垃圾."""
    inside: set[int] = set()
    at = 0
    for word in cut_dictionary_words(text):
        inside.update(range(at + 1, at + len(word)))
        at += len(word)
    return inside


def cut_with_pos(text: str) -> list[tuple[str, str]]:
    """Words of `text` with jieba's part of speech (`r` pronoun, `u` particle, `n` noun …), spaces dropped."""
    import jieba.posseg

    init_jieba()
    return [(p.word, p.flag) for p in jieba.posseg.cut(text) if p.word.strip()]


def cut_for_index(text: str) -> list[str]:
    """Search-mode words (long words and their dictionary sub-words), for the full-text index."""
    import jieba

    init_jieba()
    return [w for w in jieba.cut_for_search(text) if w.strip() and any(c.isalnum() for c in w)]


# Self-information (-log p) of words in jieba's general dictionary: everyday words score about 8, rare ones 14.
_COMMON_INFO, _RARE_INFO = 6.0, 14.0


def rarity(word: str) -> float:
    """How rare a word is in general Chinese, from 0.15 (everyday) to 1.0 (rare or unknown to jieba)."""
    import math

    import jieba

    init_jieba()
    freq = jieba.dt.FREQ.get(word, 0)
    if freq <= 0:
        return 1.0
    info = math.log(jieba.dt.total / freq)
    return min(1.0, max(0.15, (info - _COMMON_INFO) / (_RARE_INFO - _COMMON_INFO)))
