"""Turn a published plan (scraped text or the saved HTML page) into passages in the knowledge base.

The parser drops the page chrome, reads title, source and date, fixes ASCII punctuation, finds the numbered
parts (一、 to 六、) and the headed paragraphs (a short opening sentence such as 加大扶助弱势群体力度。), and
splits each paragraph into passages of one or a few sentences that keep their path: part -> heading.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import sqlite_utils
import yaml

from . import catalog, segment, store
from .settings import DATA_DIR
from .text import fix_plan_punctuation, split_sentences

CHINESE_NUMERALS = "一二三四五六七八九十"
_PART = re.compile(r"^([一二三四五六七八九十]{1,2})、(.+)$")
_META = re.compile(r"信息来源[:：]\s*(?P<source>\S*)\s+发布日期[:：]\s*(?P<date>\d{4}-\d{1,2}-\d{1,2})")
_CHROME = ("无障碍版", "长者助手", "您当前的位置", "分享", "打印", "关闭窗口", "字体", "【", "扫一扫")
MAX_HEADING_CHARS = 24
MIN_PASSAGE_CHARS = 40
PREAMBLE_SECTION = "总体要求和目标"


@dataclass
class Passage:
    part_no: int | None  # 0 for the preamble, 1-6 for the parts, None for passages staff add
    section: str
    heading: str
    text: str


@dataclass
class ParsedDocument:
    title: str
    source: str
    published: str
    passages: list[Passage] = field(default_factory=list)

    @property
    def year(self) -> int | None:
        match = re.search(r"(20\d\d)", self.title) or re.search(r"(20\d\d)", self.published)
        return int(match.group(1)) if match else None


class _TextFromHTML(HTMLParser):
    """Visible text of an HTML page, one block element per line."""

    _BLOCKS = {"p", "div", "br", "h1", "h2", "h3", "h4", "li", "tr", "section", "article", "title"}
    # Never shown as text of the page: scripts and styles, and embedded frames, drawings and templates.
    _SKIP = {"script", "style", "noscript", "head", "iframe", "svg", "object", "template", "canvas", "math"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self._current: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag, attrs):
        if tag in self._SKIP:
            self._skipping += 1
        elif tag in self._BLOCKS:
            self._flush()

    def handle_endtag(self, tag):
        if tag in self._SKIP:
            self._skipping = max(0, self._skipping - 1)
        elif tag in self._BLOCKS:
            self._flush()

    def handle_data(self, data):
        if not self._skipping:
            self._current.append(data)

    def _flush(self):
        line = "".join(self._current).strip()
        if line:
            self.lines.append(line)
        self._current = []

    def text(self) -> str:
        self._flush()
        return "\n".join(self.lines)


def html_to_text(html: str) -> str:
    parser = _TextFromHTML()
    parser.feed(html)
    return parser.text()


def looks_like_html(raw: str) -> bool:
    head = raw.lstrip()[:500].lower()
    return head.startswith("<!doctype html") or "<html" in head or "<body" in head


MIN_CJK_SHARE = 0.3  # of the letters and digits of a plan: it is written in Chinese
MIN_PRINTABLE_SHARE = 0.99  # of all characters but whitespace


def decode_plan(data: bytes) -> str:
    """The text of a plan file: UTF-8 (with or without BOM), else GB18030, each decoded strictly.

    Raises ValueError for bytes that are neither, or whose text is not a Chinese document (see check_is_text).
    """
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise ValueError("the file is not text: it is neither UTF-8 nor GB18030 (a binary or damaged file?)")
    check_is_text(text)
    return text


def check_is_text(text: str) -> None:
    """Refuse text that is not a readable Chinese document: too many unprintable or too few Chinese characters."""
    visible = [ch for ch in text if not ch.isspace()]
    if not visible:
        raise ValueError("the file is empty")
    printable = sum(1 for ch in visible if ch.isprintable())
    if printable / len(visible) < MIN_PRINTABLE_SHARE:
        raise ValueError(
            f"the file is not plain text: {len(visible) - printable} of its {len(visible)} characters "
            "are control or unprintable characters"
        )
    words = [ch for ch in (html_to_text(text) if looks_like_html(text) else text) if ch.isalnum()]
    cjk = sum(1 for ch in words if "\u4e00" <= ch <= "\u9fff" or "\u3400" <= ch <= "\u4dbf")
    if not words or cjk / len(words) < MIN_CJK_SHARE:
        share = cjk / len(words) if words else 0.0
        raise ValueError(
            f"the file does not read as a Chinese plan: {share:.0%} of its letters are Chinese "
            f"(at least {MIN_CJK_SHARE:.0%} expected)"
        )


def parse_plan(raw: str) -> ParsedDocument:
    """Parse the text (or HTML) of a work plan. Raises ValueError when no title or no body is found."""
    if looks_like_html(raw):
        raw = html_to_text(raw)
    lines = [line.strip() for line in raw.replace("\r", "").split("\n")]
    lines = [line for line in lines if line]

    title, source, published, body_start = "", "", "", 0
    for i, line in enumerate(lines):
        meta = _META.search(line)
        if meta:
            source, published = meta.group("source"), _iso_date(meta.group("date"))
            body_start = i + 1
            title = next(
                (lines[j] for j in range(i - 1, -1, -1) if not _is_chrome(lines[j])),
                "",
            )
            break
    if not title:
        # No meta line: the first line that is not page chrome is the title.
        candidates = [i for i, line in enumerate(lines) if not _is_chrome(line)]
        if not candidates:
            raise ValueError("no text found in the document")
        title, body_start = lines[candidates[0]], candidates[0] + 1
    title = fix_plan_punctuation(title)

    doc = ParsedDocument(title=title, source=source or "本网", published=published)
    part_no, section = 0, PREAMBLE_SECTION
    for line in lines[body_start:]:
        if _is_chrome(line):
            continue
        line = fix_plan_punctuation(line)
        part = _PART.match(line)
        if part and len(line) <= 60:
            part_no = CHINESE_NUMERALS.index(part.group(1)[0]) + 1 if len(part.group(1)) == 1 else 10
            section = line
            continue
        heading, rest = _split_heading(line)
        doc.passages.extend(
            Passage(part_no, section, heading, text) for text in _group_sentences(split_sentences(rest))
        )
    if not doc.passages:
        raise ValueError(f"no paragraphs found under the title {title!r}")
    return doc


def _iso_date(date: str) -> str:
    y, m, d = date.split("-")
    return f"{int(y):04d}-{int(m):02d}-{int(d):02d}"


def _is_chrome(line: str) -> bool:
    return line.startswith(_CHROME) or line in {">", "> >"} or bool(re.fullmatch(r"[>\s]+", line))


def _split_heading(paragraph: str) -> tuple[str, str]:
    """A paragraph opening with a short sentence (加大扶助弱势群体力度。) is headed by it."""
    sentences = split_sentences(paragraph)
    first = sentences[0] if sentences else ""
    if len(sentences) > 1 and len(first) <= MAX_HEADING_CHARS and first.endswith("。") and "，" not in first:
        return first.rstrip("。"), paragraph[len(first) :].strip()
    return "", paragraph


def _group_sentences(sentences: list[str]) -> list[str]:
    """Sentences -> passages: a short sentence joins the one after it, so each passage says something whole."""
    passages, pending = [], ""
    for sentence in sentences:
        pending += sentence
        if len(pending) >= MIN_PASSAGE_CHARS:
            passages.append(pending)
            pending = ""
    if pending:
        if passages and len(pending) < MIN_PASSAGE_CHARS // 2:
            passages[-1] += pending
        else:
            passages.append(pending)
    return passages


def content_hash(doc: ParsedDocument) -> str:
    digest = hashlib.sha256()
    for p in doc.passages:
        digest.update(f"{p.section}\x1f{p.heading}\x1f{p.text}\x1e".encode())
    return digest.hexdigest()


def index_tokens(text: str) -> str:
    return " ".join(segment.cut_for_index(text))


def passage_row(passage: Passage, matcher: catalog.EntityMatcher) -> dict:
    """The stored form of a passage: topics, entities and FTS tokens derived from its text."""
    full = f"{passage.heading}。{passage.text}"
    plain_form = full.replace("“", "").replace("”", "")
    return {
        "part_no": passage.part_no,
        "section": passage.section,
        "heading": passage.heading,
        "text": passage.text,
        "topics": json.dumps(catalog.topics_for(plain_form, passage.part_no), ensure_ascii=False),
        "entities": json.dumps(matcher.names_in(plain_form), ensure_ascii=False),
        "heading_tokens": index_tokens(passage.heading),
        "tokens": index_tokens(passage.text),
        "status": "active",
        "updated_at": store.now(),
    }


def import_document(
    db: sqlite_utils.Database, doc: ParsedDocument, on_import: Callable[[int], object] | None = None
) -> tuple[int, bool]:
    """Store a parsed document. Returns (document id, created); the same content again changes nothing.

    The passages are tokenized before the write lock is taken, so a long import does not hold up another
    staff member's save; `on_import(document id)` runs inside the import's transaction (the history record).
    """
    digest = content_hash(doc)
    existing = db.execute("SELECT id FROM documents WHERE content_hash = ?", [digest]).fetchone()
    if existing:
        return existing[0], False
    matcher = catalog.EntityMatcher(load_entities(db))
    segment.add_words(dictionary_words(matcher))
    rows = [{"seq": seq, **passage_row(p, matcher)} for seq, p in numbered(doc)]
    with store.write_transaction(db):
        existing = db.execute("SELECT id FROM documents WHERE content_hash = ?", [digest]).fetchone()
        if existing:  # imported by someone else while this one was being tokenized
            return existing[0], False
        doc_id = (
            db.table("documents")
            .insert(
                {
                    "title": doc.title,
                    "source": doc.source,
                    "published": doc.published,
                    "year": doc.year,
                    "content_hash": digest,
                    "imported_at": store.now(),
                }
            )
            .last_pk
        )
        assert doc_id is not None
        db.table("passages").insert_all({"document_id": doc_id, **row} for row in rows)
        store.bump_version(db)
        if on_import is not None:
            on_import(doc_id)
    return doc_id, True


def dictionary_words(matcher: catalog.EntityMatcher) -> list[str]:
    """The words the search's jieba dictionary holds (dictionary.py), so the index is cut as questions are: every
    entity name and alias, and the synonyms' words."""
    words = sorted({e for entity in matcher.entities for e in entity.surfaces})
    return words + sorted({w for s in catalog.synonyms() for w in (*s.plan_words, *s.phrases) if len(w) > 1})


def load_entities(db: sqlite_utils.Database) -> list[catalog.Entity]:
    return catalog.entities_from_rows(db.table("entities").rows)


def seed_entities(db: sqlite_utils.Database) -> int:
    """Add the shipped entity catalog to the knowledge base (entities staff already have are kept)."""
    rows = [
        {"name": e.name, "type": e.type, "aliases": json.dumps(list(e.aliases), ensure_ascii=False)}
        for e in catalog.load_seed_entities()
    ]
    with db.atomic():
        db.table("entities").insert_all(rows, pk="name", ignore=True)
    return len(rows)


def seed_glossary(db: sqlite_utils.Database) -> int:
    """Add the shipped glossary (terms staff already explained their own way are kept)."""
    raw = yaml.safe_load((DATA_DIR / "glossary.yml").read_text(encoding="utf-8")) or {}
    rows = [{"term": str(t), "plain": str(p), "updated_at": store.now()} for t, p in raw.items()]
    with db.atomic():
        db.table("glossary").insert_all(rows, pk="term", ignore=True)
    return len(rows)


def numbered(doc: ParsedDocument) -> Iterable[tuple[int, Passage]]:
    """The document's passages with their numbers in it (passages.seq), as examples are keyed."""
    return enumerate(doc.passages, start=1)


def shipped_documents(documents_dir: Path) -> list[ParsedDocument]:
    """The plans shipped in `documents_dir` (.txt or .html), parsed, in file-name order."""
    return [
        parse_plan(decode_plan(path.read_bytes()))
        for path in sorted(Path(documents_dir).glob("*"))
        if path.suffix.lower() in {".txt", ".html", ".htm"}
    ]


def build(db: sqlite_utils.Database, documents_dir: Path, default_contact: str) -> list[tuple[str, bool]]:
    """Seed entities, glossary and the default contact, then import every document shipped in `documents_dir`."""
    seed_entities(db)
    seed_glossary(db)
    if not db.execute("SELECT 1 FROM contacts LIMIT 1").fetchone():
        phone, _, name = default_contact.partition(" ")
        db.table("contacts").insert(
            {"topic": "*", "name": name or phone, "phone": phone, "hours": "24小时", "address": ""}
        )
    fresh = not db.execute("SELECT 1 FROM passages LIMIT 1").fetchone()
    results = []
    for doc in shipped_documents(documents_dir):
        _, created = import_document(db, doc)
        results.append((doc.title, created))
    reindex_if_reading_changed(db, just_built=fresh)
    return results


READING_KEY = "index_reading"  # meta: what the passages' index words, topics and entities were derived by


def reindex_if_reading_changed(db: sqlite_utils.Database, just_built: bool = False) -> bool:
    """Derive every passage's index words, topics and entities again when the words the index is cut and tagged
    by (entities, synonyms, topics) changed since it was built: a release with new synonyms must not search an
    index cut by the old ones. True when it did. A knowledge base `just_built` by these words is only marked."""
    matcher = catalog.EntityMatcher(load_entities(db))
    words = dictionary_words(matcher)
    topics = [(t.key, sorted(t.parts), list(t.keywords)) for t in catalog.topics().values()]
    reading = hashlib.sha256(json.dumps([words, topics], ensure_ascii=False).encode()).hexdigest()
    if store.get_meta(db, READING_KEY) == reading:
        return False
    if just_built:
        with store.write_transaction(db):
            db.table("meta").upsert({"key": READING_KEY, "value": reading}, pk="key")
        return False
    segment.add_words(words)
    rows = db.execute("SELECT id, part_no, section, heading, text FROM passages").fetchall()
    with store.write_transaction(db):
        for pid, part_no, section, heading, text in rows:
            row = passage_row(Passage(part_no, section, heading or "", text), matcher)
            db.table("passages").update(pid, {k: row[k] for k in ("heading_tokens", "tokens", "topics", "entities")})
        db.table("meta").upsert({"key": READING_KEY, "value": reading}, pk="key")
        store.bump_version(db)
    return True
