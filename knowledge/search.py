"""Find the passages of the plan that answer a question.

A question is normalized (see text.py) and read as groups of terms: entity mentions (any name or alias of the
entity counts), resident phrases with the plan's words for them (synonyms.yml), and the remaining jieba words.
Candidates come from FTS5 (bm25 over jieba tokens) and from substring matches in the passages. Each candidate is
scored by coverage: the share of the question's term groups it contains, each group weighted by how rare it is
in the plan (idf), so a question whose important words are not in the plan scores low and is declined. A
passage whose example questions (examples.py) are like the question gains for what its words leave uncovered.
"""

from __future__ import annotations

import functools
import json
import math
import re
import sqlite3
import threading
import unicodedata
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import sqlite_utils

from . import catalog, examples, lexicon, segment, store
from .policy import (
    BM25_BONUS,
    CONTEXT_WEIGHT,
    ENTITY_BONUS,
    EXAMPLE_BONUS,
    EXAMPLE_FLOOR,
    KIND_WEIGHT,
    LEARNED_BONUS,
    LEARNED_C,
    LEARNED_FLOOR,
    LEARNED_TEMPERATURE,
    PARTIAL_CREDIT,
    PARTIAL_MIN_SHARE,
    RECENCY_BONUS,
    RELATED_CREDIT,
    TOPIC_BONUS,
)
from .soundalike import SoundAlikeMatcher
from .text import normalize_question, split_sentences, to_simplified

MAX_GROUPS = 24
# A part of a compound the plan never writes stands for it when it is this rare in general Chinese (春运 in
# 春运期间; not 期间, nor 安全 in 安全措施).
PART_RARITY = 0.45
# Words whose spread over the passages is remembered; the least recently asked are forgotten past this.
DF_CACHE_SIZE = 20000
# Terms whose credit in every passage is remembered (a list of 114 pairs each, about 1 KB): residents' questions
# share most of their words, and every question reads every passage.
CREDIT_CACHE_SIZE = 4000


@dataclass(frozen=True)
class TermGroup:
    """One thing the question asks about; a passage matches it when it contains any alternative."""

    label: str
    alternatives: tuple[str, ...]
    kind: str  # entity | synonym | word | char | filler
    entity_type: str | None = None
    # Alternatives found through 词林 (lexicon.py), not said by the resident: a match counts a little less.
    related: tuple[str, ...] = ()
    position: int = field(default=-1, compare=False)  # where the term starts in the question

    @property
    def is_content(self) -> bool:
        return self.kind != "filler"


@dataclass
class Query:
    text: str
    groups: list[TermGroup]
    entities: list[str]  # canonical names mentioned
    # Where what is asked starts: after the last 想问/想了解/请问 … of a long question, 0 otherwise. Residents
    # often say who they are and why before they ask (我是中学老师，准备给学生讲讲…，想问下…).
    focus: int = 0

    def in_focus(self, group: TermGroup) -> bool:
        return group.position < 0 or group.position >= self.focus

    @property
    def is_empty(self) -> bool:
        return not self.groups


@dataclass
class Hit:
    passage: dict
    score: float
    coverage: float  # share of the question's content (filler left out), weighted by rarity
    matched: list[str] = field(default_factory=list)  # the words of the passage that matched the question
    coverage_all: float = 0.0  # the same share with the filler counted, as before filler was told apart
    bm25: float = 0.0  # FTS5's bm25 for this passage (negative; lower is better), 0 when FTS5 did not find it
    best_matched: float = 0.0  # weight of the rarest question term the passage has
    worst_missing: float = 0.0  # weight of the rarest question term the passage lacks
    content_weight: float = 0.0  # total weight of the question's content terms
    focus_coverage: float = 0.0  # coverage of the content after the last 想问/请问 … (Query.focus)
    example: float = 0.0  # similarity of the question to the passage's closest example question (examples.py)
    learned: float = 0.0  # the passage's share in the classifier learned from the example questions (examples.py)


def match_form(text: str) -> str:
    """The form passages and questions are compared in: half-width, simplified, no quotes or spaces."""
    text = to_simplified(unicodedata.normalize("NFKC", text))
    return re.sub(r"[“”\"'‘’《》「」『』\s]", "", text)


# 本项目 / 该项目: a sentence that names its project only in the sentence before (继续开展本项目的补偿决定申报工作
# after 马山片区旧城改造项目再加速). Searched with the name, it answers 马山安置房几时交房; it is shown as written.
_REFERENCE = re.compile(r"本项目|该项目")
_PROJECT = re.compile(r"([^，。、；：,;:]{2,16}?项目)")


def resolve_reference(text: str, before: str) -> str:
    """`text` with 本项目/该项目 replaced by the first project the passage `before` names, when it names one."""
    named = _PROJECT.search(before) if _REFERENCE.search(text) else None
    return _REFERENCE.sub(named.group(1), text) if named else text


class _BoundedCache(OrderedDict):
    """A dict that forgets its least recently used entries past `size` (every new word asked adds one). The action
    server searches from several threads: the lock keeps one from forgetting what another is reading."""

    def __init__(self, size: int):
        super().__init__()
        self.size = size
        self._lock = threading.Lock()

    def get_or_make(self, key, make):
        with self._lock:
            if key in self:
                self.move_to_end(key)
                return self[key]
        value = make()
        with self._lock:
            self[key] = value
            if len(self) > self.size:
                self.popitem(last=False)
        return value


# Resident phrases by their first character: (place in the longest-first list, phrase, plan words).
PhraseIndex = dict[str, list[tuple[int, str, tuple[str, ...]]]]


@dataclass
class Snapshot:
    version: str
    passages: list[dict]
    matcher: catalog.EntityMatcher
    sound_alike: SoundAlikeMatcher | None = None
    glossary: dict[str, str] | None = None
    # Resident phrases -> plan words: synonyms.yml and the phrases staff added (`kb phrase`), by first character.
    phrases: PhraseIndex = field(default_factory=dict)
    # Resident words the plan never uses -> their 词林 synonyms that it does use.
    related: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # The plan's words by their sound, for a word typed with a wrong character of the same sound (拖贫 -> 脱贫).
    homophones: dict[tuple[str, ...], tuple[str, ...]] = field(default_factory=dict)
    day: str = ""  # the date whose valid passages these are
    vocabulary: frozenset[str] = frozenset()  # the words of the passages, cut for the index
    # Residents' questions each passage answers, by (document title, passage number), and those keys' passages.
    examples: examples.ExampleIndex | None = None
    example_keys: dict[tuple[str, int], int] = field(default_factory=dict)
    _df: _BoundedCache = field(default_factory=lambda: _BoundedCache(DF_CACHE_SIZE))
    _credits: _BoundedCache = field(default_factory=lambda: _BoundedCache(CREDIT_CACHE_SIZE))

    def df(self, alternatives: tuple[str, ...]) -> int:
        key = "\x1f".join(alternatives)
        return self._df.get_or_make(
            key, lambda: sum(1 for p in self.passages if any(a in p["match_text"] for a in alternatives))
        )

    def credits(self, group: TermGroup) -> list[tuple[float, str | None]]:
        """`term_credit` of the term in each passage, in `passages`' order."""
        key = (group.label, group.kind, group.alternatives, group.related)
        return self._credits.get_or_make(key, lambda: [term_credit(group, p["match_text"]) for p in self.passages])


def analyze(
    question: str,
    matcher: catalog.EntityMatcher,
    sound_alike: SoundAlikeMatcher | None = None,
    phrases: PhraseIndex | None = None,
    related: dict[str, tuple[str, ...]] | None = None,
    homophones: dict[tuple[str, ...], tuple[str, ...]] | None = None,
    vocabulary: frozenset[str] = frozenset(),
) -> Query:
    """Read a question as term groups. The question may be raw resident text; it is normalized here.

    With `sound_alike`, names typed with a character of the same sound (月信路) are read as the right name.
    `phrases` (resident phrase -> plan words, as `phrase_index` makes them; synonyms.yml when not given) and
    `related` (a word the plan does not use -> its 词林 synonyms the plan uses) give the plan's words for what a
    resident says. Words that only frame the question (我爸, 想问下, 有没有: lexicon.py) become `filler` groups.
    """
    text = match_form(normalize_question(question))
    if sound_alike is not None:
        text = _correct_sound_alikes(text, matcher, sound_alike)
    groups: list[TermGroup] = []
    mask = list(text)
    entities: list[str] = []
    for mention in matcher.find(text):
        entity = mention.entity
        groups.append(TermGroup(mention.surface, entity.surfaces, "entity", entity.type, position=mention.start))
        entities.append(entity.name)
        for i in range(mention.start, mention.end):
            mask[i] = "|"
    masked = "".join(mask)
    joined = segment.inside_word_positions(text)
    by_first = phrases if phrases is not None else phrase_index(_synonym_phrases())
    # Longest first, as listed; only phrases whose first character the question has can be in it.
    for _, phrase, plan_words in sorted(c for ch in set(masked) for c in by_first.get(ch, ())):
        start = masked.find(phrase)
        # A one-character phrase is read only where it does not cut a word: 路 is not read in 思路 or 路子.
        while start != -1 and len(phrase) == 1 and (start in joined or start + 1 in joined):
            start = masked.find(phrase, start + 1)
        if start == -1:
            continue
        groups.append(TermGroup(phrase, tuple(dict.fromkeys((phrase, *plan_words))), "synonym", position=start))
        masked = masked[:start] + "|" * len(phrase) + masked[start + len(phrase) :]
    stop = catalog.stopwords()
    related = related or {}
    for piece in re.finditer(r"[^|]+", masked):
        cursor = piece.start()
        for word, pos in segment.cut_with_pos(piece.group()):
            at = masked.find(word, cursor)
            cursor = at + len(word) if at >= 0 else cursor
            if word in stop or not any(c.isalnum() for c in word):
                continue
            if lexicon.is_filler(word, pos):
                groups.append(TermGroup(word, (word,), "filler", position=at))
                continue
            plan_words = related.get(word, ()) + lexicon.digit_forms(word)
            if homophones and len(word) >= 2 and word not in related:
                plan_words += lexicon.homophones_of(word, homophones)
            if not plan_words and len(word) >= 3 and vocabulary and word not in vocabulary:
                # 春运期间: a compound the plan never writes, read by its rare parts that it does (春运, not 期间).
                plan_words = tuple(
                    w
                    for w in segment.cut_for_index(word)
                    if w != word and len(w) > 1 and w in vocabulary and segment.rarity(w) >= PART_RARITY
                )
            groups.append(
                TermGroup(
                    word, (word, *plan_words), "char" if len(word) == 1 else "word", related=plan_words, position=at
                )
            )
    unique: dict[tuple, TermGroup] = {}
    for g in groups:
        unique.setdefault(g.alternatives, g)
    focus = _widened(lexicon.focus_start(text), text, list(unique.values()))
    kept = sorted(_most_telling(list(unique.values()), text, focus), key=lambda g: g.position)
    return Query(text=text, groups=kept, entities=list(dict.fromkeys(entities)), focus=focus)


def _widened(focus: int, text: str, groups: list[TermGroup]) -> int:
    """The asked part starts a clause earlier while it names nothing itself: in 菜市场旁边有流动摊档在卖熟食，想问
    区里管不管这种, what is asked about is the stalls."""
    while focus and not any(g.is_content and g.kind != "char" and g.position >= focus for g in groups):
        focus = max(text.rfind(mark, 0, max(focus - 1, 0)) for mark in ",.;!?。") + 1
    return focus


def _most_telling(groups: list[TermGroup], text: str, focus: int) -> list[TermGroup]:
    """At most MAX_GROUPS terms of a long message: those of what is asked (after 想问一下, or the last sentence
    that asks: 我家门口这条金沙路今年会不会改造？ after 400 characters of life story) first, then names and
    resident phrases, then the rest in reading order."""
    if len(groups) <= MAX_GROUPS:
        return groups
    asked = focus or _last_question_start(text)

    def rank(g: TermGroup) -> tuple[int, int]:
        told = 0 if asked and g.position >= asked else 1 if g.kind in ("entity", "synonym") else 2
        return told, g.position

    return sorted(groups, key=rank)[:MAX_GROUPS]


def _last_question_start(text: str) -> int:
    """Where the last sentence that ends in a question mark starts (0 when none does)."""
    end = text.rfind("?")
    if end <= 0:
        return 0
    return max(text.rfind(mark, 0, end) for mark in "。!?;,.") + 1


def _correct_sound_alikes(text: str, matcher: catalog.EntityMatcher, sound_alike: SoundAlikeMatcher) -> str:
    """Rewrite sound-alike names, unless that would cut into a name written right (长者住餐 may swallow 长者)."""
    mentions = matcher.find(text)
    for fix in reversed(sound_alike.find(text)):
        cuts = any(
            m.start < fix.end and fix.start < m.end and not (fix.start <= m.start and m.end <= fix.end)
            for m in mentions
        )
        if not cuts:
            text = text[: fix.start] + fix.name + text[fix.end :]
    return text


def sound_alike_names(matcher: catalog.EntityMatcher) -> list[str]:
    """The names typos are corrected to: every entity name and alias (roads, groups, programmes, places).

    Resident phrases of synonyms.yml are left out: short everyday phrases (没工作, 涨多少) caught ordinary
    questions (有什么工作, 增长多少) in benchmarks/soundalike.py.
    """
    return [s for e in matcher.entities for s in e.surfaces]


def _synonym_phrases() -> list[tuple[str, tuple[str, ...]]]:
    """Each resident phrase with the plan words of every entry that lists it (做康复: 康复医疗 and 上门康复), longest
    phrase first."""
    merged: dict[str, tuple[str, ...]] = {}
    for synonym in catalog.synonyms():
        for phrase in synonym.phrases:
            merged[phrase] = tuple(dict.fromkeys((*merged.get(phrase, ()), *synonym.plan_words)))
    return sorted(merged.items(), key=lambda p: -len(p[0]))


def phrase_index(phrases: list[tuple[str, tuple[str, ...]]]) -> PhraseIndex:
    """Phrases (longest first) by their first character, each with its place in the list: (place, phrase, plan
    words). Made once a snapshot, so a question looks only at the phrases it could hold."""
    index: PhraseIndex = {}
    for place, (phrase, plan_words) in enumerate(phrases):
        if phrase:
            index.setdefault(phrase[0], []).append((place, phrase, plan_words))
    return index


# A staff change reloads the snapshot: what depends only on the passages' text is remembered, so the change
# is live for the next question within milliseconds (benchmarks/live_update.py).
@functools.lru_cache(maxsize=8192)
def _words_of(match_text: str) -> tuple[str, ...]:
    return tuple(segment.cut_for_index(match_text))


@functools.lru_cache(maxsize=4)
def _synonym_map(vocabulary: frozenset[str]) -> dict[str, tuple[str, ...]]:
    return lexicon.synonym_map(set(vocabulary))


@functools.lru_cache(maxsize=4)
def _homophone_map(vocabulary: frozenset[str]) -> dict[tuple[str, ...], tuple[str, ...]]:
    return lexicon.homophone_map(set(vocabulary))


def _phrases(db: sqlite_utils.Database) -> list[tuple[str, tuple[str, ...]]]:
    """synonyms.yml and the phrases staff added (`kb phrase`, which win for the same phrase), longest first."""
    pairs = dict(_synonym_phrases())
    try:
        rows = db.execute("SELECT phrase, means FROM phrases").fetchall()
    except sqlite3.OperationalError:  # a knowledge base built before phrases existed
        rows = []
    for phrase, means in rows:
        pairs[phrase] = tuple(json.loads(means))
    return sorted(pairs.items(), key=lambda p: -len(p[0]))


# The title under which the questions staff attach to a passage (`kb example`) are keyed, by passage id: no
# document has it.
STAFF_EXAMPLES = "\0staff"


@functools.cache
def _shipped_examples() -> tuple[tuple[examples.Key, str], ...]:
    """The example questions of data/examples.yml, read as questions are read (match form), once a process."""
    return tuple(
        (key, match_form(normalize_question(q))) for key, questions in examples.load().items() for q in questions
    )


@functools.lru_cache(maxsize=4)
def _example_index(staff: tuple[tuple[int, str], ...] = ()) -> examples.ExampleIndex:
    """The shipped examples and the questions staff attached (passage id, question), indexed together. The index
    is built again only when the staff's questions change: a change of the passages alone only changes which keys
    are in use (Snapshot.example_keys)."""
    attached = [((STAFF_EXAMPLES, pid), match_form(normalize_question(q))) for pid, q in staff]
    return examples.ExampleIndex([*_shipped_examples(), *attached])


def _staff_examples(db: sqlite_utils.Database, active: set[int]) -> tuple[tuple[int, str], ...]:
    """The questions staff attached to active passages (`kb example`), in a stable order."""
    try:
        rows = db.execute("SELECT passage_id, question FROM examples ORDER BY id").fetchall()
    except sqlite3.OperationalError:  # a knowledge base built before staff examples existed
        return ()
    return tuple((pid, q) for pid, q in rows if pid in active)


DECLINES = ""  # the key of every question in the decline index


@functools.cache
def _decline_index() -> examples.ExampleIndex:
    """The questions the plan cannot answer (data/declines.yml), read as questions are read, under one key."""
    return examples.ExampleIndex(((DECLINES, 0), match_form(normalize_question(q))) for q in examples.load_declines())


@functools.cache
def _classifier() -> examples.PassageClassifier:
    """The passages as the shipped example questions tell them apart (examples.yml and examples_more.yml) and as
    the shipped plan words them (its passages' headings and sentences: the examples avoid the plan's words, and
    without these 长者饭堂 would belong to the questions the plan cannot answer, many of which name it), with
    those questions (declines.yml) as one more class, examples.NONE; learned once a process, in a few seconds."""
    more = [
        (key, match_form(normalize_question(q)))
        for key, questions in examples.load(examples.MORE_EXAMPLES_PATH).items()
        for q in questions
    ]
    declines = [(examples.NONE, match_form(normalize_question(q))) for q in examples.load_declines()]
    return examples.PassageClassifier(
        [*_shipped_examples(), *more, *_plan_sentences(), *declines], c=LEARNED_C, temperature=LEARNED_TEMPERATURE
    )


def _plan_sentences() -> list[tuple[examples.Key, str]]:
    """Each passage of the shipped plans (data/documents) by its heading and by each of its sentences, keyed as
    the examples are (document title, passage number)."""
    from .ingest import numbered, shipped_documents
    from .settings import get_settings

    return [
        ((doc.title, seq), match_form(normalize_question(part)))
        for doc in shipped_documents(get_settings().documents_dir)
        for seq, passage in numbered(doc)
        for part in [passage.heading, *(s.rstrip("。；！？") for s in split_sentences(passage.text))]
        if len(part) > 4
    ]


def _bigrams(word: str) -> set[str]:
    return {word[i : i + 2] for i in range(len(word) - 1)}


_NO_CREDIT = (0.0, None)


def term_credit(group: TermGroup, text: str) -> tuple[float, str | None]:
    """How much of `group` a passage's text has (0 to 1), and the alternative it has."""
    for alternative in group.alternatives:
        if alternative in text:
            return (RELATED_CREDIT if alternative in group.related else 1.0), alternative
    if group.kind == "word":
        share = _partial(group.label, text)
        if share >= PARTIAL_MIN_SHARE:
            return PARTIAL_CREDIT * share, None
    return _NO_CREDIT


def _partial(word: str, text: str) -> float:
    """Share of a long word's character pairs found in the text (金業路 vs 金业路 is caught earlier)."""
    grams = _bigrams(word)
    if len(word) < 3 or not grams:
        return 0.0
    return sum(1 for g in grams if g in text) / len(grams)


def fts_query(groups: Iterable[TermGroup]) -> str:
    """An FTS5 MATCH expression: every token quoted, so search syntax typed by a resident is plain text."""
    tokens: dict[str, None] = {}
    for group in groups:
        for alternative in group.alternatives:
            for token in segment.cut_for_index(alternative):
                tokens.setdefault(token.replace('"', '""'), None)
    return " OR ".join(f'"{t}"' for t in tokens)


class KnowledgeBase:
    """The read side of the knowledge base, safe to share between threads.

    It keeps one read-only connection per thread and an in-memory snapshot of the active passages, reloaded
    when a staff change bumps the version, so changes are live for the next question.
    """

    def __init__(self, connect: Callable[[], sqlite_utils.Database], today: Callable[[], date] = date.today):
        self._connect = connect
        self.today = today  # the clock: a passage is used only on the days it is valid
        self._local = threading.local()
        self._snapshot: Snapshot | None = None
        self._lock = threading.Lock()
        # Off: passages are found by their words alone, as the answer policy's second opinion is fitted
        # (benchmarks/question_bank.py).
        self.use_examples = True

    @classmethod
    def from_path(cls, path: Path, today: Callable[[], date] = date.today) -> KnowledgeBase:
        return cls(lambda: store.open_read_only(path), today)

    @classmethod
    def from_database(cls, db: sqlite_utils.Database, today: Callable[[], date] = date.today) -> KnowledgeBase:
        return cls(lambda: db, today)

    def db(self) -> sqlite_utils.Database:
        db = getattr(self._local, "db", None)
        if db is None:
            db = self._local.db = self._connect()
        return db

    def snapshot(self) -> Snapshot:
        """The passages in use now: reloaded when staff changed something or the date moved on (checked per
        question, so a closure that ended yesterday is not answered today, with no restart or staff change)."""
        db = self.db()
        version = store.get_meta(db, "version", "0") or "0"
        today = self.today().isoformat()
        current = self._snapshot
        if current is not None and current.version == version and current.day == today:
            return current
        with self._lock:
            if self._snapshot is None or (self._snapshot.version, self._snapshot.day) != (version, today):
                self._snapshot = self._load(db, version, today)
            return self._snapshot

    def _load(self, db: sqlite_utils.Database, version: str, today: str) -> Snapshot:
        rows = db.execute(
            """
            SELECT p.id, p.document_id, p.seq, p.part_no, p.section, p.heading, p.text, p.plain, p.topics,
                   p.entities, p.valid_from, p.valid_to, d.title, COALESCE(p.published, d.published), d.year
            FROM passages p JOIN documents d ON d.id = p.document_id
            WHERE p.status = 'active'
              AND (p.valid_from IS NULL OR p.valid_from = '' OR p.valid_from <= ?)
              AND (p.valid_to IS NULL OR p.valid_to = '' OR p.valid_to >= ?)
            ORDER BY p.id
            """,
            [today, today],
        ).fetchall()
        columns = [
            "id",
            "document_id",
            "seq",
            "part_no",
            "section",
            "heading",
            "text",
            "plain",
            "topics",
            "entities",
            "valid_from",
            "valid_to",
            "title",
            "published",
            "year",
        ]
        passages: list[dict] = []
        for row in rows:
            p = dict(zip(columns, row))
            p["topics"] = json.loads(p["topics"] or "[]")
            p["entities"] = json.loads(p["entities"] or "[]")
            before = passages[-1] if passages and passages[-1]["document_id"] == p["document_id"] else None
            text = resolve_reference(p["text"], before["text"] if before else "")
            p["match_text"] = match_form(f"{p['heading'] or ''}。{text}")
            passages.append(p)
        matcher = catalog.EntityMatcher(catalog.entities_from_rows(db["entities"].rows))
        sound_alike = SoundAlikeMatcher(sound_alike_names(matcher))
        vocabulary = frozenset(w for p in passages for w in _words_of(p["match_text"]))
        return Snapshot(
            version=version,
            passages=passages,
            matcher=matcher,
            sound_alike=sound_alike,
            phrases=phrase_index(_phrases(db)),
            related=_synonym_map(vocabulary),
            homophones=_homophone_map(vocabulary),
            vocabulary=vocabulary,
            day=today,
            examples=_example_index(_staff_examples(db, {p["id"] for p in passages})),
            example_keys={(p["title"], p["seq"]): p["id"] for p in passages}
            | {(STAFF_EXAMPLES, p["id"]): p["id"] for p in passages},
        )

    def analyze(self, question: str) -> Query:
        snap = self.snapshot()
        return analyze(
            question, snap.matcher, snap.sound_alike, snap.phrases, snap.related, snap.homophones, snap.vocabulary
        )

    def search(
        self,
        question: str,
        topic: str | None = None,
        entities: Iterable[str] = (),
        limit: int = 5,
        only_topic: bool = False,
        only_entities: bool = False,
        query: Query | None = None,
    ) -> list[Hit]:
        """Ranked passages for a question, best first.

        `topic` and `entities` (canonical names, e.g. from the NLU or the conversation) raise the passages that
        have them; with `only_topic` / `only_entities` the others are left out. `query` is the question as
        `analyze` already read it, for a caller that needs both.
        """
        snap = self.snapshot()
        query = self.with_entities(query or self.analyze(question), entities)
        if query.is_empty or not snap.passages:
            return []
        return self._rank(snap, query, topic, limit, only_topic, only_entities)

    def decline_likeness(self, query: Query) -> float:
        """How like the closest question the plan cannot answer (data/declines.yml) `query` is, 0-1; 0 when
        examples are off (the second opinion reads the words alone)."""
        if not self.use_examples:
            return 0.0
        return _decline_index().scores(query.text).get((DECLINES, 0), 0.0)

    def with_entities(self, query: Query, entities: Iterable[str]) -> Query:
        """`query` with these entities (canonical names, from the NLU or the conversation) added as terms.

        The caller's query stays as it was; names the knowledge base does not know are left out.
        """
        snap = self.snapshot()
        extra = [e for e in entities if e not in query.entities]
        entity_by_name = {e.name: e for e in snap.matcher.entities}
        extra = [e for e in extra if e in entity_by_name]
        if not extra:
            return query
        query = Query(query.text, list(query.groups), list(query.entities), query.focus)
        for name in extra:
            ent = entity_by_name[name]
            query.groups.append(TermGroup(name, ent.surfaces, "entity", ent.type))
            query.entities.append(name)
        return query

    def _rank(self, snap, query, topic, limit, only_topic, only_entities) -> list[Hit]:
        n = len(snap.passages)
        content = [g.is_content for g in query.groups]
        focus = [c and query.in_focus(g) for g, c in zip(query.groups, content)]
        weights = [self._weight(snap, g, n) * (1.0 if query.in_focus(g) else CONTEXT_WEIGHT) for g in query.groups]
        total_all = sum(weights) or 1.0
        total = sum(w for w, c in zip(weights, content) if c) or 1.0
        total_focus = sum(w for w, f in zip(weights, focus) if f) or 1.0
        bm25 = self._bm25(query)
        best_bm25 = min(bm25.values(), default=0.0) or -1.0
        like: dict[int, float] = {}
        staff_said: dict[int, float] = {}
        if snap.examples and self.use_examples:
            keys = snap.example_keys
            for k, v in snap.examples.scores(query.text).items():
                if k in keys:  # a passage's best example, shipped or attached by staff
                    like[keys[k]] = max(v, like.get(keys[k], 0.0))
                    if k[0] == STAFF_EXAMPLES:  # staff's word counts as the classifier's, which never saw it
                        staff_said[keys[k]] = v
        learned: dict[int, float] = {}
        if self.use_examples:
            for k, v in _classifier().passage_shares(query.text).items():
                if k in snap.example_keys:
                    learned[snap.example_keys[k]] = v
            for pid, v in staff_said.items():
                learned[pid] = max(v, learned.get(pid, 0.0))
        newest = max((p["year"] or 0) for p in snap.passages)
        terms = list(zip(weights, content, focus, [snap.credits(g) for g in query.groups]))
        hits = []
        for i, p in enumerate(snap.passages):
            if only_topic and topic and topic not in p["topics"]:
                continue
            if only_entities and query.entities and not set(query.entities) & set(p["entities"]):
                continue
            got = got_all = got_focus = best_matched = worst_missing = 0.0
            matched = []
            for w, is_content, in_focus, credits in terms:
                credit, found = credits[i]
                if found is not None:
                    matched.append(found)
                got_all += w * credit
                if in_focus:
                    got_focus += w * credit
                if is_content:
                    got += w * credit
                    if credit >= RELATED_CREDIT:
                        if w > best_matched:
                            best_matched = w
                    elif w * (1 - credit) > worst_missing:
                        worst_missing = w * (1 - credit)
            example = like.get(p["id"], 0.0)
            if (
                not matched
                and p["id"] not in bm25
                and example < EXAMPLE_FLOOR
                and learned.get(p["id"], 0.0) < LEARNED_FLOOR
            ):
                continue
            coverage = got / total if any(content) else 0.0
            score = coverage
            score += TOPIC_BONUS if topic and topic in p["topics"] else 0.0
            score += ENTITY_BONUS if set(query.entities) & set(p["entities"]) else 0.0
            score += BM25_BONUS * (bm25.get(p["id"], 0.0) / best_bm25)
            score += RECENCY_BONUS if (p["year"] or 0) == newest else 0.0
            # Examples speak for what the words leave uncovered: two passages that both have every word of the
            # question are still told apart by the words, the topic and the date, not by the examples.
            score += EXAMPLE_BONUS * example * (1.0 - coverage)
            score += LEARNED_BONUS * learned.get(p["id"], 0.0) * (1.0 - coverage)
            hits.append(
                Hit(
                    passage=p,
                    score=round(score, 4),
                    coverage=round(coverage, 4),
                    matched=matched,
                    coverage_all=round(got_all / total_all, 4),
                    bm25=bm25.get(p["id"], 0.0),
                    best_matched=best_matched,
                    worst_missing=worst_missing,
                    focus_coverage=round(got_focus / total_focus, 4) if any(focus) else 0.0,
                    content_weight=total if any(content) else 0.0,
                    example=round(example, 4),
                    learned=round(learned.get(p["id"], 0.0), 4),
                )
            )
        hits.sort(key=lambda h: (-h.score, h.passage["id"]))
        return hits[:limit]

    @staticmethod
    def _weight(snap: Snapshot, group: TermGroup, n: int) -> float:
        """How much a term says about what the question asks: its rarity in the plan (idf)."""
        df = snap.df(group.alternatives)
        if df:
            idf = math.log(1 + n / (1 + df))
        else:
            # Not in the plan at all: a rare word (比特币, 挂号) says the question is about something else;
            # an everyday word (家里, 方便) says little.
            rarity = segment.rarity(group.label) if group.kind in ("word", "char", "filler") else 1.0
            idf = math.log(1 + n) * rarity
        return idf * KIND_WEIGHT.get(group.kind, 1.0)

    def _bm25(self, query: Query) -> dict[int, float]:
        expression = fts_query(query.groups)
        if not expression:
            return {}
        rows = (
            self.db()
            .execute(
                "SELECT rowid, bm25(passages_fts, 2.0, 1.0) FROM passages_fts WHERE passages_fts MATCH ? "
                "ORDER BY rank LIMIT 200",
                [expression],
            )
            .fetchall()
        )
        return {rowid: score for rowid, score in rows}

    def in_plan(self, alternatives: tuple[str, ...]) -> bool:
        """True when a passage in use today has any of these words."""
        return self.snapshot().df(alternatives) > 0

    def plan_years(self) -> set[int]:
        """The years the knowledge base's documents are about."""
        return {p["year"] for p in self.snapshot().passages if p["year"]}

    def passage(self, passage_id: int | None) -> dict | None:
        """An active passage valid today, by id; None when there is no such passage."""
        return next((p for p in self.snapshot().passages if p["id"] == passage_id), None)

    def same_heading(self, passage_id: int, limit: int = 3) -> list[dict]:
        """Up to `limit` other passages under the passage's heading, those after it first, in the plan's order."""
        passages = self.snapshot().passages
        at = next((i for i, p in enumerate(passages) if p["id"] == passage_id), None)
        if at is None or not passages[at]["heading"]:
            return []
        ordered = passages[at + 1 :] + passages[:at]
        key = (passages[at]["document_id"], passages[at]["heading"])
        return [p for p in ordered if (p["document_id"], p["heading"]) == key][:limit]

    def contacts(self, topic: str | None = None) -> list[dict]:
        """Staff-kept contacts for a topic, the general ones (topic '*') last."""
        rows = (
            self.db()
            .execute(
                "SELECT topic, name, phone, hours, address FROM contacts WHERE topic = ? OR topic = '*' "
                "ORDER BY topic = '*', id",
                [topic or "*"],
            )
            .fetchall()
        )
        return [dict(zip(["topic", "name", "phone", "hours", "address"], r)) for r in rows]

    def glossary(self) -> dict[str, str]:
        """Staff-kept plain explanations of the plan's terms, longest term first."""
        snap = self.snapshot()
        if snap.glossary is None:
            rows = self.db().execute("SELECT term, plain FROM glossary").fetchall()
            snap.glossary = dict(sorted(rows, key=lambda r: -len(r[0])))
        return snap.glossary

    def documents(self) -> list[dict]:
        rows = (
            self.db().execute("SELECT id, title, source, published, year FROM documents ORDER BY published").fetchall()
        )
        return [dict(zip(["id", "title", "source", "published", "year"], r)) for r in rows]
