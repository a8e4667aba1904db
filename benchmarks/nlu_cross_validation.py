"""5-fold cross-validation of the NLU, the confusion between topics, and the fallback threshold it supports.

    python benchmarks/nlu_cross_validation.py [--folds 5] [--seeds 0 1 2]

Runs `rasa test nlu --cross-validation` on nlu/data plus the generated lookup tables, once per seed, keeps Rasa's
reports for the first seed in benchmarks/results/nlu-cross-validation/, and writes a summary
(benchmarks/results/nlu-cross-validation.md): intent macro F1 for every seed and their mean, the confusion
between intents, and the FallbackClassifier threshold the held-out confidences support: the highest threshold
that still keeps 99% of the correct predictions above it.

Rasa draws the folds at random (scikit-learn's StratifiedKFold with no seed), so one run differs from the next by
about ±0.005; the seed is set in numpy's global generator, which that draw uses, so each figure can be repeated.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "benchmarks" / "results" / "nlu-cross-validation"
KEEP_CORRECT = 0.99
# Rasa's command line, with numpy's global generator seeded first (see the docstring).
SEEDED_RASA = (
    "import sys, numpy; numpy.random.seed(int(sys.argv[1])); sys.argv = ['rasa'] + sys.argv[2:]; "
    "from rasa.__main__ import main; main()"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--config", default=str(ROOT / "config.yml"), help="pipeline to measure")
    parser.add_argument("--out", default=str(OUT), help="where Rasa's reports go")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="one cross-validation per seed")
    args = parser.parse_args()
    out = Path(args.out)
    with tempfile.TemporaryDirectory() as data:
        for path in (ROOT / "nlu" / "data").glob("*.yml"):
            if path.name != "rules.yml":
                shutil.copy(path, data)
        shutil.copy(ROOT / "nlu" / "generated" / "lookups" / "lookups.yml", data)
        env = {**os.environ, "PYTHONPATH": str(ROOT), "RASA_TELEMETRY_ENABLED": "false"}
        started = time.perf_counter()
        macro = {}
        for seed in reversed(args.seeds):  # the first seed last, so its reports are the ones kept
            if out.exists():
                shutil.rmtree(out)
            subprocess.run(
                [
                    sys.executable,
                    "-c",
                    SEEDED_RASA,
                    str(seed),
                    "test",
                    "nlu",
                    "--nlu",
                    data,
                    "--config",
                    args.config,
                    "--cross-validation",
                    "--folds",
                    str(args.folds),
                    "--successes",
                    "--no-plot",
                    "--out",
                    str(out),
                ],
                cwd=ROOT,
                env=env,
                check=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            result = json.loads((out / "intent_report.json").read_text(encoding="utf-8"))
            macro[seed] = result["macro avg"]["f1-score"]
        minutes = (time.perf_counter() - started) / 60 / len(args.seeds)
    report = json.loads((out / "intent_report.json").read_text(encoding="utf-8"))
    errors = (
        json.loads((out / "intent_errors.json").read_text(encoding="utf-8"))
        if (out / "intent_errors.json").exists()
        else []
    )
    successes = json.loads((out / "intent_successes.json").read_text(encoding="utf-8"))
    correct = sorted(s["intent_prediction"]["confidence"] for s in successes)
    threshold = correct[int((1 - KEEP_CORRECT) * len(correct))] if correct else 0.0
    caught = sum(1 for e in errors if e["intent_prediction"]["confidence"] < threshold)
    confusion = Counter((e["intent"], e["intent_prediction"]["name"]) for e in errors)
    lines = [
        f"# NLU {args.folds}-fold cross-validation",
        "",
        f"Command: `python benchmarks/nlu_cross_validation.py --folds {args.folds} --seeds "
        f"{' '.join(map(str, args.seeds))}` ({minutes:.1f} min a run), config `{Path(args.config).name}`.",
        "",
        f"- intent macro F1, one {args.folds}-fold run per seed: "
        + ", ".join(f"seed {seed}: {macro[seed]:.3f}" for seed in args.seeds)
        + f"; mean **{sum(macro.values()) / len(macro):.3f}**, lowest {min(macro.values()):.3f}",
        f"- seed {args.seeds[0]} in detail (below): macro F1 {report['macro avg']['f1-score']:.3f} (weighted "
        f"{report['weighted avg']['f1-score']:.3f}, accuracy {report.get('accuracy', 0):.3f}) over "
        f"{len(correct) + len(errors)} held-out examples",
        f"- fallback threshold kept by {KEEP_CORRECT:.0%} of the correct predictions: **{threshold:.2f}**; "
        f"below it fall {caught} of the {len(errors)} wrong ones",
        "",
        "| intent | precision | recall | f1 | support |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name, row in sorted(report.items()):
        if isinstance(row, dict) and "support" in row and name not in ("macro avg", "weighted avg", "micro avg"):
            lines.append(
                f"| {name} | {row['precision']:.2f} | {row['recall']:.2f} | {row['f1-score']:.2f} | {row['support']} |"
            )
    lines += ["", "Confusions (true intent -> predicted: count, with the examples):", ""]
    for (true, predicted), count in confusion.most_common():
        examples = [e["text"] for e in errors if e["intent"] == true and e["intent_prediction"]["name"] == predicted]
        lines.append(f"- {true} -> {predicted}: {count} ({'; '.join(examples[:5])})")
    if not confusion:
        lines.append("- none")
    summary = "\n".join(lines) + "\n"
    (out.parent / f"{out.name}.md").write_text(summary, encoding="utf-8")
    print(summary)


if __name__ == "__main__":
    main()
