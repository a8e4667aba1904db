"""Rasa's LogisticRegressionClassifier with its regularization strength as a setting.

Rasa 3.6 fixes scikit-learn's C at 1.0. On our data (a thousand short messages, char n-grams, word cues and the
knowledge base's coverage features) cross-validation prefers a weaker penalty; `C` is chosen there
(benchmarks/results/nlu-cross-validation.md). Prediction is one sparse dot product: well under a millisecond,
against several for DIET, which matters when a burst of residents arrives at once.

It also reads a message that no featurizer could describe (empty, or emoji only once normalized) as a row of
zeros, where Rasa's own class fails on it, so such a message still gets its polite reply.
"""
from __future__ import annotations

from typing import Any, Dict, List, Text

from scipy.sparse import csr_matrix, hstack, vstack

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True)
class LinearIntentClassifier(LogisticRegressionClassifier):
    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {**LogisticRegressionClassifier.get_default_config(), "C": 1.0, "max_iter": 1000}

    def __init__(self, config: Dict[Text, Any], name: Text, model_storage: ModelStorage,
                 resource: Resource) -> None:
        super().__init__({**self.get_default_config(), **config}, name, model_storage, resource)
        self.clf.set_params(C=float(self.config["C"]))

    def _create_X(self, messages: List[Message]) -> csr_matrix:
        width = getattr(self.clf, "n_features_in_", None)
        rows = []
        for message in messages:
            sparse = message.get_sparse_features(attribute=TEXT)[1]
            dense = message.get_dense_features(attribute=TEXT)[1]
            parts = [csr_matrix(f.features) for f in (sparse, dense) if f is not None]
            if parts:
                rows.append(hstack(parts).tocsr())
            elif width is not None:
                rows.append(csr_matrix((1, width)))
            else:
                raise ValueError("a training example has no features")
        return vstack(rows).tocsr()
