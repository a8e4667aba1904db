"""Staff input never turns into answers by accident: imports must be Chinese text, embedded page parts are
dropped, control characters are refused, and an import is one transaction, tokenized before the write lock."""

from __future__ import annotations

import random
import sqlite3
import threading

import pytest

from knowledge import ingest, staff, store
from knowledge.search import KnowledgeBase


@pytest.fixture
def db(kb_path):
    return store.open_for_writing(kb_path)


def counts(db) -> tuple[int, int, int, str]:
    return (
        db.execute("SELECT count(*) FROM documents").fetchone()[0],
        db.execute("SELECT count(*) FROM passages").fetchone()[0],
        db.execute("SELECT count(*) FROM changes").fetchone()[0],
        store.get_meta(db, "version"),
    )


def new_years_plan(plan_text: str) -> str:
    new = plan_text.replace("西区2020年工作计划", "西区2021年工作计划").replace("2020-02-06", "2021-02-10")
    return new.replace("提升改造金沙路", "完成金沙路")  # new content: the same passages again are a no-op


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_bytes_are_refused_and_nothing_is_written(db, tmp_path, seed):
    path = tmp_path / "garbage.txt"
    path.write_bytes(random.Random(seed).randbytes(200 * 1024))
    before = counts(db)
    with pytest.raises(staff.ValidationError, match="Nothing was imported"):
        staff.import_file(db, path, by="李明")
    assert counts(db) == before


@pytest.mark.parametrize(
    "content,reason",
    [
        ("Quarterly report\n" + "The district will repair roads and open canteens. " * 200, "Chinese"),
        ("西区工作计划\n" + "\x01\x02\x03\x04" * 500 + "加强长者助餐配餐服务。" * 20, "control or unprintable"),
        ("   \n\n  ", "empty"),
    ],
)
def test_text_that_is_not_a_chinese_plan_is_refused(db, tmp_path, content, reason):
    path = tmp_path / "not-a-plan.txt"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(staff.ValidationError, match=reason):
        staff.import_file(db, path, by="李明")


def test_decoding_is_strict_utf8_then_gb18030(plan_text):
    plan = new_years_plan(plan_text)
    assert ingest.decode_plan(plan.encode("utf-8")) == plan
    assert ingest.decode_plan(b"\xef\xbb\xbf" + plan.encode("utf-8")) == plan  # a BOM from Notepad
    assert ingest.decode_plan(plan.encode("gb18030")) == plan
    broken = plan.encode("utf-8")[:-1] + b"\xff\xfe\x80"
    with pytest.raises(ValueError, match="neither UTF-8 nor GB18030"):
        ingest.decode_plan(broken)


def test_a_gb18030_plan_imports_with_its_chinese_intact(db, tmp_path, plan_text):
    path = tmp_path / "plan-2021.txt"
    path.write_bytes(new_years_plan(plan_text).encode("gb18030"))
    doc_id, created, title = staff.import_file(db, path, by="李明")
    assert created and title == "西区2021年工作计划"
    texts = [r[0] for r in db.execute("SELECT text FROM passages WHERE document_id = ?", [doc_id])]
    assert any("助餐配餐" in t for t in texts) and not any("\ufffd" in t for t in texts)


def test_embedded_frames_drawings_and_templates_are_not_passages(db, tmp_path, plan_text):
    body = "".join(f"<p>{line}</p>" for line in new_years_plan(plan_text).splitlines())
    hidden = {
        "iframe": "<iframe src='x'>框架里的广告文字绝不能成为答案内容之一。</iframe>",
        "svg": "<svg><text>图形里的文字绝不能成为答案内容之一。</text></svg>",
        "object": "<object data='x'>嵌入对象的文字绝不能成为答案内容之一。</object>",
        "template": "<template><p>模板里的文字绝不能成为答案内容之一。</p></template>",
        "canvas": "<canvas>画布的替代文字绝不能成为答案内容之一。</canvas>",
    }
    page = (
        f"<!doctype html><html><body>{body[: len(body) // 2]}{''.join(hidden.values())}{body[len(body) // 2 :]}"
        "</body></html>"
    )
    path = tmp_path / "plan-2021.html"
    path.write_text(page, encoding="utf-8")
    doc_id, created, _ = staff.import_file(db, path, by="李明")
    assert created
    texts = "".join(r[0] for r in db.execute("SELECT text FROM passages WHERE document_id = ?", [doc_id]))
    assert "助餐配餐" in texts
    for tag in hidden:
        assert "绝不能成为答案" not in texts, tag


@pytest.mark.parametrize("bad", ["\x07", "\x1b[31m", "\x00", "\u202e", "\x85", "\ud800"])
def test_control_characters_are_refused_in_staff_text(db, bad):
    before = counts(db)
    with pytest.raises(staff.ValidationError, match="control character"):
        staff.add_passage(db, topic="roads", text=f"翠湾路已于2026年10月1日{bad}全线通车。", by="李明")
    with pytest.raises(staff.ValidationError, match="control character"):
        staff.edit_passage(db, 1, heading=f"标{bad}题", by="李明")
    with pytest.raises(staff.ValidationError, match="control character"):
        staff.set_glossary(db, "白改黑", f"把水泥路{bad}铺成沥青路", by="李明")
    assert counts(db) == before


def test_line_breaks_and_tabs_are_still_fine(db):
    pid = staff.add_passage(db, topic="roads", text="翠湾路已于2026年10月1日全线通车。\n双向四车道。", by="李明")
    assert "\n" in staff.get_passage(db, pid)["text"]


def test_an_import_and_its_history_record_are_one_transaction(db, tmp_path, plan_text, monkeypatch):
    path = tmp_path / "plan-2021.txt"
    path.write_text(new_years_plan(plan_text), encoding="utf-8")
    before = counts(db)

    def history_fails(*args, **kwargs):
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(staff, "_record", history_fails)
    with pytest.raises(sqlite3.OperationalError):
        staff.import_file(db, path, by="李明")
    assert counts(db) == before  # no document without its history, no history without its document
    monkeypatch.undo()
    doc_id, created, _ = staff.import_file(db, path, by="李明")
    assert created
    assert db.execute("SELECT by FROM changes WHERE action = 'import' AND row_key = ?", [str(doc_id)]).fetchone() == (
        "李明",
    )


def test_an_import_tokenizes_before_it_takes_the_write_lock(db, kb_path, tmp_path, plan_text, monkeypatch):
    path = tmp_path / "plan-2021.txt"
    path.write_text(new_years_plan(plan_text), encoding="utf-8")
    other = store.open_for_writing(kb_path)
    saved_meanwhile = []
    tokenize = ingest.passage_row

    def tokenize_while_another_staff_member_saves(passage, matcher):
        assert not db.conn.in_transaction  # no lock is held while tokenizing
        if not saved_meanwhile:
            # Another staff member saves while the import is tokenizing: it must not wait for the import.
            other.execute("PRAGMA busy_timeout=100")
            saved_meanwhile.append(staff.set_glossary(other, "白改黑", "把水泥路面铺成沥青路面", by="王芳"))
        return tokenize(passage, matcher)

    monkeypatch.setattr(ingest, "passage_row", tokenize_while_another_staff_member_saves)
    _, created, _ = staff.import_file(db, path, by="李明")
    assert created and saved_meanwhile
    assert KnowledgeBase.from_path(kb_path).glossary()["白改黑"] == "把水泥路面铺成沥青路面"


def test_two_imports_of_the_same_plan_at_once_make_one_document(kb_path, tmp_path, plan_text):
    path = tmp_path / "plan-2021.txt"
    path.write_text(new_years_plan(plan_text), encoding="utf-8")
    results, errors = [], []

    def run():
        try:
            results.append(staff.import_file(store.open_for_writing(kb_path), path, by="李明")[1])
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors and sorted(results) == [False, True]
    db = store.open_for_writing(kb_path)
    assert db.execute("SELECT count(*) FROM documents WHERE title = '西区2021年工作计划'").fetchone()[0] == 1
