"""Pinyin typed in place of characters: jiating yisheng zenme qianyue -> 家庭医生怎么签约.

A resident whose input method fails, or who cannot pick characters, types the sounds. A run of Latin letters is
read as the words of the district and of asking (entities.yml, synonyms.yml, the plan's own words, filler.txt)
whose toneless pinyin spells it, with as few words as possible. It is read only when every letter is spelled by
such words and one of them is a word of two or more syllables that is not filler, so GDP, wifi, APP, bus or
taxi stay as they are.
"""

from __future__ import annotations

import functools
import re

from .settings import DATA_DIR

# Letters, with the spaces and apostrophes people put between syllables (jia'ting yi sheng).
_LATIN_RUN = re.compile(r"[A-Za-z]+(?:['\s]+[A-Za-z]+)*")
_CJK_ONLY = re.compile(r"^[\u4e00-\u9fff]+$")
MIN_LETTERS = 4
# The longest word spelled in pinyin that is looked up (长者助餐配餐服务 is 30 letters).
MAX_WORD_LETTERS = 36
# Words of asking a resident spells out, read where a syllable could be many characters.
_ASKING = (
    "什么 怎么 怎样 哪里 哪个 几时 什么时候 多少 可以 能不能 有没有 会不会 是不是 今年 明年 西区 区里 我们 想问 "
    "请问 我 你 想 问 要 的 了 是 在 有 和 吗 呢 去 做 办 还 没 吃饭 老人 工作 找工作 修路 修"
).split()


def _spelling(word: str) -> str:
    from pypinyin import Style, lazy_pinyin

    return "".join(lazy_pinyin(word, style=Style.NORMAL, v_to_u=False)).replace("ü", "v").lower()


@functools.lru_cache(maxsize=1)
def _words_by_spelling() -> tuple[dict[str, str], frozenset[str]]:
    """(spelling -> word, spellings of the content words that make a run worth reading). The first word found
    for a spelling keeps it: a district name before a plan word before a filler word; a single syllable is read
    as a word of asking first (wen -> 问, not 文)."""
    from . import catalog, lexicon, segment

    names = [s for e in catalog.load_seed_entities() for s in e.surfaces]
    phrases = [w for s in catalog.synonyms() for w in (*s.plan_words, *s.phrases)]
    plan = [
        w
        for path in sorted((DATA_DIR / "documents").glob("*.txt"))
        for w in segment.cut(path.read_text(encoding="utf-8"))
    ]
    filler_set = lexicon.filler_words()
    filler = sorted(filler_set)
    by_spelling: dict[str, str] = {}
    content: set[str] = set()
    for order, words in enumerate((_ASKING, names, phrases, plan, filler)):
        for word in words:
            if not _CJK_ONLY.match(word):
                continue
            spelling = _spelling(word)
            if not spelling or len(spelling) > MAX_WORD_LETTERS:
                continue
            if len(word) == 1 and order not in (0, 4) and spelling in by_spelling:
                continue
            by_spelling.setdefault(spelling, word)
            if len(word) >= 2 and 1 <= order <= 3 and word not in filler_set:
                content.add(spelling)
    return by_spelling, frozenset(content)


def read(text: str) -> str:
    """`text` with each run of Latin letters that spells district words in pinyin written in characters."""
    if not re.search(r"[A-Za-z]{2}", text):
        return text
    return _LATIN_RUN.sub(lambda m: _read_run(m.group()) or _read_tokens(m.group()), text)


def _read_tokens(run: str) -> str:
    """A run that is not pinyin as a whole (GDP zengzhang duoshao): its longest stretches of whole tokens that are."""
    tokens = run.split()
    out, i = [], 0
    while i < len(tokens):
        for j in range(len(tokens), i, -1):
            read = _read_run(" ".join(tokens[i:j])) if j - i < len(tokens) else None
            if read:
                out.append(read)
                i = j
                break
        else:
            out.append(tokens[i])
            i += 1
    return " ".join(out)


def _read_run(run: str) -> str | None:
    letters = re.sub(r"[^a-z]", "", run.lower())
    if len(letters) < MIN_LETTERS:
        return None
    by_spelling, content = _words_by_spelling()
    # best[i]: the fewest words spelling letters[:i], as (word count, words, has a content word).
    best: list[tuple[int, list[str], bool] | None] = [None] * (len(letters) + 1)
    best[0] = (0, [], False)
    for end in range(1, len(letters) + 1):
        for start in range(max(0, end - MAX_WORD_LETTERS), end):
            before = best[start]
            spelling = letters[start:end]
            if before is None or spelling not in by_spelling:
                continue
            candidate = (before[0] + 1, [*before[1], by_spelling[spelling]], before[2] or spelling in content)
            known = best[end]
            if known is None or candidate[0] < known[0]:
                best[end] = candidate
    found = best[-1]
    if found is None or not found[2]:
        return None
    return "".join(found[1])
