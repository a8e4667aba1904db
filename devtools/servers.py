"""Start the real action server and Rasa on free ports, for end-to-end tests."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RASA = str(Path(sys.executable).with_name("rasa"))
MODEL = ROOT / "models" / "westbot.tar.gz"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def serve_on_free_port(app):
    """Start an aiohttp `app` on a free port of 127.0.0.1: its runner (call `cleanup()` when done) and its URL."""
    from aiohttp import web

    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, f"http://127.0.0.1:{port}"


def wait_for(url: str, timeout: float, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args[:3]} exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.5)
    raise TimeoutError(f"{url} did not answer within {timeout} s")


class Servers:
    """An action server and a Rasa server sharing one tracker store in `workdir`."""

    def __init__(
        self,
        workdir: Path,
        kb_path: Path,
        log_dir: Path | None = None,
        name: str = "",
        env: dict | None = None,
        endpoints: Path | None = None,
    ):
        self.workdir = workdir
        self.name = name
        self.rasa_port, self.actions_port = free_port(), free_port()
        self.url = f"http://127.0.0.1:{self.rasa_port}"
        self.api_token = secrets.token_urlsafe(16)  # Rasa's HTTP API needs it, as under `make run`
        self.env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "RASA_TELEMETRY_ENABLED": "false",
            "SANIC_HOST": "127.0.0.1",  # the action server listens on loopback only
            "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
            "TF_CPP_MIN_LOG_LEVEL": "2",
            "WESTBOT_KB": str(kb_path),
            "WESTBOT_QUESTIONS": str(workdir / "questions.db"),
            "MPLCONFIGDIR": str(workdir / "mpl"),
            "ACTION_ENDPOINT_URL": f"http://127.0.0.1:{self.actions_port}/webhook",
            **(env or {}),
        }
        if endpoints is not None:
            self.endpoints = endpoints  # a profile that reads its values from the environment
        else:
            self.endpoints = workdir / "endpoints.yml"
            self.endpoints.write_text(
                f'action_endpoint:\n  url: "http://127.0.0.1:{self.actions_port}/webhook"\n'
                f"tracker_store:\n  type: rasa_ext.tracker_store.CachedSQLTrackerStore\n"
                f'  dialect: "sqlite"\n  db: "{workdir / "trackers.db"}"\n',
                encoding="utf-8",
            )
        self.log_dir = log_dir or workdir
        self.actions: subprocess.Popen | None = None
        self.rasa: subprocess.Popen | None = None

    def _spawn(self, name: str, args: list[str]) -> subprocess.Popen:
        log = open(self.log_dir / f"{name}{self.name}.log", "ab")
        return subprocess.Popen(
            args, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def start_actions(self) -> None:
        self.actions = self._spawn(
            "actions", [RASA, "run", "actions", "--actions", "actions", "--port", str(self.actions_port)]
        )
        wait_for(f"http://127.0.0.1:{self.actions_port}/health", 120, self.actions)

    def start_rasa(self) -> None:
        token_file = self.workdir / "rasa-api-token"
        token_file.write_text(self.api_token + "\n", encoding="ascii")
        token_file.chmod(0o600)
        # As under `make run`: the token is read from the file, never on a command line.
        self.rasa = self._spawn(
            "rasa",
            [
                sys.executable,
                "-m",
                "bot.run_rasa",
                "--token-file",
                str(token_file),
                "--",
                "--model",
                str(MODEL),
                "--enable-api",
                "--interface",
                "127.0.0.1",
                "--port",
                str(self.rasa_port),
                "--endpoints",
                str(self.endpoints),
                "--credentials",
                str(ROOT / "credentials.yml"),
            ],
        )
        wait_for(f"{self.url}/", 240, self.rasa)

    @staticmethod
    def _stop(process: subprocess.Popen | None) -> None:
        if process and process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()

    def stop_rasa(self) -> None:
        self._stop(self.rasa)

    def stop_actions(self) -> None:
        self._stop(self.actions)

    def stop(self) -> None:
        self.stop_rasa()
        self.stop_actions()

    def say(self, sender: str, message: str) -> list[dict]:
        body = json.dumps({"sender": sender, "message": message}).encode()
        request = urllib.request.Request(
            f"{self.url}/webhooks/rest/webhook", data=body, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            assert response.status == 200
            return json.loads(response.read() or b"[]")


@contextmanager
def running_bot(kb_path: Path, workdir: Path, env: dict | None = None):
    """Rasa and the action server on free ports, answering from a private copy of `kb_path` (`env`: more
    environment variables for both)."""
    assert MODEL.exists(), "no trained model: run `make train` (make test does)"
    shutil.copy(kb_path, workdir / "knowledge.db")  # the test's staff edits stay in the test
    servers = Servers(workdir, workdir / "knowledge.db", env=env)
    try:
        servers.start_actions()
        servers.start_rasa()
        yield servers
    finally:
        servers.stop()
