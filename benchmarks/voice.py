"""Time to speak an elder-mode answer: espeak-ng + opusenc per answer, first time and from the cache.

    python benchmarks/voice.py

Makes the elder reply of every passage the bot can answer from (as the answer action does), speaks each once in
Mandarin into a fresh cache, then again (cached), and a sample in Cantonese. Prints medians and the worst case;
writes benchmarks/results/voice.txt. Synthesis runs in a worker thread in the relays, never on the event loop.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from actions import elder, replies  # noqa: E402
from bot.voice import synthesize  # noqa: E402
from knowledge import segment  # noqa: E402
from knowledge.search import Hit, KnowledgeBase  # noqa: E402
from knowledge.settings import get_settings  # noqa: E402

CONTACTS = [{"topic": "*", "name": "政务服务热线", "phone": "12345", "hours": "24小时", "address": ""}]


def timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1000


def main() -> None:
    settings = get_settings()
    segment.init_jieba(settings.jieba_dict_dir)
    kb = KnowledgeBase.from_path(settings.kb_path)
    glossary = kb.glossary()
    texts = []
    for p in kb.snapshot().passages:
        standard = replies.standard_answer([Hit(p, 1.0, 1.0)], CONTACTS)
        texts.append(elder.simplify_for_elders(p, p["entities"][:2], len(standard), CONTACTS, glossary))
    with tempfile.TemporaryDirectory() as cache:
        first = [timed(lambda t=t: synthesize(t, Path(cache), "cmn")) for t in texts]
        cached = [timed(lambda t=t: synthesize(t, Path(cache), "cmn")) for t in texts]
        cantonese = [timed(lambda t=t: synthesize(t, Path(cache), "yue")) for t in texts[:20]]
    report = (
        f"elder answers spoken: {len(texts)}; Mandarin first time median {statistics.median(first):.0f} ms "
        f"(worst {max(first):.0f} ms); from the cache median {statistics.median(cached):.2f} ms; "
        f"Cantonese first time median {statistics.median(cantonese):.0f} ms over {len(cantonese)}"
    )
    print(report)
    (ROOT / "benchmarks" / "results" / "voice.txt").write_text(report + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
