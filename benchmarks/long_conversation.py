"""How the answer time of one resident grows with the length of their conversation, and what a new session does.

    python benchmarks/long_conversation.py [--messages 400] [--out long-conversation.md]

Starts our action server and Rasa (with a copy of var/knowledge.db), then:
1. one resident sends --messages questions in a row, in one session: Rasa re-reads the session's events for every
   prediction and sends the whole session to the action server, so each answer costs a little more than the last;
2. a resident with the same history, last active two hours ago (the events written with older times), writes
   again: after an hour of silence a new session starts (domain.yml, session_config), and that resident is
   answered like a new one, elder mode and last topic carried over.
Prints the median answer time per block of 50 messages, for the returning resident and for a new one asking the
same questions just after (the machine's speed drifts, so that is the fair comparison); writes
benchmarks/results/long-conversation.md (or --out). Everything runs on 127.0.0.1, one message at a time.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from devtools.servers import Servers, running_bot  # noqa: E402
from knowledge.settings import get_settings  # noqa: E402

QUESTIONS = [
    "老人家去边度食饭？",
    "找工作",
    "有没有招聘会",
    "粤信路会改造吗",
    "那个什么时候修好？",
    "金沙路呢",
    "固定资产投资增长多少",
    "谢谢",
]
BLOCK = 50


def timed(servers: Servers, sender: str, count: int, start: int = 0) -> list[float]:
    times = []
    for i in range(start, start + count):
        started = time.perf_counter()
        servers.say(sender, QUESTIONS[i % len(QUESTIONS)])
        times.append((time.perf_counter() - started) * 1000)
    return times


def age_copy(servers: Servers, source: str, target: str, seconds: float) -> int:
    """Write `source`'s conversation again as `target`'s, `seconds` older; returns the number of events."""
    from rasa.core.tracker_store import SQLTrackerStore
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.trackers import DialogueStateTracker

    domain = Domain.load(str(ROOT / "domain.yml"))
    store = SQLTrackerStore(domain, dialect="sqlite", db=str(servers.workdir / "trackers.db"))
    events = list(asyncio.run(store.retrieve_full_tracker(source)).events)
    for event in events:
        event.timestamp -= seconds
    asyncio.run(store.save(DialogueStateTracker.from_events(target, events, domain.slots)))
    return len(events)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=400)
    parser.add_argument("--out", default="long-conversation.md", help="report name under benchmarks/results/")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work, running_bot(get_settings().kb_path, Path(work)) as servers:
        timed(servers, "warm-up", 10)
        times = timed(servers, "long", args.messages)
        events = age_copy(servers, "long", "returning", 2 * 3600)
        returning = timed(servers, "returning", BLOCK, start=args.messages)
        fresh = timed(servers, "new", BLOCK, start=args.messages)  # the same questions, just after
    command = " ".join(["python benchmarks/long_conversation.py", *sys.argv[1:]])
    lines = [
        "# One resident's conversation: answer time by its length",
        "",
        f"Command: `{command}`: one message at a time through REST on 127.0.0.1; medians per block of messages.",
        "",
        "| messages | median ms |",
        "| --- | --- |",
    ]
    for start in range(0, len(times), BLOCK):
        lines.append(
            f"| {start + 1}-{start + len(times[start : start + BLOCK])} in one session | "
            f"{statistics.median(times[start : start + BLOCK]):.0f} |"
        )
    lines.append(
        f"| 1-{BLOCK} after two hours of silence ({events} earlier events kept, new session; the first "
        f"{returning[0]:.0f} ms) | {statistics.median(returning):.0f} |"
    )
    lines.append(f"| 1-{BLOCK} of a new resident, the same questions just after | {statistics.median(fresh):.0f} |")
    report = "\n".join(lines) + "\n"
    print(report)
    (ROOT / "benchmarks" / "results" / args.out).write_text(report, encoding="utf-8")


if __name__ == "__main__":
    main()
