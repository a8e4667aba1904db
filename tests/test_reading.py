"""How a question is read: filler told apart from content, resident words mapped to the plan's, focus, ask kinds."""

from __future__ import annotations

import pytest

from knowledge import lexicon
from knowledge.text import normalize_question


def groups(kb, question):
    return {g.label: g for g in kb.analyze(question).groups}


@pytest.mark.parametrize(
    "question, filler, content",
    [
        ("我爸中风了躺在家里，区里能不能派人上门做康复", {"爸", "家里", "不能"}, {"上门做康复"}),
        ("楼下垃圾老是没人扫，环卫归谁管", {"楼下", "归谁"}, {"垃圾", "环卫"}),
        ("我妈一个人在家吃不上饭怎么办", {"妈", "在家"}, {"吃不上"}),
        ("我侄女读完大学一直待在家，区里能帮她找第一份工作吗", {"侄女", "一直", "在家"}, {"大学"}),
        ("我老婆腰不好，想问下家庭病床现在还能签吗", {"不好"}, {"家庭病床"}),
    ],
)
def test_filler_is_told_apart_from_what_is_asked(kb, question, filler, content):
    read = groups(kb, question)
    assert {label for label, g in read.items() if g.kind == "filler"} >= filler
    assert all(read[label].is_content for label in content)


def test_filler_does_not_lower_coverage(kb):
    """The same need, with and without a resident's framing, covers the plan alike."""
    bare = kb.search("上门康复")[0]
    framed = kb.search("我爸想问下上门康复")[0]
    assert framed.passage["id"] == bare.passage["id"]
    assert framed.coverage == pytest.approx(bare.coverage)
    assert framed.coverage_all < bare.coverage_all


@pytest.mark.parametrize(
    "question, typed, plan_word",
    [
        ("梅石村拖贫了吗", "拖贫", "脱贫"),
        ("治量服务平台", "治量", "质量"),
        ("西区发展实体经记有什么措施", "经记", "经济"),
    ],
)
def test_a_word_typed_with_a_wrong_character_of_the_same_sound_finds_the_plan_word(kb, question, typed, plan_word):
    group = groups(kb, question)[typed]
    assert plan_word in group.alternatives and plan_word in group.related


def test_a_cilin_synonym_the_plan_uses_is_searched_for(kb):
    # 词林 puts 职务 and 岗位 in one group of synonyms; the plan says 岗位.
    related = kb.snapshot().related
    assert "岗位" in related["职务"]
    assert "职务" not in related.get("岗位", ())  # a word the plan uses is never replaced


def test_a_cantonese_need_reaches_the_plan(kb):
    assert "岗位" in groups(kb, "有冇職位介紹")["职位"].alternatives


def test_context_before_the_question_counts_less(kb):
    query = kb.analyze("我是中学老师，准备给学生讲讲，想问下西区今年修哪些路")
    assert query.focus > 0
    context = [g for g in query.groups if not query.in_focus(g)]
    assert {g.label for g in context} >= {"中学老师", "学生"}
    # The passage that covers it best is about roads. (The example questions read the whole message: the best
    # passage without the NLU's topic may be one whose examples also tell of teachers.)
    best = max(kb.search("我是中学老师，准备给学生讲讲，想问下西区今年修哪些路"), key=lambda h: h.coverage)
    assert "路" in best.passage["text"]
    assert "路" in kb.search("我是中学老师，准备给学生讲讲，想问下西区今年修哪些路", topic="roads")[0].passage["text"]


@pytest.mark.parametrize(
    "question, story",
    [
        ("我住长洲，屋企附近条河涌成日好臭，今年区里有冇整治？", "我住长洲,"),
        ("我喺沙朗住，附近有冇长者饭堂", "我在沙朗住,"),
        ("我屋企喺马山，安置房几时交楼", "我家里在马山,"),
        ("我住石岐，有没有长者饭堂", ""),  # a place outside the district may be what is asked about
        ("我在长洲开了间小店，有什么扶持", ""),  # what the resident does there may be too
        ("我住哪里都一样，有没有长者饭堂", ""),  # it asks
    ],
)
def test_where_the_resident_lives_is_their_story(question, story):
    text = normalize_question(question)
    assert text[: lexicon.focus_start(text)] == story


def test_a_neighbourhood_said_first_does_not_stand_in_for_what_is_asked(kb):
    from actions.plan import assess

    found = assess(
        kb, normalize_question("我住长洲，屋企附近条河涌成日好臭，今年区里有冇整治？"), "ask_plan", 0.99, ["长洲"]
    )
    assert found.decision.kind == "sure" and "河涌" in found.hits[0].passage["heading"]  # 加强河涌水体治理


@pytest.mark.parametrize(
    "question, kind",
    [
        ("长者饭堂几点开门", "hours"),
        ("养老院收费多少钱", "price"),
        ("工疗站电话", "contact"),
        ("行政服务中心地址在哪里", "place"),
        ("中山一中校长是谁", "who"),
        ("家庭医生签约要交钱吗", "price"),
        ("招聘会在哪个地方举办", "place"),
        ("金沙路施工期间点样绕路", "place"),
        ("一中录取分数线几多", "detail"),
    ],
)
def test_what_kind_of_fact_a_question_asks_for(question, kind):
    assert kind in lexicon.asks_for(question)


def test_a_plain_need_asks_for_none_of_those():
    assert lexicon.asks_for("老人饭堂有没有") == set()
    # Which matters, not where.
    assert lexicon.asks_for("区里今年打算在哪几件事上下功夫") == set()
    assert lexicon.asks_for("西区在哪些方面还要改进") == set()


def test_a_word_the_passage_says_itself_is_its_subject_not_a_fact_asked_for():
    passage = "对企业知识产权评估费用给予补贴"
    assert lexicon.asks_for("知识产权评估费用补贴", passage) == set()
    assert "price" in lexicon.asks_for("知识产权评估费用补贴")
    # A cue the passage does not say still counts beside one it does.
    assert "price" in lexicon.asks_for("评估费用补贴多少钱", passage)


def test_a_year_no_plan_or_passage_names_is_noticed():
    assert lexicon.other_years("2019年西区生产总值", {2020})
    assert not lexicon.other_years("2021年社区换届", {2020, 2021})


def test_the_plan_of_another_year_is_another_year_whatever_a_passage_mentions():
    assert lexicon.other_plan_year("西区2021年工作计划有什么", {2020})
    assert lexicon.other_plan_year("2019年的规划", {2020})
    assert not lexicon.other_plan_year("2020年计划里有什么", {2020})
    assert not lexicon.other_plan_year("提前谋划2021年社区换届工作", {2020})


@pytest.mark.parametrize(
    "question, another",
    [
        ("西区2021年要做什么", True),
        ("2021年区里有什么安排", True),
        ("2021年有什么安排", True),
        ("2021年社区换届什么时候", False),
        ("2020年要做什么", False),
    ],
)
def test_what_the_district_does_in_another_year_is_another_years_plan(question, another):
    passage = "对社区领导班子和“三肩挑”工作开展分析研判，提前谋划2021年社区换届工作。"
    assert lexicon.another_year(question, {2020}, passage) is another


def test_a_plan_the_passage_names_by_its_years_is_not_another_years_plan():
    passage = "完成我区2020-2035国土空间规划编制工作，落实沙朗东控规调整方案以及马山城市设计的实施。"
    assert not lexicon.other_plan_year("西区2020到2035年的规划怎么做", {2020}, passage)
    assert lexicon.other_plan_year("西区2021年的规划", {2020}, passage)
    assert lexicon.other_plan_year("2035年的规划", {2020}, "提前谋划2021年社区换届工作")


@pytest.mark.parametrize(
    "question, plan_word",
    [
        ("阿嫲冇人煮饭点算", "助餐"),
        ("水泥路改沥青", "白改黑"),
        ("街道垃圾冇人扫", "环卫保洁"),
        ("街边啲垃圾成日冇人清，有冇人管", "环卫保洁"),
        ("街边的垃圾总是没人清理，有人管吗", "环卫保洁"),
        ("街边垃圾几时清", "环卫保洁"),
        ("我今年48岁找不到工", "4050"),
        ("戒毒出来的人能找到工作吗", "戒毒康复人员"),
        ("西区有啲路又窄又塞，会唔会扩阔", "瓶颈路"),
    ],
)
def test_everyday_words_reach_the_plan_word(kb, question, plan_word):
    assert plan_word in kb.search(question, limit=1)[0].passage["text"]


def test_every_shipped_resident_phrase_leads_to_words_of_the_plan(plan_text):
    from knowledge import catalog

    for synonym in catalog.synonyms():
        assert synonym.phrases, synonym
        assert any(w in plan_text for w in synonym.plan_words), (synonym.phrases[:3], synonym.plan_words)


@pytest.mark.parametrize(
    "question, plan_word",
    [
        ("河水好臭有人管吗", "黑臭水体"),  # resident_phrases.yml: written from the plan alone
        ("市场里有菜霸怎么办", "欺行霸市"),
    ],
)
def test_resident_phrases_reach_the_plan_s_words(kb, question, plan_word):
    assert any(plan_word in g.alternatives for g in kb.analyze(question).groups)


def test_a_cantonese_word_does_not_break_the_word_before_it(kb):
    """街边啲垃圾: 街边 is a word, so 边啲 is not read as 哪些 (街 + 哪些 left 街 a stray character)."""
    read = groups(kb, "街边啲垃圾成日冇人清，有冇人管")
    assert "街边" in read and "街" not in read
    assert not any("哪" in label for label in read)
    assert read["没有人清"].kind == "synonym" and "环卫保洁" in read["没有人清"].alternatives


@pytest.mark.parametrize(
    "question, word",
    [("西区今年发展经济的总体思路是什么", "思路"), ("区里收举报的路子多不多", "路子")],
)
def test_a_resident_phrase_is_not_read_inside_a_longer_word(kb, question, word):
    """synonyms.yml reads 路 as 道路, but not the 路 of 思路 or 路子."""
    read = groups(kb, question)
    assert read[word].kind == "word"
    assert "路" not in read


def test_a_resident_phrase_standing_alone_is_still_read(kb):
    assert groups(kb, "这条路什么时候修")["路"].kind == "synonym"
    assert groups(kb, "街边垃圾几时清")["清"].kind == "synonym"  # 清 (clear away) alone, not in 清单 or 清源
    assert "环卫保洁" not in groups(kb, "西区清源行动")["清源"].alternatives


@pytest.mark.parametrize("word, plan", [("六条", "6条"), ("十五项", "15项")])
def test_a_count_spelled_in_characters_is_read_as_the_plan_writes_it(kb, word, plan):
    assert plan in groups(kb, f"瓶颈路是哪{word}")[word].alternatives


def test_which_six_bottleneck_roads_is_answered(kb):
    best = kb.search("瓶颈路係邊六條")[0]
    assert "6条“瓶颈路”" in best.passage["text"] and best.coverage > 0.9
