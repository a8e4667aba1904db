"""A knowledge base built from the shipped plan in a folder of its own, for tests and benchmarks."""

from __future__ import annotations

from pathlib import Path

from knowledge import dictionary, ingest, segment, store
from knowledge.settings import get_settings


def build_knowledge_base(folder: Path) -> Path:
    """Build `folder`/knowledge.db and its jieba dictionary from the shipped documents, and load the dictionary."""
    path = folder / "knowledge.db"
    db = store.open_for_writing(path)
    ingest.build(db, get_settings().documents_dir, "12345 政务服务热线")
    dictionary.write_jieba_dictionary(db, folder / "jieba")
    db.conn.close()
    segment.init_jieba(folder / "jieba")
    return path
