"""Forget old conversations: residents' messages are kept no longer than the district needs them.

Deletes, older than N days (default 90): Rasa's tracker-store events and the unanswered questions and feedback
kept for staff. The tracker store is the SQLite file `trackers` (the default profile), or, given an endpoints file
(`kb forget --endpoints endpoints.scaled.yml`), the store that file names, read as Rasa reads it (its `${VAR}`
values from the environment): PostgreSQL in the scaled profile. `kb forget` runs it; `make run` runs it at every
start.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path


def tracker_store_url(endpoints: Path) -> str | None:
    """The SQLAlchemy URL of the SQL tracker store `endpoints` names, as `rasa run --endpoints` would build it,
    or None when the file names no SQL tracker store. Rasa is imported here only: it is slow to import."""
    from rasa.core.tracker_store import SQLTrackerStore
    from rasa.utils.endpoints import read_endpoint_config

    if not Path(endpoints).exists():
        raise FileNotFoundError(f"no endpoints file {endpoints}")
    config = read_endpoint_config(str(endpoints), "tracker_store")
    if config is None or not (config.type == "sql" or str(config.type).endswith("SQLTrackerStore")):
        return None
    settings = config.kwargs
    url = SQLTrackerStore.get_db_url(
        settings.get("dialect", "sqlite"),
        config.url,
        settings.get("port"),
        settings.get("db", "rasa.db"),
        settings.get("username"),
        settings.get("password"),
        query=settings.get("query"),
    )
    return url if isinstance(url, str) else url.render_as_string(hide_password=False)


def _forget_in_sql_store(url: str, cutoff: float) -> int:
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    try:
        with engine.begin() as connection:
            if not sa.inspect(connection).has_table("events"):
                return 0
            return connection.execute(
                sa.text("DELETE FROM events WHERE timestamp < :cutoff"), {"cutoff": cutoff}
            ).rowcount
    finally:
        engine.dispose()


def forget(
    trackers: Path, questions: Path, days: int, now: float | None = None, tracker_store: str | None = None
) -> dict[str, int]:
    """Delete what is older than `days` days, from the SQLite file `trackers` or, when given, the tracker store
    at the SQLAlchemy URL `tracker_store`. Returns how many rows went from each place."""
    if days < 1:
        raise ValueError("keep conversations at least one day")
    cutoff = (now or time.time()) - days * 86400
    removed = {"conversation events": 0, "unanswered questions": 0, "feedback": 0}
    if tracker_store is not None:
        removed["conversation events"] = _forget_in_sql_store(tracker_store, cutoff)
    elif Path(trackers).exists():
        with sqlite3.connect(trackers, timeout=30) as db:
            if db.execute("SELECT 1 FROM sqlite_master WHERE name = 'events'").fetchone():
                removed["conversation events"] = db.execute("DELETE FROM events WHERE timestamp < ?", [cutoff]).rowcount
    if Path(questions).exists():
        iso = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(cutoff))
        with sqlite3.connect(questions, timeout=30) as db:
            tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if "questions" in tables:
                removed["unanswered questions"] = db.execute("DELETE FROM questions WHERE asked_at < ?", [iso]).rowcount
            if "feedback" in tables:
                removed["feedback"] = db.execute("DELETE FROM feedback WHERE at < ?", [iso]).rowcount
    return removed
