"""Measure sound-alike matching: typos it corrects, and false matches it must not make.

    python benchmarks/soundalike.py

Recall: every name of three or more characters in the knowledge base, with one character replaced by another
character of the same sound (taken from jieba's dictionary), must be read as the name.
False matches: the NLU training examples and a set of everyday questions the plan does not cover are run
through the matcher; every "correction" there is listed, and the target is none.
Writes benchmarks/results/soundalike.txt.
"""

from __future__ import annotations

import random
import sys
from collections import defaultdict
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from knowledge import soundalike  # noqa: E402
from knowledge.search import KnowledgeBase, _correct_sound_alikes, match_form, sound_alike_names  # noqa: E402
from knowledge.settings import get_settings  # noqa: E402
from knowledge.text import normalize_question  # noqa: E402

EVERYDAY = [
    "今天天气怎么样",
    "明天会下雨吗",
    "附近有什么好吃的",
    "去广州怎么坐车",
    "高铁票怎么买",
    "手机坏了去哪修",
    "比特币价格",
    "广州塔门票多少钱",
    "怎么煲汤好喝",
    "给我讲个笑话",
    "股票会涨吗",
    "电费怎么交",
    "社保卡怎么办",
    "护照去哪里办",
    "小孩打疫苗",
    "医院怎么挂号",
    "金山路在哪里",
    "月亮几点出来",
    "长城有多长",
    "中山到珠海多远",
    "家里水管爆了",
    "快递什么时候到",
    "超市几点关门",
    "我想学游泳",
    "猫不吃饭怎么办",
    "周末去哪里玩",
    "今晚吃什么",
    "银行几点开门",
    "宽带怎么装",
    "停车场收费标准",
    "老师布置的作业",
    "菜市场在哪里",
    "公园几点开门",
    "图书馆开放时间",
    "游泳池开了吗",
    "跑步机推荐",
]


def homophone_typos(names: list[str], seed: int = 2020) -> list[tuple[str, str]]:
    import jieba

    jieba.initialize()
    by_sound: dict[str, list[str]] = defaultdict(list)
    for word in jieba.dt.FREQ:
        if len(word) == 1 and "\u4e00" <= word <= "\u9fff":
            for s in soundalike.sounds(word):
                by_sound[s].append(word)
    rng = random.Random(seed)
    typos = []
    for name in names:
        positions = [i for i, c in enumerate(name) if "\u4e00" <= c <= "\u9fff"]
        rng.shuffle(positions)
        for i in positions:
            options = sorted({c for s in soundalike.sounds(name[i]) for c in by_sound[s]} - {name[i]})
            if options:
                typos.append((name[:i] + rng.choice(options) + name[i + 1 :], name))
                break
    return typos


def main() -> None:
    kb = KnowledgeBase.from_path(get_settings().kb_path)
    snap = kb.snapshot()
    names = [n for n in sound_alike_names(snap.matcher) if len(n) >= soundalike.MIN_NAME_CHARS]
    lines = []

    typos = homophone_typos(sorted(set(names)))
    hits = 0
    misses = []
    for typo, name in typos:
        fixed = _correct_sound_alikes(typo, snap.matcher, snap.sound_alike)
        if name in fixed:
            hits += 1
        else:
            misses.append(f"{typo} (for {name}) -> {fixed}")
    lines.append(
        f"recall: {hits}/{len(typos)} homophone typos of knowledge-base names read as the name "
        f"({hits / max(1, len(typos)):.0%})"
    )

    examples = list(EVERYDAY)
    for path in sorted((ROOT / "nlu" / "data").glob("*.yml")):
        for block in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("nlu", []):
            if "intent" in block:
                examples += [e[2:].strip() for e in block["examples"].splitlines() if e.startswith("- ")]
    false = []
    for example in examples:
        plain = example.replace("[", "").split("]")[0] if "](" in example else example
        text = match_form(normalize_question(plain))
        fixed = _correct_sound_alikes(text, snap.matcher, snap.sound_alike)
        if fixed != text:
            false.append(f"{text} -> {fixed}")
    lines.append(f"changes on {len(examples)} training examples and everyday questions: {len(false)} (target 0)")
    lines += [f"  changed: {f}" for f in false]
    lines.append(
        f"settings: names of at least {soundalike.MIN_NAME_CHARS} characters, at least "
        f"{soundalike.MIN_SAME_CHARS} characters the same, at most {soundalike.MAX_CHANGED_CHARS} changed"
    )
    lines += [f"  missed: {m}" for m in misses[:30]]
    report = "\n".join(lines)
    print(report)
    out = ROOT / "benchmarks" / "results" / "soundalike.txt"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(report + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
