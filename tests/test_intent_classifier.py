"""The linear intent classifier: C is a setting, and a message no featurizer described still gets an intent."""

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, FEATURE_TYPE_SEQUENCE, TEXT
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from scipy.sparse import coo_matrix, csr_matrix, hstack

from nlu.components.intent_classifier import LinearIntentClassifier


def featurized(text, vector, intent=None):
    message = Message(data={"text": text, **({"intent": intent} if intent else {})})
    message.add_features(Features(np.array([vector], dtype=float), FEATURE_TYPE_SENTENCE, TEXT, "test"))
    return message


def make(tmp_path, **config):
    storage = LocalModelStorage(tmp_path)
    context = ExecutionContext(GraphSchema({}), "test")
    return LinearIntentClassifier.create(
        {**LinearIntentClassifier.get_default_config(), **config}, storage, Resource("linear"), context
    )


def train(classifier):
    examples = [
        featurized("谢谢", [1, 0], "thanks"),
        featurized("多谢", [1, 0.1], "thanks"),
        featurized("再见", [0, 1], "goodbye"),
        featurized("拜拜", [0.1, 1], "goodbye"),
    ]
    classifier.train(TrainingData(examples))
    return classifier


def test_c_reaches_scikit_learn(tmp_path):
    assert make(tmp_path, C=42).clf.C == 42.0


def test_learns_and_ranks(tmp_path):
    classifier = train(make(tmp_path, C=100))
    [message] = classifier.process([featurized("感谢", [0.9, 0])])
    assert message.get("intent")["name"] == "thanks"
    assert [r["name"] for r in message.get("intent_ranking")] == ["thanks", "goodbye"]


def test_a_message_without_features_still_gets_an_intent(tmp_path):
    classifier = train(make(tmp_path))
    [message] = classifier.process([Message(data={"text": ""})])
    assert message.get("intent")["name"] in {"thanks", "goodbye"}
    assert 0 < message.get("intent")["confidence"] <= 1


def rasas_row(message):
    """The row as Rasa's own LogisticRegressionClassifier builds it."""
    sparse = message.get_sparse_features(attribute=TEXT)[1]
    dense = message.get_dense_features(attribute=TEXT)[1]
    return hstack([csr_matrix(f.features) for f in (sparse, dense) if f is not None]).toarray()


def test_rows_have_rasas_columns(tmp_path):
    rng = np.random.default_rng(0)
    message = Message(data={"text": "粤信路会改造吗"})
    sparse = lambda width: coo_matrix(rng.random((1, width)) * (rng.random((1, width)) < 0.3))  # noqa: E731
    message.add_features(Features(sparse(7), FEATURE_TYPE_SENTENCE, TEXT, "words"))
    message.add_features(Features(coo_matrix(rng.random((4, 7))), FEATURE_TYPE_SEQUENCE, TEXT, "words"))
    message.add_features(Features(rng.random((1, 3)), FEATURE_TYPE_SENTENCE, TEXT, "knowledge"))  # dense, in between
    message.add_features(Features(sparse(11), FEATURE_TYPE_SENTENCE, TEXT, "chars"))
    message.add_features(Features(sparse(5), FEATURE_TYPE_SENTENCE, "intent", "other attribute"))
    message.add_features(Features(np.array([[0.0, 2.5]]), FEATURE_TYPE_SENTENCE, TEXT, "cues"))
    classifier = make(tmp_path)
    row = classifier._create_X([message, Message(data={"text": ""}), message]).toarray()
    assert row.shape == (3, 7 + 11 + 3 + 2)
    np.testing.assert_array_equal(row[0], rasas_row(message)[0])
    np.testing.assert_array_equal(row[1], 0)
    np.testing.assert_array_equal(row[2], row[0])
