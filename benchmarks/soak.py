"""A soak: mixed traffic at 10 at once for a long time, with staff edits and one restart of the action server.

    python benchmarks/soak.py [--minutes 30] [--warm-up 60] [--at-once 10] [--edit-every 60] [--out soak.md]

Starts our action server and Rasa on free ports with a copy of var/knowledge.db (the real one is not touched), then
runs simulated residents through Rasa's REST channel, each as fast as answers come: questions (load.py's
conversations), elder mode (长者模式 … 再说一遍 … 普通模式) and feedback (a question, then 好有用 or 没帮上忙).
Every `--edit-every` seconds a staff change adds a passage about a new road (as `kb add` does) and a checker asks
about that road until the answer quotes it. Half-way through, the action server is stopped and started again
(as an upgrade does).

Before the timed run, `--warm-up` seconds of the same traffic (each resident goes through every kind of message
first, and one staff edit is made): a process's memory grows while it loads models and fills its caches on the
first messages of each kind, and that is not a leak. "Memory at start" is taken after the warm-up; the memory
before it is reported too, in its own column. Reports:

- errors: requests that failed (not 200, or no JSON), and answers lost: a 200 with no message at all, split into
  those during the action server's restart window and the rest;
- staff edits: how many reached the answers, and the slowest;
- memory of each process before the warm-up, at the start (after it) and the end;
- the load averages (`/proc/loadavg`) at the start and the end: the machine is shared;
- p50 and p95 per 5 minutes, with each process's memory near the end of those minutes.

Writes benchmarks/results/soak.md (or --out). Every request goes to 127.0.0.1 and the run stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.load import CONVERSATIONS, memory_mb  # noqa: E402
from devtools.servers import Servers, running_bot  # noqa: E402
from knowledge import staff, store  # noqa: E402
from knowledge.settings import get_settings  # noqa: E402

ELDER = ["长者模式", "老人吃饭", "再说一遍", "粤信路会改造吗", "普通模式"]
FEEDBACK = [["粤信路会改造吗", "好有用"], ["老人家去边度食饭？", "没帮上忙"], ["找工作", "有用的"]]
SCRIPTS = [*CONVERSATIONS, ELDER, *FEEDBACK]
NUMERALS = "甲乙丙丁戊己庚辛壬癸"
BUCKET = 300  # seconds


class Soak:
    def __init__(self, servers: Servers, kb_path: Path, seconds: float) -> None:
        self.servers, self.kb_path, self.seconds = servers, kb_path, seconds
        self.results: list[tuple[float, float, str]] = []  # (seconds since start, latency ms, "ok"/"error"/"empty")
        self.warm_up_results: list[tuple[float, float, str]] = []
        self.memory_cold: dict[str, float] = {}  # before the warm-up
        self.load: list[str] = []  # load averages at the start and the end
        self.restart: tuple[float, float] | None = None
        self.edits: list[float | None] = []  # seconds from each edit to the first answer quoting it
        self.memory: dict[str, tuple[float, float]] = {}
        self.samples: dict[int, tuple[float, float]] = {}  # 5-minute bucket -> memory of Rasa, action server

    async def resident(self, client: httpx.AsyncClient, n: int, results: list, name: str = "soak") -> None:
        """Scripts one after another until the stop time; when warming up, every script in turn first."""
        rng = random.Random(n)
        every_kind = SCRIPTS[n % len(SCRIPTS) :] + SCRIPTS[: n % len(SCRIPTS)] if name == "warm" else []
        for round_ in itertools.count():
            script = every_kind[round_] if round_ < len(every_kind) else rng.choice(SCRIPTS)
            for message in script:
                if time.monotonic() >= self.stop:
                    return
                results.append(await self.ask(client, f"{name}-{n}-{round_}", message))

    async def ask(self, client: httpx.AsyncClient, sender: str, message: str) -> tuple[float, float, str]:
        started = time.perf_counter()
        at = time.monotonic() - self.start
        try:
            response = await client.post(
                f"{self.servers.url}/webhooks/rest/webhook", json={"sender": sender, "message": message}
            )
            outcome = (
                "ok"
                if response.status_code == 200 and response.json()
                else ("empty" if response.status_code == 200 else "error")
            )
        except (httpx.HTTPError, ValueError):
            outcome = "error"
        return at, (time.perf_counter() - started) * 1000, outcome

    async def staff_edits(
        self, client: httpx.AsyncClient, every: float, edits: list, first: int = 0, count: int | None = None
    ) -> None:
        db = store.open_for_writing(self.kb_path)
        for i in itertools.count(first):
            await asyncio.sleep(every)
            if time.monotonic() >= self.stop - 15 or (count is not None and i - first >= count):
                return
            road = f"浸泡{NUMERALS[i % 10]}{i}号路"
            await asyncio.to_thread(
                staff.add_passage,
                db,
                topic="roads",
                entities=[f"road:{road}"],
                text=f"{road}将于2027年{i % 12 + 1}月开工建设。",
                by="soak",
            )
            saved, reached = time.monotonic(), None
            while time.monotonic() - saved < 30:
                try:
                    response = await client.post(
                        f"{self.servers.url}/webhooks/rest/webhook",
                        json={"sender": f"soak-staff-{i}", "message": f"{road}什么时候开工"},
                    )
                    if road in " ".join(m.get("text") or "" for m in response.json()):
                        reached = time.monotonic() - saved
                        break
                except (httpx.HTTPError, ValueError):
                    pass
                await asyncio.sleep(0.2)
            edits.append(reached)

    async def sample_memory(self) -> None:
        while time.monotonic() < self.stop:
            await asyncio.sleep(10)
            bucket = int((time.monotonic() - self.start) // BUCKET)
            self.samples[bucket] = (memory_mb(self.servers.rasa.pid), memory_mb(self.servers.actions.pid))

    async def restart_actions(self) -> None:
        await asyncio.sleep(self.seconds / 2)
        self.memory["action server (before its restart)"] = (
            self.memory_start["action server"],
            memory_mb(self.servers.actions.pid),
        )
        began = time.monotonic() - self.start
        await asyncio.to_thread(self.servers.stop_actions)
        await asyncio.to_thread(self.servers.start_actions)
        self.restart = (began, time.monotonic() - self.start)

    def memory_now(self) -> dict[str, float]:
        return {"rasa": memory_mb(self.servers.rasa.pid), "action server": memory_mb(self.servers.actions.pid)}

    async def warm_up(self, client: httpx.AsyncClient, at_once: int, seconds: float) -> None:
        """The same traffic for `seconds`, every kind of message and one staff edit; its results are not counted."""
        self.start = time.monotonic()
        self.stop = self.start + max(seconds, 16)
        await asyncio.gather(
            *(self.resident(client, n, self.warm_up_results, "warm") for n in range(at_once)),
            self.staff_edits(client, 1, [], first=1000, count=1),
        )

    async def run(self, at_once: int, edit_every: float, warm_up: float) -> None:
        self.memory_cold = self.memory_now()
        limits = httpx.Limits(max_connections=at_once + 2, max_keepalive_connections=at_once + 2)
        async with httpx.AsyncClient(timeout=60, limits=limits) as client:
            if warm_up > 0:
                await self.warm_up(client, at_once, warm_up)
            self.memory_start = self.memory_now()
            self.load.append(Path("/proc/loadavg").read_text().split(" ", 3)[:3])
            self.start = time.monotonic()
            self.stop = self.start + self.seconds
            await asyncio.gather(
                *(self.resident(client, n, self.results) for n in range(at_once)),
                self.staff_edits(client, edit_every, self.edits),
                self.restart_actions(),
                self.sample_memory(),
            )
        self.load.append(Path("/proc/loadavg").read_text().split(" ", 3)[:3])
        self.memory["rasa"] = (self.memory_start["rasa"], memory_mb(self.servers.rasa.pid))
        self.memory["action server (after its restart)"] = (None, memory_mb(self.servers.actions.pid))


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] if values else float("nan")


def report(soak: Soak, args: argparse.Namespace) -> str:
    results = soak.results
    began, ended = soak.restart or (float("inf"), float("inf"))
    during = lambda at: began - 1 <= at <= ended + 1  # noqa: E731
    errors = [r for r in results if r[2] == "error"]
    empty = [r for r in results if r[2] == "empty"]
    reached = [e for e in soak.edits if e is not None]
    lines = [
        f"# Soak: {args.minutes:g} minutes, {args.at_once} residents at once, a staff edit every "
        f"{args.edit_every:g} s, one action-server restart",
        "",
        f"Command: `python benchmarks/soak.py {' '.join(sys.argv[1:])}`: each resident sends the next message as "
        "soon as the answer comes, from a mix of questions, elder mode and feedback.",
        "",
        f"- load averages (1, 5, 15 min): {' '.join(soak.load[0])} at the start, {' '.join(soak.load[-1])} at the end"
        " (2 cores, shared with other work)",
        f"- warm-up before the start: {args.warm_up:g} s of the same traffic, {len(soak.warm_up_results)} messages "
        f"(every kind, and one staff edit), not counted below",
        f"- messages: {len(results)} ({len(results) / soak.seconds:.1f} a second)",
        f"- errors (not 200, or no JSON): **{len(errors)}**"
        f" ({sum(during(r[0]) for r in errors)} of them during the action server's restart)",
        f"- answers lost (200 with no message): **{len(empty)}**, of which "
        f"{sum(during(r[0]) for r in empty)} during the action server's restart "
        + (
            f"({soak.restart[0]:.0f} s to {soak.restart[1]:.0f} s, {soak.restart[1] - soak.restart[0]:.0f} s down)"
            if soak.restart
            else "(no restart happened)"
        )
        + f" and {sum(not during(r[0]) for r in empty)} at other times",
        f"- staff edits: {len(soak.edits)}, reached the answers: {len(reached)}"
        + (
            f", median {statistics.median(reached):.1f} s, slowest {max(reached):.1f} s after the save"
            if reached
            else ""
        ),
        "",
        "| process | memory before warm-up MB | memory at start MB | memory at end MB | change (start to end) |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name, (start, end) in soak.memory.items():
        cold = soak.memory_cold.get(name.split(" (")[0]) if start else None
        change = f"{(end - start) / start * 100:+.0f}%" if start else "(new process)"
        lines.append(
            f"| {name} | {cold:.0f} | {start:.0f} | {end:.0f} | {change} |"
            if start and cold
            else f"| {name} | | | {end:.0f} | {change} |"
        )
    lines += [
        "",
        "| minutes | messages | errors | lost | p50 ms | p95 ms | Rasa MB | action server MB |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for bucket in range(int(soak.seconds // BUCKET) + (1 if soak.seconds % BUCKET else 0)):
        rows = [r for r in results if bucket * BUCKET <= r[0] < (bucket + 1) * BUCKET]
        ok = [r[1] for r in rows if r[2] == "ok"]
        lines.append(
            f"| {bucket * 5}-{min((bucket + 1) * BUCKET, soak.seconds) / 60:g} | {len(rows)} | "
            f"{sum(r[2] == 'error' for r in rows)} | {sum(r[2] == 'empty' for r in rows)} | "
            f"{statistics.median(ok) if ok else float('nan'):.0f} | {percentile(ok, 0.95):.0f} | "
            + " | ".join(f"{mb:.0f}" for mb in soak.samples.get(bucket, (float("nan"),) * 2))
            + " |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--warm-up", type=float, default=60, help="seconds of traffic before the start memory")
    parser.add_argument("--at-once", type=int, default=10)
    parser.add_argument("--edit-every", type=float, default=60, help="seconds between staff edits")
    parser.add_argument("--out", default="soak.md", help="report name under benchmarks/results/")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work, running_bot(get_settings().kb_path, Path(work)) as servers:
        servers.say("warm-up", "金沙路")
        soak = Soak(servers, Path(work) / "knowledge.db", args.minutes * 60)
        asyncio.run(soak.run(args.at_once, args.edit_every, args.warm_up))
    text = report(soak, args)
    print(text)
    (ROOT / "benchmarks" / "results" / args.out).write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
