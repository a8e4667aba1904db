"""`make run` as an operator starts it: var/ private (0700, files 0600) and the API token on no command line."""
from __future__ import annotations

import os
import signal
import stat
import subprocess
import time
import urllib.request

import pytest

from tests.servers import ROOT, free_port, wait_for

pytestmark = pytest.mark.slow


@pytest.fixture
def make_run(tmp_path):
    ports = {"WEB_PORT": free_port(), "RASA_PORT": free_port(), "ACTIONS_PORT": free_port()}
    env = {k: v for k, v in os.environ.items() if k not in ("TELEGRAM_TOKEN", "RASA_AUTH_TOKEN", "MAKEFLAGS",
                                                               "MAKELEVEL", "MFLAGS")}
    env["PATH"] = os.environ["PATH"]
    # A loose umask, as on a careless server: `make run` must not depend on the operator's.
    process = subprocess.Popen(["bash", "-c", "umask 022; exec make run " +
                                " ".join(f"{k}={v}" for k, v in ports.items())],
                               cwd=ROOT, env=env, stdout=open(tmp_path / "make-run.log", "wb"),
                               stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_for(f"http://127.0.0.1:{ports['WEB_PORT']}/", 300, process)
        wait_for(f"http://127.0.0.1:{ports['RASA_PORT']}/", 300, process)
        wait_for(f"http://127.0.0.1:{ports['ACTIONS_PORT']}/health", 300, process)
        yield ports
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def test_make_run_keeps_var_private_and_the_token_off_the_command_line(make_run):
    var = ROOT / "var"
    with urllib.request.urlopen(f"http://127.0.0.1:{make_run['WEB_PORT']}/", timeout=10) as page:
        assert page.status == 200  # the web server made its cookie key by now
    deadline = time.monotonic() + 30
    while not (var / "web-cookie.key").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert stat.S_IMODE(os.stat(var).st_mode) == 0o700
    loose = []
    for folder, dirs, files in os.walk(var):
        for d in dirs:
            if stat.S_IMODE(os.stat(os.path.join(folder, d)).st_mode) != 0o700:
                loose.append(os.path.join(folder, d))
        for f in files:
            path = os.path.join(folder, f)
            if os.path.isfile(path) and stat.S_IMODE(os.stat(path).st_mode) != 0o600:
                loose.append(path)
    assert not loose
    for name in ("rasa-api-token", "knowledge.db", "trackers.db", "web-cookie.key"):
        assert (var / name).exists(), name

    token = (var / "rasa-api-token").read_text().strip()
    assert len(token) >= 32
    listing = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    assert token not in listing
    # …and Rasa's API does take that token (read from the file).
    url = f"http://127.0.0.1:{make_run['RASA_PORT']}/status"
    with pytest.raises(urllib.error.HTTPError):
        urllib.request.urlopen(url, timeout=10)
    with urllib.request.urlopen(f"{url}?token={token}", timeout=10) as status:
        assert status.status == 200
