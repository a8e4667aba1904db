"""A Rasa graph component that normalizes resident text before jieba splits it.

It calls the same `knowledge.text.normalize_question` the search uses, so the NLU and the knowledge base read a
question alike: traditional -> simplified (OpenCC), Cantonese -> Mandarin (data table), full-width -> half-width,
emoji dropped, repeated punctuation collapsed. Entity annotations in training data are moved to the new text.
"""

from __future__ import annotations

import logging
from typing import Any, Dict, List

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from knowledge.text import normalize_question

logger = logging.getLogger(__name__)

ORIGINAL_TEXT = "original_text"


# Registered as a tokenizer-type node so the recipe runs it in the message chain, before JiebaTokenizer.
@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER], is_trainable=False)
class TextNormalizer(GraphComponent):
    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> TextNormalizer:
        return cls()

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        for message in training_data.training_examples:
            normalize_message(message)
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            normalize_message(message)
        return messages


def normalize_message(message: Message) -> None:
    """Normalize the message text in place; keep entity spans on the same words."""
    text = message.get(TEXT)
    if not isinstance(text, str) or not text:
        return
    normalized = normalize_question(text)
    if normalized == text:
        return
    if message.get(ENTITIES):
        message.set(ENTITIES, _move_entities(text, normalized, message.get(ENTITIES)))
    message.set(ORIGINAL_TEXT, text, add_to_output=True)
    message.set(TEXT, normalized)


def _move_entities(old: str, new: str, entities: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    moved, search_from = [], 0
    for entity in sorted(entities, key=lambda e: e.get("start", 0)):
        surface = normalize_question(old[entity["start"] : entity["end"]])
        start: int | None = new.find(surface, search_from) if surface else -1
        if start == -1:
            logger.warning("dropping entity %r: not found after normalizing %r", surface, old)
            continue
        updated = dict(entity, start=start, end=start + len(surface))
        if entity.get("value") == old[entity["start"] : entity["end"]]:
            updated["value"] = surface
        moved.append(updated)
        search_from = start + len(surface)
    return moved
