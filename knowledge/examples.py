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
