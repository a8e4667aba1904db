"""How fast the staff console's pages answer: medians and worst of each page, and of saving an edit.

    python benchmarks/staff_console.py [--questions 30] [--repeat 15]

Starts the console (bot/staff) on a free port over a copy of var/knowledge.db (run `make kb` first), with an
editor account and `--questions` declined questions in its log, signs in and asks for each page `--repeat` times.
"""

from __future__ import annotations

import argparse
import os
import re
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from devtools.servers import free_port, wait_for  # noqa: E402
from knowledge import accounts, store  # noqa: E402
from knowledge.questions import QuestionLog  # noqa: E402

PASSWORD = "benchmark password"
PAGES = ["/questions", "/passages", "/passages?q=金沙路几时修好", "/passages/5", "/contacts", "/glossary", "/overview"]


def timed(call) -> float:
    start = time.perf_counter()
    call()
    return (time.perf_counter() - start) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        source = sqlite3.connect(ROOT / "var" / "knowledge.db")
        copy = sqlite3.connect(work / "knowledge.db")
        source.backup(copy)
        copy.close()
        accounts.add_account(store.open_for_writing(work / "knowledge.db"), "bench", "editor", PASSWORD)
        log = QuestionLog(work / "questions.db")
        for i in range(args.questions):
            log.record(f"resident-{i}", f"西区游泳池几点开门 {i}", "out_of_scope", 0.4, "declined", 0.1)
        port = free_port()
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "WESTBOT_KB": str(work / "knowledge.db"),
            "WESTBOT_QUESTIONS": str(work / "questions.db"),
            "WESTBOT_TRACKERS": str(work / "trackers.db"),
            "WESTBOT_CONSOLE_SECRET": str(work / "secret"),
        }
        console = subprocess.Popen(
            [sys.executable, "-m", "bot.staff", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            wait_for(f"{url}/login", 60, console)
            client = httpx.Client(base_url=url, timeout=30, follow_redirects=True)
            token = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text).group(1)
            assert client.post("/login", data={"csrf": token, "name": "bench", "password": PASSWORD}).status_code == 200
            print(f"| page ({args.questions} unanswered questions) | median | worst |\n| --- | --- | --- |")
            for path in PAGES:
                times = [timed(lambda path=path: client.get(path).raise_for_status()) for _ in range(args.repeat)]
                print(f"| `{path}` | {statistics.median(times):.0f} ms | {max(times):.0f} ms |")
            times = []
            for i in range(args.repeat):
                page = client.get("/passages/5/edit").text
                fields = {
                    "csrf": re.search(r'<main.*?name="csrf" value="([^"]+)"', page, re.S).group(1),
                    "expect_revision": re.search(r'name="expect_revision" value="(\d+)"', page).group(1),
                    "topic": "roads",
                    "text": f"金沙路第{i}次修改。",
                }
                times.append(
                    timed(lambda fields=fields: client.post("/passages/5/edit", data=fields).raise_for_status())
                )
            print(
                f"| save an edit (staff.edit_passage, then the passage page) | {statistics.median(times):.0f} ms | {max(times):.0f} ms |"
            )
        finally:
            console.terminate()
            console.wait(10)


if __name__ == "__main__":
    main()
