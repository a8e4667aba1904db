"""The staff command line, through click's CliRunner."""
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
