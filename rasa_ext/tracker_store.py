"""Rasa's SQL tracker store, with each message's reads and writes made cheap.

Rasa's `SQLTrackerStore` does this for every message: load the conversation's events through the ORM and replay
them into a new tracker; then, to save, count the rows already stored, add the new ones through the ORM and commit
(with SQLite's default journal, a sync to disk per message). Profiled under load (benchmarks/load.py, py-spy),
that was about 40% of the Rasa process's time. This store keeps the same table and the same meaning, and:

- remembers the tracker it saved last for each recent conversation (`cache_size` of them) and hands it back when
  the database still holds exactly what it saved, checked with one indexed query per message (the number of the
  conversation's rows and the newest row's id). Rows are only ever added (by Rasa) or deleted (by `kb forget`),
  and either changes one of the two, so a conversation changed elsewhere (another Rasa server in the PostgreSQL
  profile, old events forgotten) is read from the database as Rasa would. A tracker is handed to one caller at a
  time, and one that was changed without being saved is never handed out again;
- knows how many of a tracker's events are stored already, so saving is one multi-row insert, no count;
- on SQLite, uses write-ahead logging with `synchronous=NORMAL`: a commit no longer waits for the disk, a crash of
  the process loses nothing, and a power cut can lose at most the last moments of conversations.

Use it with `type: rasa_ext.tracker_store.CachedSQLTrackerStore` in endpoints.yml; the other settings are Rasa's
(`dialect`, `db`, `url`, `port`, `username`, `password`), plus `cache_size` (default 1000 conversations).
"""

from __future__ import annotations

import itertools
import json
import logging
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.events import SessionStarted
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY

from knowledge import privacy

logger = logging.getLogger(__name__)


@dataclass
class _Stored:
    """What this process knows of one conversation's rows, and the tracker that matches them."""

    tracker: DialogueStateTracker | None
    length: int  # how many of `tracker.events` are in the database
    rows: int  # the conversation's rows in the database when this was recorded
    last_id: int | None  # the newest of those rows' ids
    handed_out: bool  # somebody holds `tracker` now and may be changing it


class CachedSQLTrackerStore(SQLTrackerStore):
    """`SQLTrackerStore` that reuses the tracker it saved when the database shows nobody else changed it."""

    def __init__(self, *args: Any, cache_size: int = 1000, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.cache_size = int(cache_size)
        self._conversations: OrderedDict[str, _Stored] = OrderedDict()
        self._events = events = self.SQLEvent.__table__
        # Built once: building a query is most of the cost of running one this small.
        sender = sa.bindparam("sender_id")
        self._fingerprint_query = sa.select(sa.func.count(), sa.func.max(events.c.id)).where(
            events.c.sender_id == sender
        )
        start = (
            sa.select(sa.func.max(events.c.timestamp))
            .where(events.c.sender_id == sender, events.c.type_name == SessionStarted.type_name)
            .scalar_subquery()
        )
        self._latest_session_count = sa.select(sa.func.count()).where(
            events.c.sender_id == sender, sa.or_(events.c.timestamp >= start, start.is_(None))
        )
        self._insert = events.insert()
        if self.engine.dialect.name == "sqlite":
            # Rasa's engine opens and closes the file for every query; keep a few connections open instead.
            url = self.engine.url
            self.engine.dispose()
            self.engine = sa.create_engine(
                url, poolclass=sa.pool.QueuePool, pool_size=4, connect_args={"check_same_thread": False}
            )
            sa.event.listen(self.engine, "connect", _sqlite_synchronous_normal)
            with self.engine.connect() as connection:
                connection.exec_driver_sql("PRAGMA journal_mode=WAL")  # kept in the file
            self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)

    def _fingerprint(self, connection: sa.engine.Connection, sender_id: str) -> tuple[int, int | None]:
        rows, last_id = connection.execute(self._fingerprint_query, {"sender_id": sender_id}).one()
        return int(rows), last_id

    def _stored_in_latest_session(self, connection: sa.engine.Connection, sender_id: str) -> int:
        """How many events of the latest session are stored: Rasa's own count, as one query."""
        return int(connection.execute(self._latest_session_count, {"sender_id": sender_id}).scalar())

    def _remember(self, sender_id: str, stored: _Stored) -> None:
        self._conversations[sender_id] = stored
        self._conversations.move_to_end(sender_id)
        while len(self._conversations) > self.cache_size:
            self._conversations.popitem(last=False)

    async def retrieve(self, sender_id: str) -> DialogueStateTracker | None:
        """The latest session of the conversation, as Rasa's store returns it."""
        with self.engine.connect() as connection:
            rows, last_id = self._fingerprint(connection, sender_id)
        known = self._conversations.get(sender_id)
        if (
            known
            and known.tracker is not None
            and not known.handed_out
            and (known.rows, known.last_id) == (rows, last_id)
            and len(known.tracker.events) == known.length
        ):
            known.handed_out = True
            self._conversations.move_to_end(sender_id)
            return known.tracker
        tracker = await super().retrieve(sender_id)
        # Rows written between the two reads only make the next check fail; `length` is what this tracker holds.
        self._remember(sender_id, _Stored(tracker, len(tracker.events) if tracker else 0, rows, last_id, True))
        return tracker

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Store the events the database does not have yet, in one insert."""
        await self.stream_events(tracker)
        sender_id = tracker.sender_id
        known = self._conversations.get(sender_id)
        with self.engine.begin() as connection:
            if known is not None and known.tracker is tracker:
                stored = known.length
            elif known is not None and known.tracker is None and known.rows == 0 and known.handed_out:
                stored = 0  # `retrieve` found no conversation, so Rasa created this tracker
            else:
                stored = self._stored_in_latest_session(connection, sender_id)  # a tracker we did not hand out
            new = list(itertools.islice(tracker.events, stored, None))
            if new:
                connection.execute(self._insert, [_row(sender_id, event) for event in new])
            rows, last_id = self._fingerprint(connection, sender_id)
        # A new session changes what a read returns (the latest session only), so that tracker is not reused.
        keep = not any(isinstance(event, SessionStarted) for event in new)
        self._remember(sender_id, _Stored(tracker if keep else None, len(tracker.events), rows, last_id, False))
        logger.debug(f"Tracker with sender_id '{sender_id}' stored to database ({len(new)} new events)")


def _row(sender_id: str, event) -> dict:
    data = privacy.mask_in(event.as_dict())  # phone, ID and card numbers never reach the database
    return {
        "sender_id": sender_id,
        "type_name": event.type_name,
        "timestamp": data.get("timestamp"),
        "intent_name": data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY),
        "action_name": data.get("name"),
        "data": json.dumps(data),
    }


def _sqlite_synchronous_normal(connection, _record) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
