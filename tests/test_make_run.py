"""`make run` stops cleanly on Ctrl-C: every server ends, its port is free, and one line says so (no crash message).

A terminal's Ctrl-C sends SIGINT to the whole foreground process group; the test starts `make run` in a process
group of its own, on free ports, and does the same.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request

import pytest

from tests.servers import MODEL, ROOT, free_port

pytestmark = pytest.mark.slow


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2):
            return True
    except urllib.error.HTTPError:
        return True  # a server is there, even if it does not like the path
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


def is_free(port: int) -> bool:
    """Whether a new server could listen on the port (SO_REUSEADDR, as servers do: closed connections may linger)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
            s.listen()
        except OSError:
            return False
    return True


def group_is_gone(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return True
    return False


def test_ctrl_c_stops_every_server_and_says_so(tmp_path):
    assert MODEL.exists(), "no trained model: run `make train` (make test does)"
    ports = {name: free_port() for name in ("RASA_PORT", "ACTIONS_PORT", "WEB_PORT", "STAFF_PORT")}
    env = {**os.environ, "WESTBOT_QUESTIONS": str(tmp_path / "questions.db"),
           "WESTBOT_TRACKERS": str(tmp_path / "trackers.db"), "TELEGRAM_TOKEN": ""}
    env.pop("MAKEFLAGS", None)  # not the outer `make test`'s flags or jobserver
    env.pop("MAKELEVEL", None)
    log = tmp_path / "make-run.log"
    with open(log, "wb") as out:
        make = subprocess.Popen(["make", "--no-print-directory", "run"] + [f"{k}={v}" for k, v in ports.items()],
                                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        urls = [f"http://127.0.0.1:{ports['RASA_PORT']}/", f"http://127.0.0.1:{ports['ACTIONS_PORT']}/health",
                f"http://127.0.0.1:{ports['WEB_PORT']}/"]
        deadline = time.monotonic() + 300
        while not all(answers(u) for u in urls):
            assert make.poll() is None, log.read_text(errors="replace")[-3000:]
            assert time.monotonic() < deadline, "make run did not come up in 300 s"
            time.sleep(0.5)

        os.killpg(make.pid, signal.SIGINT)
        status = make.wait(timeout=90)
    finally:
        if make.poll() is None:
            os.killpg(make.pid, signal.SIGKILL)
            make.wait()

    output = log.read_text(errors="replace")
    # make ends as any program ends on Ctrl-C (the shell shows 130), its recipe having exited normally: had the
    # recipe crashed or been killed, make would say so ("make: *** [Makefile:..: run] ...").
    assert status == -signal.SIGINT, output[-3000:]
    stopped = [line for line in output.splitlines() if "stopped" in line]
    assert stopped == ["make run: stopped; every server has ended."], output[-3000:]
    for crash in ("Segmentation fault", "Traceback", "make: ***", "Terminated"):
        assert crash not in output, output[-3000:]
    assert group_is_gone(make.pid)
    assert [name for name, port in ports.items() if not is_free(port)] == []
