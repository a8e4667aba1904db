"""The linear intent classifier: C is a setting, and a message no featurizer described still gets an intent."""
import numpy as np
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, TEXT
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from nlu.components.intent_classifier import LinearIntentClassifier


def featurized(text, vector, intent=None):
    message = Message(data={"text": text, **({"intent": intent} if intent else {})})
    message.add_features(Features(np.array([vector], dtype=float), FEATURE_TYPE_SENTENCE, TEXT, "test"))
    return message


def make(tmp_path, **config):
    storage = LocalModelStorage(tmp_path)
    context = ExecutionContext(GraphSchema({}), "test")
    return LinearIntentClassifier.create({**LinearIntentClassifier.get_default_config(), **config},
                                         storage, Resource("linear"), context)


def train(classifier):
    examples = [featurized("谢谢", [1, 0], "thanks"), featurized("多谢", [1, 0.1], "thanks"),
                featurized("再见", [0, 1], "goodbye"), featurized("拜拜", [0.1, 1], "goodbye")]
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
