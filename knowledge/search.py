"""Find the passages of the plan that answer a question.

A question is normalized (see text.py) and read as groups of terms: entity mentions (any name or alias of the
entity counts), resident phrases with the plan's words for them (synonyms.yml), and the remaining jieba words.
Candidates come from FTS5 (bm25 over jieba tokens) and from substring matches in the passages. Each candidate is
scored by coverage: the share of the question's term groups it contains, each group weighted by how rare it is
in the plan (idf), so a question whose important words are not in the plan scores low and is declined.
"""
from __future__ import annotations

import json
import math
import re
import threading
import unicodedata
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Callable, Iterable

import sqlite_utils

from . import catalog, segment, store
from .soundalike import SoundAlikeMatcher
from .text import normalize_question, to_simplified

# An entity named in a question matters more than a plain word; a lone character matters less.
KIND_WEIGHT = {"entity": 1.5, "char": 0.5}
TOPIC_BONUS = 0.15
ENTITY_BONUS = 0.1
BM25_BONUS = 0.1
RECENCY_BONUS = 0.03
PARTIAL_CREDIT = 0.5
MAX_GROUPS = 24


@dataclass(frozen=True)
class TermGroup:
    """One thing the question asks about; a passage matches it when it contains any alternative."""

    label: str
    alternatives: tuple[str, ...]
    kind: str  # entity | synonym | word
    entity_type: str | None = None


@dataclass
class Query:
    text: str
    groups: list[TermGroup]
    entities: list[str]  # canonical names mentioned

    @property
    def is_empty(self) -> bool:
        return not self.groups


@dataclass
class Hit:
    passage: dict
    score: float
    coverage: float
    matched: list[str] = field(default_factory=list)  # the words of the passage that matched the question


def match_form(text: str) -> str:
    """The form passages and questions are compared in: half-width, simplified, no quotes or spaces."""
    text = to_simplified(unicodedata.normalize("NFKC", text))
    return re.sub(r"[“”\"'‘’《》「」『』\s]", "", text)


DF_CACHE_SIZE = 20_000  # term groups remembered per snapshot: every new word ever asked would grow it otherwise


@dataclass
class Snapshot:
    version: str
    passages: list[dict]
    matcher: catalog.EntityMatcher
    sound_alike: SoundAlikeMatcher | None = None
    glossary: dict[str, str] | None = None
    day: str = ""  # the date whose valid passages these are
    _df: "OrderedDict[str, int]" = field(default_factory=OrderedDict)

    def df(self, alternatives: tuple[str, ...]) -> int:
        key = "\x1f".join(alternatives)
        if key in self._df:
            self._df.move_to_end(key)
        else:
            self._df[key] = sum(1 for p in self.passages if any(a in p["match_text"] for a in alternatives))
            while len(self._df) > DF_CACHE_SIZE:
                self._df.popitem(last=False)
        return self._df[key]


def analyze(question: str, matcher: catalog.EntityMatcher,
            sound_alike: SoundAlikeMatcher | None = None) -> Query:
    """Read a question as term groups. The question may be raw resident text; it is normalized here.

    With `sound_alike`, names typed with a character of the same sound (月信路) are read as the right name.
    """
    text = match_form(normalize_question(question))
    if sound_alike is not None:
        text = _correct_sound_alikes(text, matcher, sound_alike)
    groups: list[TermGroup] = []
    mask = list(text)
    entities: list[str] = []
    for mention in matcher.find(text):
        entity = mention.entity
        groups.append(TermGroup(mention.surface, entity.surfaces, "entity", entity.type))
        entities.append(entity.name)
        for i in range(mention.start, mention.end):
            mask[i] = "|"
    masked = "".join(mask)
    for phrase, plan_words in _synonym_phrases():
        start = masked.find(phrase)
        if start == -1:
            continue
        groups.append(TermGroup(phrase, tuple(dict.fromkeys((phrase, *plan_words))), "synonym"))
        masked = masked[:start] + "|" * len(phrase) + masked[start + len(phrase):]
    stop = catalog.stopwords()
    for piece in masked.split("|"):
        for word in segment.cut(piece):
            if word in stop or not any(c.isalnum() for c in word):
                continue
            groups.append(TermGroup(word, (word,), "char" if len(word) == 1 else "word"))
    unique: dict[tuple, TermGroup] = {}
    for g in groups:
        unique.setdefault(g.alternatives, g)
    return Query(text=text, groups=list(unique.values())[:MAX_GROUPS], entities=list(dict.fromkeys(entities)))


def _correct_sound_alikes(text: str, matcher: catalog.EntityMatcher, sound_alike: SoundAlikeMatcher) -> str:
    """Rewrite sound-alike names, unless that would cut into a name written right (长者住餐 may swallow 长者)."""
    mentions = matcher.find(text)
    for fix in reversed(sound_alike.find(text)):
        cuts = any(m.start < fix.end and fix.start < m.end and not (fix.start <= m.start and m.end <= fix.end)
                   for m in mentions)
        if not cuts:
            text = text[:fix.start] + fix.name + text[fix.end:]
    return text


def sound_alike_names(matcher: catalog.EntityMatcher) -> list[str]:
    """The names typos are corrected to: every entity name and alias (roads, groups, programmes, places).

    Resident phrases of synonyms.yml are left out: short everyday phrases (没工作, 涨多少) caught ordinary
    questions (有什么工作, 增长多少) in benchmarks/soundalike.py.
    """
    return [s for e in matcher.entities for s in e.surfaces]


def _synonym_phrases() -> list[tuple[str, tuple[str, ...]]]:
    pairs = [(phrase, s.plan_words) for s in catalog.synonyms() for phrase in s.phrases]
    return sorted(pairs, key=lambda p: -len(p[0]))


def _bigrams(word: str) -> set[str]:
    return {word[i:i + 2] for i in range(len(word) - 1)}


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

    @classmethod
    def from_path(cls, path: Path, today: Callable[[], date] = date.today) -> "KnowledgeBase":
        return cls(lambda: store.open_read_only(path), today)

    @classmethod
    def from_database(cls, db: sqlite_utils.Database, today: Callable[[], date] = date.today) -> "KnowledgeBase":
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
        version = store.get_meta(db, "version", "0")
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
        columns = ["id", "document_id", "seq", "part_no", "section", "heading", "text", "plain", "topics",
                   "entities", "valid_from", "valid_to", "title", "published", "year"]
        passages = []
        for row in rows:
            p = dict(zip(columns, row))
            p["topics"] = json.loads(p["topics"] or "[]")
            p["entities"] = json.loads(p["entities"] or "[]")
            p["match_text"] = match_form(f"{p['heading'] or ''}。{p['text']}")
            passages.append(p)
        matcher = catalog.EntityMatcher(catalog.entities_from_rows(db["entities"].rows))
        sound_alike = SoundAlikeMatcher(sound_alike_names(matcher))
        return Snapshot(version=version, passages=passages, matcher=matcher, sound_alike=sound_alike, day=today)

    def analyze(self, question: str) -> Query:
        snap = self.snapshot()
        return analyze(question, snap.matcher, snap.sound_alike)

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
        query = query or analyze(question, snap.matcher, snap.sound_alike)
        extra = [e for e in entities if e not in query.entities]
        entity_by_name = {e.name: e for e in snap.matcher.entities}
        if extra:  # the caller's query stays as it was
            query = Query(query.text, list(query.groups), list(query.entities))
        for name in extra:
            if name in entity_by_name:
                ent = entity_by_name[name]
                query.groups.append(TermGroup(name, ent.surfaces, "entity", ent.type))
                query.entities.append(name)
        if query.is_empty or not snap.passages:
            return []
        return self._rank(snap, query, topic, limit, only_topic, only_entities)

    def _rank(self, snap, query, topic, limit, only_topic, only_entities) -> list[Hit]:
        n = len(snap.passages)
        unknown_idf = math.log(1 + n)
        weights = []
        for g in query.groups:
            df = snap.df(g.alternatives)
            if df:
                idf = math.log(1 + n / (1 + df))
            else:
                # Not in the plan at all: a rare word (比特币, 挂号) says the question is about something else;
                # an everyday word (家里, 方便) says little.
                idf = unknown_idf * (segment.rarity(g.label) if g.kind in ("word", "char") else 1.0)
            weights.append(idf * KIND_WEIGHT.get(g.kind, 1.0))
        total = sum(weights) or 1.0
        bm25 = self._bm25(query)
        best_bm25 = min(bm25.values(), default=0.0) or -1.0
        newest = max((p["year"] or 0) for p in snap.passages)
        hits = []
        for p in snap.passages:
            if only_topic and topic and topic not in p["topics"]:
                continue
            if only_entities and query.entities and not set(query.entities) & set(p["entities"]):
                continue
            got, matched = 0.0, []
            for g, w in zip(query.groups, weights):
                found = next((a for a in g.alternatives if a in p["match_text"]), None)
                if found is not None:
                    got += w
                    matched.append(found)
                elif g.kind == "word":
                    share = _partial(g.label, p["match_text"])
                    if share >= 0.6:
                        got += w * PARTIAL_CREDIT * share
            if not matched and p["id"] not in bm25:
                continue
            coverage = got / total
            score = coverage
            score += TOPIC_BONUS if topic and topic in p["topics"] else 0.0
            score += ENTITY_BONUS if set(query.entities) & set(p["entities"]) else 0.0
            score += BM25_BONUS * (bm25.get(p["id"], 0.0) / best_bm25)
            score += RECENCY_BONUS if (p["year"] or 0) == newest else 0.0
            hits.append(Hit(passage=p, score=round(score, 4), coverage=round(coverage, 4), matched=matched))
        hits.sort(key=lambda h: (-h.score, h.passage["id"]))
        return hits[:limit]

    def _bm25(self, query: Query) -> dict[int, float]:
        expression = fts_query(query.groups)
        if not expression:
            return {}
        rows = self.db().execute(
            "SELECT rowid, bm25(passages_fts, 2.0, 1.0) FROM passages_fts WHERE passages_fts MATCH ? "
            "ORDER BY rank LIMIT 200",
            [expression],
        ).fetchall()
        return {rowid: score for rowid, score in rows}

    def contacts(self, topic: str | None = None) -> list[dict]:
        """Staff-kept contacts for a topic, the general ones (topic '*') last."""
        rows = self.db().execute(
            "SELECT topic, name, phone, hours, address FROM contacts WHERE topic = ? OR topic = '*' "
            "ORDER BY topic = '*', id",
            [topic or "*"],
        ).fetchall()
        return [dict(zip(["topic", "name", "phone", "hours", "address"], r)) for r in rows]

    def glossary(self) -> dict[str, str]:
        """Staff-kept plain explanations of the plan's terms, longest term first."""
        snap = self.snapshot()
        if snap.glossary is None:
            rows = self.db().execute("SELECT term, plain FROM glossary").fetchall()
            snap.glossary = dict(sorted(rows, key=lambda r: -len(r[0])))
        return snap.glossary

    def documents(self) -> list[dict]:
        rows = self.db().execute("SELECT id, title, source, published, year FROM documents ORDER BY published").fetchall()
        return [dict(zip(["id", "title", "source", "published", "year"], r)) for r in rows]
