"""The Rasa component normalizes messages before jieba and keeps entity annotations on the same words."""

from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from nlu.components.normalizer import TextNormalizer


def make(text, entities=None):
    data = {"text": text}
    if entities:
        data["entities"] = entities
    return Message(data=data)


def test_inference_messages_are_normalized_and_keep_the_original():
    [message] = TextNormalizer().process([make("長者飯堂喺邊度")])
    assert message.get("text") == "长者饭堂在哪里"
    assert message.get("original_text") == "長者飯堂喺邊度"


def test_entities_move_with_the_words_in_training_data():
    text = "有冇金業路嘅消息"
    start = text.index("金業路")
    message = make(text, [{"entity": "road", "start": start, "end": start + 3, "value": "金業路"}])
    TextNormalizer().process_training_data(TrainingData([message]))
    assert message.get("text") == "有没有金业路的消息"
    [entity] = message.get("entities")
    assert message.get("text")[entity["start"] : entity["end"]] == "金业路"
    assert entity["value"] == "金业路"


def test_synonym_values_are_kept():
    text = "沙朗市場旁邊那條路"
    message = make(text, [{"entity": "road", "start": 0, "end": len(text), "value": "沙朗市场侧道路"}])
    TextNormalizer().process_training_data(TrainingData([message]))
    [entity] = message.get("entities")
    assert entity["value"] == "沙朗市场侧道路"
    assert message.get("text")[entity["start"] : entity["end"]] == "沙朗市场旁边那条路"


def test_plain_mandarin_is_left_alone():
    [message] = TextNormalizer().process([make("金沙路什么时候修好")])
    assert message.get("text") == "金沙路什么时候修好"
    assert message.get("original_text") is None
