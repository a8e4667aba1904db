"""How long a staff change takes to reach residents: add a passage, then ask the bot about it.

    python benchmarks/live_update.py [--rounds 10]

Starts the action server and Rasa on free ports with a copy of var/knowledge.db (the real one is not touched),
then for each round adds a passage about a new road with the staff library (as `kb add` does) and asks through
REST until the answer quotes it. Prints the median and worst time from the commit to that answer, and how many
rounds were answered by the very first question. Writes benchmarks/results/live_update.txt.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from devtools.servers import running_bot  # noqa: E402
from knowledge import staff, store  # noqa: E402
from knowledge.settings import get_settings  # noqa: E402

NUMERALS = "甲乙丙丁戊己庚辛壬癸"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work, running_bot(get_settings().kb_path, Path(work)) as servers:
        servers.say("warm-up", "金沙路")
        db = store.open_for_writing(Path(work) / "knowledge.db")
        delays, first_try = [], 0
        for i in range(args.rounds):
            road = f"测试{NUMERALS[i % 10]}{i}号路"
            staff.add_passage(
                db,
                topic="roads",
                entities=[f"road:{road}"],
                text=f"{road}将于2027年{i % 12 + 1}月开工建设。",
                by="benchmark",
            )
            saved = time.perf_counter()
            for attempt in range(100):  # noqa: B007 (read after the loop)
                reply = " ".join(m.get("text") or "" for m in servers.say(f"live-{i}", f"{road}什么时候开工"))
                if road in reply:
                    break
                time.sleep(0.05)
            delays.append((time.perf_counter() - saved) * 1000)
            first_try += attempt == 0
    report = (
        f"update to live answer over {args.rounds} rounds: median {statistics.median(delays):.0f} ms, "
        f"worst {max(delays):.0f} ms; answered by the first question after the change: "
        f"{first_try}/{args.rounds}"
    )
    print(report)
    out = ROOT / "benchmarks" / "results" / "live_update.txt"
    out.write_text(report + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
