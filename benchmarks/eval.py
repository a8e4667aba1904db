"""Measure the bot on the resident questions in ../shared/eval with its score.py, and keep the report.

    python benchmarks/eval.py                 # against a running bot (make run)
    python benchmarks/eval.py --start         # start the action server and Rasa itself on free ports

Prints score.py's report (answered, declined, elder mode, latency p50/p95) and writes it to
benchmarks/results/eval-<date>.txt. The questions are for measuring only: never train on them.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCORE = ROOT.parent / "shared" / "eval" / "score.py"


def run_score(url: str, extra: list[str]) -> str:
    result = subprocess.run(
        [sys.executable, str(SCORE), "--url", url, *extra], capture_output=True, text=True, timeout=1800
    )
    return result.stdout + result.stderr


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://localhost:5005")
    parser.add_argument("--start", action="store_true", help="start the servers on free ports first")
    parser.add_argument("--cases", default=None, help="another cases file in score.py's format")
    args = parser.parse_args()
    if not SCORE.exists():
        sys.exit(f"{SCORE} not found: the eval set lives in ../shared/eval beside the checkout")
    extra = ["--cases", args.cases] if args.cases else []
    if args.start:
        sys.path.insert(0, str(ROOT))
        from devtools.servers import Servers

        with tempfile.TemporaryDirectory() as work:
            servers = Servers(Path(work), ROOT / "var" / "knowledge.db")
            try:
                servers.start_actions()
                servers.start_rasa()
                report = run_score(servers.url, extra)
            finally:
                servers.stop()
    else:
        report = run_score(args.url, extra)
    print(report, end="")
    out = ROOT / "benchmarks" / "results" / f"eval-{date.today().isoformat()}.txt"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(report, encoding="utf-8")
    print(f"(kept in {out.relative_to(ROOT)})")


if __name__ == "__main__":
    main()
