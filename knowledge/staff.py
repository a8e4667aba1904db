"""Staff changes to the knowledge base: validated, one transaction each, recorded with who, when, before and after.

Every function here takes an open writer database (`store.open_for_writing`) and the name of the person making
the change. Each change bumps the knowledge base version, so the bot uses it on the next question.
"""

from __future__ import annotations

import json
import re
import sqlite3
from datetime import date
from pathlib import Path

import sqlite_utils

from . import catalog, ingest, privacy, segment, store
from .search import match_form
from .text import split_sentences

MAX_TEXT = 2000
MAX_PLAIN_SENTENCE = 30
MAX_FIELD = 200
STAFF_DOCUMENT_TITLE = "西区居民助手补充信息"
STAFF_DOCUMENT_SOURCE = "西区工作人员"
PASSAGE_FIELDS = ("topic", "heading", "text", "plain", "entities", "valid_from", "valid_to")


class ValidationError(ValueError):
    """A change that would put something wrong into the knowledge base; nothing was written."""


class ConflictError(RuntimeError):
    """Somebody else changed the same thing first; nothing was written."""


class NotFound(LookupError):
    pass


# ---------------------------------------------------------------- history


def _record(
    db, table: str, key, action: str, before: dict | None, after: dict | None, by: str, undo_of: int | None = None
) -> int:
    change_id = (
        db.table("changes")
        .insert(
            {
                "at": store.now(),
                "by": by,
                "table_name": table,
                "row_key": str(key),
                "action": action,
                "before": json.dumps(before, ensure_ascii=False) if before is not None else None,
                "after": json.dumps(after, ensure_ascii=False) if after is not None else None,
                "undo_of": undo_of,
                "undone_by": None,
            }
        )
        .last_pk
    )
    store.bump_version(db)
    return change_id


def history(db: sqlite_utils.Database, table: str, key) -> list[dict]:
    """Every recorded change of one row, oldest first."""
    rows = db.execute(
        "SELECT * FROM changes WHERE table_name = ? AND row_key = ? ORDER BY id", [table, str(key)]
    ).fetchall()
    columns = [c[0] for c in db.execute("SELECT * FROM changes LIMIT 0").description]
    return [_decode_change(dict(zip(columns, r))) for r in rows]


def get_change(db: sqlite_utils.Database, change_id: int) -> dict:
    try:
        return _decode_change(db.table("changes").get(change_id))
    except sqlite_utils.db.NotFoundError:
        raise NotFound(f"no change {change_id}") from None


def _decode_change(row: dict) -> dict:
    row = dict(row)
    row["before"] = json.loads(row["before"]) if row["before"] else None
    row["after"] = json.loads(row["after"]) if row["after"] else None
    return row


# ---------------------------------------------------------------- validation


def _required(value, name: str, limit: int = MAX_FIELD) -> str:
    """`_clean` for a field that must be given: the text, or a ValidationError."""
    text = _clean(value, name, limit, required=True)
    assert text is not None  # required=True raises instead of returning None
    return text


def _clean(value, name: str, limit: int = MAX_FIELD, required: bool = False) -> str | None:
    if value is None:
        if required:
            raise ValidationError(f"{name} is required")
        return None
    value = str(value).strip()
    if required and not value:
        raise ValidationError(f"{name} must not be empty")
    if len(value) > limit:
        raise ValidationError(f"{name} is {len(value)} characters; at most {limit}")
    _refuse_control_characters(value, name)
    return value


# Control characters (a line break and a tab excepted), lone surrogates and the invisible marks that reverse
# the direction of text: none belongs in what residents read.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\u202a-\u202e\u2066-\u2069]")


def _refuse_control_characters(value: str, name: str) -> None:
    found = _CONTROL.search(value)
    if found:
        raise ValidationError(
            f"{name} contains a control character (U+{ord(found.group()):04X}) at position "
            f"{found.start() + 1}: remove it and try again"
        )


def _date(value, name: str) -> str | None:
    if value in (None, ""):
        return None
    try:
        return date.fromisoformat(str(value)).isoformat()
    except ValueError:
        raise ValidationError(f"{name} must be a date like 2026-12-31, not {value!r}") from None


def _topic(value) -> str:
    value = _required(value, "topic")
    if value not in catalog.topics():
        raise ValidationError(f"unknown topic {value!r}; topics are: {', '.join(catalog.topics())}")
    return value


def _plain(value) -> str | None:
    value = _clean(value, "plain version", MAX_TEXT)
    if not value:
        return None
    for sentence in split_sentences(value):
        if len(sentence.rstrip("。！？；")) > MAX_PLAIN_SENTENCE:
            raise ValidationError(
                f"the plain version is for older residents: keep each sentence within {MAX_PLAIN_SENTENCE} "
                f"characters (this one has {len(sentence)}: {sentence})"
            )
    return value


def parse_entities(db, values) -> list[catalog.Entity]:
    """`金沙路` (a known entity) or `road:翠湾北路` (a new one of that type)."""
    known = {e.name: e for e in ingest.load_entities(db)}
    alias_of = {a: e for e in known.values() for a in e.aliases}
    found = []
    for value in values or ():
        value = str(value).strip()
        if not value:
            continue
        etype, _, name = value.rpartition(":")
        name = name.strip()
        if name in known or name in alias_of:
            found.append(known.get(name) or alias_of[name])
        elif etype:
            if etype not in catalog.ENTITY_TYPES:
                raise ValidationError(f"unknown entity type {etype!r}; types are: {', '.join(catalog.ENTITY_TYPES)}")
            found.append(catalog.Entity(_required(name, "entity name", 40), etype))
        else:
            raise ValidationError(f"unknown entity {name!r}: give its type too, e.g. road:{name}")
    return found


# ---------------------------------------------------------------- passages


def staff_document(db) -> int:
    """The document that holds passages staff add (created on first use)."""
    row = db.execute("SELECT id FROM documents WHERE kind = 'staff' LIMIT 1").fetchone()
    if row:
        return row[0]
    today = date.today()
    return (
        db.table("documents")
        .insert(
            {
                "title": STAFF_DOCUMENT_TITLE,
                "source": STAFF_DOCUMENT_SOURCE,
                "published": today.isoformat(),
                "year": today.year,
                "content_hash": "staff",
                "imported_at": store.now(),
                "kind": "staff",
            }
        )
        .last_pk
    )


def get_passage(db, passage_id: int) -> dict:
    try:
        return dict(db.table("passages").get(passage_id))
    except sqlite_utils.db.NotFoundError:
        raise NotFound(f"no passage {passage_id}") from None


def _public(row: dict) -> dict:
    """The part of a passage row that history keeps (tokens are derived, so left out)."""
    return {k: v for k, v in row.items() if k not in ("heading_tokens", "tokens")}


def _duplicate_of(db, text: str, exclude: int | None = None) -> int | None:
    squeeze = re.sub(r"\s+", "", text)
    for pid, other in db.execute("SELECT id, text FROM passages WHERE status = 'active'"):
        if pid != exclude and re.sub(r"\s+", "", other) == squeeze:
            return pid
    return None


def _ensure_entities(db, entities: list[catalog.Entity], by: str) -> None:
    new = [e for e in entities if not db.execute("SELECT 1 FROM entities WHERE name = ?", [e.name]).fetchone()]
    for e in new:
        row = {"name": e.name, "type": e.type, "aliases": json.dumps(list(e.aliases), ensure_ascii=False)}
        db.table("entities").insert(row)
        _record(db, "entities", e.name, "add", None, row, by)
    if new:
        segment.add_words(e.name for e in new)


def _derived(db, topic: str, heading: str, text: str, entities: list[catalog.Entity]) -> dict:
    matcher = catalog.EntityMatcher(ingest.load_entities(db))
    row = ingest.passage_row(ingest.Passage(None, catalog.topics()[topic].label, heading, text), matcher)
    topics = [topic] + [t for t in json.loads(row["topics"]) if t != topic]
    names = list(dict.fromkeys([*(e.name for e in entities), *json.loads(row["entities"])]))
    row.update(topics=json.dumps(topics, ensure_ascii=False), entities=json.dumps(names, ensure_ascii=False))
    return row


def add_passage(
    db,
    *,
    topic: str,
    text: str,
    by: str,
    heading: str = "",
    plain: str | None = None,
    entities=(),
    valid_from=None,
    valid_to=None,
) -> int:
    """Add a passage the bot can answer from. Returns its id."""
    topic = _topic(topic)
    text = _required(text, "text", MAX_TEXT)
    heading = _clean(heading, "heading", 60) or ""
    plain = _plain(plain)
    valid_from, valid_to = _date(valid_from, "valid from"), _date(valid_to, "valid to")
    if valid_from and valid_to and valid_from > valid_to:
        raise ValidationError(f"valid from ({valid_from}) is after valid to ({valid_to})")
    with store.write_transaction(db):
        parsed = parse_entities(db, entities)
        duplicate = _duplicate_of(db, text)
        if duplicate:
            raise ValidationError(f"this text is already passage {duplicate}")
        _ensure_entities(db, parsed, by)
        heading = heading or (parsed[0].name if parsed else "")
        row = {
            "document_id": staff_document(db),
            "seq": 0,
            **_derived(db, topic, heading, text, parsed),
            "plain": plain,
            "valid_from": valid_from,
            "valid_to": valid_to,
            "revision": 1,
            "published": date.today().isoformat(),
        }
        passage_id = db.table("passages").insert(row).last_pk
        _record(db, "passages", passage_id, "add", None, _public(get_passage(db, passage_id)), by)
    return passage_id


def edit_passage(db, passage_id: int, *, by: str, expect_revision: int | None = None, **fields) -> dict:
    """Change some fields of a passage (topic, heading, text, plain, entities, valid_from, valid_to).

    With `expect_revision`, the edit is refused with ConflictError if someone saved the passage since.
    """
    unknown = set(fields) - set(PASSAGE_FIELDS)
    if unknown:
        raise ValidationError(f"unknown field(s): {', '.join(sorted(unknown))}")
    fields = {k: v for k, v in fields.items() if v is not None}
    if not fields:
        raise ValidationError("nothing to change: give at least one of --text, --heading, --plain, --topic, ...")
    with store.write_transaction(db):
        before = get_passage(db, passage_id)
        if expect_revision is not None and before["revision"] != expect_revision:
            last = history(db, "passages", passage_id)[-1]
            raise ConflictError(
                f"passage {passage_id} was changed by {last['by']} at {last['at']} while you were editing "
                f"(revision {before['revision']}, you started from {expect_revision}). Nothing was saved: "
                f"look at `kb show {passage_id}` and edit again."
            )
        topics = json.loads(before["topics"] or "[]")
        topic = _topic(fields["topic"]) if "topic" in fields else (topics[0] if topics else "overview")
        text = _required(fields.get("text", before["text"]), "text", MAX_TEXT)
        heading = _clean(fields.get("heading", before["heading"]), "heading", 60) or ""
        if "entities" in fields:
            parsed = parse_entities(db, fields["entities"])
            _ensure_entities(db, parsed, by)
        else:
            known = {e.name: e for e in ingest.load_entities(db)}
            parsed = [known[n] for n in json.loads(before["entities"] or "[]") if n in known]
        duplicate = _duplicate_of(db, text, exclude=passage_id)
        if duplicate:
            raise ValidationError(f"this text is already passage {duplicate}")
        update = _derived(db, topic, heading, text, parsed)
        update.pop("status")
        update["part_no"], update["section"] = before["part_no"], before["section"]
        if "plain" in fields:
            update["plain"] = _plain(fields["plain"])
        for name in ("valid_from", "valid_to"):
            if name in fields:
                update[name] = _date(fields[name], name.replace("_", " "))
        start = update.get("valid_from", before["valid_from"])
        end = update.get("valid_to", before["valid_to"])
        if start and end and start > end:
            raise ValidationError(f"valid from ({start}) is after valid to ({end})")
        update["revision"] = before["revision"] + 1
        update["published"] = date.today().isoformat()
        db.table("passages").update(passage_id, update)
        after = get_passage(db, passage_id)
        _record(db, "passages", passage_id, "edit", _public(before), _public(after), by)
    return after


def retire_passage(db, passage_id: int, *, by: str) -> dict:
    """Stop answering from a passage; it is kept, with its history, and `undo` brings it back."""
    with store.write_transaction(db):
        before = get_passage(db, passage_id)
        if before["status"] == "retired":
            raise ValidationError(f"passage {passage_id} is already retired")
        db.table("passages").update(
            passage_id, {"status": "retired", "revision": before["revision"] + 1, "updated_at": store.now()}
        )
        after = get_passage(db, passage_id)
        _record(db, "passages", passage_id, "retire", _public(before), _public(after), by)
    return after


# ---------------------------------------------------------------- contacts and glossary


def set_contact(
    db, *, topic: str, name: str, phone: str, by: str, hours: str = "", address: str = "", contact_id: int | None = None
) -> int:
    """Add a contact (or change one, with `contact_id`). Topic `*` means every topic."""
    if topic != "*":
        topic = _topic(topic)
    row = {
        "topic": topic,
        "name": _required(name, "name", 80),
        "phone": _required(phone, "phone", 40),
        "hours": _clean(hours, "hours", 80) or "",
        "address": _clean(address, "address", 120) or "",
        "updated_at": store.now(),
    }
    if not re.fullmatch(r"[0-9+\-() 转]{3,40}", row["phone"]):
        raise ValidationError(f"phone {row['phone']!r} should be digits (with - + ( ) or 转 for an extension)")
    with store.write_transaction(db):
        if contact_id is None:
            contact_id = db.table("contacts").insert(row).last_pk
            _record(db, "contacts", contact_id, "add", None, {"id": contact_id, **row}, by)
        else:
            try:
                before = dict(db.table("contacts").get(contact_id))
            except sqlite_utils.db.NotFoundError:
                raise NotFound(f"no contact {contact_id}") from None
            db.table("contacts").update(contact_id, row)
            _record(db, "contacts", contact_id, "edit", before, dict(db.table("contacts").get(contact_id)), by)
    return contact_id


def remove_contact(db, contact_id: int, *, by: str) -> None:
    with store.write_transaction(db):
        try:
            before = dict(db.table("contacts").get(contact_id))
        except sqlite_utils.db.NotFoundError:
            raise NotFound(f"no contact {contact_id}") from None
        if db.execute("SELECT count(*) FROM contacts").fetchone()[0] == 1:
            raise ValidationError("this is the last contact: declines need somewhere to send residents")
        db.table("contacts").delete(contact_id)
        _record(db, "contacts", contact_id, "remove", before, None, by)


def set_glossary(db, term: str, plain: str, *, by: str) -> None:
    term = _required(term, "term", 40)
    plain = _required(plain, "explanation", 60)
    with store.write_transaction(db):
        existing = db.execute("SELECT term, plain, updated_at FROM glossary WHERE term = ?", [term]).fetchone()
        before = dict(zip(["term", "plain", "updated_at"], existing)) if existing else None
        row = {"term": term, "plain": plain, "updated_at": store.now()}
        db.table("glossary").upsert(row, pk="term")
        _record(db, "glossary", term, "edit" if before else "add", before, row, by)


def remove_glossary(db, term: str, *, by: str) -> None:
    with store.write_transaction(db):
        existing = db.execute("SELECT term, plain, updated_at FROM glossary WHERE term = ?", [term]).fetchone()
        if not existing:
            raise NotFound(f"no glossary term {term!r}")
        db.table("glossary").delete(term)
        _record(db, "glossary", term, "remove", dict(zip(["term", "plain", "updated_at"], existing)), None, by)


# ---------------------------------------------------------------- resident phrases

MAX_PHRASE = 20


def _phrase_row(db, phrase: str) -> dict | None:
    row = db.execute("SELECT phrase, means, updated_at FROM phrases WHERE phrase = ?", [phrase]).fetchone()
    return dict(zip(["phrase", "means", "updated_at"], row)) if row else None


def add_phrase(db, phrase: str, means, *, by: str) -> dict:
    """Teach the bot a resident phrase: questions with `phrase` are searched with the plan words `means` too.

    `means` is a list (or a comma-separated string) of words that stand in the plan's active passages; a word
    the plan never uses is refused, since it could never find an answer. Adding an existing phrase replaces its
    words. Live for the next question, recorded, undoable.
    """
    phrase = _required(phrase, "phrase", MAX_PHRASE)
    phrase = match_form(phrase)
    if isinstance(means, str):
        means = re.split(r"[,，、\s]+", means)
    words = list(dict.fromkeys(match_form(_clean(w, "plan word", MAX_PHRASE) or "") for w in means))
    words = [w for w in words if w]
    if not phrase:
        raise ValidationError("phrase must not be empty")
    if not words:
        raise ValidationError("give at least one plan word, e.g. --means 公益性岗位,就业")
    with store.write_transaction(db):
        texts = [r[0] for r in db.execute("SELECT text || heading FROM passages WHERE status = 'active'").fetchall()]
        missing = [w for w in words if not any(w in match_form(t) for t in texts)]
        if missing:
            raise ValidationError(f"the plan never uses {'、'.join(missing)}: choose words that stand in a passage")
        before = _phrase_row(db, phrase)
        row = {"phrase": phrase, "means": json.dumps(words, ensure_ascii=False), "updated_at": store.now()}
        db.table("phrases").upsert(row, pk="phrase")
        _record(db, "phrases", phrase, "edit" if before else "add", before, row, by)
    return {"phrase": phrase, "means": words}


def remove_phrase(db, phrase: str, *, by: str) -> None:
    _remove_recorded(db, "phrases", match_form(_required(phrase, "phrase", MAX_PHRASE)), _phrase_row, "phrase", by)


def _remove_recorded(db, table: str, key, row_of, what: str, by: str) -> None:
    """Delete the row `key` of `table` in one write, recorded for history and undo; NotFound when there is none."""
    with store.write_transaction(db):
        before = row_of(db, key)
        if before is None:
            raise NotFound(f"no {what} {key!r}")
        db.table(table).delete(key)
        _record(db, table, key, "remove", before, None, by)


def list_phrases(db) -> list[dict]:
    rows = db.execute("SELECT phrase, means, updated_at FROM phrases ORDER BY phrase").fetchall()
    return [{"phrase": p, "means": json.loads(m), "updated_at": u} for p, m, u in rows]


# ---------------------------------------------------------------- example questions

MAX_EXAMPLE = 200
_EXAMPLE_COLUMNS = ["id", "passage_id", "question", "updated_at"]


def _example_row(db, example_id: int) -> dict | None:
    row = db.execute(f"SELECT {', '.join(_EXAMPLE_COLUMNS)} FROM examples WHERE id = ?", [example_id]).fetchone()
    return dict(zip(_EXAMPLE_COLUMNS, row)) if row else None


def add_example(db, passage_id: int, question: str, *, by: str) -> dict:
    """Teach the bot that passage `passage_id` answers `question`, in the resident's own words: the search finds
    the passage through it (and questions like it) as through the shipped examples (data/examples.yml), even when
    they share no word with the passage.

    Phone and ID numbers are masked before it is stored. The passage must be active. The same question twice for
    one passage is one example. Live for the next question, recorded, undoable.
    """
    question = privacy.mask_personal_data(_required(question, "question", MAX_EXAMPLE))
    if not any(c.isalnum() for c in question):
        raise ValidationError("the question has no words")
    with store.write_transaction(db):
        status = db.execute("SELECT status FROM passages WHERE id = ?", [passage_id]).fetchone()
        if status is None:
            raise NotFound(f"no passage {passage_id}")
        if status[0] != "active":
            raise ValidationError(f"passage {passage_id} is {status[0]}: attach the question to an active passage")
        same = db.execute(
            "SELECT id FROM examples WHERE passage_id = ? AND question = ?", [passage_id, question]
        ).fetchone()
        if same:
            return _example_row(db, same[0]) or {}
        row = {"passage_id": passage_id, "question": question, "updated_at": store.now()}
        example_id = db.table("examples").insert(row).last_pk
        row = _example_row(db, example_id) or {}
        _record(db, "examples", example_id, "add", None, row, by)
    return row


def remove_example(db, example_id: int, *, by: str) -> None:
    _remove_recorded(db, "examples", example_id, _example_row, "example", by)


def list_examples(db, passage_id: int | None = None) -> list[dict]:
    where, args = ("WHERE passage_id = ?", [passage_id]) if passage_id is not None else ("", [])
    rows = db.execute(f"SELECT {', '.join(_EXAMPLE_COLUMNS)} FROM examples {where} ORDER BY id", args).fetchall()
    return [dict(zip(_EXAMPLE_COLUMNS, r)) for r in rows]


# ---------------------------------------------------------------- undo

_PK = {
    "passages": "id",
    "contacts": "id",
    "glossary": "term",
    "entities": "name",
    "phrases": "phrase",
    "examples": "id",
}


def undo(db, change_id: int, *, by: str) -> int:
    """Put a row back as it was before change `change_id`. Returns the id of the change that undoes it.

    Refused when the row changed again afterwards (undo the later change first) or was already undone.
    """
    with store.write_transaction(db):
        change = get_change(db, change_id)
        table = change["table_name"]
        if change["undone_by"]:
            raise ConflictError(f"change {change_id} was already undone by change {change['undone_by']}")
        if table not in _PK:
            raise ValidationError(f"changes to {table} cannot be undone")
        later = db.execute(
            "SELECT id FROM changes WHERE table_name = ? AND row_key = ? AND id > ? AND undone_by IS NULL "
            "AND undo_of IS NULL ORDER BY id DESC LIMIT 1",
            [table, change["row_key"], change_id],
        ).fetchone()
        if later:
            raise ConflictError(f"{table} {change['row_key']} changed again in change {later[0]}: undo that first")
        key = int(change["row_key"]) if _PK[table] == "id" else change["row_key"]
        current = _current(db, table, key)
        before = change["before"]
        if table == "passages":
            if before is None:  # it was added: retire it (passages are never deleted)
                before = dict(current or {}, status="retired")
            restored = {k: v for k, v in before.items() if k != "id"}
            text_row = ingest.passage_row(
                ingest.Passage(restored["part_no"], restored["section"], restored["heading"], restored["text"]),
                catalog.EntityMatcher(ingest.load_entities(db)),
            )
            restored["heading_tokens"], restored["tokens"] = text_row["heading_tokens"], text_row["tokens"]
            restored["revision"] = (current or {}).get("revision", 0) + 1
            db.table("passages").update(key, restored)
        elif before is None:
            db[table].delete(key)
        else:
            db[table].upsert(before, pk=_PK[table])
        after = _current(db, table, key)
        undo_id = _record(
            db,
            table,
            key,
            "undo",
            _public(current) if current else None,
            _public(after) if after else None,
            by,
            undo_of=change_id,
        )
        db.table("changes").update(change_id, {"undone_by": undo_id})
    return undo_id


def _current(db, table: str, key) -> dict | None:
    try:
        return dict(db[table].get(key))
    except sqlite_utils.db.NotFoundError:
        return None


# ---------------------------------------------------------------- documents, backup


def import_file(db, path: Path, *, by: str) -> tuple[int, bool, str]:
    """Import a plan (text or saved HTML). Returns (document id, created, title); the same content twice is a no-op."""
    try:
        doc = ingest.parse_plan(ingest.decode_plan(Path(path).read_bytes()))
    except ValueError as error:
        raise ValidationError(f"{path}: {error}. Nothing was imported.") from None
    for p in doc.passages:
        _refuse_control_characters(p.text, "the document")
    record = {"title": doc.title, "published": doc.published, "passages": len(doc.passages)}
    doc_id, created = ingest.import_document(
        db, doc, on_import=lambda doc_id: _record(db, "documents", doc_id, "import", None, record, by)
    )
    return doc_id, created, doc.title


def backup(db, destination: Path) -> Path:
    """Copy the live knowledge base with SQLite's online backup (safe while the bot is reading)."""
    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    target = sqlite3.connect(str(destination))
    try:
        db.conn.backup(target)
    finally:
        target.close()
    return destination


def restore(db, source: Path, *, by: str) -> None:
    """Replace the knowledge base's content with a backup, after checking that it is one."""
    source = Path(source)
    if not source.exists():
        raise NotFound(f"no backup at {source}")
    version_before = int(store.get_meta(db, "version", "0") or 0)
    check = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        tables = {r[0] for r in check.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if not {"passages", "documents", "entities"} <= tables:
            raise ValidationError(f"{source} is not a knowledge base backup")
        check.backup(db.conn)
    except sqlite3.DatabaseError as error:
        raise ValidationError(f"{source} is not a readable SQLite file: {error}") from error
    finally:
        check.close()
    store.migrations.apply(db)
    with store.write_transaction(db):
        # Readers reload when the version changes: it must move past anything they have seen.
        restored_version = int(store.get_meta(db, "version", "0") or 0)
        db.table("meta").upsert({"key": "version", "value": str(max(version_before, restored_version) + 1)}, pk="key")
        _record(db, "documents", "*", "restore", None, {"from": str(source)}, by)
