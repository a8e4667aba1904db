"""Rasa's LogisticRegressionClassifier with its regularization strength as a setting.

Rasa 3.6 fixes scikit-learn's C at 1.0. On our data (a thousand short messages, char n-grams, word cues and the
knowledge base's coverage features) cross-validation prefers a weaker penalty; `C` is chosen there
(benchmarks/results/nlu-cross-validation.md). Prediction is one sparse dot product: well under a millisecond,
against several for DIET, which matters when a burst of residents arrives at once.

It also reads a message that no featurizer could describe (empty, or emoji only once normalized) as a row of
zeros, where Rasa's own class fails on it, so such a message still gets its polite reply.

A message's row is the message's sentence features side by side, sparse ones first, each kind in the order the
featurizers added them: the columns Rasa's `get_sparse_features` / `get_dense_features` give. Those calls also
combine the per-token features, which this classifier never reads, and copy every matrix; profiled, that was a
third of the NLU time per message. The row is built here in one step from the same features instead
(tests/test_intent_classifier.py checks it equals Rasa's, column for column).
"""

from __future__ import annotations

from typing import Any, Dict, List

import numpy as np
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier
from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, TEXT
from rasa.shared.nlu.training_data.message import Message
from scipy.sparse import csr_matrix


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True)
class LinearIntentClassifier(LogisticRegressionClassifier):
    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        return {**LogisticRegressionClassifier.get_default_config(), "C": 1.0, "max_iter": 1000}

    def __init__(self, config: Dict[str, Any], name: str, model_storage: ModelStorage, resource: Resource) -> None:
        super().__init__({**self.get_default_config(), **config}, name, model_storage, resource)
        self.clf.set_params(C=float(self.config["C"]))

    def _create_X(self, messages: List[Message]) -> csr_matrix:
        width = getattr(self.clf, "n_features_in_", None)
        indptr, indices, data = [0], [], []
        for message in messages:
            columns, values, row_width = sentence_row(message)
            if row_width == 0 and width is None:
                raise ValueError("a training example has no features")
            if width is None:
                width = row_width
            if row_width == width:  # a message no featurizer could describe stays a row of zeros
                indices.append(columns)
                data.append(values)
                indptr.append(indptr[-1] + len(columns))
            elif row_width:
                raise ValueError(f"a message has {row_width} features where the model has {width}")
            else:
                indptr.append(indptr[-1])
        return csr_matrix(
            (
                np.concatenate(data) if data else np.zeros(0),
                np.concatenate(indices) if indices else np.zeros(0, dtype=np.int32),
                indptr,
            ),
            shape=(len(messages), width),
        )


def sentence_row(message: Message) -> tuple[np.ndarray, np.ndarray, int]:
    """The message's sentence features as (columns, values, width): sparse features first, then dense ones."""
    features = [f for f in message.features if f.attribute == TEXT and f.type == FEATURE_TYPE_SENTENCE]
    columns, values, offset = [], [], 0
    for feature in [f for f in features if f.is_sparse()] + [f for f in features if f.is_dense()]:
        if feature.is_sparse():
            matrix = feature.features.tocoo()
            columns.append(matrix.col + offset)
            values.append(matrix.data)
        else:
            row = np.asarray(feature.features).ravel()
            present = np.flatnonzero(row)
            columns.append(present + offset)
            values.append(row[present])
        offset += feature.features.shape[-1]
    if not columns:
        return np.zeros(0, dtype=np.int32), np.zeros(0), 0
    return np.concatenate(columns).astype(np.int32), np.concatenate(values).astype(np.float64), offset
