"""The answer policy: how passages are scored for a question, and whether the bot answers, offers or declines.

Every number that decides what a resident is told lives here, each with why and where it was measured.
`decide()` is the one decision: the action calls it, the question-bank benchmark calls it, tests call it at its
boundaries.

- Scoring (used by search.py): a passage's coverage is the rarity-weighted share of the question's content
  terms it contains; small bonuses order passages of equal coverage.
- Deciding: a logistic model over retrieval features (`features()`, among them how the question is worded:
  wording.py) gives the probability that the best passage answers the question. It is learned on the question
  bank's training folds (`benchmarks/question_bank.py --fit`, coefficients in data/answerability.json); at or
  above `sure` the bot answers, at or above `fairly_sure` it offers the closest passage as such, below it
  declines. A few rules come first (`decide()`): another year, a road the plan never names, a glossary term.
"""

from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass
from pathlib import Path

from . import lexicon, wording
from .settings import DATA_DIR

# ---------------------------------------------------------------- scoring (search.py)

# An entity named in a question matters more than a plain word; a lone character matters less (it matches by
# chance: 扫 in 扫黄打非). Set when the search was first built on the 2020 plan; kept, the bank agrees.
KIND_WEIGHT = {"entity": 1.5, "char": 0.5}
# Ordering bonuses, small beside coverage (0-1): they break ties between passages that cover a question alike.
TOPIC_BONUS = 0.15  # the passage is in the topic the NLU read
ENTITY_BONUS = 0.1  # the passage names an entity of the question
BM25_BONUS = 0.1  # times FTS5's bm25 relative to the best passage's
RECENCY_BONUS = 0.03  # the passage is from the newest plan
# Similarity to a passage's example questions in residents' words (examples.py) adds this much times itself,
# times the share of the question the passage's words leave uncovered; a passage none of whose words the
# question uses is a candidate when it is at least EXAMPLE_FLOOR. Both chosen on the development folds (the bonus
# again with 30 examples a passage: 1.0, 1.5, 2.0, 2.5 gave answered 0.850, 0.874, 0.882, 0.872; and beside the
# classifier below, 0.5, 1.0, 1.5 gave 0.934, 0.938, 0.934 with its bonus 2.0 or 1.5; with the classifier's session-12
# examples, 0.25, 0.5, 0.75, 1.0 gave answered 0.941, 0.941, 0.941, 0.940 and declined 0.983, 0.983, 0.980, 0.977).
EXAMPLE_BONUS = 0.5
EXAMPLE_FLOOR = 0.2
# The classifier learned from the examples (examples.PassageClassifier): its SVM's C, the temperature of the
# softmax that turns its decision values into shares, how much a passage's share adds times the share of the
# question its words leave uncovered, and the share from which a passage none of whose words the question uses is
# a candidate. Chosen on the development folds (session 11), with the classifier's first form (its raw shares as
# features, and session 10's further examples alone): bonus 1.0, 1.5, 2.0, 2.5 gave answered 0.927, 0.935, 0.938,
# 0.938 (example bonus 1.0); temperature 3, 5, 10 gave 0.917, 0.915, 0.907 and C 1, 2 gave 0.915, 0.916 (bonus 1.0).
LEARNED_C = 1.0
LEARNED_TEMPERATURE = 5.0
LEARNED_BONUS = 2.0
LEARNED_FLOOR = 0.3
# A long word the passage lacks but whose character pairs it mostly has (财政收入 ~ 公共预算收入) counts half,
# from this share of pairs on.
PARTIAL_CREDIT = 0.5
PARTIAL_MIN_SHARE = 0.6
# In a long question, a term said before the last 想问/请问 … (who the resident is and why: 我是大学生，在写论文)
# counts this much of a term of what is asked.
CONTEXT_WEIGHT = 0.3
# A term matched only through a 词林 synonym (清扫 -> 保洁) counts this much of a term the resident said.
RELATED_CREDIT = 0.8

# ---------------------------------------------------------------- replies (actions/replies.py)

# A standard answer adds a second passage only when it scores nearly as well as the first.
SECOND_PASSAGE_RATIO = 0.92
# A fairly-sure reply offers at most this many other passages as buttons ("也可能您想问：…").
ALTERNATIVES_OFFERED = 2

# ---------------------------------------------------------------- deciding

SURE, FAIRLY_SURE, DECLINE = "sure", "fairly_sure", "decline"
TOPIC_INTENTS = {"ask_elderly": "elderly", "ask_employment": "employment", "ask_roads": "roads", "ask_plan": None}
MODEL_PATH = DATA_DIR / "answerability.json"


@dataclass(frozen=True)
class Decision:
    kind: str  # sure | fairly_sure | decline
    probability: float  # that the best passage answers the question


@dataclass(frozen=True)
class Model:
    """A logistic regression over `features()`: standardized inputs, coefficients and the two thresholds."""

    names: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float
    sure: float
    fairly_sure: float
    # A second opinion for a question whose every word the best passage has, from a model of the words alone:
    # the examples must not talk the decision out of 长者饭堂怎么申请, whose passage has all it asks about.
    lexical: Model | None = None

    def probability(self, values: dict[str, float]) -> float:
        values = with_interactions(values)
        z = self.intercept
        for name, mean, scale, coef in zip(self.names, self.mean, self.scale, self.coef):
            z += coef * (values.get(name, 0.0) - mean) / (scale or 1.0)
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))

    def to_json(self, **extra) -> str:
        data = {
            "names": self.names,
            "mean": self.mean,
            "scale": self.scale,
            "coef": self.coef,
            "intercept": self.intercept,
            "sure": self.sure,
            "fairly_sure": self.fairly_sure,
            **({"lexical": json.loads(self.lexical.to_json())} if self.lexical else {}),
            **extra,
        }
        return json.dumps(data, ensure_ascii=False, indent=1)


def load_model(path: Path = MODEL_PATH) -> Model:
    return _model_from(json.loads(Path(path).read_text(encoding="utf-8")))


def _model_from(data: dict) -> Model:
    return Model(
        tuple(data["names"]),
        tuple(data["mean"]),
        tuple(data["scale"]),
        tuple(data["coef"]),
        float(data["intercept"]),
        float(data["sure"]),
        float(data["fairly_sure"]),
        _model_from(data["lexical"]) if data.get("lexical") else None,
    )


@functools.lru_cache(maxsize=1)
def default_model() -> Model:
    return load_model()


# What the second opinion reads (Model.lexical): the words alone, and how the question is worded.
LEXICAL_FEATURE_NAMES = (
    "coverage",
    "all_covered",
    "coverage_all",
    "second_coverage",
    "gap",
    "bm25",
    "best_matched",
    "worst_missing",
    "missing_share",
    "content_terms",
    "matched_share",
    "has_entity",
    "entity_agrees",
    "topic_agrees",
    "topic_intent",
    "out_of_scope",
    "other_intent",
    "confidence",
    "focus_coverage",
    "long_question",
    "asks_price",
    "asks_place",
    "asks_hours",
    "asks_contact",
    "asks_person",
    "asks_who",
    "asks_date",
    "asks_detail",
    "other_year",
    "other_place",
    "wording",
)

# What the answer policy's model reads: the words' features, the wording and the examples where the words
# leave the question uncovered (with_interactions), and how like a question the plan cannot answer it is
# (decline_like, data/declines.yml; set by actions.plan.assess).
FEATURE_NAMES = tuple(name for name in LEXICAL_FEATURE_NAMES if name != "wording") + (
    "wording_uncovered",
    "example_uncovered",
    "example_agrees_uncovered",
    "decline_like",
    "learned_uncovered",
    "learned_agrees_uncovered",
)


def with_interactions(values: dict[str, float]) -> dict[str, float]:
    """`values` with the wording, example and classifier signals weighed by how much of the question the best
    passage's words leave uncovered: they speak for a question in residents' own words (我妈一个人在家吃不上饭),
    and must not overrule a question whose words the passage has (长者饭堂怎么申请, which the classifier gives to
    the questions the plan cannot answer, many of which ask about 长者饭堂)."""
    uncovered = 1.0 - values.get("coverage", 0.0)
    return values | {
        "wording_uncovered": values.get("wording", 0.5) * uncovered,
        "example_uncovered": values.get("example", 0.0) * uncovered,
        "example_agrees_uncovered": values.get("example_agrees", 0.0) * uncovered,
        "learned_uncovered": values.get("learned", 0.0) * uncovered,
        "learned_agrees_uncovered": values.get("learned_agrees", 0.0) * uncovered,
    }


# Terms (content and filler); a resident who writes this many usually says who they are before they ask.
LONG_QUESTION = 8
ASK_KINDS = ("price", "place", "hours", "contact", "person", "who", "date", "detail")


def features(
    hits: list, query, intent: str | None, confidence: float | None, plan_years: set[int] | None = None
) -> dict[str, float]:
    """What the decision is made on: how well the best passage covers the question, how clearly it beats the
    next one, how rare the terms it has and lacks are, whether the NLU's reading agrees, and whether the question
    asks for a kind of fact a work plan does not give (a price, an address, another year …)."""
    # The kind of fact asked is read where the asking is (after 想问一下): 以前也打过电话反映过 earlier in a long
    # message does not ask for a phone number.
    asked = lexicon.asks_for(query.text[query.focus :], hits[0].passage["text"] if hits else "")
    question = {f"asks_{kind}": float(kind in asked) for kind in ASK_KINDS}
    known_years = set(plan_years or {2020}) | lexicon.years_in(hits[0].passage["text"] if hits else "")
    question["other_year"] = float(
        lexicon.other_years(query.text, known_years)
        or lexicon.other_plan_year(query.text, set(plan_years or {2020}), hits[0].passage["text"] if hits else "")
    )
    # Not a feature of the model but a rule of decide(): no passage speaks for another year.
    question["another_year"] = float(
        lexicon.another_year(query.text, set(plan_years or {2020}), hits[0].passage["text"] if hits else "")
    )
    question["other_place"] = float(
        lexicon.other_place(lexicon.asked_part(query.text, query.focus), hits[0].passage["text"] if hits else "")
    )
    # Not a feature of the model but a rule of decide(): the plan is West District's, not 石岐's.
    question["another_district"] = float(
        bool(
            lexicon.other_district(lexicon.asked_part(query.text, query.focus), hits[0].passage["text"] if hits else "")
        )
    )
    # Not a feature of the model but a rule of decide(): the way to a place, the name of an office holder.
    no_plan_fact = lexicon.asks_what_no_plan_gives(query.text[query.focus :])
    question["asks_no_plan_fact"] = float(bool(no_plan_fact))
    if no_plan_fact:  # the decline says what the plan lacks (actions/plan.py)
        question[f"asks_{no_plan_fact}"] = 1.0
    question["long_question"] = float(len(query.groups) >= LONG_QUESTION)
    question["wording"] = wording_probability(query.text)
    # Not features of the model but a rule of decide(): a when-question whose passage gives a time.
    question["asks_when"] = float(lexicon.asks_when(query.text[query.focus :]))
    question["gives_date"] = float(bool(hits) and lexicon.gives_a_date(hits[0].passage["text"]))
    if not hits:
        return (
            {name: 0.0 for name in FEATURE_NAMES}
            | {"example": 0.0, "example_agrees": 0.0, "learned": 0.0, "learned_agrees": 0.0}
            | question
            | {
                "topic_intent": float(intent in TOPIC_INTENTS),
                "out_of_scope": float(intent == "out_of_scope"),
                "other_intent": float(intent not in TOPIC_INTENTS and intent != "out_of_scope"),
                "confidence": float(confidence or 0.0),
            }
        )
    best = hits[0]
    # The runner-up is the best passage under another heading: passages of one heading say one thing.
    second = next((h.coverage for h in hits[1:] if _heading(h) != _heading(best)), 0.0)
    content = [g for g in query.groups if g.is_content]
    topic = TOPIC_INTENTS.get(intent or "")
    passage_entities = set(best.passage.get("entities") or [])
    return {
        "coverage": best.coverage,
        "all_covered": float(best.coverage >= 0.999),
        "coverage_all": best.coverage_all,
        "second_coverage": second,
        "gap": best.coverage - second,
        "bm25": math.log1p(max(0.0, -best.bm25)),
        "best_matched": best.best_matched,
        "worst_missing": best.worst_missing,
        "missing_share": best.worst_missing / best.content_weight if best.content_weight else 1.0,
        "content_terms": float(len(content)),
        "matched_share": len(best.matched) / max(1, len(query.groups)),
        # A name said in the resident's story before the ask (我哋屋企喺馬山住咗三十幾年，佢叫我問清楚：安置房幾時…) is
        # where they are, not a name the answer must have.
        "has_entity": float(any(g.kind == "entity" and query.in_focus(g) for g in query.groups)),
        "entity_agrees": float(bool(set(query.entities) & passage_entities)),
        "topic_agrees": float(bool(topic) and topic in (best.passage.get("topics") or [])),
        "topic_intent": float(intent in TOPIC_INTENTS),
        "out_of_scope": float(intent == "out_of_scope"),
        "other_intent": float(intent not in TOPIC_INTENTS and intent != "out_of_scope"),
        "confidence": float(confidence or 0.0),
        "focus_coverage": best.focus_coverage if query.focus else best.coverage,
        "example": best.example,
        # The passage most like one of the examples is the best passage too.
        "example_agrees": float(best.example > 0 and best.example >= max(h.example for h in hits)),
        "learned": best.learned,
        "learned_agrees": float(best.learned > 0 and best.learned >= max(h.learned for h in hits)),
        **question,
    }


def wording_probability(text: str) -> float:
    """How much the question is worded like one the plan answers (wording.py); 0.5 with no fitted model."""
    try:
        model = wording.default_model()
    except FileNotFoundError:
        return 0.5
    return model.probability(text)


def _heading(hit) -> str:
    return hit.passage.get("heading") or hit.passage.get("text") or ""


def decide(values: dict[str, float], model: Model | None = None) -> Decision:
    """Answer (sure), offer the closest passage (fairly_sure) or decline, from `features()`."""
    model = model or default_model()
    if values.get("content_terms", 0.0) == 0.0 or (
        values.get("coverage", 0.0) == 0.0
        and values.get("example", 0.0) < EXAMPLE_FLOOR
        and values.get("learned", 0.0) < LEARNED_FLOOR
    ):
        return Decision(DECLINE, 0.0)  # nothing the question is about is in the plan or like its examples
    if values.get("another_year"):
        return Decision(DECLINE, 0.0)  # 2019年的生产总值, 西区2021年的工作计划: not this plan's to say
    if values.get("unknown_road"):
        return Decision(DECLINE, 0.0)  # 岐江公路会不会拓宽: the plan's roads are not that one
    if values.get("another_district"):
        return Decision(DECLINE, 0.0)  # 石岐区今年有什么民生实事: West District's plan does not say
    if values.get("asks_no_plan_fact"):
        return Decision(DECLINE, 0.0)  # 黄健故居在哪里，怎样去; 中山一中西区中学校长是谁
    if values.get("asks_meaning"):
        return Decision(SURE, 1.0)  # 白改黑是什么意思: the staff glossary explains it (actions/plan.py)
    if values.get("asks_when") and values.get("gives_date") and values.get("all_covered"):
        return Decision(SURE, 1.0)  # 翠湾路什么时候通车, with 翠湾路已于2026年10月1日全线通车 from staff
    decision = _threshold(model, model.probability(values))
    # The second opinion speaks for a question whose every word the best passage has, or every word of what it
    # asks (我住石岐，想问西区的长者饭堂怎么申请: after 想问).
    if model.lexical is not None and (values.get("all_covered") or values.get("focus_coverage", 0.0) >= 0.999):
        second = _threshold(model.lexical, model.lexical.probability(values))
        if KINDS.index(second.kind) < KINDS.index(decision.kind):
            return second
    if decision.kind == SURE and values.get("coverage", 0.0) == 0.0:
        # Found through example questions alone, with none of the question's words: offered as the closest
        # passage, with the next ones as buttons, never said as the answer. A long story about a stroke and
        # high blood pressure resembled the examples of 困难群体救助 more than those of 家庭医生 (a tryout).
        return Decision(FAIRLY_SURE, decision.probability)
    return decision


KINDS = (SURE, FAIRLY_SURE, DECLINE)  # from the most to the least sure


def _threshold(model: Model, p: float) -> Decision:
    if p >= model.sure:
        return Decision(SURE, p)
    if p >= model.fairly_sure:
        return Decision(FAIRLY_SURE, p)
    return Decision(DECLINE, p)


def decide_about_entity(values: dict[str, float]) -> Decision:
    """A question that says nothing but points at an entity (那边呢, with 翠湾路 from the conversation): answer
    with the best passage that names it, decline when none does."""
    if values.get("entity_agrees"):
        return Decision(SURE, 1.0)
    return Decision(DECLINE, 0.0)
