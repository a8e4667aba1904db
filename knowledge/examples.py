"""Resident questions that each passage answers, as a second way to find a passage.

The lexical search (search.py) finds a passage through the words a question shares with it. Residents often
share none: 我妈一个人在家中午没饭吃 asks for 长者助餐 without one of its words. For that, each passage keeps
example questions in residents' words (data/examples.yml, written from the plan alone, never from the question
bank), and a question is compared with them by its characters and character pairs, weighted by rarity among
the examples (tf-idf, cosine). A passage's example score is its best example's similarity.

The score is one more signal for ranking (search.py) and for the answer policy (policy.py), which learns from
the question bank how far it can be trusted. Questions near the plan's topics that it cannot answer
(data/declines.yml: 长者饭堂一餐几多钱) are indexed the same way: how like the closest of them a question is
tells the policy too.

A classifier learned from all the examples together (PassageClassifier, with the further examples of
data/examples_more.yml and the plan's own sentences) gives each passage a share: one more signal for the ranking
and the policy, which again weigh it by what the words leave uncovered.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import yaml
from scipy import sparse  # type: ignore[import-untyped]

from .settings import DATA_DIR

EXAMPLES_PATH = DATA_DIR / "examples.yml"
MORE_EXAMPLES_PATH = DATA_DIR / "examples_more.yml"  # for the classifier only (see that file)
DECLINES_PATH = DATA_DIR / "declines.yml"
Key = tuple[str, int]  # a passage's document title and its number in it
_HAN_OR_WORD = re.compile(r"[\u4e00-\u9fff]+|[a-z0-9]+")


def grams(text: str) -> Counter:
    """The characters and pairs of adjacent characters of each run of Chinese (a Latin word or number whole)."""
    out: Counter = Counter()
    for run in _HAN_OR_WORD.findall(text.lower()):
        if not "\u4e00" <= run[0] <= "\u9fff":
            out[run] += 1
            continue
        out.update(run)
        out.update(run[i : i + 2] for i in range(len(run) - 1))
    return out


class ExampleIndex:
    """Example questions by passage key, searchable by similarity. The texts are already in match form."""

    def __init__(self, examples: Iterable[tuple[Key, str]]):
        pairs = sorted(((key, grams(text)) for key, text in examples), key=lambda pair: pair[0])
        pairs = [(key, g) for key, g in pairs if g]
        self.size = len(pairs)
        df: Counter = Counter()
        for _, g in pairs:
            df.update(g.keys())
        self._column = {gram: i for i, gram in enumerate(df)}
        self._idf = np.array([math.log(1 + self.size / n) for n in df.values()])
        rows, cols, values = [], [], []
        for row, (_, g) in enumerate(pairs):
            cols_here, weights = self._weights(g)
            rows += [row] * len(cols_here)
            cols += cols_here
            values += list(weights)
        self._matrix = sparse.csr_matrix((values, (rows, cols)), shape=(self.size, len(self._column)))
        # Rows are sorted by key: each passage's rows start where its key first appears.
        starts = [row for row, (key, _) in enumerate(pairs) if row == 0 or pairs[row - 1][0] != key]
        self._keys = [pairs[row][0] for row in starts]
        self._starts = np.array(starts, dtype=int)

    def _weights(self, counts: Counter) -> tuple[list[int], np.ndarray]:
        """Column numbers and unit-length tf-idf weights of the grams the examples have."""
        cols = [self._column[g] for g in counts if g in self._column]
        tf = np.array([1 + math.log(n) for g, n in counts.items() if g in self._column])
        weights = tf * self._idf[cols] if cols else tf
        norm = float(np.sqrt((weights**2).sum())) or 1.0
        return cols, weights / norm

    def scores(self, text: str) -> dict[Key, float]:
        """Each passage's best similarity (0-1) between `text` and one of its examples; passages whose examples
        share nothing with `text` are left out."""
        if not self.size:
            return {}
        cols, weights = self._weights(grams(text))
        if not cols:
            return {}
        query = np.zeros(len(self._column))
        query[cols] = weights
        similarity = self._matrix @ query
        best = np.maximum.reduceat(similarity, self._starts)
        return {key: float(s) for key, s in zip(self._keys, best) if s > 0}


class PassageClassifier:
    """Which passage a question asks about, learned from the example questions: a linear SVM over tf-idf of
    characters and character pairs, one class per passage and one (NONE) for the questions the plan cannot
    answer. Where the index above keeps each example apart (the best one speaks), this weighs every example of
    every passage together, so a gram common to one passage's examples and rare in the others' counts most.

    `scores` gives each class a probability-like share (a softmax of the SVM's decision values), so the
    ranking and the answer policy can weigh it beside the words' coverage. scikit-learn learns the weights; a
    question is scored with them directly (numpy), a tenth of the time its vectorizer takes for one text."""

    def __init__(self, examples: Iterable[tuple[Key, str]], c: float = 1.0, temperature: float = 5.0):
        from sklearn.feature_extraction.text import TfidfVectorizer  # type: ignore[import-untyped]
        from sklearn.svm import LinearSVC  # type: ignore[import-untyped]

        pairs = [(key, text) for key, text in examples if grams(text)]
        self.temperature = temperature
        self.keys: list[Key] = sorted({key for key, _ in pairs})
        self.size = len(pairs)
        self._column: dict[str, int] = {}
        if len(self.keys) < 2:
            return
        vectorizer = TfidfVectorizer(analyzer=_grams_for_sklearn, sublinear_tf=True)
        matrix = vectorizer.fit_transform([text for _, text in pairs])
        number = {key: i for i, key in enumerate(self.keys)}
        svm = LinearSVC(C=c, random_state=0).fit(matrix, [number[key] for key, _ in pairs])
        coef, intercept = svm.coef_, svm.intercept_
        if len(self.keys) == 2:  # a binary SVM learns one side, for the second class
            coef, intercept = np.vstack([-coef, coef]), np.concatenate([-intercept, intercept])
        self._column = {gram: int(i) for gram, i in vectorizer.vocabulary_.items()}
        self._idf = vectorizer.idf_
        # A row per gram: its weight for each class (single precision: 63,000 grams by 115 classes is 29 MB).
        self._weights = np.ascontiguousarray(coef.T, dtype=np.float32)
        self._intercept = intercept

    def decision(self, text: str) -> np.ndarray | None:
        """The SVM's decision value for each class (self.keys' order), as scikit-learn's decision_function
        gives it; None when `text` shares no gram with the examples."""
        counts = {self._column[g]: n for g, n in grams(text).items() if g in self._column}
        if not counts:
            return None
        cols = np.fromiter(counts.keys(), dtype=int)
        tf = 1.0 + np.log(np.fromiter(counts.values(), dtype=float))
        weights = tf * self._idf[cols]
        weights /= np.sqrt((weights**2).sum())
        return weights @ self._weights[cols].astype(float) + self._intercept

    def scores(self, text: str) -> dict[Key, float]:
        """Each class's share (0-1, summing to 1) for `text`; empty when nothing was learned or `text` shares
        no gram with the examples."""
        decision = self.decision(text) if self._column else None
        if decision is None:
            return {}
        z = np.exp(self.temperature * (decision - decision.max()))
        shares = z / z.sum()
        return {key: float(s) for key, s in zip(self.keys, shares)}

    def passage_shares(self, text: str) -> dict[Key, float]:
        """The passages' shares among themselves, NONE left out: which passage the question is about if the
        plan answers it. The NONE class still shaped them when they were learned (each passage's examples were
        told apart from the questions the plan cannot answer), but it does not take the share of 长者饭堂怎么申请,
        whose words are those of many such questions (长者饭堂一餐几多钱)."""
        shares = self.scores(text)
        shares.pop(NONE, None)
        total = sum(shares.values())
        return {key: s / total for key, s in shares.items()} if total > 0 else {}


def _grams_for_sklearn(text: str) -> list[str]:
    return [g for g, n in grams(text).items() for _ in range(n)]


NONE: Key = ("", 0)  # the class of the questions the plan cannot answer


def load(path: Path = EXAMPLES_PATH) -> dict[Key, list[str]]:
    """Examples by (document title, passage number in it): {(西区2020年工作计划, 5): [...]}."""
    if not path.exists():
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return {
        (title, int(seq)): [str(q) for q in questions or []]
        for title, passages in (data.get("documents") or {}).items()
        for seq, questions in (passages or {}).items()
    }


def load_declines(path: Path = DECLINES_PATH) -> list[str]:
    """Questions near the plan's topics that it cannot answer (data/declines.yml), of every kind."""
    if not path.exists():
        return []
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return [str(q) for questions in (data.get("questions") or {}).values() for q in questions or []]
