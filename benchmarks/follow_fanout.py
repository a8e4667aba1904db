"""How long a staff change takes to reach 1,000 followers on Telegram, within Telegram's limits.

    python benchmarks/follow_fanout.py [--followers 1000] [--rounds 3] [--rate 25] [--elder-share 0.1]

Starts the Bot API stand-in with Telegram's limits simulated (30 messages a second overall, one a second per
chat, 429 beyond them: devtools/botapi_limited.py) and the real Telegram relay as its own process (`python -m
bot.telegram`, as `make run` starts it), on a copy of var/knowledge.db and a fresh follows store with N followers
of 金沙路 (a share of them in elder mode: a short text, then a voice message a second later). Each round commits a
staff change about 金沙路 the way `kb add` does (the change, then queueing the messages) and measures, from just
before the commit, until the stand-in has received the last follower's message. Reports the median and worst
time, the send rate, 429s answered, and the relay's peak memory. Writes benchmarks/results/follow-fanout.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from devtools.botapi_limited import LimitedBotApiStandIn  # noqa: E402
from knowledge import follows, segment, staff, store  # noqa: E402
from knowledge.follows import Subject  # noqa: E402
from knowledge.settings import get_settings  # noqa: E402

FIRST_CHAT = 10_000_000


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def run(args) -> dict:
    with tempfile.TemporaryDirectory() as work:
        work = Path(work)
        kb_path = work / "knowledge.db"
        shutil.copy(get_settings().kb_path, kb_path)
        follows_path = work / "follows.db"
        db = follows.open_follows(follows_path)
        elders = int(args.followers * args.elder_share)
        for i in range(args.followers):
            follows.follow(db, FIRST_CHAT + i, Subject("entity", "金沙路"), elder=i < elders)
        api = LimitedBotApiStandIn()
        await api.start()
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "TELEGRAM_TOKEN": "4242:BENCH",
            "TELEGRAM_BASE_URL": api.base_url,
            "RASA_URL": "http://127.0.0.1:9",
            "WESTBOT_KB": str(kb_path),
            "WESTBOT_FOLLOWS": str(follows_path),
            "WESTBOT_QUIET_HOURS": "",
            "WESTBOT_FOLLOW_SEND_RATE": str(args.rate),
            "WESTBOT_VOICE_CACHE": str(work / "voice"),
            "WESTBOT_QUESTIONS": str(work / "q.db"),
            "WESTBOT_TRACKERS": str(work / "t.db"),
        }
        log = open(work / "relay.log", "ab")
        relay = subprocess.Popen(
            [sys.executable, "-m", "bot.telegram"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        kb = store.open_for_writing(kb_path)
        times, first_times, queued_times, limited = [], [], [], []
        segment.init_jieba(get_settings().jieba_dict_dir, work / "cache")  # warm, as a staff console process is
        expected = args.followers + elders  # elder followers also get a voice message
        try:
            await api.wait_for(lambda: any(m == "getUpdates" for m, _ in api.calls), 120)
            for round_no in range(args.rounds):
                api.delivered.clear()
                api.too_many = 0
                start = time.monotonic()
                pid = staff.add_passage(
                    kb,
                    topic="roads",
                    entities=["金沙路"],
                    by="bench",
                    text=f"金沙路第{round_no + 1}段施工通知：本周夜间施工，请绕行。",
                )
                told = follows.notify_change(kb, db, follows.latest_change(kb, "passages", pid))
                assert told == args.followers, told
                queued_times.append(time.monotonic() - start)
                await api.wait_for(lambda: len(api.delivered) >= expected, 600)
                times.append(api.delivered[-1][0] - start)
                first_times.append(api.delivered[0][0] - start)
                limited.append(api.too_many)
                print(
                    f"round {round_no + 1}: last of {args.followers} followers after {times[-1]:.1f} s "
                    f"(first after {first_times[-1]:.2f} s, {expected} messages, {api.too_many} answered 429)",
                    flush=True,
                )
            rss = peak_rss_mb(relay.pid)
            size = follows_path.stat().st_size / 1024 / 1024
        finally:
            os.killpg(relay.pid, signal.SIGTERM)
            relay.wait(30)
            await api.stop()
        return {
            "times": times,
            "first": first_times,
            "queued": queued_times,
            "limited": limited,
            "rss": rss,
            "size": size,
            "expected": expected,
            "elders": elders,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--followers", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rate", type=float, default=25.0, help="messages a second the relay allows itself")
    parser.add_argument("--elder-share", type=float, default=0.1)
    parser.add_argument("--out", default="follow-fanout.md")
    args = parser.parse_args()
    result = asyncio.run(run(args))
    median = statistics.median(result["times"])
    lines = [
        "# Follow fan-out: a staff change to the last of the followers",
        "",
        f"`python benchmarks/follow_fanout.py --followers {args.followers} --rounds {args.rounds} --rate {args.rate:g}"
        f" --elder-share {args.elder_share:g}` on {time.strftime('%Y-%m-%d')} (2-core shared machine).",
        "",
        f"- {args.followers} followers of 金沙路, {result['elders']} in elder mode (text, then voice a second later): "
        f"{result['expected']} messages per change",
        "- Bot API stand-in with Telegram's limits: 30 messages/s overall, 1/s per chat, 429 beyond",
        f"- the relay sends at most {args.rate:g} messages/s (WESTBOT_FOLLOW_SEND_RATE), leaving room for answers",
        "",
        "| round | change committed and queued | first follower reached | last follower reached | 429s |",
        "| --- | --- | --- | --- | --- |",
    ]
    for i, (q, f, t, n) in enumerate(zip(result["queued"], result["first"], result["times"], result["limited"]), 1):
        lines.append(f"| {i} | {q:.2f} s | {f:.2f} s | {t:.1f} s | {n} |")
    lines += [
        "",
        f"**Median {median:.1f} s** (worst {max(result['times']):.1f} s) from the staff change to the last of "
        f"{args.followers} followers: {result['expected'] / median:.1f} messages/s; the floor at {args.rate:g}/s is "
        f"{result['expected'] / args.rate:.1f} s.",
        f"Relay peak memory (VmHWM) {result['rss']:.0f} MB; follows store {result['size']:.1f} MB after "
        f"{args.rounds} rounds.",
    ]
    out = ROOT / "benchmarks" / "results" / args.out
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
