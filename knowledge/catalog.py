"""The vocabulary around the plan: named entities, resident synonyms, topics and stopwords.

Entities start from `data/entities.yml` and live in the knowledge base (so staff additions are found at once);
synonyms, topics and stopwords are data files read once per process.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass

import yaml

from .settings import DATA_DIR

ENTITY_TYPES = ("road", "group", "programme", "community", "place")
RESIDENT_TOPICS = ("elderly", "employment", "roads")


@dataclass(frozen=True)
class Entity:
    name: str
    type: str
    aliases: tuple[str, ...] = ()

    @property
    def surfaces(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


@dataclass(frozen=True)
class Mention:
    surface: str
    entity: Entity
    start: int
    end: int


def load_seed_entities() -> list[Entity]:
    """The entity catalog shipped in `data/entities.yml`."""
    raw = yaml.safe_load((DATA_DIR / "entities.yml").read_text(encoding="utf-8")) or {}
    entities = []
    for etype, items in raw.items():
        if etype not in ENTITY_TYPES:
            raise ValueError(f"entities.yml: unknown entity type {etype!r}")
        for item in items or []:
            entities.append(Entity(str(item["name"]), etype, tuple(str(a) for a in item.get("aliases") or ())))
    return entities


def entities_from_rows(rows) -> list[Entity]:
    return [Entity(r["name"], r["type"], tuple(json.loads(r["aliases"] or "[]"))) for r in rows]


class EntityMatcher:
    """Finds entity mentions in text, longest surface first, without overlaps."""

    def __init__(self, entities: list[Entity]):
        self.entities = list(entities)
        pairs = []
        for entity in self.entities:
            for surface in entity.surfaces:
                if surface:
                    pairs.append((surface, entity))
        self._pairs = sorted(pairs, key=lambda p: -len(p[0]))

    def find(self, text: str) -> list[Mention]:
        taken = [False] * len(text)
        found: list[Mention] = []
        for surface, entity in self._pairs:
            start = text.find(surface)
            while start != -1:
                end = start + len(surface)
                if not any(taken[start:end]):
                    found.append(Mention(surface, entity, start, end))
                    for i in range(start, end):
                        taken[i] = True
                start = text.find(surface, end)
        return sorted(found, key=lambda m: m.start)

    def names_in(self, text: str) -> list[str]:
        """Canonical names of the entities mentioned in `text`, each once, in order of appearance."""
        seen: dict[str, None] = {}
        for mention in self.find(text):
            seen.setdefault(mention.entity.name, None)
        return list(seen)


@dataclass(frozen=True)
class Synonym:
    plan_words: tuple[str, ...]
    phrases: tuple[str, ...]


# Resident phrases -> plan words: written from the plan alone, item by item (resident_phrases.yml), then the
# district's hand list (synonyms.yml), which wins for a phrase both have.
SYNONYM_FILES = ("resident_phrases.yml", "synonyms.yml")


@functools.lru_cache(maxsize=1)
def synonyms() -> tuple[Synonym, ...]:
    entries: list[Synonym] = []
    for name in SYNONYM_FILES:
        raw = yaml.safe_load((DATA_DIR / name).read_text(encoding="utf-8")) or []
        entries += [Synonym(tuple(map(str, s["plan"])), tuple(map(str, s["say"]))) for s in raw]
    return tuple(entries)


@functools.lru_cache(maxsize=1)
def stopwords() -> frozenset[str]:
    words = set()
    for line in (DATA_DIR / "stopwords.txt").read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            words.update(line.split())
    return frozenset(words)


@dataclass(frozen=True)
class Topic:
    key: str
    label: str
    parts: tuple[int, ...]
    keywords: tuple[str, ...]


@functools.lru_cache(maxsize=1)
def topics() -> dict[str, Topic]:
    raw = yaml.safe_load((DATA_DIR / "topics.yml").read_text(encoding="utf-8"))
    return {
        key: Topic(
            key,
            value["label"],
            tuple(int(p) for p in value.get("parts") or ()),
            tuple(str(k) for k in value.get("keywords") or ()),
        )
        for key, value in raw.items()
    }


def topics_for(text: str, part_no: int | None) -> list[str]:
    """The topics a passage belongs to: its part's area plus every topic whose keywords it mentions."""
    found = []
    for topic in topics().values():
        if (part_no is not None and part_no in topic.parts) or any(k in text for k in topic.keywords):
            found.append(topic.key)
    return found
