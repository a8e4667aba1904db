"""Several action servers, one knowledge base: staff changes reach every server through Redis by themselves.

The scaled profile (endpoints.scaled.yml) already runs Redis for Rasa's lock store. Staff edit one knowledge base,
the primary (the staff machine's var/knowledge.db). Each action server answers from its own local copy.

- The publisher (`python -m knowledge.sync publish --kb var/knowledge.db --redis redis://host:6379/2`, one per
  district, beside the primary) checks the primary's version (`meta.version`, bumped by every staff change) every
  `--every` seconds. When it moved, it copies the primary with SQLite's online backup (as `kb backup` does: a
  consistent copy, taken while staff keep writing) and, in one Redis transaction, stores the copy's bytes and the
  version read from the copy itself, then announces the version on a channel.
- Every action server follows (`WESTBOT_KB_SYNC=redis://host:6379/2` in its environment; actions/resources.py
  starts `Follower` beside the knowledge base): it listens on the channel, and also checks the version key every
  `POLL_SECONDS` in case an announcement was missed (Redis restarted, the connection dropped). When the published
  version differs from its copy's, it reads bytes and version in one transaction, checks the bytes are a knowledge
  base of that version, and restores them into its local file with SQLite's backup, in one transaction: its
  readers see the old knowledge base or the new one, never a mix, and reload on their next question because the
  version changed.

A staff change reaches every action server within the publisher's check interval plus one copy (well under 5 s;
tests/test_scaling.py checks it with two action servers). Redis down: each server keeps answering from its copy
and catches up when Redis is back.
"""

from __future__ import annotations

import logging
import sqlite3
import tempfile
import threading
import time
from pathlib import Path

import click
import redis

from knowledge import staff, store

logger = logging.getLogger(__name__)

PREFIX = "westbot:kb"
SNAPSHOT_KEY, VERSION_KEY, CHANNEL = f"{PREFIX}:snapshot", f"{PREFIX}:version", f"{PREFIX}:changed"
POLL_SECONDS = 2.0


def _version_of(path: Path) -> str:
    """The version of the knowledge base at `path`; ValueError when it is not one."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if not {"passages", "documents", "entities", "meta"} <= tables:
            raise ValueError(f"{path} is not a knowledge base")
        row = db.execute("SELECT value FROM meta WHERE key = 'version'").fetchone()
        return row[0] if row else "0"
    except sqlite3.DatabaseError as error:
        raise ValueError(f"{path} is not a knowledge base: {error}") from error
    finally:
        db.close()


def local_version(kb_path: Path) -> str | None:
    try:
        return _version_of(kb_path)
    except (sqlite3.Error, ValueError):  # missing, or not a knowledge base: any published one is better
        return None


def publish(client: redis.Redis, kb_path: Path) -> str:
    """Store a consistent copy of the knowledge base at `kb_path` in Redis and announce its version."""
    with tempfile.TemporaryDirectory() as work:
        primary = store.open_read_only(kb_path)
        try:
            copy = staff.backup(primary, Path(work) / "knowledge.db")
        finally:
            primary.conn.close()
        version = _version_of(copy)
        data = copy.read_bytes()
    with client.pipeline(transaction=True) as pipe:
        pipe.set(SNAPSHOT_KEY, data).set(VERSION_KEY, version).publish(CHANNEL, version)
        pipe.execute()
    logger.info("published knowledge base version %s (%d bytes)", version, len(data))
    return version


def fetch_into(client: redis.Redis, kb_path: Path) -> str | None:
    """Replace the local knowledge base with the published one when their versions differ. Returns the version
    now in use when it changed, else None."""
    published = client.get(VERSION_KEY)
    if published is None or published.decode() == local_version(kb_path):
        return None
    with client.pipeline(transaction=True) as pipe:
        data, version = pipe.get(SNAPSHOT_KEY).get(VERSION_KEY).execute()
    if data is None or version is None:
        return None
    version = version.decode()
    with tempfile.TemporaryDirectory(dir=Path(kb_path).parent) as work:
        copy = Path(work) / "published.db"
        copy.write_bytes(data)
        copy.chmod(0o600)
        if _version_of(copy) != version:
            raise ValueError(f"published knowledge base is not version {version}")
        source, target = sqlite3.connect(copy), sqlite3.connect(kb_path, timeout=30)
        try:
            source.backup(target)  # one transaction on the target: readers see all of it or none
        finally:
            source.close()
            target.close()
    logger.info("knowledge base updated to published version %s", version)
    return version


class Follower:
    """Keeps `kb_path` at the published version, in a background thread, until `stop()`."""

    def __init__(self, url: str, kb_path: Path, poll: float = POLL_SECONDS) -> None:
        self.url, self.kb_path, self.poll = url, Path(kb_path), poll
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="kb-sync", daemon=True)

    def start(self) -> Follower:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                client = redis.Redis.from_url(self.url, socket_timeout=30, health_check_interval=10)
                with client.pubsub(ignore_subscribe_messages=True) as channel:
                    channel.subscribe(CHANNEL)
                    fetch_into(client, self.kb_path)  # what was published while this server was away
                    while not self._stop.is_set():
                        # An announcement wakes this at once; otherwise check anyway every `poll` seconds.
                        channel.get_message(timeout=self.poll)
                        fetch_into(client, self.kb_path)
            except (redis.RedisError, OSError, sqlite3.Error, ValueError) as error:
                logger.warning("knowledge base sync: %s; answering from the local copy, retrying", error)
                self._stop.wait(self.poll)


@click.group()
def cli() -> None:
    """Knowledge base sync between servers through Redis (the scaled profile)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s - %(message)s")


@cli.command("publish")
@click.option(
    "--kb",
    "kb_path",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    required=True,
    help="The primary knowledge base, where staff make changes.",
)
@click.option("--redis", "url", envvar="WESTBOT_KB_SYNC", required=True, help="e.g. redis://127.0.0.1:6379/2")
@click.option("--every", type=float, default=0.5, show_default=True, help="Seconds between version checks.")
@click.option("--once", is_flag=True, help="Publish the current version and stop.")
def publish_command(kb_path: Path, url: str, every: float, once: bool) -> None:
    """Publish the primary knowledge base now and whenever staff change it."""
    client = redis.Redis.from_url(url)
    published = None
    while True:
        try:
            current = local_version(kb_path)
            remote = client.get(VERSION_KEY)
            if current is not None and (current != published or remote is None or remote.decode() != current):
                published = publish(client, kb_path)
        except (redis.RedisError, OSError, sqlite3.Error) as error:
            logger.warning("publishing failed: %s; retrying", error)
        if once:
            return
        time.sleep(every)


@cli.command("follow")
@click.option("--kb", "kb_path", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--redis", "url", envvar="WESTBOT_KB_SYNC", required=True)
def follow_command(kb_path: Path, url: str) -> None:
    """Keep a local knowledge base at the published version (the action server does this by itself)."""
    follower = Follower(url, kb_path).start()
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        follower.stop()


if __name__ == "__main__":
    cli()
