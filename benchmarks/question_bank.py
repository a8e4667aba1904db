"""Measure answering on the blind question bank, fold by fold, and fit the answerability model.

    python benchmarks/question_bank.py              # held-out report -> benchmarks/results/question-bank.{json,md}
    python benchmarks/question_bank.py --fit        # also fit on every fold -> knowledge/data/answerability.json
    python benchmarks/question_bank.py --failures 0,1,2   # list what went wrong in development folds
    python benchmarks/question_bank.py --steps      # each reading step's effect -> question-bank-steps.md

Every question is read the way the action reads it (`actions.plan.assess`: the trained NLU's intent and
entities, the search, `knowledge.policy.features`) and routed as the bot routes it: one the NLU sends to
another action (rules.yml; a greeting, 再说一遍) gets no answer from the plan. The answerability model that decides is never fitted on the
fold it is scored on: for fold k it is fitted on the other four, and its thresholds are chosen there too (at least
97% of their decline questions declined). Folds 0-2 are for development; folds 3-4 are the held-out report and
their failures are never listed for tuning. The NLU is trained on nlu/data only, never on the bank.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import yaml  # noqa: E402

BANK = ROOT / "benchmarks" / "data" / "question_bank.yml"
RESULTS = ROOT / "benchmarks" / "results"
HELD_OUT = (3, 4)
DEVELOPMENT = (0, 1, 2)
DECLINE_TARGET = 0.97
# Thresholds are chosen with a margin on the training folds, so that the held-out fold still reaches the target.
DECLINE_QUANTILE = 0.98
SURE_PRECISION = 0.97
C = 1.0


def load_bank(path: Path = BANK) -> list[dict]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))["questions"]


def build_kb(work: Path):
    """A knowledge base built from the shipped plan in `work`, with jieba loaded, as the tests build it."""
    from devtools.knowledge_base import build_knowledge_base
    from knowledge.search import KnowledgeBase

    return KnowledgeBase.from_path(build_knowledge_base(work))


def parse_all(texts: list[str], model: Path) -> list[dict]:
    """The trained NLU's reading of every text (intent, confidence, entities), in this process."""
    from rasa.core.agent import Agent

    agent = Agent.load(str(model))

    async def run():
        return [await agent.parse_message(t) for t in texts]

    return asyncio.run(run())


def answering_intents() -> frozenset[str]:
    """The intents nlu/data/rules.yml sends to the answer action."""
    rules = yaml.safe_load((ROOT / "nlu" / "data" / "rules.yml").read_text(encoding="utf-8"))["rules"]
    return frozenset(
        step["intent"]
        for rule in rules
        for step in rule["steps"][:1]
        if "intent" in step and {"action": "action_answer_from_plan"} in rule["steps"]
    )


def reaches_the_plan(text: str, parse: dict, answering: frozenset[str]) -> bool:
    """Whether the bot answers this message from the plan at all, as it routes it: by the rules, less what the
    answer action takes for 还有呢, plus what the chitchat actions pass on (a long question read as `about`)."""
    from actions.conversation import passes_on_as_question
    from actions.plan import asks_for_more
    from knowledge.text import normalize_question

    intent = (parse.get("intent") or {}).get("name")
    if intent in answering:
        return not asks_for_more(normalize_question(text), intent)
    return passes_on_as_question(
        {"text": text, "intent": parse.get("intent"), "intent_ranking": parse.get("intent_ranking"), "entities": []}
    )


# How a message the NLU gave a chitchat intent is routed may hang on the plan's answer (a short about message the plan
# surely answers is passed on: actions/conversation.py). Routing it with stand-in models that never answer, always
# offer, or always answer tells whether it does, and on which kind of answer; each fold's own model then decides.
ALWAYS, NEVER, IF_OFFERED, IF_SURE = "always", "never", "if offered", "if sure"


def route(text: str, parse: dict, answering: frozenset[str]) -> str:
    from unittest import mock

    from knowledge import policy

    def reaches(sure: float, fairly_sure: float) -> bool:
        stand_in = policy.Model((), (), (), (), 0.0, sure, fairly_sure)
        with mock.patch.object(policy, "default_model", lambda: stand_in):
            return reaches_the_plan(text, parse, answering)

    if reaches(2.0, 2.0):
        return ALWAYS
    if not reaches(-1.0, -1.0):
        return NEVER
    return IF_OFFERED if reaches(2.0, -1.0) else IF_SURE


def read_questions(bank: list[dict], kb, parses: list[dict]) -> list[dict]:
    """Search every question as the action does; keep the features and the best passages. Each row's
    `lexical` row is the same question searched by its words alone, for the second opinion (policy.Model)."""
    from actions.conversation import question_intent
    from actions.plan import ENTITY_TYPES, assess
    from knowledge.text import normalize_question

    answering = answering_intents()
    rows = []
    for item, parse in zip(bank, parses):
        intent = (parse.get("intent") or {}).get("name")
        confidence = (parse.get("intent") or {}).get("confidence")
        routed = route(item["q"], parse, answering)
        if routed != NEVER and intent not in answering:
            # Passed on by a chitchat action (actions/conversation.py): answered with the NLU's best topic intent.
            asked = question_intent(parse)
            intent, confidence = asked["name"], asked["confidence"]
        entities = [e["value"] for e in parse.get("entities") or [] if e.get("entity") in ENTITY_TYPES]
        text = normalize_question(item["q"])
        started = time.perf_counter()
        found = assess(kb, text, intent, confidence, entities)
        elapsed = time.perf_counter() - started
        kb.use_examples = False
        by_words = assess(kb, text, intent, confidence, entities)
        kb.use_examples = True
        rows.append(
            {
                "item": item,
                "found": found,
                "features": found.features,
                "intent": intent,
                "route": routed,
                "seconds": elapsed,
                "text": kb.analyze(text).text,  # as the wording model reads it
                "lexical": {"item": item, "found": by_words, "features": by_words.features},
            }
        )
    return rows


def label(row: dict) -> int:
    """1 when the best passage answers the question: a labelled passage, or one that holds every keyword group
    the right answer must contain (two passages of the plan often say the same thing)."""
    item, hits = row["item"], row["found"].hits
    if item["expect"] != "answer" or not hits:
        return 0
    text = hits[0].passage["text"]
    return int(
        hits[0].passage["id"] in item["passages"]
        or all(any(alt in text for alt in group) for group in item.get("any") or [[None]])
    )


def fit(rows: list[dict]):
    """The answer policy's model (policy.FEATURE_NAMES), with its second opinion on questions whose every word
    the best passage has (policy.LEXICAL_FEATURE_NAMES), each with thresholds chosen on these rows."""
    from knowledge import policy

    lexical = fit_one([r["lexical"] for r in rows], policy.LEXICAL_FEATURE_NAMES)
    return dataclasses.replace(fit_one(rows, policy.FEATURE_NAMES), lexical=lexical)


def fit_one(rows: list[dict], names: tuple[str, ...]):
    """A logistic model over `names`, with thresholds chosen on these rows."""
    from sklearn.linear_model import LogisticRegression

    from knowledge import policy

    x = np.array([[policy.with_interactions(r["features"])[n] for n in names] for r in rows])
    y = np.array([label(r) for r in rows])
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0
    model = LogisticRegression(C=C, max_iter=2000).fit((x - mean) / scale, y)
    draft = policy.Model(names, tuple(mean), tuple(scale), tuple(model.coef_[0]), float(model.intercept_[0]), 1.0, 1.0)
    p = np.array([draft.probability(r["features"]) for r in rows])
    declines = np.array([r["item"]["expect"] == "decline" for r in rows])
    fairly_sure = float(np.quantile(p[declines], DECLINE_QUANTILE)) + 1e-6
    sure = fairly_sure
    for t in sorted(set(np.round(p[p >= fairly_sure], 4))):
        chosen = p >= t
        if chosen.sum() and y[chosen].mean() >= SURE_PRECISION:
            sure = float(t)
            break
    return policy.Model(
        draft.names, draft.mean, draft.scale, draft.coef, draft.intercept, max(sure, fairly_sure), fairly_sure
    )


def judge(row: dict, model) -> dict:
    """What the resident would get with `model` deciding: kind, right passage, keywords present, source."""
    from actions.plan import Assessment, compose
    from knowledge import policy

    item, found = row["item"], row["found"]
    decision = policy.decide(row["features"], model)
    outcome = {"kind": decision.kind, "probability": decision.probability}
    reaches = row["route"] == ALWAYS or (
        row["route"] == IF_OFFERED
        and decision.kind != policy.DECLINE
        or row["route"] == IF_SURE
        and decision.kind == policy.SURE
    )
    if not reaches:  # the NLU sent it elsewhere (a greeting, 再说一遍, …): no answer from the plan
        outcome["kind"] = "elsewhere"
    if outcome["kind"] in (policy.DECLINE, "elsewhere") or not found.hits:
        outcome.update(source=False, right_passage=False, keywords=False, passage=None)
        return outcome
    decided = Assessment(found.hits, found.topic, found.entities, decision)
    text, _buttons, custom = compose(decided, [], False, {})
    passage = custom["source"]["passage_id"]
    keywords = all(any(alt in text for alt in group) for group in item.get("any") or [])
    outcome.update(source=True, passage=passage, right_passage=passage in item.get("passages", []), keywords=keywords)
    return outcome


FOLDS = frozenset(range(5))


class WordingModels:
    """Wording models (knowledge/wording.py) fitted on sets of folds, each fitted once."""

    def __init__(self, rows: list[dict]):
        self.rows = rows
        self.models: dict[frozenset, object] = {}

    def fitted_on(self, folds: frozenset):
        from knowledge import wording

        if folds not in self.models:
            train = [r for r in self.rows if r["item"]["fold"] in folds]
            self.models[folds] = wording.fit(
                [r["text"] for r in train], [int(r["item"]["expect"] == "answer") for r in train]
            )
        return self.models[folds]

    def out_of_fold(self, rows: list[dict], left_out: frozenset = frozenset()) -> list[dict]:
        """`rows` with their wording feature from a model that saw neither their fold nor `left_out`: the
        decision model is then fitted on values like those it meets on questions it has never seen."""
        out = []
        for r in rows:
            model = self.fitted_on(FOLDS - left_out - {r["item"]["fold"]})
            wording = {"wording": model.probability(r["text"])}
            lexical = r["lexical"] | {"features": r["lexical"]["features"] | wording}
            out.append(r | {"features": r["features"] | wording, "lexical": lexical})
        return out


def cross_validate(rows: list[dict]) -> list[dict]:
    """Each row judged by models fitted on the other folds (the decision model and the wording model it uses)."""
    judged = [None] * len(rows)
    wordings = WordingModels(rows)
    for k in range(5):
        train = wordings.out_of_fold([r for r in rows if r["item"]["fold"] != k], left_out=frozenset({k}))
        model = fit(train)
        for i, r in enumerate(rows):
            if r["item"]["fold"] == k:
                (scored,) = wordings.out_of_fold([r])
                judged[i] = judge(scored, model) | {"model_sure": model.sure, "model_fairly_sure": model.fairly_sure}
    return judged


def summarize(rows: list[dict], judged: list[dict], folds: tuple[int, ...]) -> dict:
    pairs = [(r, j) for r, j in zip(rows, judged) if r["item"]["fold"] in folds]
    answerable = [(r, j) for r, j in pairs if r["item"]["expect"] == "answer"]
    declines = [(r, j) for r, j in pairs if r["item"]["expect"] == "decline"]

    def rates(ans, dec) -> dict:
        out = {"n_answerable": len(ans), "n_decline": len(dec)}
        if ans:
            out["answered"] = round(sum(j["source"] and j["keywords"] for _, j in ans) / len(ans), 4)
            out["right_passage"] = round(sum(j["right_passage"] for _, j in ans) / len(ans), 4)
            out["sure"] = round(sum(j["kind"] == "sure" for _, j in ans) / len(ans), 4)
            out["retrieval_top1"] = round(
                sum(bool(r["found"].hits) and r["found"].hits[0].passage["id"] in r["item"]["passages"] for r, _ in ans)
                / len(ans),
                4,
            )
            out["retrieval_answers"] = round(sum(label(r) for r, _ in ans) / len(ans), 4)
        if dec:
            out["declined"] = round(sum(not j["source"] for _, j in dec) / len(dec), 4)
        return out

    summary = rates(answerable, declines)
    by_category = {}
    for category in sorted({r["item"]["category"] for r, _ in pairs}):
        by_category[category] = rates(
            [p for p in answerable if p[0]["item"]["category"] == category],
            [p for p in declines if p[0]["item"]["category"] == category],
        )
    for style in sorted({r["item"].get("style") for r, _ in declines if r["item"].get("style")}):
        by_category[f"decline:{style}"] = rates([], [p for p in declines if p[0]["item"].get("style") == style])
    summary["by_category"] = by_category
    return summary


def curve(rows: list[dict], judged: list[dict], folds: tuple[int, ...]) -> list[dict]:
    """Precision/recall of answering as the threshold on the (cross-validated) probability moves."""
    pairs = [(r, j) for r, j in zip(rows, judged) if r["item"]["fold"] in folds]
    points = []
    for t in [0.05 * i for i in range(1, 20)]:
        chosen = [(r, j) for r, j in pairs if j["probability"] >= t]
        right = sum(label(r) for r, _ in chosen)
        relevant = sum(label(r) for r, _ in pairs)
        declines = [j for r, j in pairs if r["item"]["expect"] == "decline"]
        points.append(
            {
                "threshold": round(t, 2),
                "precision": round(right / len(chosen), 4) if chosen else 1.0,
                "recall": round(right / relevant, 4) if relevant else 0.0,
                "declined": round(sum(j["probability"] < t for j in declines) / len(declines), 4),
            }
        )
    return points


def write_report(report: dict, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    h = report["heldout"]
    lines = [
        "# Question bank: answering unseen resident questions",
        "",
        f"`python benchmarks/question_bank.py` on {report['date']}: {report['n_questions']} blind questions "
        f"(benchmarks/data/question_bank.yml), split into 5 folds by passage. Held-out = folds 3-4, never read "
        "for tuning; the answerability model deciding each fold is fitted on the other four.",
        "",
        "| | answerable | answered | right passage | sure | retrieval top-1 | decline questions | declined |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name in ("heldout", "development", "all_folds"):
        s = report[name]
        lines.append(
            f"| {name} | {s['n_answerable']} | {s['answered']:.3f} | {s['right_passage']:.3f} | "
            f"{s['sure']:.3f} | {s['retrieval_top1']:.3f} | {s['n_decline']} | {s['declined']:.3f} |"
        )
    lines += [
        "",
        "Held-out, by category:",
        "",
        "| category | n | answered | right passage | declined |",
        "| --- | --- | --- | --- | --- |",
    ]
    for category, s in h["by_category"].items():
        n = s["n_answerable"] or s["n_decline"]
        lines.append(
            f"| {category} | {n} | {s.get('answered', '')} | {s.get('right_passage', '')} | {s.get('declined', '')} |"
        )
    lines += [
        "",
        "Held-out precision/recall of answering by threshold on the cross-validated probability "
        "(precision: the best passage is a labelled one):",
        "",
        "| threshold | precision | recall | decline questions declined |",
        "| --- | --- | --- | --- |",
    ]
    for point in report["curve"]:
        lines.append(f"| {point['threshold']} | {point['precision']} | {point['recall']} | {point['declined']} |")
    lines += [
        "",
        f"Search time per question (in process): median {report['search_ms_median']} ms, "
        f"p95 {report['search_ms_p95']} ms.",
        "",
    ]
    out.with_suffix(".md").write_text("\n".join(lines), encoding="utf-8")


def show_failures(rows, judged, folds) -> None:
    for r, j in zip(rows, judged):
        item = r["item"]
        if item["fold"] not in folds:
            continue
        wrong = (item["expect"] == "answer" and not (j["source"] and j["keywords"])) or (
            item["expect"] == "decline" and j["source"]
        )
        if not wrong:
            continue
        hits = r["found"].hits
        top = hits[0].passage["id"] if hits else None
        print(
            f"[{item['expect']}/{item['category']}] {item['q']}  -> {j['kind']} p={j['probability']:.2f} "
            f"top={top} want={item.get('passages')} intent={r['intent']} cov={r['features']['coverage']:.2f}"
        )


# Each step of reading a question, and how to leave it out, for `--steps`.
STEPS = {
    "filler": "filler told apart (data/filler.txt, jieba parts of speech)",
    "cilin": "词林 synonyms for words the plan never uses",
    "homophones": "plan words of the same sound (拖贫 -> 脱贫)",
    "focus": "context before 想问/请问 counts less",
    "asks": "what kind of fact is asked (data/asks.yml, years, places)",
}


def without(step: str):
    """Leave one step out, in this process (the benchmark's ablation)."""
    from unittest import mock

    from knowledge import lexicon

    patches = {
        "filler": [mock.patch.object(lexicon, "is_filler", lambda word, pos: False)],
        "cilin": [mock.patch.object(lexicon, "synonym_map", lambda vocabulary: {})],
        "homophones": [mock.patch.object(lexicon, "homophone_map", lambda vocabulary: {})],
        "focus": [mock.patch.object(lexicon, "focus_start", lambda text: 0)],
        "asks": [
            mock.patch.object(lexicon, "asks_for", lambda text: set()),
            mock.patch.object(lexicon, "other_years", lambda text, years: False),
            mock.patch.object(lexicon, "other_place", lambda text, passage: False),
        ],
    }[step]
    from contextlib import ExitStack

    stack = ExitStack()
    for patch in patches:
        stack.enter_context(patch)
    return stack


def measure_steps(bank, parses, work: Path) -> list[dict]:
    """Held-out and development figures with every step, and with each step left out in turn."""
    from knowledge import search

    results = []
    for step in [None, *STEPS]:
        search._synonym_map.cache_clear()
        search._homophone_map.cache_clear()
        context = without(step) if step else None
        if context:
            context.__enter__()
        try:
            kb = search.KnowledgeBase.from_path(work / "knowledge.db")
            rows = read_questions(bank, kb, parses)
            judged = cross_validate(rows)
        finally:
            if context:
                context.__exit__(None, None, None)
        results.append(
            {
                "without": step,
                "heldout": summarize(rows, judged, HELD_OUT),
                "development": summarize(rows, judged, DEVELOPMENT),
            }
        )
    return results


def write_steps(results: list[dict], out: Path) -> None:
    lines = [
        "# Each step's effect on the question bank",
        "",
        "`python benchmarks/question_bank.py --steps`: the whole pipeline, then each step left out in turn "
        "(the answerability model refitted by cross-validation each time).",
        "",
        "| reading | held-out answered | right passage | declined | development answered | declined |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for r in results:
        h, d = r["heldout"], r["development"]
        name = "every step" if r["without"] is None else f"without {STEPS[r['without']]}"
        lines.append(
            f"| {name} | {h['answered']:.3f} | {h['right_passage']:.3f} | {h['declined']:.3f} | "
            f"{d['answered']:.3f} | {d['declined']:.3f} |"
        )
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(ROOT / "models" / "westbot.tar.gz"), help="trained Rasa model")
    parser.add_argument("--fit", action="store_true", help="fit on every fold and write the shipped model")
    parser.add_argument("--failures", default=None, help="list failures of these development folds, e.g. 0,1,2")
    parser.add_argument("--steps", action="store_true", help="measure each step's effect (ablation)")
    parser.add_argument("--out", default=str(RESULTS / "question-bank"))
    args = parser.parse_args()
    os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
    bank = load_bank()
    with tempfile.TemporaryDirectory() as work:
        os.environ["WESTBOT_KB"] = str(Path(work) / "knowledge.db")
        kb = build_kb(Path(work))
        parses = parse_all([q["q"] for q in bank], Path(args.model))
        if args.steps:
            results = measure_steps(bank, parses, Path(work))
            write_steps(results, RESULTS / "question-bank-steps.md")
            print((RESULTS / "question-bank-steps.md").read_text(encoding="utf-8"))
            return
        rows = read_questions(bank, kb, parses)
        judged = cross_validate(rows)
        if args.failures:
            folds = tuple(int(f) for f in args.failures.split(","))
            if set(folds) & set(HELD_OUT):
                sys.exit("folds 3-4 are the held-out report: their failures are not listed")
            show_failures(rows, judged, folds)
            return
        seconds = sorted(r["seconds"] * 1000 for r in rows)
        report = {
            "date": date.today().isoformat(),
            "n_questions": len(bank),
            "heldout": summarize(rows, judged, HELD_OUT),
            "development": summarize(rows, judged, DEVELOPMENT),
            "all_folds": summarize(rows, judged, (0, 1, 2, 3, 4)),
            "curve": curve(rows, judged, HELD_OUT),
            "search_ms_median": round(statistics.median(seconds), 2),
            "search_ms_p95": round(seconds[int(0.95 * (len(seconds) - 1))], 2),
        }
        write_report(report, Path(args.out))
        h = report["heldout"]
        print(
            f"held-out: answered {h['answered']:.3f}, right passage {h['right_passage']:.3f}, "
            f"declined {h['declined']:.3f} ({h['n_answerable']} answerable, {h['n_decline']} decline)"
        )
        d = report["development"]
        print(
            f"development: answered {d['answered']:.3f}, right passage {d['right_passage']:.3f}, "
            f"declined {d['declined']:.3f}"
        )
        if args.fit:
            from knowledge import policy, wording

            wordings = WordingModels(rows)
            shipped_wording = wordings.fitted_on(FOLDS)
            wording.MODEL_PATH.write_text(
                shipped_wording.to_json(
                    fitted_on=f"benchmarks/data/question_bank.yml, all {len(bank)} questions, {report['date']}"
                ),
                encoding="utf-8",
            )
            model = fit(wordings.out_of_fold(rows))
            policy.MODEL_PATH.write_text(
                model.to_json(
                    fitted_on=f"benchmarks/data/question_bank.yml, all {len(bank)} questions, {report['date']}",
                    features_from="knowledge.policy.features",
                ),
                encoding="utf-8",
            )
            print(
                f"wrote {policy.MODEL_PATH.relative_to(ROOT)}: sure >= {model.sure:.3f}, "
                f"fairly sure >= {model.fairly_sure:.3f}"
            )


if __name__ == "__main__":
    main()
