"""`make run` as an operator starts and stops it: var/ private (0700, files 0600), the API token on no command
line, and Ctrl-C ends every server, frees its port and says so in one line (no crash message).

A terminal's Ctrl-C sends SIGINT to the whole foreground process group; the test starts `make run` in a process
group of its own, on free ports, under a loose umask (as on a careless server), and does the same.
"""

from __future__ import annotations

import os
import signal
import socket
import stat
import subprocess
import time
import urllib.error
import urllib.request

import pytest

from devtools.servers import MODEL, ROOT, free_port

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


def loose_files(var) -> list[str]:
    loose = []
    for folder, dirs, files in os.walk(var):
        for d in dirs:
            if stat.S_IMODE(os.stat(os.path.join(folder, d)).st_mode) != 0o700:
                loose.append(os.path.join(folder, d))
        for f in files:
            path = os.path.join(folder, f)
            if os.path.isfile(path) and stat.S_IMODE(os.stat(path).st_mode) != 0o600:
                loose.append(path)
    return loose


def test_make_run_is_private_and_stops_cleanly_on_ctrl_c(tmp_path):
    assert MODEL.exists(), "no trained model: run `make train` (make test does)"
    ports = {name: free_port() for name in ("RASA_PORT", "ACTIONS_PORT", "WEB_PORT", "STAFF_PORT")}
    env = {k: v for k, v in os.environ.items() if k not in ("RASA_AUTH_TOKEN", "MAKEFLAGS", "MAKELEVEL", "MFLAGS")}
    env["TELEGRAM_TOKEN"] = ""
    log = tmp_path / "make-run.log"
    with open(log, "wb") as out:
        make = subprocess.Popen(
            [
                "bash",
                "-c",
                "umask 022; exec make --no-print-directory run " + " ".join(f"{k}={v}" for k, v in ports.items()),
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            # Ctrl-C as on a terminal: a process started in the background by a non-interactive shell (as a CI
            # runner may start `make test`) inherits SIGINT ignored, and a shell cannot trap a signal it was
            # started with ignored.
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
    try:
        urls = [
            f"http://127.0.0.1:{ports['RASA_PORT']}/",
            f"http://127.0.0.1:{ports['ACTIONS_PORT']}/health",
            f"http://127.0.0.1:{ports['WEB_PORT']}/",
            f"http://127.0.0.1:{ports['STAFF_PORT']}/login",
        ]
        deadline = time.monotonic() + 300
        while not all(answers(u) for u in urls):
            assert make.poll() is None, log.read_text(errors="replace")[-3000:]
            assert time.monotonic() < deadline, "make run did not come up in 300 s"
            time.sleep(0.5)

        var = ROOT / "var"
        deadline = time.monotonic() + 30
        while not (var / "web-cookie.key").exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert stat.S_IMODE(os.stat(var).st_mode) == 0o700
        assert loose_files(var) == []
        for name in ("rasa-api-token", "knowledge.db", "trackers.db", "web-cookie.key"):
            assert (var / name).exists(), name
        token = (var / "rasa-api-token").read_text().strip()
        assert len(token) >= 32
        assert token not in subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
        status_url = f"http://127.0.0.1:{ports['RASA_PORT']}/status"
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(status_url, timeout=10)
        with urllib.request.urlopen(f"{status_url}?token={token}", timeout=10) as status:
            assert status.status == 200  # Rasa's API takes the token it read from the file

        os.killpg(make.pid, signal.SIGINT)
        exit_status = make.wait(timeout=90)
    finally:
        if make.poll() is None:
            os.killpg(make.pid, signal.SIGKILL)
            make.wait()

    output = log.read_text(errors="replace")
    # make ends as any program ends on Ctrl-C (the shell shows 130), its recipe having exited normally: had the
    # recipe crashed or been killed, make would say so ("make: *** [Makefile:..: run] ...").
    assert exit_status == -signal.SIGINT, output[-3000:]
    stopped = [line for line in output.splitlines() if "stopped" in line]
    assert stopped == ["make run: stopped; every server has ended."], output[-3000:]
    for crash in ("Segmentation fault", "Traceback", "make: ***", "Terminated"):
        assert crash not in output, output[-3000:]
    assert group_is_gone(make.pid)
    assert [name for name, port in ports.items() if not is_free(port)] == []
