"""Staff teach the bot a resident phrase (`kb phrase`): validated, recorded, live for the next question, undoable."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from knowledge import staff, store
from knowledge.cli import cli
from knowledge.search import KnowledgeBase

QUESTION = "想打零工有没有门路"


def best_ids(kb_path, question=QUESTION):
    return [h.passage["id"] for h in KnowledgeBase.from_path(kb_path).search(question, limit=3)]


def public_jobs_passage(kb_path) -> int:
    return next(h.passage["id"] for h in KnowledgeBase.from_path(kb_path).search("公益性岗位", limit=1))


def test_a_phrase_is_live_for_the_next_question_and_undo_takes_it_back(kb_path):
    reader = KnowledgeBase.from_path(kb_path)  # a serving reader opened before the change
    target = public_jobs_passage(kb_path)
    before = reader.search(QUESTION, limit=1)
    assert not before or before[0].passage["id"] != target
    db = store.open_for_writing(kb_path)
    saved = staff.add_phrase(db, "打零工", "公益性岗位", by="李明")
    assert saved == {"phrase": "打零工", "means": ["公益性岗位"]}
    after = reader.search(QUESTION, limit=1)[0]
    assert after.passage["id"] == target and "公益性岗位" in after.matched
    change = staff.history(db, "phrases", "打零工")[-1]
    assert change["by"] == "李明" and change["after"]["phrase"] == "打零工"
    staff.undo(db, change["id"], by="李明")
    assert staff.list_phrases(db) == []
    again = reader.search(QUESTION, limit=1)
    assert not again or again[0].passage["id"] != target


@pytest.mark.parametrize(
    "phrase, means, message",
    [
        ("", "就业", "must not be empty"),
        ("打零工", "比特币", "the plan never uses 比特币"),
        ("打零工", " , ", "at least one plan word"),
        ("x" * 30, "就业", "at most 20"),
    ],
)
def test_a_bad_phrase_is_refused_and_nothing_is_written(kb_path, phrase, means, message):
    db = store.open_for_writing(kb_path)
    with pytest.raises(staff.ValidationError, match=message):
        staff.add_phrase(db, phrase, means, by="李明")
    assert staff.list_phrases(db) == []


def test_removing_a_phrase_no_one_added_says_so(kb_path):
    with pytest.raises(staff.NotFound):
        staff.remove_phrase(store.open_for_writing(kb_path), "打零工", by="李明")


def test_the_cli_adds_lists_and_removes_a_phrase(kb_path):
    runner = CliRunner()
    added = runner.invoke(
        cli, ["phrase", "add", "打零工", "--means", "公益性岗位,就业", "--db", str(kb_path), "--by", "李明"]
    )
    assert added.exit_code == 0, added.output
    assert "from the next question" in added.output
    listed = runner.invoke(cli, ["phrase", "list", "--db", str(kb_path)])
    assert "打零工 -> 公益性岗位, 就业" in listed.output
    refused = runner.invoke(cli, ["phrase", "add", "打零工", "--means", "比特币", "--db", str(kb_path)])
    assert refused.exit_code == 1 and "never uses" in refused.output
    removed = runner.invoke(cli, ["phrase", "remove", "打零工", "--db", str(kb_path), "--by", "李明"])
    assert removed.exit_code == 0 and best_ids(kb_path)[:1] != [public_jobs_passage(kb_path)]
