"""Ingest: the scraped plan becomes passages with their part, heading, topics and entities."""

import json

import pytest

from knowledge import ingest, store

ROADS = [
    "裕福南路",
    "环境服务中心北面15米路",
    "金沙路",
    "粤信路",
    "沙朗市场侧道路",
    "沙朗商业中心侧道路",
    "金业路",
    "翠湾路",
]


@pytest.fixture(scope="module")
def parsed():
    from tests.conftest import PLAN

    return ingest.parse_plan(PLAN.read_text(encoding="utf-8"))


def test_title_source_and_date(parsed):
    assert parsed.title == "西区2020年工作计划"
    assert parsed.source == "本网"
    assert parsed.published == "2020-02-06"
    assert parsed.year == 2020


def test_six_numbered_parts(parsed):
    parts = {p.part_no: p.section for p in parsed.passages if p.part_no}
    assert sorted(parts) == [1, 2, 3, 4, 5, 6]
    assert parts[5].startswith("五、紧紧抓住人民这个核心")


def test_page_chrome_is_gone(parsed):
    everything = "".join(p.section + p.heading + p.text for p in parsed.passages)
    for chrome in ("无障碍版", "长者助手", "您当前的位置", "分享", "信息来源"):
        assert chrome not in everything


def test_ascii_commas_and_colons_become_chinese(parsed):
    for p in parsed.passages:
        assert "," not in p.text and ":" not in p.text.replace("：", ""), p.text


def test_headed_paragraphs_keep_their_heading(parsed):
    meal = next(p for p in parsed.passages if "长者助餐配餐" in p.text)
    assert meal.heading == "加大扶助弱势群体力度"
    assert meal.part_no == 5
    jobs = next(p for p in parsed.passages if "4050" in p.text)
    assert jobs.heading == "统筹促进人员就业"


def test_preamble_targets_are_passages(parsed):
    targets = next(p for p in parsed.passages if "固定资产投资增长4%" in p.text)
    assert targets.part_no == 0


def test_every_road_is_tagged_as_an_entity(built_kb):
    db = store.open_read_only(built_kb)
    tagged = set()
    for row in db.execute("SELECT entities FROM passages"):
        tagged.update(json.loads(row[0]))
    for road in ROADS:
        assert road in tagged, road
    types = dict(db.execute("SELECT name, type FROM entities").fetchall())
    assert all(types[road] == "road" for road in ROADS)


def test_passages_get_topics(built_kb):
    db = store.open_read_only(built_kb)
    topics = {row[0]: json.loads(row[1]) for row in db.execute("SELECT text, topics FROM passages")}
    roads = next(t for text, t in topics.items() if "金沙路" in text)
    assert "roads" in roads
    meals = next(t for text, t in topics.items() if "助餐" in text)
    assert "elderly" in meals


def test_importing_the_same_document_again_changes_nothing(kb_path, plan_text):
    db = store.open_for_writing(kb_path)
    before = db.execute("SELECT count(*) FROM passages").fetchone()[0]
    _, created = ingest.import_document(db, ingest.parse_plan(plan_text))
    assert not created
    assert db.execute("SELECT count(*) FROM passages").fetchone()[0] == before


def test_saved_html_page_parses_like_the_text(plan_text):
    body = "".join(f"<p>{line}</p>\n" for line in plan_text.splitlines())
    html = f"<!DOCTYPE html><html><head><title>x</title><script>var a=1;</script></head><body>{body}</body></html>"
    from_html = ingest.parse_plan(html)
    from_text = ingest.parse_plan(plan_text)
    assert from_html.title == from_text.title
    assert [p.text for p in from_html.passages] == [p.text for p in from_text.passages]


@pytest.mark.parametrize("raw", ["", "   \n  ", "无障碍版 长者助手\n您当前的位置: > >"])
def test_a_document_without_text_is_refused(raw):
    with pytest.raises(ValueError):
        ingest.parse_plan(raw)


def test_a_release_with_new_synonyms_reindexes_the_passages_once(kb_path):
    db = store.open_for_writing(kb_path)
    assert not ingest.reindex_if_reading_changed(db)  # built by this release's words
    row = db.execute("SELECT id, tokens, entities FROM passages WHERE text LIKE '%金沙路%'").fetchone()
    db.execute("UPDATE passages SET tokens = '', entities = '[]' WHERE id = ?", [row[0]])
    db.execute("UPDATE meta SET value = 'an older release' WHERE key = ?", [ingest.READING_KEY])
    db.conn.commit()
    version = store.get_meta(db, "version")
    assert ingest.reindex_if_reading_changed(db)
    assert db.execute("SELECT tokens, entities FROM passages WHERE id = ?", [row[0]]).fetchone() == row[1:]
    assert store.get_meta(db, "version") != version  # the running bot reloads its snapshot
    assert not ingest.reindex_if_reading_changed(db)
