"""Simulated residents through the REST channel at 1, 10 and 50 at once, against ours and a trivial Rasa bot.

    python benchmarks/load.py [--duration 30] [--rounds 3] [--levels 1 10 50] [--pause 0] [--out load.md]
    python benchmarks/load.py --no-patches [--patches NAMES] --levels 1 10 --duration 20   # -> load-patches.md

Starts our action server and Rasa (with a copy of var/knowledge.db) and, in the same run, a trivial Chinese Rasa
bot (one intent, one response) trained on the spot, so the figures are a ratio to Rasa's own floor on this
machine. Each simulated resident holds a conversation from a realistic mix (meals, jobs, roads, follow-ups,
elder mode, out of scope) as fast as answers come (the stress case: every resident always has a message in
flight), or, with --pause S, reading each answer for a random 0.5·S to 1.5·S seconds first, as people do.
Prints p50/p95/p99 latency, throughput, errors and each process's memory, with the trivial bot's figures and the
ratios; writes benchmarks/results/load.md (or --out). Every request goes to 127.0.0.1 and the run stops by itself.
The machine's speed drifts from minute to minute, so each level alternates between the two bots in --rounds
turns (three of 10 s each by default) and pools each bot's answers, rather than measuring one after the other.

With --no-patches the second bot is ours again, with Rasa unpatched (WESTBOT_RASA_PATCHES=0, rasa_ext/patches.py),
against ours patched (all patches, or the comma-separated --patches): the A/B report of our patches to Rasa,
benchmarks/results/load-patches.md unless --out says otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from devtools.servers import RASA, Servers, free_port, wait_for  # noqa: E402
from knowledge.settings import get_settings  # noqa: E402

CONVERSATIONS = [
    ["你好", "老人家去边度食饭？", "谢谢"],
    ["找工作", "有没有招聘会", "4050人员是什么"],
    ["粤信路会改造吗", "那个什么时候修好？", "金沙路呢"],
    ["长者模式", "老人吃饭", "再说一遍", "普通模式"],
    ["今天会下雨吗", "西区今年修什么路"],
    ["規上工業增加值增長目標", "固定资产投资增长多少"],
]
TRIVIAL_CONFIG = """recipe: default.v1
language: zh
assistant_id: trivial
pipeline:
  - name: JiebaTokenizer
  - name: CountVectorsFeaturizer
  - name: DIETClassifier
    epochs: 20
policies:
  - name: RulePolicy
"""
TRIVIAL_DOMAIN = """version: "3.1"
intents: [greet, goodbye]
responses:
  utter_greet:
    - text: "你好"
  utter_goodbye:
    - text: "再见"
"""
TRIVIAL_DATA = """version: "3.1"
nlu:
- intent: greet
  examples: |
    - 你好
    - 您好
    - 早上好
    - 在吗
- intent: goodbye
  examples: |
    - 再见
    - 拜拜
    - 下次见
    - 走了
rules:
- rule: greet
  steps:
  - intent: greet
  - action: utter_greet
- rule: goodbye
  steps:
  - intent: goodbye
  - action: utter_goodbye
"""


def memory_mb(pid: int) -> float:
    """Resident memory of a process and its children, from /proc."""
    total = 0
    pids = [pid]
    try:
        children = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
        pids += [int(c) for c in children]
    except OSError:
        pass
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


async def resident(
    client: httpx.AsyncClient, url: str, n: int, script: list[str], stop: float, results: list, pause: float = 0.0
):
    reading = random.Random(n)
    if pause:
        await asyncio.sleep(pause * reading.random())  # people arrive one by one, not all in the same millisecond
    for turn in itertools.count():
        if turn and pause:
            await asyncio.sleep(pause * reading.uniform(0.5, 1.5))
        if time.monotonic() >= stop:
            return
        message = script[turn % len(script)]
        started = time.perf_counter()
        try:
            response = await client.post(
                f"{url}/webhooks/rest/webhook", json={"sender": f"load-{n}-{turn // len(script)}", "message": message}
            )
            ok = response.status_code == 200 and bool(response.json())
        except (httpx.HTTPError, ValueError):
            ok = False
        results.append(((time.perf_counter() - started) * 1000, ok))


async def measure(url: str, level: int, duration: float, scripts: list[list[str]], pause: float = 0.0) -> dict:
    """One turn at `level` residents at once: every answer's latency and whether it came, and the time taken."""
    results: list[tuple[float, bool]] = []
    limits = httpx.Limits(max_connections=level, max_keepalive_connections=level)
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:
        stop = time.monotonic() + duration
        started = time.monotonic()
        await asyncio.gather(
            *(resident(client, url, n, scripts[n % len(scripts)], stop, results, pause) for n in range(level))
        )
        elapsed = time.monotonic() - started
    return {"results": results, "elapsed": elapsed}


def summarize(turns: list[dict]) -> dict:
    """The turns of one bot at one level, pooled."""
    results = [r for turn in turns for r in turn["results"]]
    elapsed = sum(turn["elapsed"] for turn in turns)
    latencies = sorted(ms for ms, ok in results if ok)
    pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] if latencies else float("nan")  # noqa: E731
    return {
        "requests": len(results),
        "errors": sum(1 for _, ok in results if not ok),
        "p50": statistics.median(latencies) if latencies else float("nan"),
        "p95": pick(0.95),
        "p99": pick(0.99),
        "throughput": len(results) / elapsed,
    }


def start_trivial(work: Path) -> tuple[subprocess.Popen, str]:
    project = work / "trivial"
    (project / "data").mkdir(parents=True)
    (project / "config.yml").write_text(TRIVIAL_CONFIG, encoding="utf-8")
    (project / "domain.yml").write_text(TRIVIAL_DOMAIN, encoding="utf-8")
    (project / "data" / "nlu.yml").write_text(TRIVIAL_DATA, encoding="utf-8")
    env = {**os.environ, "RASA_TELEMETRY_ENABLED": "false"}
    subprocess.run(
        [RASA, "train", "--out", "models", "--fixed-model-name", "trivial"],
        cwd=project,
        env=env,
        check=True,
        capture_output=True,
    )
    port = free_port()
    process = subprocess.Popen(
        [RASA, "run", "--model", "models/trivial.tar.gz", "--port", str(port), "--interface", "127.0.0.1"],
        cwd=project,
        env=env,
        stdout=open(work / "trivial.log", "ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    wait_for(url + "/", 240, process)
    return process, url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=30, help="seconds at each level, for each bot")
    parser.add_argument("--rounds", type=int, default=3, help="turns each bot takes at each level")
    parser.add_argument("--levels", type=int, nargs="+", default=[1, 10, 50])
    parser.add_argument("--pause", type=float, default=0.0, help="seconds each resident reads an answer (mean)")
    parser.add_argument("--out", help="report name under benchmarks/results/ (load.md, or load-patches.md)")
    parser.add_argument(
        "--no-patches", action="store_true", help="A/B: our bot with Rasa patched against our bot with Rasa unpatched"
    )
    parser.add_argument("--patches", default="1", help="with --no-patches: the patched side's WESTBOT_RASA_PATCHES")
    args = parser.parse_args()
    args.out = args.out or ("load-patches.md" if args.no_patches else "load.md")
    other_name = "unpatched" if args.no_patches else "trivial"
    with tempfile.TemporaryDirectory() as work:
        work = Path(work)
        shutil.copy(get_settings().kb_path, work / "knowledge.db")
        servers = Servers(work, work / "knowledge.db", env={"WESTBOT_RASA_PATCHES": args.patches})
        trivial = unpatched = None
        try:
            cold = time.perf_counter()
            servers.start_actions()
            servers.start_rasa()
            cold_start = time.perf_counter() - cold
            if args.no_patches:
                (work / "b").mkdir()
                shutil.copy(get_settings().kb_path, work / "b" / "knowledge.db")
                unpatched = Servers(work / "b", work / "b" / "knowledge.db", env={"WESTBOT_RASA_PATCHES": "0"})
                unpatched.start_actions()
                unpatched.start_rasa()
                other_url, other_scripts = unpatched.url, CONVERSATIONS
            else:
                trivial, other_url = start_trivial(work)
                other_scripts = [["你好", "再见"]]
            rows = []
            turn = args.duration / args.rounds
            for level in args.levels:
                ours, floor = [], []
                for _ in range(args.rounds):
                    ours.append(asyncio.run(measure(servers.url, level, turn, CONVERSATIONS, args.pause)))
                    floor.append(asyncio.run(measure(other_url, level, turn, other_scripts, args.pause)))
                rows.append((level, summarize(ours), summarize(floor)))
            memory = {"rasa": memory_mb(servers.rasa.pid), "action server": memory_mb(servers.actions.pid)}
            if unpatched:
                memory["unpatched rasa"] = memory_mb(unpatched.rasa.pid)
            else:
                memory["trivial rasa"] = memory_mb(trivial.pid)
        finally:
            servers.stop()
            if unpatched:
                unpatched.stop()
            if trivial:
                Servers._stop(trivial)
    command = " ".join(["python benchmarks/load.py", *sys.argv[1:]])
    how = (
        f"each resident reads an answer for {args.pause:g} s on average before the next message"
        if args.pause
        else "each resident sends the next message as soon as the answer comes (always one in flight)"
    )
    title = (
        f"# Rasa patches A/B: our bot patched (WESTBOT_RASA_PATCHES={args.patches}) against unpatched (=0)"
        if args.no_patches
        else "# Load"
    )
    lines = [
        f"{title}: {args.duration:.0f} s at each level for each bot, in {args.rounds} alternating turns; "
        "simulated residents through REST on 127.0.0.1",
        "",
        f"Command: `{command}`: {how}. Cold start of our two servers: {cold_start:.0f} s.",
        "",
        f"| at once | requests | errors | p50 ms | p95 ms | p99 ms | req/s | {other_name} requests | "
        f"{other_name} errors | {other_name} p50 ms | {other_name} p95 ms | {other_name} req/s |"
        " p50 ratio | p95 ratio |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for level, ours, floor in rows:
        lines.append(
            f"| {level} | {ours['requests']} | {ours['errors']} | {ours['p50']:.0f} | {ours['p95']:.0f} | "
            f"{ours['p99']:.0f} | {ours['throughput']:.1f} | {floor['requests']} | {floor['errors']} | "
            f"{floor['p50']:.0f} | {floor['p95']:.0f} | {floor['throughput']:.1f} | "
            f"{ours['p50'] / floor['p50']:.2f} | {ours['p95'] / floor['p95']:.2f} |"
        )
    lines += ["", "Memory (resident): " + ", ".join(f"{k} {v:.0f} MB" for k, v in memory.items())]
    report = "\n".join(lines) + "\n"
    print(report)
    (ROOT / "benchmarks" / "results" / args.out).write_text(report, encoding="utf-8")


if __name__ == "__main__":
    main()
