"""More than one machine, Rasa's way: two Rasa servers and two action servers share conversations through a
PostgreSQL tracker store and a Redis lock store (Debian's packages, started here on 127.0.0.1)."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from devtools.servers import MODEL, ROOT, Servers, free_port

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
    time.sleep(0.5)
    yield port
    process.terminate()
    process.wait(10)


@pytest.fixture(scope="module")
def two_machines(built_kb, postgres, redis, tmp_path_factory):
    assert MODEL.exists(), "no trained model: run `make train` (make test does)"
    work = tmp_path_factory.mktemp("scaled")
    shutil.copy(built_kb, work / "knowledge.db")
    env = {
        "DB_HOST": "127.0.0.1",
        "DB_PORT": str(postgres),
        "DB_NAME": "rasa",
        "DB_USER": "postgres",
        "DB_PASSWORD": "",
        "REDIS_HOST": "127.0.0.1",
        "REDIS_PORT": str(redis),
    }
    machines = [
        Servers(work, work / "knowledge.db", name=f"-{i}", env=env, endpoints=ROOT / "endpoints.scaled.yml")
        for i in (1, 2)
    ]
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
