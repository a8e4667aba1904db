"""The staff command line, through click's CliRunner."""

import json

import pytest
from click.testing import CliRunner

from knowledge.cli import cli


def test_build_is_idempotent(tmp_path, monkeypatch):
    db = tmp_path / "kb.db"
    runner = CliRunner()
    first = runner.invoke(cli, ["build", "--db", str(db)])
    assert first.exit_code == 0, first.output
    assert "imported: 西区2020年工作计划" in first.output
    second = runner.invoke(cli, ["build", "--db", str(db)])
    assert "unchanged: 西区2020年工作计划" in second.output


def test_search_shows_scores(built_kb):
    result = CliRunner().invoke(cli, ["search", "--db", str(built_kb), "金沙路"])
    assert result.exit_code == 0, result.output
    assert "score" in result.output and "金沙路" in result.output


def test_search_with_nothing_found(built_kb):
    result = CliRunner().invoke(cli, ["search", "--db", str(built_kb), "比特币"])
    assert "no passage matches" in result.output


def test_build_dictionary_writes_both_files(built_kb, tmp_path, monkeypatch):
    monkeypatch.setenv("WESTBOT_JIEBA_DICT", str(tmp_path / "jieba"))
    monkeypatch.setenv("WESTBOT_LOOKUPS", str(tmp_path / "lookups"))
    result = CliRunner().invoke(cli, ["build-dictionary", "--db", str(built_kb)])
    assert result.exit_code == 0, result.output
    words = (tmp_path / "jieba" / "district.txt").read_text(encoding="utf-8").split("\n")
    assert "金沙路 20000" in words and "4050人员 20000" in words
    lookups = (tmp_path / "lookups" / "lookups.yml").read_text(encoding="utf-8")
    assert "- lookup: road" in lookups and "    - 翠湾路" in lookups


def test_a_missing_knowledge_base_is_a_clear_error(tmp_path):
    result = CliRunner().invoke(cli, ["search", "--db", str(tmp_path / "none.db"), "金沙路"])
    assert result.exit_code != 0
    assert "knowledge base not found" in result.output and "kb build" in result.output


# ---- staff commands, each through CliRunner against a private copy of the knowledge base


@pytest.fixture
def run(kb_path, tmp_path, monkeypatch):
    monkeypatch.setenv("WESTBOT_QUESTIONS", str(tmp_path / "questions.db"))

    def invoke(*args, input=None):
        result = CliRunner().invoke(
            cli,
            [args[0], "--db", str(kb_path), *args[1:]]
            if args[0] not in ("contacts", "glossary", "unanswered")
            else list(args),
            input=input,
        )
        return result

    return invoke


def test_add_show_edit_retire_history_undo(run):
    added = run(
        "add", "--topic", "roads", "--entity", "翠湾路", "--text", "翠湾路已于2026年10月1日通车。", "--by", "李明"
    )
    assert added.exit_code == 0, added.output
    pid = added.output.split("added passage ")[1].split(";")[0]
    assert "翠湾路已于2026年10月1日通车" in run("show", pid).output
    edited = run("edit", pid, "--text", "翠湾路已于2026年10月8日通车。", "--by", "王芳")
    assert "revision 2" in edited.output
    history = run("history", pid).output
    assert "李明 add" in history and "王芳 edit" in history and "10月1日" in history and "10月8日" in history
    edit_change = history.split("change ")[2].split(":")[0]
    assert "undid change" in run("undo", edit_change).output
    assert "10月1日" in run("show", pid).output
    assert "retired passage" in run("retire", pid).output
    assert f"{pid} [retired]" in run("list", "--status", "retired").output


def test_edit_with_a_stale_revision_is_refused(run):
    pid = run("add", "--topic", "roads", "--text", "测试路段明年施工。").output.split("added passage ")[1].split(";")[0]
    run("edit", pid, "--text", "测试路段后年施工。")
    refused = run("edit", pid, "--text", "测试路段今年施工。", "--expect-revision", "1")
    assert refused.exit_code == 1
    assert "Nothing was saved" in refused.output


@pytest.mark.parametrize(
    "args,message",
    [
        (("add", "--topic", "roads"), "--text is required"),
        (("add", "--topic", "weather", "--text", "x"), "unknown topic"),
        (("add", "--topic", "roads", "--text", "x", "--valid-to", "tomorrow"), "must be a date"),
        (("show", "99999"), "no passage 99999"),
        (("undo", "99999"), "no change 99999"),
    ],
)
def test_bad_commands_get_a_clear_message(run, args, message):
    result = run(*args)
    assert result.exit_code == 1
    assert message in result.output


def test_list_and_export(run, tmp_path):
    assert "金沙路" in run("list", "--topic", "roads").output
    out = tmp_path / "passages.json"
    run("export", "--format", "json", "--output", str(out))
    rows = json.loads(out.read_text(encoding="utf-8"))
    assert len(rows) > 100 and rows[0]["document"] == "西区2020年工作计划"
    csv_text = run("export", "--format", "csv").output
    assert csv_text.startswith("\ufeffid,document,published") and "裕福南路" in csv_text


def test_import_text_and_html(run, tmp_path, plan_text):
    again = tmp_path / "same.txt"
    again.write_text(plan_text, encoding="utf-8")
    assert "unchanged" in run("import", str(again)).output
    page = tmp_path / "2021.html"
    body = plan_text.replace("2020", "2021")
    page.write_text(
        "<html><body>" + "".join(f"<p>{line}</p>" for line in body.splitlines()) + "</body></html>", encoding="utf-8"
    )
    result = run("import", str(page))
    assert "imported: document" in result.output and "西区2021年工作计划" in result.output


def test_contacts_and_glossary_commands(kb_path):
    runner = CliRunner()
    db = ["--db", str(kb_path)]
    added = runner.invoke(
        cli,
        [
            "contacts",
            "add",
            *db,
            "--topic",
            "elderly",
            "--name",
            "西区长者服务站",
            "--phone",
            "0760-88881234",
            "--hours",
            "8:30-17:30",
        ],
    )
    assert added.exit_code == 0, added.output
    listing = runner.invoke(cli, ["contacts", "list", *db]).output
    assert "西区长者服务站 0760-88881234" in listing
    cid = added.output.split()[-1]
    edited = runner.invoke(
        cli,
        ["contacts", "edit", *db, cid, "--topic", "elderly", "--name", "西区长者服务站", "--phone", "0760-88880000"],
    )
    assert "saved contact" in edited.output
    assert "removed contact" in runner.invoke(cli, ["contacts", "remove", *db, cid]).output
    assert runner.invoke(cli, ["glossary", "set", *db, "瓶颈路", "容易堵车的窄路"]).exit_code == 0
    assert "瓶颈路: 容易堵车的窄路" in runner.invoke(cli, ["glossary", "list", *db]).output
    assert "removed" in runner.invoke(cli, ["glossary", "remove", *db, "瓶颈路"]).output


def test_unanswered_groups_and_counts(tmp_path):
    from knowledge.questions import QuestionLog

    path = tmp_path / "q.db"
    log = QuestionLog(path)
    for sender in ("a", "b", "a"):
        log.record(sender, "垃圾分类怎么做", "ask_plan", 0.8, "declined", 0.3)
    log.record("c", "今天下雨吗", "out_of_scope", 0.9, "declined", 0.0)
    log.record_feedback("a", 67, True)
    log.record_feedback("b", 67, False)
    output = CliRunner().invoke(cli, ["unanswered", "--questions", str(path)]).output
    lines = output.splitlines()
    assert lines[0].split()[0] == "1x" and "今天下雨吗" in lines[0]
    assert "3x" in lines[1] and "垃圾分类怎么做" in lines[1]
    assert "passage 67: 1 / 1" in output


def test_backup_and_restore_commands(run, tmp_path):
    target = tmp_path / "b.db"
    assert "backed up" in run("backup", str(target)).output
    run("add", "--topic", "roads", "--text", "备份之后加的一条：测试路通车。")
    restored = run("restore", str(target), "--yes")
    assert restored.exit_code == 0, restored.output
    assert "备份之后" not in run("list", "--topic", "roads").output


@pytest.mark.parametrize(
    "typed,shown",
    [
        ("我的电话13812345678请回电", "我的电话138****5678请回电"),
        ("身份证440102199001011234", "身份证440102********1234"),
        ("座机0760-88776655", "座机0760****6655"),
        ("金沙路2020年修", "金沙路2020年修"),
    ],
)
def test_personal_numbers_are_masked_for_staff(tmp_path, typed, shown):
    from knowledge.questions import QuestionLog

    log = QuestionLog(tmp_path / "q.db")
    log.record("a", typed, "ask_plan", 0.5, "declined", 0.1)
    assert log.unanswered()[0]["text"] == shown


def test_forget_deletes_only_what_is_old(tmp_path, monkeypatch):
    import sqlite3
    import time

    from knowledge.questions import QuestionLog

    trackers = tmp_path / "trackers.db"
    with sqlite3.connect(trackers) as db:
        db.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, sender_id TEXT, timestamp REAL, data TEXT)")
        db.execute(
            "INSERT INTO events (sender_id, timestamp) VALUES ('old', ?), ('new', ?)",
            [time.time() - 100 * 86400, time.time()],
        )
    questions = tmp_path / "q.db"
    QuestionLog(questions).record("a", "新问题", "ask_plan", 0.5, "declined", 0.1)
    monkeypatch.setenv("WESTBOT_TRACKERS", str(trackers))
    monkeypatch.setenv("WESTBOT_QUESTIONS", str(questions))
    result = CliRunner().invoke(cli, ["forget", "--days", "90"])
    assert result.exit_code == 0, result.output
    assert "1 conversation events" in result.output and "0 unanswered questions" in result.output
    with sqlite3.connect(trackers) as db:
        assert [r[0] for r in db.execute("SELECT sender_id FROM events")] == ["new"]
