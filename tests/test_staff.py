"""Staff changes: validated, recorded with who/when/before/after, undoable, safe with two writers, live at once."""

from __future__ import annotations

import json
import multiprocessing
import sqlite3

import pytest

from actions.plan import assess
from knowledge import policy, staff, store
from knowledge.search import KnowledgeBase

OPENING = "翠湾路已于2026年10月1日全线通车，双向四车道。"


@pytest.fixture
def db(kb_path):
    return store.open_for_writing(kb_path)


def test_an_added_passage_is_answered_on_the_next_question(db, kb_path):
    kb = KnowledgeBase.from_path(kb_path)
    before = kb.search("翠湾路什么时候通车")[0]
    assert "2026年10月1日" not in before.passage["text"]
    pid = staff.add_passage(db, topic="roads", text=OPENING, entities=["翠湾路"], by="李明")
    best = kb.search("翠湾路什么时候通车")[0]
    assert best.passage["id"] == pid
    assert best.passage["title"] == staff.STAFF_DOCUMENT_TITLE
    assert best.passage["published"] >= "2026-01-01"


def test_a_new_road_is_found_without_retraining(db, kb_path):
    staff.add_passage(db, topic="roads", text="岐港北路将于2027年动工改造。", entities=["road:岐港北路"], by="李明")
    found = assess(KnowledgeBase.from_path(kb_path), "岐港北路几时开工", "ask_roads", 0.9)
    assert found.hits and "岐港北路" in found.hits[0].passage["text"]
    assert found.decision.kind == policy.SURE
    assert db.execute("SELECT type FROM entities WHERE name = '岐港北路'").fetchone() == ("road",)


def test_edit_and_history_keep_who_when_before_and_after(db):
    pid = staff.add_passage(db, topic="roads", text=OPENING, by="李明")
    staff.edit_passage(db, pid, text=OPENING.replace("1日", "8日"), by="王芳")
    changes = staff.history(db, "passages", pid)
    assert [(c["action"], c["by"]) for c in changes] == [("add", "李明"), ("edit", "王芳")]
    assert changes[1]["before"]["text"] == OPENING
    assert "8日" in changes[1]["after"]["text"]
    assert changes[1]["at"]


def test_undo_restores_the_text_and_is_recorded(db, kb_path):
    pid = staff.add_passage(db, topic="roads", text=OPENING, by="李明")
    staff.edit_passage(db, pid, text="翠湾路推迟到2027年通车。", by="王芳")
    edit_id = staff.history(db, "passages", pid)[-1]["id"]
    undo_id = staff.undo(db, edit_id, by="李明")
    assert staff.get_passage(db, pid)["text"] == OPENING
    assert staff.get_change(db, edit_id)["undone_by"] == undo_id
    assert "2027" not in KnowledgeBase.from_path(kb_path).search("翠湾路通车")[0].passage["text"]
    with pytest.raises(staff.ConflictError):
        staff.undo(db, edit_id, by="李明")
    actions = [(c["action"], c["by"]) for c in staff.history(db, "passages", pid)]
    assert actions == [("add", "李明"), ("edit", "王芳"), ("undo", "李明")]  # the add is still in history


def test_undoing_an_add_retires_the_passage(db, kb_path):
    pid = staff.add_passage(db, topic="roads", text=OPENING, by="李明")
    add_id = staff.history(db, "passages", pid)[0]["id"]
    staff.undo(db, add_id, by="李明")
    assert staff.get_passage(db, pid)["status"] == "retired"
    assert all(h.passage["id"] != pid for h in KnowledgeBase.from_path(kb_path).search("翠湾路通车"))


def test_undo_of_an_older_change_waits_for_the_later_one(db):
    pid = staff.add_passage(db, topic="roads", text=OPENING, by="李明")
    staff.edit_passage(db, pid, text="第一次修改：翠湾路通车。", by="王芳")
    first = staff.history(db, "passages", pid)[-1]["id"]
    staff.edit_passage(db, pid, text="第二次修改：翠湾路通车。", by="王芳")
    with pytest.raises(staff.ConflictError, match="undo that first"):
        staff.undo(db, first, by="李明")


def test_retire_keeps_the_passage_but_stops_answering(db, kb_path):
    kb = KnowledgeBase.from_path(kb_path)
    meal = kb.search("长者助餐配餐")[0].passage["id"]
    staff.retire_passage(db, meal, by="李明")
    assert all(h.passage["id"] != meal for h in kb.search("长者助餐配餐"))
    assert staff.get_passage(db, meal)["status"] == "retired"
    staff.undo(db, staff.history(db, "passages", meal)[-1]["id"], by="李明")
    assert kb.search("长者助餐配餐")[0].passage["id"] == meal


@pytest.mark.parametrize(
    "fields,message",
    [
        ({"text": ""}, "text must not be empty"),
        ({"text": "路" * 2001}, "at most 2000"),
        ({"topic": "weather"}, "unknown topic"),
        ({"valid_from": "2026-02-30"}, "must be a date"),
        ({"valid_from": "2027-01-01", "valid_to": "2026-01-01"}, "after valid to"),
        ({"entities": ["新新路"]}, "give its type too"),
        ({"entities": ["street:新新路"]}, "unknown entity type"),
        ({"plain": "这是一句专门写给老年人看的但是明显超过了三十个字的非常非常长的说明。"}, "30"),
    ],
)
def test_bad_changes_are_refused_and_nothing_is_written(db, fields, message):
    before = db.execute("SELECT count(*) FROM passages").fetchone()[0]
    changes = db.execute("SELECT count(*) FROM changes").fetchone()[0]
    args = {"topic": "roads", "text": OPENING, **fields}
    with pytest.raises(staff.ValidationError, match=message):
        staff.add_passage(db, by="李明", **args)
    assert db.execute("SELECT count(*) FROM passages").fetchone()[0] == before
    assert db.execute("SELECT count(*) FROM changes").fetchone()[0] == changes


def test_a_duplicate_is_refused(db):
    staff.add_passage(db, topic="roads", text=OPENING, by="李明")
    with pytest.raises(staff.ValidationError, match="already passage"):
        staff.add_passage(db, topic="roads", text=OPENING, by="王芳")


def test_validity_dates_decide_when_a_passage_is_answered(db, kb_path):
    staff.add_passage(db, topic="roads", text="金沙路2099年封闭施工。", valid_from="2099-01-01", by="李明")
    assert all("2099" not in h.passage["text"] for h in KnowledgeBase.from_path(kb_path).search("金沙路封闭施工"))


def test_a_stale_edit_is_a_conflict_not_a_loss(db):
    pid = staff.add_passage(db, topic="roads", text=OPENING, by="李明")
    seen = staff.get_passage(db, pid)["revision"]
    staff.edit_passage(db, pid, text="王芳的版本：翠湾路通车。", by="王芳", expect_revision=seen)
    with pytest.raises(staff.ConflictError, match="王芳"):
        staff.edit_passage(db, pid, text="李明的版本：翠湾路通车。", by="李明", expect_revision=seen)
    assert staff.get_passage(db, pid)["text"] == "王芳的版本：翠湾路通车。"


def _add_many(path, who, count, queue):
    db = store.open_for_writing(path)
    done = 0
    for i in range(count):
        staff.add_passage(db, topic="livelihood", text=f"{who}添加的第{i}条社区服务信息。", by=who)
        done += 1
    queue.put(done)


def test_two_staff_writing_at_once_lose_nothing(kb_path):
    queue = multiprocessing.get_context("fork").Queue()
    workers = [
        multiprocessing.get_context("fork").Process(target=_add_many, args=(kb_path, who, 15, queue))
        for who in ("李明", "王芳")
    ]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
    assert [w.exitcode for w in workers] == [0, 0]
    db = store.open_read_only(kb_path)
    for who in ("李明", "王芳"):
        assert db.execute("SELECT count(*) FROM passages WHERE text LIKE ?", [f"{who}添加%"]).fetchone()[0] == 15
        assert db.execute("SELECT count(*) FROM changes WHERE by = ?", [who]).fetchone()[0] == 15


def test_reads_do_not_fail_while_staff_write(db, kb_path):
    kb = KnowledgeBase.from_path(kb_path)
    for i in range(20):
        staff.add_passage(db, topic="livelihood", text=f"第{i}条测试信息：社区服务。", by="李明")
        assert kb.search("长者助餐配餐")[0].coverage == 1.0


def test_contacts_and_glossary(db, kb_path):
    cid = staff.set_contact(
        db, topic="elderly", name="西区社区卫生服务中心", phone="0760-88888888", hours="周一至周五", by="李明"
    )
    contacts = KnowledgeBase.from_path(kb_path).contacts("elderly")
    assert contacts[0]["phone"] == "0760-88888888" and contacts[-1]["phone"] == "12345"
    with pytest.raises(staff.ValidationError, match="phone"):
        staff.set_contact(db, topic="elderly", name="x", phone="call me", by="李明")
    staff.remove_contact(db, cid, by="李明")
    with pytest.raises(staff.ValidationError, match="last contact"):
        staff.remove_contact(db, 1, by="李明")
    shipped = db["glossary"].get("白改黑")["plain"]
    staff.set_glossary(db, "白改黑", "把水泥路面铺成沥青路面", by="李明")
    assert db["glossary"].get("白改黑")["plain"] == "把水泥路面铺成沥青路面"
    staff.undo(db, staff.history(db, "glossary", "白改黑")[-1]["id"], by="李明")
    assert db["glossary"].get("白改黑")["plain"] == shipped
    staff.set_glossary(db, "新名词", "一个新的解释", by="李明")
    staff.undo(db, staff.history(db, "glossary", "新名词")[-1]["id"], by="李明")
    assert db.execute("SELECT count(*) FROM glossary WHERE term = '新名词'").fetchone()[0] == 0


def test_backup_and_restore(db, kb_path, tmp_path):
    kb = KnowledgeBase.from_path(kb_path)
    copy = staff.backup(db, tmp_path / "backup.db")
    pid = staff.add_passage(db, topic="roads", text=OPENING, by="李明")
    assert kb.search("翠湾路通车")[0].passage["id"] == pid
    staff.restore(db, copy, by="李明")
    assert all(h.passage["id"] != pid for h in kb.search("翠湾路通车"))
    with pytest.raises(staff.ValidationError):
        not_a_backup = tmp_path / "x.db"
        sqlite3.connect(not_a_backup).execute("CREATE TABLE t (a)")
        staff.restore(db, not_a_backup, by="李明")


def test_import_of_a_new_years_plan_is_preferred(db, kb_path, plan_text, tmp_path):
    new_plan = plan_text.replace("西区2020年工作计划", "西区2021年工作计划").replace("2020-02-06", "2021-02-10")
    new_plan = new_plan.replace("提升改造金沙路", "完成金沙路")
    path = tmp_path / "plan-2021.txt"
    path.write_text(new_plan, encoding="utf-8")
    doc_id, created, title = staff.import_file(db, path, by="李明")
    assert created and title == "西区2021年工作计划"
    assert staff.import_file(db, path, by="李明")[1] is False
    best = KnowledgeBase.from_path(kb_path).search("金沙路")[0]
    assert best.passage["title"] == "西区2021年工作计划"
    assert json.loads(db.execute("SELECT after FROM changes WHERE action = 'import'").fetchone()[0])["title"] == title
