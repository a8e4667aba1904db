"""Elder mode: short, plain answers made by deterministic rules from the same passage.

Rules: the key fact first (the clause that holds what was asked); one idea per sentence; no sentence over 30
characters; the whole reply at most 60% of the standard one; names and numbers copied exactly (a long clause is
cut only between list items or jieba words, never inside a name); a staff-written plain version wins.
"""

from __future__ import annotations

import re

from knowledge import segment
from knowledge.texts import CONTACT_FALLBACK

MAX_SENTENCE = 30
# A clause of the passage counts as said by a short answer when this share of its character pairs is in it.
SAID_SHARE = 0.8
MAX_RATIO = 0.6
BUTTONS = [
    {"title": "再说一遍", "payload": "/repeat"},
    {"title": "打电话问", "payload": "/ask_contact"},
    {"title": "回到开头", "payload": "/what_can_you_do"},
]
_CLAUSE_END = re.compile(r"[，。；！？]")
_LEADING_VERB = re.compile(
    r"^(继续推进|积极推动|提升改造|大力推进|加快推进|全面落实|持续推进|继续加强|继续做好|加快|加强|推进|推动|提升|"
    r"开展|举办|提供|鼓励|完善|完成|落实|做好|建设|打造|保障|促进|实施|推广|探索|深化|支持|扩大|提高)"
)
_VERB_WORDS = frozenset(_LEADING_VERB.pattern[2:-1].split("|"))


def short_source_line(passage: dict) -> str:
    year = passage.get("year")
    return f"来源：{year}年工作计划" if year else f"来源：{passage['title']}"


def contact_line(contacts: list[dict]) -> str:
    phone = (contacts[0] if contacts else CONTACT_FALLBACK)["phone"]
    return f"想问清楚，请打{phone}。"


def reply_length(text: str, buttons: list[dict] | None = None) -> int:
    """Length as a reader meets it: the text plus each button's label on a line of its own."""
    return len(text) + sum(len(b["title"]) + 1 for b in (BUTTONS if buttons is None else buttons))


def clauses(text: str) -> list[str]:
    return [c.strip() for c in _CLAUSE_END.split(text) if c.strip()]


def _plain(text: str) -> str:
    return re.sub(r"[“”\"‘’]", "", text)


def wrap(clause: str, key_terms: list[str], limit: int = MAX_SENTENCE - 1) -> list[str]:
    """Cut a clause longer than `limit` into sentences that each stand alone.

    A list governed by a verb (加强甲、乙、丙等工作) keeps the items that hold a key term, each with the verb;
    any other clause is cut between jieba words, before a verb where one is near. Names are never cut.
    """
    if len(clause) <= limit:
        return [clause]
    # 市、区最低生活保障 is one item (levels of government), not a list of 市 and 区最低生活保障.
    items = [i.replace("\0", "、") for i in _LEVELS.sub("\0", clause).split("、")]
    leading = _LEADING_VERB.match(items[0])
    if leading and len(items) > 1:
        verb = leading.group(1)
        keyed = [i for i in items if any(t in _plain(i) for t in key_terms)] or items[:1]
        pieces, current = [], ""
        for item in keyed:
            item = item if item.startswith(verb) else verb + item
            joined = f"{current}、{item[len(verb) :]}" if current else item
            if len(joined) <= limit:
                current = joined
            else:
                pieces.append(current)
                current = item
        pieces.append(current)
        return [p for piece in pieces for p in _cut_words(piece, limit)]
    return _cut_words(clause, limit)


# A 、 between levels of government (市、区, 省、市、区) does not separate the items of a list.
_LEVELS = re.compile(r"(?<=[省市区县镇])、(?=[省市区县镇](?:[、]|[^\u4e00-\u9fff]|[\u4e00-\u9fff]{2}))")


# A line never ends on a word that joins what follows, or just after one (松溪镇和。/黄华镇, 质量和办学。/水平): the
# joining word starts the next line instead.
_JOINING = frozenset({"和", "与", "及", "以及", "或", "或者", "并", "同", "跟", "还有"})


def _between_levels(words: list[str], i: int) -> bool:
    """The 、 at words[i] joins levels of government (市、区), as _LEVELS reads it."""
    return bool(_LEVELS.search("".join(words[max(0, i - 1) : i + 3]), len(words[i - 1]) if i else 0))


def _cut_words(text: str, limit: int) -> list[str]:
    """Lines of at most `limit` characters, cut between jieba words: at the last 、 of a list when it is in the
    line's second half, before a verb late in a line, never after 和 or 与 or one word past them."""
    words = segment.cut(text)
    pieces: list[str] = []
    current: list[str] = []
    for word in words:
        length = sum(map(len, current))
        if current and length + len(word) > limit:
            comma = max((i for i, w in enumerate(current) if w == "、" and not _between_levels(current, i)), default=-1)
            if comma >= 0 and sum(map(len, current[:comma])) >= limit // 2:
                pieces.append("".join(current[:comma]))
                current = current[comma + 1 :]
            else:
                # …教学质量和办学 / 水平: a joining word among the line's last two words starts the next line
                join = max(
                    (i for i in range(max(1, len(current) - 2), len(current)) if current[i] in _JOINING), default=0
                )
                carried = current[join:] if join else []
                pieces.append("".join(current[:join] if join else current))
                current = carried
        elif current and word in _VERB_WORDS and length >= limit * 2 // 3:
            pieces.append("".join(current))  # a verb late in a line starts the next sentence
            current = []
        current.append(word)
    if current:
        pieces.append("".join(current))
    return pieces


def key_clauses(text: str, key_terms: list[str], names: list[str] | tuple[str, ...] = ()) -> list[str]:
    """The passage's clauses: those naming what was asked about (`names`: 金沙路) first, then those holding the
    most key terms, ties in reading order."""
    parts = clauses(text)
    named = [any(n and n in _plain(c) for n in names) for c in parts]
    hits = [sum(1 for t in set(key_terms) if t and t in _plain(c)) for c in parts]
    order = sorted(range(len(parts)), key=lambda i: (not named[i], -(hits[i] > 0) * hits[i], i))
    return [parts[i] for i in order]


def explanations(piece: str, glossary: dict[str, str], done: set[str]) -> list[str]:
    """Plain explanations of the glossary terms in `piece` not explained yet (a longer term hides its parts)."""
    text, lines = _plain(piece), []
    for term, plain in glossary.items():  # longest first
        if term in text:
            text = text.replace(term, "\0")
            if term not in done:
                done.add(term)
                lines.append(f"{term}：{plain.rstrip('。')}。")
    return lines


def _block(
    clause: str, key_terms: list[str], glossary: dict[str, str], explained: set[str], limit: int = MAX_SENTENCE - 1
) -> tuple[list[str], set[str]]:
    """A clause as elder sentences, each followed by explanations of its new glossary terms."""
    block: list[str] = []
    seen = set(explained)
    for piece in wrap(clause, key_terms, limit):
        sentence = piece.rstrip("。") + "。"
        block += [sentence, *explanations(sentence, glossary, seen)]
    return block, seen


def simplify_for_elders(
    passage: dict,
    key_terms: list[str],
    standard_length: int,
    contacts: list[dict],
    glossary: dict[str, str] | None = None,
    ratio: float = MAX_RATIO - 0.05,
    buttons: list[dict] | None = None,
    names: list[str] | tuple[str, ...] = (),
) -> str:
    """The elder-mode reply for a passage: at most `ratio` of `standard_length`, buttons included.

    `names` are what the question is about (金沙路): a clause that names one comes first.

    Every glossary term in the reply is explained on a line of its own right after the sentence that uses it.
    The margin below MAX_RATIO leaves room for a staff-written plain version that runs slightly long.
    """
    glossary = glossary or {}
    tail = [contact_line(contacts), short_source_line(passage)]
    budget = int(standard_length * ratio) - reply_length("\n".join([""] + tail), buttons)
    source = passage.get("plain") or passage["text"]
    lines: list[str] = []
    explained: set[str] = set()
    used = 0
    for clause in key_clauses(source, key_terms, names):
        block, seen = _block(clause, key_terms, glossary, explained)
        cost = sum(len(line) + 1 for line in block)
        if not lines and cost > budget and "、" in clause:
            # The key fact alone is too long: keep only the list items that were asked about.
            block, seen = _block(clause, key_terms, glossary, explained, limit=len(clause) - 1)
            cost = sum(len(line) + 1 for line in block)
        if lines and used + cost > budget:
            break
        lines.extend(block)
        explained = seen
        used += cost
    return "\n".join(lines + tail)


def left_out(passage: dict, reply: str) -> list[str]:
    """The clauses of the passage that a short elder `reply` did not say whole (仲有呢 says them next)."""
    said = set().union(*(_pairs(line) for line in reply.splitlines()))
    return [
        c
        for c in clauses(passage.get("plain") or passage["text"])
        if len(_pairs(c) & said) < SAID_SHARE * len(_pairs(c))
    ]


def _pairs(text: str) -> set[str]:
    """Adjacent character pairs of each piece of `text` (a clause said in pieces, a verb put before each item of
    a list and explanations between its sentences still share nearly all of them with the clause)."""
    return {p[i : i + 2] for p in re.split(r"[\s。，、；：“”\"]+", text) for i in range(len(p) - 1)}


def rest_of(passage: dict, parts: list[str], contacts: list[dict], glossary: dict[str, str] | None = None) -> str:
    """The clauses a short answer left out (`left_out`), as elder sentences with their explanations."""
    lines: list[str] = []
    explained: set[str] = set()
    for clause in parts:  # every item of a list this time, cut between words
        for piece in _cut_words(clause, MAX_SENTENCE - 1):
            sentence = piece.rstrip("。") + "。"
            lines += [sentence, *explanations(sentence, glossary or {}, explained)]
    return "\n".join(["这一条还说了：", *lines, contact_line(contacts), short_source_line(passage)])
