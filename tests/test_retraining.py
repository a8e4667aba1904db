"""Retraining cannot be missed: Rasa's training cache reruns the KnowledgeFeaturizer when what it reads changes.

Rasa fingerprints a component by its class source and config; the featurizer adds its code, data and the
knowledge base's content (fingerprint_addon). These tests train a tiny NLU pipeline in a temporary folder with
Rasa's own cache, and count how often the featurizer really runs.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import rasa.model_training
import sqlite_utils

from knowledge import staff
from nlu.components import knowledge_featurizer

ROOT = Path(__file__).resolve().parent.parent

CONFIG = """\
recipe: default.v1
language: zh
assistant_id: retraining-test
pipeline:
  - name: JiebaTokenizer
  - name: nlu.components.knowledge_featurizer.KnowledgeFeaturizer
  - name: nlu.components.intent_classifier.LinearIntentClassifier
policies: []
"""

NLU = """\
version: "3.1"
nlu:
- intent: ask_plan
  examples: |
    - 长者饭堂在哪里
    - 就业有什么帮扶
    - 道路什么时候修好
- intent: out_of_scope
  examples: |
    - 今天下雨吗
    - 讲个笑话
    - 你喜欢什么颜色
"""
EXAMPLES = 6


@pytest.fixture
def training(tmp_path, kb_path, built_kb, monkeypatch):
    """Train the tiny pipeline on demand; returns a function giving how many times the featurizer ran."""
    (tmp_path / "config.yml").write_text(CONFIG, encoding="utf-8")
    (tmp_path / "nlu.yml").write_text(NLU, encoding="utf-8")
    data_dir = tmp_path / "data"
    shutil.copytree(knowledge_featurizer.DATA_DIR, data_dir)
    monkeypatch.setattr(knowledge_featurizer, "DATA_DIR", data_dir)
    monkeypatch.setenv("RASA_CACHE_DIRECTORY", str(tmp_path / "cache"))
    monkeypatch.setenv("WESTBOT_KB", str(kb_path))
    monkeypatch.setenv("WESTBOT_JIEBA_DICT", str(built_kb.parent / "jieba"))
    knowledge_featurizer._knowledge_base.cache_clear()

    featurized = []
    features = knowledge_featurizer.knowledge_features

    def counting(text, kb):
        featurized.append(text)
        return features(text, kb)

    monkeypatch.setattr(knowledge_featurizer, "knowledge_features", counting)

    def train() -> int:
        """Train once; the number of training examples the featurizer computed (0 when Rasa's cache had them)."""
        featurized.clear()
        model = rasa.model_training.train_nlu(
            str(tmp_path / "config.yml"), str(tmp_path / "nlu.yml"), str(tmp_path / "models")
        )
        assert model and Path(model).exists()
        return len(featurized)

    yield train
    knowledge_featurizer._knowledge_base.cache_clear()


def test_training_reruns_the_featurizer_when_its_data_or_knowledge_changes(training, kb_path):
    assert training() == EXAMPLES
    # Nothing changed: Rasa's cache skips the featurizer (so the counts below can tell a retrain apart).
    assert training() == 0

    synonyms = knowledge_featurizer.DATA_DIR / "synonyms.yml"
    synonyms.write_text(synonyms.read_text(encoding="utf-8") + "\n# changed\n", encoding="utf-8")
    assert training() == EXAMPLES

    db = sqlite_utils.Database(kb_path)
    passage = db.execute("SELECT id FROM passages WHERE status = 'active' ORDER BY id LIMIT 1").fetchone()[0]
    staff.edit_passage(db, passage, by="test", text="为辖区长者提供助餐配餐服务，每周一至周五中午开放。")
    db.conn.close()
    assert training() == EXAMPLES
    assert training() == 0


def test_knowledge_base_digest_follows_content_not_bookkeeping(kb_path):
    before = knowledge_featurizer.knowledge_base_digest(kb_path)
    db = sqlite_utils.Database(kb_path)
    db.execute("UPDATE passages SET updated_at = '2099-01-01'")
    db.conn.commit()
    assert knowledge_featurizer.knowledge_base_digest(kb_path) == before
    db.execute("UPDATE entities SET aliases = '[\"测试别名\"]' WHERE rowid = 1")
    db.conn.commit()
    db.conn.close()
    assert knowledge_featurizer.knowledge_base_digest(kb_path) != before


def test_makefile_retrains_on_the_files_the_fingerprint_hashes():
    listed = subprocess.run(
        ["make", "-s", "--no-print-directory", "--eval", "print-%: ; @echo $($*)", "print-FEATURIZER_SOURCES"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    hashed = {str(p.relative_to(ROOT)) for p in knowledge_featurizer.fingerprint_sources()}
    # The featurizer's own file is a prerequisite through nlu/components/*.py.
    assert hashed - {"nlu/components/knowledge_featurizer.py"} == set(listed)
