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
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from aiohttp import web

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.telegram.render import render  # noqa: E402
from devtools.botapi_standin import BotApiStandIn  # noqa: E402
from devtools.servers import Servers, free_port, wait_for  # noqa: E402
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


async def rest_resident(client, url: str, n: int, stop: float, results: list, round_no: int) -> None:
    script = CONVERSATIONS[n % len(CONVERSATIONS)]
    for turn in itertools.count():
        if time.monotonic() >= stop:
            return
        started = time.perf_counter()
        try:
            response = await client.post(
                f"{url}/webhooks/rest/webhook",
                json={"sender": f"rest-{round_no}-{n}-{turn // len(script)}", "message": script[turn % len(script)]},
            )
            ok = response.status_code == 200 and bool(response.json())
        except (httpx.HTTPError, ValueError):
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


def start_relay(api: BotApiStandIn, rasa_url: str, work: Path, name: str) -> subprocess.Popen:
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
    return subprocess.Popen(
        [sys.executable, "-m", "bot.telegram"],
        cwd=ROOT,
        env=env,
        stdout=open(work / f"relay-{name}.log", "ab"),
        stderr=subprocess.STDOUT,
    )


async def relay_ready(api: BotApiStandIn, relay: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while not api.sent("getUpdates"):
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
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, f"http://127.0.0.1:{port}"


async def run(args, servers: Servers, work: Path) -> dict:
    counts = await expected_messages(servers.url)
    api = BotApiStandIn()
    await api.start()
    arrivals = Arrivals(api)
    relay = start_relay(api, servers.url, work, "rasa")
    slow_api = BotApiStandIn()
    await slow_api.start()
    slow_arrivals = Arrivals(slow_api)
    slow_chat = 9_000_000
    # The relay sends Rasa a keyed pseudonym of the resident (bot/telegram/handlers.py sender_id), keyed by the
    # pseudonym.key beside its question log.
    slow_sender = "telegram-" + QuestionLog(work / "questions-stub.db").pseudonym(f"user:{slow_chat}")
    stub, stub_url = await stub_rasa(slow_sender, args.slow)
    slow_relay = start_relay(slow_api, stub_url, work, "stub")
    try:
        await relay_ready(api, relay)
        await relay_ready(slow_api, slow_relay)
        turn = args.duration / args.rounds
        rest, telegram = [], []
        rest_time = telegram_time = 0.0
        limits = httpx.Limits(max_connections=args.residents, max_keepalive_connections=args.residents)
        async with httpx.AsyncClient(timeout=60, limits=limits) as client:
            for round_no in range(args.rounds):
                started = time.monotonic()
                await asyncio.gather(
                    *(
                        rest_resident(client, servers.url, n, started + turn, rest, round_no)
                        for n in range(args.residents)
                    )
                )
                rest_time += time.monotonic() - started
                started = time.monotonic()
                await asyncio.gather(
                    *(
                        telegram_resident(
                            api, arrivals, n, started + turn, telegram, counts, 1_000_000 * (round_no + 1)
                        )
                        for n in range(args.residents)
                    )
                )
                telegram_time += time.monotonic() - started
        others = args.residents - 1
        alone, beside_slow = [], []
        alone_time = beside_time = 0.0
        for round_no in range(args.rounds):
            started = time.monotonic()
            await asyncio.gather(
                *(
                    telegram_resident(
                        slow_api,
                        slow_arrivals,
                        n,
                        started + turn,
                        alone,
                        None,
                        100_000_000 * (2 * round_no + 1),
                        ["你好"],
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
        return {
            "rest": summary(rest, rest_time),
            "telegram": summary(telegram, telegram_time),
            "alone": summary(alone, alone_time),
            "beside_slow": summary(beside_slow, beside_time),
        }
    finally:
        for process in (relay, slow_relay):
            process.terminate()
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
        await stub.cleanup()
        await api.stop()
        await slow_api.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--residents", type=int, default=50)
    parser.add_argument("--duration", type=float, default=30, help="seconds for each side (REST, Telegram)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating turns each side takes")
    parser.add_argument("--slow", type=float, default=10, help="seconds the slow resident's answers take")
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
            load_before = os.getloadavg()[0]
            figures = asyncio.run(run(args, servers, work))
            load_after = os.getloadavg()[0]
        finally:
            servers.stop()
    rest, telegram = figures["rest"], figures["telegram"]
    alone, beside = figures["alone"], figures["beside_slow"]
    command = " ".join(["python benchmarks/telegram_load.py", *sys.argv[1:]])
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
        f"## One slow resident ({args.slow:g} s per answer, stub Rasa), {args.residents - 1} others",
        "",
        "| others | answers | errors | p50 ms | p95 ms |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name, row in (("alone", alone), ("beside the slow resident", beside)):
        lines.append(f"| {name} | {row['answers']} | {row['errors']} | {row['p50']:.1f} | {row['p95']:.1f} |")
    lines += [
        "",
        f"Others' p95 beside the slow resident / alone: **{beside['p95'] / alone['p95']:.2f}**.",
        "",
        f"Machine: {os.cpu_count()} cores; load average {load_before:.1f} before the run, {load_after:.1f} after "
        "(other work on the machine slows both sides; the Bot API stand-in and the stub share the machine "
        "with Rasa, where Telegram's servers would not).",
    ]
    report = "\n".join(lines) + "\n"
    print(report)
    (ROOT / "benchmarks" / "results" / args.out).write_text(report, encoding="utf-8")


if __name__ == "__main__":
    main()
