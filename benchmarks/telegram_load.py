"""Telegram residents at once through the real relay, against the same questions sent straight to REST.

    python benchmarks/telegram_load.py [--residents 50] [--duration 30] [--rounds 3] [--out telegram-load.md]

Starts our action server and Rasa (a copy of var/knowledge.db), a Bot API stand-in on 127.0.0.1
(devtools/botapi_standin.py) and the relay as its own process (`python -m bot.telegram`, long polling on the
stand-in). Each simulated resident writes a conversation from the same mix as benchmarks/load.py (elder mode
left out: REST does not make voice clips, so the two sides would not do the same work) and sends the next
message as soon as the whole answer is there. Latency through Telegram is from the moment the update is offered
to the relay until the stand-in receives the answer's last message; through REST it is the HTTP round trip.
The two alternate in --rounds turns so both meet the same machine.

The slow-resident case: a second relay in front of a stub Rasa that answers at once, except for one resident
whose every answer takes --slow seconds. The other residents' p95 with that resident writing is compared with
their p95 without. Writes benchmarks/results/telegram-load.md (or --out).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import httpx
from aiohttp import web

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.telegram.render import render  # noqa: E402
from devtools.botapi_standin import BotApiStandIn  # noqa: E402
from devtools.servers import Servers, serve_on_free_port, wait_for  # noqa: E402
from knowledge.questions import QuestionLog  # noqa: E402
from knowledge.settings import get_settings  # noqa: E402

CONVERSATIONS = [
    ["你好", "老人家去边度食饭？", "谢谢"],
    ["找工作", "有没有招聘会", "4050人员是什么"],
    ["粤信路会改造吗", "那个什么时候修好？", "金沙路呢"],
    ["今天会下雨吗", "西区今年修什么路"],
    ["規上工業增加值增長目標", "固定资产投资增长多少"],
]
SENDS = ("sendMessage", "sendPhoto")


class Arrivals:
    """What the stand-in receives, per chat: how many answer messages so far, and a wake-up for waiters."""

    def __init__(self, api: BotApiStandIn):
        self.count: dict[int, int] = {}
        self.changed: dict[int, asyncio.Event] = {}
        api.on_call = self._on_call

    def _on_call(self, method: str, params: dict) -> None:
        if method in SENDS:
            chat = int(params["chat_id"])
            self.count[chat] = self.count.get(chat, 0) + 1
            self.changed.setdefault(chat, asyncio.Event()).set()

    async def wait(self, chat: int, total: int, timeout: float = 60) -> bool:
        deadline = time.monotonic() + timeout
        while self.count.get(chat, 0) < total:
            event = self.changed.setdefault(chat, asyncio.Event())
            event.clear()
            try:
                await asyncio.wait_for(event.wait(), max(0.01, deadline - time.monotonic()))
            except asyncio.TimeoutError:
                if time.monotonic() >= deadline:
                    return False
        return True


def pick(latencies: list[float], q: float) -> float:
    ordered = sorted(latencies)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def summary(results: list[tuple[float, bool]], elapsed: float) -> dict:
    latencies = [ms for ms, ok in results if ok]
    return {
        "answers": len(latencies),
        "errors": sum(1 for _, ok in results if not ok),
        "p50": statistics.median(latencies) if latencies else float("nan"),
        "p95": pick(latencies, 0.95),
        "per_s": len(latencies) / elapsed if elapsed else 0.0,
    }


async def expected_messages(rasa_url: str) -> list[list[int]]:
    """How many Telegram messages each answer of each conversation makes (asked once, through REST)."""
    counts = []
    async with httpx.AsyncClient(timeout=60) as client:
        for i, script in enumerate(CONVERSATIONS):
            row = []
            for message in script:
                response = await client.post(
                    f"{rasa_url}/webhooks/rest/webhook", json={"sender": f"count-{i}", "message": message}
                )
                row.append(len(render(response.json(), elder=False).replies))
            counts.append(row)
    return counts


async def rest_resident(session, url: str, n: int, stop: float, results: list, round_no: int) -> None:
    """One resident straight to REST. aiohttp, like the relay's own client to Rasa: with httpx this harness spent
    more than twice the CPU of the Telegram turns, taken from Rasa's two cores and so slowing REST's side."""
    script = CONVERSATIONS[n % len(CONVERSATIONS)]
    for turn in itertools.count():
        if time.monotonic() >= stop:
            return
        started = time.perf_counter()
        body = {"sender": f"rest-{round_no}-{n}-{turn // len(script)}", "message": script[turn % len(script)]}
        try:
            async with session.post(f"{url}/webhooks/rest/webhook", json=body) as response:
                ok = response.status == 200 and bool(await response.json())
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError):
            ok = False
        results.append(((time.perf_counter() - started) * 1000, ok))


async def telegram_resident(
    api: BotApiStandIn,
    arrivals: Arrivals,
    n: int,
    stop: float,
    results: list,
    counts: list[list[int]] | None,
    chat_base: int,
    script=None,
) -> None:
    """One resident on Telegram: a new chat (so a new conversation) each time the script starts over."""
    script = script or CONVERSATIONS[n % len(CONVERSATIONS)]
    for turn in itertools.count():
        if time.monotonic() >= stop:
            return
        chat = chat_base + n * 10_000 + turn // len(script)
        expect = counts[n % len(CONVERSATIONS)][turn % len(script)] if counts else 1
        total = arrivals.count.get(chat, 0) + expect
        started = time.perf_counter()
        api.push_text(script[turn % len(script)], user_id=chat)
        ok = await arrivals.wait(chat, total)
        results.append(((time.perf_counter() - started) * 1000, ok))


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its children that were waited for (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return sum(int(x) for x in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def start_relay(
    api: BotApiStandIn, rasa_url: str, work: Path, name: str, profile: Path | None = None
) -> subprocess.Popen:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "TELEGRAM_TOKEN": "4242:BENCH",
        "TELEGRAM_BASE_URL": api.base_url,
        "RASA_URL": rasa_url,
        "RATE_LIMIT_MESSAGES": "1000000",
        "WESTBOT_VOICE_CACHE": str(work / "voice"),
        "WESTBOT_QUESTIONS": str(work / f"questions-{name}.db"),
    }
    command = [sys.executable, "-m", "bot.telegram"]
    if profile is not None:  # sampled by py-spy (on PATH) into a collapsed-stack file
        profile.mkdir(parents=True, exist_ok=True)
        command = [
            "py-spy",
            "record",
            "-r",
            "200",
            "-f",
            "raw",
            "-o",
            str(profile / f"relay-{name}.txt"),
            "--",
        ] + command
    return subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        stdout=open(work / f"relay-{name}.log", "ab"),
        stderr=subprocess.STDOUT,
    )


async def relay_ready(api: BotApiStandIn, relay: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while not api.counts.get("getUpdates"):
        if relay.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("the relay did not start polling (see its log)")
        await asyncio.sleep(0.1)


async def stub_rasa(slow_sender: str, slow_seconds: float) -> tuple[web.AppRunner, str]:
    """A REST channel that answers at once, except for one resident, whose every answer takes long."""

    async def webhook(request: web.Request) -> web.Response:
        body = await request.json()
        if body["sender"] == slow_sender:
            await asyncio.sleep(slow_seconds)
        return web.json_response([{"recipient_id": body["sender"], "text": "回答：" + body["message"]}])

    app = web.Application()
    app.router.add_post("/webhooks/rest/webhook", webhook)
    return await serve_on_free_port(app)


def process_id(process: subprocess.Popen) -> int:
    """The relay's own pid, also when py-spy started it (then it is py-spy's one child)."""
    try:
        children = Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()
    except OSError:
        children = []
    return int(children[0]) if children and process.args[0] == "py-spy" else process.pid


class CpuMeter:
    """CPU seconds each process spent during each side's turns: Rasa, actions, the relay, this harness."""

    def __init__(self, pids: dict[str, int]):
        self.pids = pids
        self.spent: dict[str, dict[str, float]] = {}

    def read(self) -> dict[str, float]:
        now = {name: cpu_seconds(pid) for name, pid in self.pids.items()}
        now["harness (stand-in, residents)"] = time.process_time()
        return now

    def add(self, side: str, before: dict[str, float]) -> None:
        after = self.read()
        spent = self.spent.setdefault(side, {})
        for name, value in after.items():
            spent[name] = spent.get(name, 0.0) + value - before[name]


async def run(args, servers: Servers, work: Path) -> dict:
    counts = await expected_messages(servers.url)
    api = BotApiStandIn(record=False)
    await api.start()
    arrivals = Arrivals(api)
    relay = start_relay(api, servers.url, work, "rasa", args.profile)
    processes = [relay]
    try:
        await relay_ready(api, relay)
        meter = CpuMeter({"Rasa": servers.rasa.pid, "actions": servers.actions.pid, "relay": process_id(relay)})
        turn = args.duration / args.rounds
        rest, telegram = [], []
        turns: list[tuple[dict, dict]] = []  # (REST, Telegram) summary of each alternating turn
        rest_time = telegram_time = 0.0
        connector = aiohttp.TCPConnector(limit=args.residents)
        async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=60)) as client:
            for round_no in range(args.rounds):
                started, before, this_rest = time.monotonic(), meter.read(), []
                await asyncio.gather(
                    *(
                        rest_resident(client, servers.url, n, started + turn, this_rest, round_no)
                        for n in range(args.residents)
                    )
                )
                rest_elapsed = time.monotonic() - started
                meter.add("rest", before)
                started, before, this_telegram = time.monotonic(), meter.read(), []
                await asyncio.gather(
                    *(
                        telegram_resident(
                            api, arrivals, n, started + turn, this_telegram, counts, 1_000_000 * (round_no + 1)
                        )
                        for n in range(args.residents)
                    )
                )
                telegram_elapsed = time.monotonic() - started
                meter.add("telegram", before)
                turns.append((summary(this_rest, rest_elapsed), summary(this_telegram, telegram_elapsed)))
                rest += this_rest
                telegram += this_telegram
                rest_time += rest_elapsed
                telegram_time += telegram_elapsed
        figures = {
            "rest": summary(rest, rest_time),
            "telegram": summary(telegram, telegram_time),
            "cpu": meter.spent,
            "turns": turns,
        }
        if args.no_slow_case:
            return figures
        slow_api = BotApiStandIn(record=False)
        await slow_api.start()
        slow_arrivals = Arrivals(slow_api)
        slow_chat = 9_000_000
        # The relay sends Rasa a keyed pseudonym of the resident (bot/telegram/handlers.py sender_id), keyed by the
        # pseudonym.key beside its question log.
        slow_sender = "telegram-" + QuestionLog(work / "questions-stub.db").pseudonym(f"user:{slow_chat}")
        stub, stub_url = await stub_rasa(slow_sender, args.slow)
        slow_relay = start_relay(slow_api, stub_url, work, "stub")
        processes.append(slow_relay)
        try:
            await relay_ready(slow_api, slow_relay)
            figures.update(await slow_case(args, slow_api, slow_arrivals, slow_chat))
        finally:
            await stub.cleanup()
            await slow_api.stop()
        return figures
    finally:
        for process in processes:
            os.kill(process_id(process), signal.SIGTERM)  # under py-spy: the relay, so py-spy writes its file
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
        await api.stop()


async def slow_case(args, slow_api: BotApiStandIn, slow_arrivals: Arrivals, slow_chat: int) -> dict:
    turn = args.duration / args.rounds
    others = args.residents - 1
    alone, beside_slow = [], []
    alone_time = beside_time = 0.0
    for round_no in range(args.rounds):
        started = time.monotonic()
        await asyncio.gather(
            *(
                telegram_resident(
                    slow_api, slow_arrivals, n, started + turn, alone, None, 100_000_000 * (2 * round_no + 1), ["你好"]
                )
                for n in range(others)
            )
        )
        alone_time += time.monotonic() - started
        started = time.monotonic()
        slow_sent = slow_arrivals.count.get(slow_chat, 0)
        for _ in range(3):  # the slow resident writes three times; each answer takes --slow seconds
            slow_api.push_text("很慢的问题", user_id=slow_chat)
        await asyncio.gather(
            *(
                telegram_resident(
                    slow_api,
                    slow_arrivals,
                    n,
                    started + turn,
                    beside_slow,
                    None,
                    100_000_000 * (2 * round_no + 2),
                    ["你好"],
                )
                for n in range(others)
            )
        )
        beside_time += time.monotonic() - started
        await slow_arrivals.wait(slow_chat, slow_sent + 3, timeout=3 * args.slow + 30)
    return {"alone": summary(alone, alone_time), "beside_slow": summary(beside_slow, beside_time)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--residents", type=int, default=50)
    parser.add_argument("--duration", type=float, default=30, help="seconds for each side (REST, Telegram)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating turns each side takes")
    parser.add_argument("--slow", type=float, default=10, help="seconds the slow resident's answers take")
    parser.add_argument("--no-slow-case", action="store_true", help="only the relay against REST")
    parser.add_argument("--profile", type=Path, help="sample the relay with py-spy into this folder")
    parser.add_argument("--out", default="telegram-load.md", help="report name under benchmarks/results/")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        work = Path(work)
        shutil.copy(get_settings().kb_path, work / "knowledge.db")
        servers = Servers(work, work / "knowledge.db")
        try:
            servers.start_actions()
            servers.start_rasa()
            wait_for(f"{servers.url}/", 60, servers.rasa)
            load_before = os.getloadavg()
            figures = asyncio.run(run(args, servers, work))
            load_after = os.getloadavg()
        finally:
            servers.stop()
    report = "\n".join(report_lines(args, figures, load_before, load_after)) + "\n"
    print(report)
    (ROOT / "benchmarks" / "results" / args.out).write_text(report, encoding="utf-8")


def report_lines(args, figures: dict, load_before, load_after) -> list[str]:
    rest, telegram = figures["rest"], figures["telegram"]
    command = " ".join(["python benchmarks/telegram_load.py", *sys.argv[1:]])
    loads = " / ".join(f"{x:.2f}" for x in load_before), " / ".join(f"{x:.2f}" for x in load_after)
    lines = [
        f"# Telegram load: {args.residents} residents at once through the relay, against REST",
        "",
        f"Command: `{command}`. {args.duration:.0f} s for each side in {args.rounds} alternating turns; "
        "each resident sends the next message as soon as the whole answer is there.",
        "",
        "| path | answers | errors | p50 ms | p95 ms | answers/s |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for name, row in (("REST, straight to Rasa", rest), ("Telegram, through the relay", telegram)):
        lines.append(
            f"| {name} | {row['answers']} | {row['errors']} | {row['p50']:.0f} | {row['p95']:.0f} | "
            f"{row['per_s']:.1f} |"
        )
    lines += [
        "",
        f"Relay / REST: p50 **{telegram['p50'] / rest['p50']:.2f}**, p95 **{telegram['p95'] / rest['p95']:.2f}**"
        " (target: p95 at most 1.5).",
        "",
        "Each turn (REST first, then Telegram):",
        "",
        "| turn | REST p50 | REST p95 | relay p50 | relay p95 | p95 ratio |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for i, (r, t) in enumerate(figures["turns"], 1):
        lines.append(
            f"| {i} | {r['p50']:.0f} | {r['p95']:.0f} | {t['p50']:.0f} | {t['p95']:.0f} | {t['p95'] / r['p95']:.2f} |"
        )
    cpu = figures["cpu"]
    lines += ["", "CPU seconds spent during each side's turns:", "", "| process | REST turns | Telegram turns |"]
    lines.append("| --- | --- | --- |")
    for name in cpu.get("telegram", {}):
        lines.append(f"| {name} | {cpu['rest'][name]:.1f} | {cpu['telegram'][name]:.1f} |")
    if "alone" in figures:
        alone, beside = figures["alone"], figures["beside_slow"]
        lines += [
            "",
            f"## One slow resident ({args.slow:g} s per answer, stub Rasa), {args.residents - 1} others",
            "",
            "| others | answers | errors | p50 ms | p95 ms |",
            "| --- | --- | --- | --- | --- |",
        ]
        for name, row in (("alone", alone), ("beside the slow resident", beside)):
            lines.append(f"| {name} | {row['answers']} | {row['errors']} | {row['p50']:.1f} | {row['p95']:.1f} |")
        lines += ["", f"Others' p95 beside the slow resident / alone: **{beside['p95'] / alone['p95']:.2f}**."]
    lines += [
        "",
        f"Machine: {os.cpu_count()} cores; load averages (1 / 5 / 15 min) {loads[0]} before the run, {loads[1]} "
        "after (other work on the machine slows both sides; the Bot API stand-in shares the machine with Rasa, "
        "where Telegram's servers would not).",
    ]
    return lines


if __name__ == "__main__":
    main()
