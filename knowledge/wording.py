"""Whether a question's wording is that of a question the plan answers, learned from the question bank.

Residents ask the plan's kind of question (今年…有什么安排, 会不会继续搞) or another kind (养老金每月领多少, 几点开门,
社保卡怎么补办). Which words and characters tell them apart does not depend on which passage is asked about, so a
model learned on some passages' questions carries over to others: a logistic regression over the question's
character n-grams (tf-idf, 1-3 characters), fitted by `benchmarks/question_bank.py --fit` on the bank's answerable
and decline questions and stored in data/wording.json. Its probability is one feature of the answer policy
(`policy.features`); it never picks a passage.

The same `ngrams()` reads a question here and in training (scikit-learn's vectorizer is given it as its
analyzer), so what is stored is scored the same way at run time, with no scikit-learn in the action server.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from .settings import DATA_DIR

MODEL_PATH = DATA_DIR / "wording.json"
NGRAM_SIZES = (1, 2, 3)
_SPACES = re.compile(r"\s+")


def ngrams(text: str) -> list[str]:
    """The character n-grams of a normalized question (lower-cased, runs of white space as one space)."""
    text = _SPACES.sub(" ", text.lower()).strip()
    return [text[i : i + n] for n in NGRAM_SIZES for i in range(len(text) - n + 1)]


@dataclass(frozen=True)
class WordingModel:
    """tf-idf (sublinear tf, l2-normalized) then a logistic regression, as scikit-learn computes them."""

    idf: dict[str, float]
    coef: dict[str, float]
    intercept: float

    def probability(self, text: str) -> float:
        counts = Counter(g for g in ngrams(text) if g in self.idf)
        if not counts:
            return 1.0 / (1.0 + math.exp(-self.intercept))
        weights = {g: (1.0 + math.log(n)) * self.idf[g] for g, n in counts.items()}
        norm = math.sqrt(sum(w * w for w in weights.values())) or 1.0
        z = self.intercept + sum(self.coef.get(g, 0.0) * w / norm for g, w in weights.items())
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))

    def to_json(self, **extra) -> str:
        grams = sorted(self.idf)
        data = {
            **extra,
            "ngram_sizes": NGRAM_SIZES,
            "intercept": round(self.intercept, 6),
            # n-gram -> [idf, coefficient]
            "ngrams": {g: [round(self.idf[g], 5), round(self.coef.get(g, 0.0), 5)] for g in grams},
        }
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> WordingModel:
        data = json.loads(text)
        if tuple(data.get("ngram_sizes") or ()) != NGRAM_SIZES:
            raise ValueError(f"wording model was fitted with n-grams {data.get('ngram_sizes')}, not {NGRAM_SIZES}")
        grams = data["ngrams"]
        return cls({g: v[0] for g, v in grams.items()}, {g: v[1] for g, v in grams.items()}, float(data["intercept"]))


def load_model(path: Path = MODEL_PATH) -> WordingModel:
    return WordingModel.from_json(Path(path).read_text(encoding="utf-8"))


@functools.lru_cache(maxsize=1)
def default_model() -> WordingModel:
    return load_model()


def fit(texts: list[str], answerable: list[int], c: float = 1.0) -> WordingModel:
    """Fit on questions (normalized as the search reads them) labelled 1 (the plan answers it) or 0 (decline).

    scikit-learn does the fitting; only the benchmark calls this, never the servers.
    """
    from sklearn.feature_extraction.text import TfidfVectorizer  # type: ignore[import-untyped]
    from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]

    vectorizer = TfidfVectorizer(analyzer=ngrams, min_df=2, sublinear_tf=True)
    x = vectorizer.fit_transform(texts)
    model = LogisticRegression(C=c, max_iter=3000, class_weight="balanced").fit(x, answerable)
    vocabulary = vectorizer.vocabulary_
    idf = {g: float(vectorizer.idf_[i]) for g, i in vocabulary.items()}
    coef = {g: float(model.coef_[0][i]) for g, i in vocabulary.items()}
    return WordingModel(idf, coef, float(model.intercept_[0]))
