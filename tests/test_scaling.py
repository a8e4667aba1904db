"""More than one machine, Rasa's way: two Rasa servers and two action servers share conversations through a
PostgreSQL tracker store and a Redis lock store (Debian's packages, started here on 127.0.0.1); each action server
has its own copy of the knowledge base, kept at the primary's version through Redis (knowledge/sync.py)."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from devtools.servers import MODEL, ROOT, Servers, free_port
from knowledge import staff, store, sync

pytestmark = [pytest.mark.slow, pytest.mark.needs("postgresql", "redis-server")]


def pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    assert found, "PostgreSQL server missing: install Debian's postgresql (make test does)"
    return found[-1]


@pytest.fixture(scope="module")
def postgres():
    """A throwaway PostgreSQL cluster owned by the postgres user (initdb refuses root), outside pytest's
    private temporary folder, which the postgres user cannot enter."""
    data = Path(tempfile.mkdtemp(prefix="westbot-pg-"))
    user = pwd.getpwnam("postgres")
    os.chown(data, user.pw_uid, user.pw_gid)
    as_postgres = ["runuser", "-u", "postgres", "--"]
    subprocess.run(
        as_postgres + [pg_bin("initdb"), "-D", str(data / "db"), "-A", "trust", "-U", "postgres"],
        check=True,
        capture_output=True,
    )
    port = free_port()
    subprocess.run(
        as_postgres
        + [
            pg_bin("pg_ctl"),
            "-D",
            str(data / "db"),
            "-l",
            str(data / "log"),
            "-w",
            "-o",
            f"-p {port} -k {data} -c listen_addresses=127.0.0.1",
            "start",
        ],
        check=True,
        capture_output=True,
    )
    subprocess.run(as_postgres + [pg_bin("createdb"), "-h", "127.0.0.1", "-p", str(port), "rasa"], check=True)
    yield port
    subprocess.run(as_postgres + [pg_bin("pg_ctl"), "-D", str(data / "db"), "-m", "fast", "stop"], capture_output=True)
    shutil.rmtree(data, ignore_errors=True)


@pytest.fixture(scope="module")
def redis(tmp_path_factory):
    server = shutil.which("redis-server")
    assert server, "Redis missing: install Debian's redis-server (make test does)"
    port = free_port()
    process = subprocess.Popen(
        [
            server,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp_path_factory.mktemp("redis")),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while True:  # until Redis answers PING
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as conn:
                conn.sendall(b"PING\r\n")
                if conn.recv(16).startswith(b"+PONG"):
                    break
        except OSError:
            pass
        assert process.poll() is None and time.monotonic() < deadline, "redis-server did not start"
        time.sleep(0.05)
    yield port
    process.terminate()
    process.wait(10)


@pytest.fixture(scope="module")
def primary(built_kb, redis, tmp_path_factory):
    """The staff machine's knowledge base, with its publisher running (as the scaled profile runs it)."""
    work = tmp_path_factory.mktemp("staff-machine")
    path = work / "knowledge.db"
    shutil.copy(built_kb, path)
    publisher = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "knowledge.sync",
            "publish",
            "--kb",
            str(path),
            "--redis",
            f"redis://127.0.0.1:{redis}/2",
            "--every",
            "0.5",
        ],
        cwd=ROOT,
        stdout=open(work / "publisher.log", "ab"),
        stderr=subprocess.STDOUT,
    )
    yield path
    publisher.terminate()
    publisher.wait(10)


@pytest.fixture(scope="module")
def two_machines(built_kb, postgres, redis, primary, tmp_path_factory):
    assert MODEL.exists(), "no trained model: run `make train` (make test does)"
    work = tmp_path_factory.mktemp("scaled")
    env = {
        "DB_HOST": "127.0.0.1",
        "DB_PORT": str(postgres),
        "DB_NAME": "rasa",
        "DB_USER": "postgres",
        "DB_PASSWORD": "",
        "REDIS_HOST": "127.0.0.1",
        "REDIS_PORT": str(redis),
        "WESTBOT_KB_SYNC": f"redis://127.0.0.1:{redis}/2",
    }
    machines = []
    for i in (1, 2):
        shutil.copy(built_kb, work / f"knowledge-{i}.db")  # each action server answers from its own copy
        machines.append(
            Servers(work, work / f"knowledge-{i}.db", name=f"-{i}", env=env, endpoints=ROOT / "endpoints.scaled.yml")
        )
    try:
        for m in machines:
            m.start_actions()
            m.start_rasa()
        yield machines
    finally:
        for m in machines:
            m.stop()


def text(messages):
    return "\n".join(m.get("text") or "" for m in messages)


def test_one_conversation_alternates_between_two_servers_and_keeps_its_state(two_machines):
    one, two = two_machines
    assert "长者模式" in text(one.say("scaled-1", "长者模式"))
    assert "粤信路" in text(two.say("scaled-1", "粤信路会改造吗"))
    follow_up = one.say("scaled-1", "那个什么时候修好？")
    assert "粤信路" in text(follow_up)
    assert [b["title"] for m in follow_up for b in m.get("buttons") or []] == ["再说一遍", "打电话问", "回到开头"]
    assert text(two.say("scaled-1", "再说一遍")) == text(follow_up)


def count_events(postgres: int, sender: str) -> int:
    import sqlalchemy as sa

    engine = sa.create_engine(f"postgresql://postgres@127.0.0.1:{postgres}/rasa")
    try:
        with engine.connect() as connection:
            query = sa.text("SELECT count(*) FROM events WHERE sender_id = :s")
            return connection.execute(query, {"s": sender}).scalar()
    finally:
        engine.dispose()


def test_kb_forget_deletes_old_conversations_from_the_postgresql_store(two_machines, postgres):
    import sqlalchemy as sa

    one, two = two_machines
    for sender in ("scaled-old", "scaled-recent"):
        assert text(one.say(sender, "粤信路会改造吗"))
    engine = sa.create_engine(f"postgresql://postgres@127.0.0.1:{postgres}/rasa")
    with engine.begin() as connection:  # the old conversation took place 100 days ago
        connection.execute(
            sa.text("UPDATE events SET timestamp = timestamp - 100 * 86400 WHERE sender_id = 'scaled-old'")
        )
    engine.dispose()
    assert count_events(postgres, "scaled-old") > 0
    # As an operator runs it on the scaled profile: the store's address comes from the same environment as Rasa's.
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "knowledge",
            "forget",
            "--days",
            "90",
            "--endpoints",
            str(ROOT / "endpoints.scaled.yml"),
        ],
        env=one.env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert count_events(postgres, "scaled-old") == 0
    assert count_events(postgres, "scaled-recent") > 0
    assert "conversation events" in done.stdout and not done.stdout.startswith("deleted: 0 ")
    # The forgotten resident starts afresh on either server: nothing of the old conversation is repeated.
    assert "粤信路" not in text(two.say("scaled-old", "再说一遍"))


def kb_version(path: Path) -> str | None:
    return sync.local_version(path)


def test_a_staff_change_reaches_both_action_servers_by_itself_within_5_seconds(two_machines, primary):
    one, two = two_machines
    road = "测试甲一号路"
    question = f"{road}什么时候开工"
    assert all(road not in text(m.say(f"sync-before-{i}", question)) for i, m in enumerate(two_machines))
    db = store.open_for_writing(primary)  # a staff member's change on the staff machine, as `kb add` makes it
    staff.add_passage(db, topic="roads", entities=[f"road:{road}"], text=f"{road}将于2027年3月开工建设。", by="test")
    saved, version = time.monotonic(), store.get_meta(db, "version")
    db.conn.close()
    reached = {}
    while time.monotonic() - saved < 30 and len(reached) < 2:
        for m in two_machines:
            if m.name not in reached and kb_version(Path(m.env["WESTBOT_KB"])) == version:
                reached[m.name] = time.monotonic() - saved
        time.sleep(0.05)
    assert set(reached) == {"-1", "-2"} and max(reached.values()) < 5, reached
    for i, m in enumerate(two_machines):  # and both action servers answer with it, with no restart
        assert road in text(m.say(f"sync-after-{i}", question))
    # The file each action server reads is the primary's content, not a mix.
    assert [kb_version(Path(m.env["WESTBOT_KB"])) for m in two_machines] == [version, version]


def test_a_published_copy_that_is_not_a_knowledge_base_is_refused(redis, built_kb, tmp_path):
    import redis as redis_client

    local = tmp_path / "knowledge.db"
    shutil.copy(built_kb, local)
    before = kb_version(local)
    client = redis_client.Redis(port=redis, db=3)
    client.set(sync.SNAPSHOT_KEY, b"not a database" * 100)
    client.set(sync.VERSION_KEY, "999")
    with pytest.raises(ValueError, match="not a knowledge base"):
        sync.fetch_into(client, local)
    assert kb_version(local) == before
    # A real publication of another knowledge base is taken whole.
    other = tmp_path / "other.db"
    shutil.copy(built_kb, other)
    db = store.open_for_writing(other)
    staff.add_passage(db, topic="roads", entities=["road:测试乙二号路"], text="测试乙二号路明年开工。", by="test")
    db.conn.close()
    published = sync.publish(client, other)
    assert sync.fetch_into(client, local) == published == kb_version(local) != before
    assert sync.fetch_into(client, local) is None  # nothing new
