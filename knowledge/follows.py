"""Following: residents who asked to be told when what the bot says about a road, programme or topic changes.

One SQLite file apart from the knowledge base (default var/follows.db, mode 0600), with:
- `follows`: a chat id, a subject (an entity name or a topic key) and how to write to that chat (elder form and
  voice language): nothing else about the resident;
- `outbox`: the queue of messages to send, one row per message; a row is marked `sending` before it goes and
  `sent` after, so a relay restart never sends one twice (a row caught in `sending` by a crash is marked
  `uncertain`, not sent again);
- `fanouts`: which staff changes, dated events and announcements were queued (so none is queued twice);
- `announcements` and `state` (the notifier's last cycle, for staff and tests).

The kb CLI queues (`notify_change`, `announce`); the Telegram relay sends (bot/telegram/notifier.py).
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from datetime import time as clock
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlite_utils
from sqlite_utils.migrations import Migrations

from . import catalog, store

migrations = Migrations("westbot-follows")
KINDS = ("entity", "topic")
# How many days back a dated event (a passage becoming valid or expiring) is still told, if the relay was down.
DATED_CATCH_UP_DAYS = 3
MAX_SUBJECT = 40


@migrations()
def m001_follows(db: sqlite_utils.Database) -> None:
    db.table("follows").create(
        {"chat_id": int, "kind": str, "subject": str, "elder": int, "voice_lang": str, "since": str},
        pk=("chat_id", "kind", "subject"),
    )
    db.table("follows").create_index(["kind", "subject"])
    db.table("outbox").create(
        {
            "id": int,
            "chat_id": int,
            "ref": str,  # change:12, dated:45:valid:2026-12-01, announcement:3
            "seq": int,  # 0 the text, 1 its voice
            "kind": str,  # text | voice
            "subject": str,  # kind:subject, so unfollowing drops what is still queued for it
            "body": str,
            "voice_lang": str,
            "status": str,  # queued | sending | sent | uncertain | failed
            "queued_at": str,
            "sent_at": str,
            "error": str,
        },
        pk="id",
    )
    db.table("outbox").create_index(["chat_id", "ref", "seq"], unique=True)
    db.table("outbox").create_index(["status", "id"])
    db.table("fanouts").create({"ref": str, "at": str, "by": str, "recipients": int}, pk="ref")
    db.table("announcements").create(
        {"id": int, "at": str, "by": str, "kind": str, "subject": str, "text": str, "recipients": int}, pk="id"
    )
    db.table("state").create({"key": str, "value": str}, pk="key")


@dataclass(frozen=True)
class Subject:
    kind: str  # entity | topic
    name: str  # entity name or topic key

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.name}"

    @property
    def label(self) -> str:
        """What a resident reads: 金沙路, or a topic's label (道路与交通建设)."""
        if self.kind == "topic":
            topic = catalog.topics().get(self.name)
            return topic.label if topic else self.name
        return self.name


def private_file(path: Path) -> None:
    """Create `path` (and its -wal/-shm companions when present) readable by its owner only."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        if p.exists():
            os.chmod(p, 0o600)


_opening = threading.Lock()


def open_follows(path: Path) -> sqlite_utils.Database:
    """The follows store for a writer (created 0600 with its schema if needed)."""
    with _opening:  # two threads applying the migrations at once would find the schema locked
        private_file(path)
        old_umask = os.umask(0o077)  # the -wal and -shm files SQLite makes next are private too
        try:
            db = store.open_for_writing(path, migrations)
        finally:
            os.umask(old_umask)
    db.execute("PRAGMA synchronous=FULL")  # `sent` must be on disk before the next message goes
    private_file(path)
    return db


def open_follows_in_memory() -> sqlite_utils.Database:
    db = sqlite_utils.Database(memory=True)
    migrations.apply(db)
    return db


# ---------------------------------------------------------------- following


def check_subject(subject: Subject) -> Subject:
    if subject.kind not in KINDS:
        raise ValueError(f"unknown kind {subject.kind!r}: entity or topic")
    name = (subject.name or "").strip()
    if not name or len(name) > MAX_SUBJECT:
        raise ValueError("a subject needs a name of 1 to 40 characters")
    if subject.kind == "topic" and name not in catalog.topics():
        raise ValueError(f"unknown topic {name!r}; topics are: {', '.join(catalog.topics())}")
    return Subject(subject.kind, name)


def follow(db, chat_id: int, subject: Subject, elder: bool = False, voice_lang: str = "cmn") -> bool:
    """Start following. Returns False when the chat already followed it (its form is updated)."""
    subject = check_subject(subject)
    with store.write_transaction(db):
        exists = db.execute(
            "SELECT 1 FROM follows WHERE chat_id = ? AND kind = ? AND subject = ?",
            [chat_id, subject.kind, subject.name],
        ).fetchone()
        db.table("follows").upsert(
            {
                "chat_id": chat_id,
                "kind": subject.kind,
                "subject": subject.name,
                "elder": int(bool(elder)),
                "voice_lang": voice_lang or "cmn",
                "since": store.now(),
            },
            pk=("chat_id", "kind", "subject"),
        )
        db.execute(
            "UPDATE follows SET elder = ?, voice_lang = ? WHERE chat_id = ?",
            [int(bool(elder)), voice_lang or "cmn", chat_id],
        )
    return not exists


def unfollow(db, chat_id: int, subject: Subject) -> bool:
    """Stop following: the follow is deleted, and what was still queued about it. False if it was not followed."""
    with store.write_transaction(db):
        gone = db.execute(
            "DELETE FROM follows WHERE chat_id = ? AND kind = ? AND subject = ?", [chat_id, subject.kind, subject.name]
        ).rowcount
        db.execute("DELETE FROM outbox WHERE chat_id = ? AND subject = ? AND status = 'queued'", [chat_id, subject.key])
    return bool(gone)


def following(db, chat_id: int) -> list[Subject]:
    rows = db.execute("SELECT kind, subject FROM follows WHERE chat_id = ? ORDER BY since, subject", [chat_id])
    return [Subject(kind, name) for kind, name in rows.fetchall()]


def set_form(db, chat_id: int, elder: bool, voice_lang: str | None = None) -> None:
    """The resident switched elder mode (or the voice's language): later messages follow suit."""
    with store.write_transaction(db):
        if voice_lang:
            db.execute(
                "UPDATE follows SET elder = ?, voice_lang = ? WHERE chat_id = ?",
                [int(bool(elder)), voice_lang, chat_id],
            )
        else:
            db.execute("UPDATE follows SET elder = ? WHERE chat_id = ?", [int(bool(elder)), chat_id])


def forget_chat(db, chat_id: int) -> dict[str, int]:
    """Everything this store holds about one chat (/forget_me, or a resident who blocked the bot)."""
    with store.write_transaction(db):
        follows = db.execute("DELETE FROM follows WHERE chat_id = ?", [chat_id]).rowcount
        messages = db.execute("DELETE FROM outbox WHERE chat_id = ?", [chat_id]).rowcount
    return {"follows": follows, "messages": messages}


def followers(db, subjects: list[Subject]) -> dict[int, tuple[Subject, bool, str]]:
    """chat id -> (the subject it follows, elder, voice language), the first subject in `subjects` winning."""
    found: dict[int, tuple[Subject, bool, str]] = {}
    for subject in subjects:
        rows = db.execute(
            "SELECT chat_id, elder, voice_lang FROM follows WHERE kind = ? AND subject = ?",
            [subject.kind, subject.name],
        )
        for chat_id, elder, voice_lang in rows.fetchall():
            found.setdefault(chat_id, (subject, bool(elder), voice_lang or "cmn"))
    return found


def forget_old(db, days: int, now: datetime | None = None) -> dict[str, int]:
    """Retention: messages older than `days` go; follows stay while active. A chat that has followed nothing for
    `days` days keeps nothing here (its messages are all older than that)."""
    cutoff = ((now or datetime.now(timezone.utc)) - timedelta(days=days)).isoformat(timespec="seconds")
    with store.write_transaction(db):
        messages = db.execute("DELETE FROM outbox WHERE queued_at < ? AND status != 'queued'", [cutoff]).rowcount
        stale = db.execute(
            "DELETE FROM outbox WHERE queued_at < ? AND chat_id NOT IN (SELECT chat_id FROM follows)", [cutoff]
        ).rowcount
    return {"sent follow messages": messages + stale}


# ---------------------------------------------------------------- what to tell


def passage_subjects(passage: dict | None) -> list[Subject]:
    """Entities first (more specific), then topics."""
    if not passage:
        return []
    entities = passage.get("entities") or "[]"
    topics = passage.get("topics") or "[]"
    entities = json.loads(entities) if isinstance(entities, str) else entities
    topics = json.loads(topics) if isinstance(topics, str) else topics
    return [Subject("entity", e) for e in entities] + [Subject("topic", t) for t in topics]


def _queue(db, ref: str, by: str, recipients: dict[int, tuple[Subject, bool, str]], compose) -> int:
    """Queue one message (and its voice for elder readers) per recipient, once per `ref`. Returns how many chats."""
    now = store.now()
    with store.write_transaction(db):
        if db.execute("SELECT 1 FROM fanouts WHERE ref = ?", [ref]).fetchone():
            return 0
        rows = []
        for chat_id, (subject, elder, voice_lang) in sorted(recipients.items()):
            text, voice = compose(subject, elder)
            base = {"chat_id": chat_id, "ref": ref, "subject": subject.key, "status": "queued", "queued_at": now}
            rows.append({**base, "seq": 0, "kind": "text", "body": text, "voice_lang": None})
            if voice:
                rows.append({**base, "seq": 1, "kind": "voice", "body": voice, "voice_lang": voice_lang})
        if rows:
            db.table("outbox").insert_all(rows, ignore=True, batch_size=500)
        db.table("fanouts").insert({"ref": ref, "at": now, "by": by, "recipients": len(recipients)})
    return len(recipients)


def notify_change(kb_db, db, change_id: int, by: str = "") -> int:
    """Queue messages to the followers of a staff change to a passage (add, text edit, retirement, undo).

    `kb_db` is the knowledge base (read), `db` the follows store. Returns how many chats will be told; 0 when
    the change is not one residents are told about (a heading or plain-version edit, a contact, a glossary term).
    """
    from . import notices, staff  # staff imports this module's neighbours; notices needs jieba only when used

    change = staff.get_change(kb_db, change_id)
    if change["table_name"] != "passages":
        return 0
    what = notices.what_changed(change["before"], change["after"])
    if what is None:
        return 0
    passage = change["after"] if what != "retired" else (change["before"] or change["after"])
    subjects = list(dict.fromkeys(passage_subjects(change["before"]) + passage_subjects(change["after"])))
    recipients = followers(db, subjects)
    if not recipients:
        _queue(db, f"change:{change_id}", by or change["by"], {}, None)
        return 0
    full = notices.passage_for_notice(kb_db, passage)
    return _queue(
        db,
        f"change:{change_id}",
        by or change["by"],
        recipients,
        lambda subject, elder: notices.compose(what, subject, full, elder),
    )


def notify_dated(kb_db, db, today: date) -> int:
    """Queue messages for passages that became valid today or stopped being valid yesterday (or in the last few
    days, if nobody checked then). Returns how many chats will be told."""
    from . import notices

    told = 0
    since = (today - timedelta(days=DATED_CATCH_UP_DAYS)).isoformat()
    rows = kb_db.execute(
        "SELECT id, valid_from, valid_to FROM passages WHERE status = 'active' AND "
        "((valid_from > ? AND valid_from <= ?) OR (valid_to >= ? AND valid_to < ?))",
        [since, today.isoformat(), since, today.isoformat()],
    ).fetchall()
    for passage_id, valid_from, valid_to in rows:
        row = dict(kb_db["passages"].get(passage_id))
        for what, day in (("valid", valid_from), ("expired", valid_to)):
            if not day or not (
                since < day <= today.isoformat() if what == "valid" else since <= day < today.isoformat()
            ):
                continue
            ref = f"dated:{passage_id}:{what}:{day}"
            if db.execute("SELECT 1 FROM fanouts WHERE ref = ?", [ref]).fetchone():
                continue
            recipients = followers(db, passage_subjects(row))
            full = notices.passage_for_notice(kb_db, row)
            told += _queue(
                db,
                ref,
                "date",
                recipients,
                lambda subject, elder, w=what, p=full: notices.compose(w, subject, p, elder),
            )
    return told


def announcement_recipients(db, subject: Subject) -> int:
    return len(followers(db, [check_subject(subject)]))


def announce(kb_db, db, subject: Subject, text: str, by: str) -> tuple[int, int]:
    """Queue a staff announcement to the followers of `subject`, recorded in the knowledge base's history
    (`kb history announcement:<id>`). Returns (announcement id, recipients)."""
    from . import notices, staff

    subject = check_subject(subject)
    text = (text or "").strip()
    if not text:
        raise staff.ValidationError("the announcement has no text")
    if len(text) > notices.MAX_ANNOUNCEMENT:
        raise staff.ValidationError(f"the announcement is {len(text)} characters; at most {notices.MAX_ANNOUNCEMENT}")
    recipients = followers(db, [subject])
    with store.write_transaction(db):
        announcement_id = (
            db["announcements"]
            .insert(
                {
                    "at": store.now(),
                    "by": by,
                    "kind": subject.kind,
                    "subject": subject.name,
                    "text": text,
                    "recipients": len(recipients),
                }
            )
            .last_pk
        )
    with store.write_transaction(kb_db):
        staff._record(
            kb_db,
            "announcements",
            announcement_id,
            "announce",
            None,
            {"subject": subject.label, "text": text, "recipients": len(recipients)},
            by,
        )
    _queue(
        db,
        f"announcement:{announcement_id}",
        by,
        recipients,
        lambda s, elder: notices.compose_announcement(s, text, elder),
    )
    return announcement_id, len(recipients)


# ---------------------------------------------------------------- sending (the relay's notifier)


@dataclass(frozen=True)
class QuietHours:
    start: clock
    end: clock
    zone: ZoneInfo

    @classmethod
    def parse(cls, value: str, zone: str) -> QuietHours:
        """`22:00-08:00` in `Asia/Shanghai`; an empty value means no quiet hours."""
        if not value.strip():
            return cls(clock(0), clock(0), ZoneInfo(zone))
        start, end = (clock.fromisoformat(part.strip()) for part in value.split("-"))
        return cls(start, end, ZoneInfo(zone))

    def holds(self, moment: datetime) -> bool:
        """True when `moment` (aware) falls in the quiet hours, local time."""
        if self.start == self.end:
            return False
        local = moment.astimezone(self.zone).time()
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end


def recover_interrupted(db) -> int:
    """At start: a row left `sending` by a crash may or may not have reached Telegram; it is not sent again."""
    with store.write_transaction(db):
        return db.execute(
            "UPDATE outbox SET status = 'uncertain', error = 'relay stopped while sending' WHERE status = 'sending'"
        ).rowcount


def queued(db, limit: int, skip_chats=()) -> list[dict]:
    """The oldest queued messages, at most one per chat, leaving out chats in `skip_chats` (sent to just now).

    A chat's voice is never ahead of its text: only the lowest (ref, seq) still queued of each chat is offered.
    """
    skip = list(skip_chats)
    placeholders = ",".join("?" * len(skip))
    where = f"AND chat_id NOT IN ({placeholders})" if skip else ""
    rows = db.execute(
        f"SELECT o.* FROM outbox o JOIN (SELECT chat_id, MIN(id) AS first FROM outbox WHERE status = 'queued' "
        f"{where} GROUP BY chat_id) f ON o.id = f.first ORDER BY o.id LIMIT ?",
        [*skip, limit],
    )
    columns = [c[0] for c in rows.description]
    return [dict(zip(columns, r)) for r in rows.fetchall()]


def claim(db, row_id: int) -> bool:
    """Mark a message `sending` (on disk) before it goes; False if something else took it."""
    with store.write_transaction(db):
        return (
            db.execute("UPDATE outbox SET status = 'sending' WHERE id = ? AND status = 'queued'", [row_id]).rowcount
            == 1
        )


def mark(db, row_id: int, status: str, error: str | None = None) -> None:
    with store.write_transaction(db):
        db.execute(
            "UPDATE outbox SET status = ?, sent_at = ?, error = ? WHERE id = ?", [status, store.now(), error, row_id]
        )


def release(db, row_id: int, error: str) -> None:
    """Put a message back in the queue (flood control, a network error before it reached Telegram)."""
    with store.write_transaction(db):
        db.execute("UPDATE outbox SET status = 'queued', error = ? WHERE id = ?", [error, row_id])


def set_state(db, **values) -> None:
    with store.write_transaction(db):
        for key, value in values.items():
            db.table("state").upsert({"key": key, "value": json.dumps(value)}, pk="key")


def get_state(db, key: str, default=None):
    try:
        row = db.execute("SELECT value FROM state WHERE key = ?", [key]).fetchone()
    except sqlite3.OperationalError:
        return default
    return json.loads(row[0]) if row else default


def counts(db) -> dict[str, int]:
    return dict(db.execute("SELECT status, count(*) FROM outbox GROUP BY status").fetchall())


def tell_followers(kb_db, change_id: int, follows_path: Path | None = None, notify: bool = True) -> int:
    """After a staff change (CLI or console): queue its messages to followers unless `notify` is False (a typo
    fix). Returns how many chats will be told. With no follows store yet, nobody follows anything: 0."""
    from .settings import get_settings

    if not notify:
        return 0
    path = Path(follows_path or get_settings().follows_path)
    if not path.exists():
        return 0
    db = open_follows(path)
    try:
        return notify_change(kb_db, db, change_id)
    finally:
        db.conn.close()


def latest_change(kb_db, table: str, key) -> int:
    row = kb_db.execute(
        "SELECT max(id) FROM changes WHERE table_name = ? AND row_key = ?", [table, str(key)]
    ).fetchone()
    return row[0]
