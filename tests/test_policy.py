"""The answer policy's decision at its boundaries, and the model the bot ships with."""

from __future__ import annotations

import math

import pytest

from knowledge import policy


def model(sure=0.8, fairly_sure=0.5):
    """p = sigmoid(10 * (coverage - 0.5)): easy to put on either side of a threshold."""
    names = ("coverage",)
    return policy.Model(names, (0.0,), (1.0,), (10.0,), -5.0, sure, fairly_sure)


def coverage_for(p):
    return 0.5 + math.log(p / (1 - p)) / 10


def values(coverage):
    return {"coverage": coverage, "content_terms": 2.0}


@pytest.mark.parametrize(
    "p, kind",
    [
        (0.81, policy.SURE),
        (0.79, policy.FAIRLY_SURE),
        (0.51, policy.FAIRLY_SURE),
        (0.49, policy.DECLINE),
    ],
)
def test_the_decision_changes_at_each_threshold(p, kind):
    decision = policy.decide(values(coverage_for(p)), model())
    assert decision.kind == kind
    assert decision.probability == pytest.approx(p, abs=1e-6)


def test_a_question_with_nothing_the_plan_covers_is_declined_whatever_the_model():
    generous = model(sure=0.0, fairly_sure=0.0)
    assert policy.decide({"coverage": 0.0, "content_terms": 3.0}, generous).kind == policy.DECLINE
    assert policy.decide({"coverage": 0.9, "content_terms": 0.0}, generous).kind == policy.DECLINE


def test_a_bare_pointer_at_an_entity_is_answered_only_when_the_passage_names_it():
    assert policy.decide_about_entity({"entity_agrees": 1.0}).kind == policy.SURE
    assert policy.decide_about_entity({"entity_agrees": 0.0}).kind == policy.DECLINE


def test_the_shipped_model_reads_every_feature_and_orders_its_thresholds():
    shipped = policy.load_model()
    assert shipped.names == policy.FEATURE_NAMES
    assert 0.0 < shipped.fairly_sure <= shipped.sure < 1.0


def test_the_shipped_model_declines_a_price_question_it_would_answer_otherwise(kb):
    from actions.plan import assess

    asked = assess(kb, "长者助餐配餐服务", "ask_elderly", 0.95)
    priced = assess(kb, "长者助餐配餐服务一餐收费多少钱", "ask_elderly", 0.95)
    assert asked.decision.kind == policy.SURE
    assert priced.features["asks_price"] == 1.0
    assert priced.decision.probability < asked.decision.probability


@pytest.mark.parametrize(
    "question, declined",
    [
        ("西区2021年的工作计划是什么", True),  # the 2020 plan mentions 2021's elections: not 2021's plan
        ("2018年西区搞了哪些道路建设", True),  # a year neither the plan nor the passage speaks of
        ("2020年西区要推进哪些道路建设", False),
        ("2021年社区换届工作怎么谋划", False),  # the passage itself is about 2021's elections
    ],
)
def test_another_year_is_declined_whatever_the_model(kb, question, declined):
    from actions.plan import assess

    generous = model(sure=0.0, fairly_sure=0.0)
    found = assess(kb, question, "ask_plan", 0.95, model=generous)
    assert (found.decision.kind == policy.DECLINE) is declined, found.features["another_year"]


@pytest.mark.parametrize(
    "question, declined",
    [
        ("黄健故居喺邊度，點樣去", True),  # the plan names the place, never the way there
        ("云南永善县松溪镇怎么去", True),
        ("从西区去中山站坐几路车", True),
        ("从西区去岐江公园点样行最近？", True),
        ("去长者饭堂点行？", True),
        ("中山一中西区中学校长是谁", True),  # nor who holds an office
        ("西区办事处现任主任系边个", True),
        ("退役军人服务站的站长是谁？", True),
        ("老人申请长者饭堂要怎样才行", False),
        ("我要怎么去申请长者饭堂", False),  # 怎么去 asks how to go about it, not the way
        ("区里要及时学习总书记哪方面的讲话", False),
        ("每条河是不是都有专门的负责人", False),
    ],
)
def test_the_way_somewhere_or_an_office_holder_is_declined_whatever_the_model(kb, question, declined):
    assert by_the_rule(kb, question, "ask_plan", "asks_no_plan_fact") == (declined, declined)


def by_the_rule(kb, question: str, intent: str, rule: str) -> tuple[bool, bool]:
    """Whether the rule's feature is set for the question, and whether it is declined by a model that would
    answer anything."""
    from actions.plan import assess

    found = assess(kb, question, intent, 0.95, model=model(sure=0.0, fairly_sure=0.0))
    return bool(found.features[rule]), found.decision.kind == policy.DECLINE


@pytest.mark.parametrize(
    "question, unknown",
    [
        ("岐江公路会不会拓宽", True),  # a road the plan never names: its list of roads says nothing of it
        ("博爱路几时修好", True),
        ("金沙路什么时候修完", False),
        ("月信路几时修好", False),  # read as 粤信路 (sound-alike), which the plan names
        ("今年哪些路在修", False),
        ("这条路几时修", False),
        ("区里什么时候修马路", False),  # a resident phrase (synonyms.yml) ending in 路 is not a road's name
        ("西区今年铺路吗", False),
        ("水泥路开起来好颠，会不会铺成沥青的", False),  # a kind of road, not a road's name
        ("那条老厂房街要改成园区吗", False),
        ("步行街几时修好", False),
    ],
)
def test_a_road_the_plan_never_names_is_declined_whatever_the_model(kb, question, unknown):
    assert by_the_rule(kb, question, "ask_roads", "unknown_road") == (unknown, unknown)


@pytest.mark.parametrize(
    "question, named",
    [
        ("马山片区的安置房几时可以入住", True),
        ("我哋屋企喺马山住咗三十几年，佢叫我问清楚：安置房几时可以搬入去？", False),  # 马山 is where they live
    ],
)
def test_a_name_counts_as_asked_only_where_the_asking_is(kb, question, named):
    from actions.plan import assess

    found = assess(kb, question, "ask_plan", 0.9)
    assert found.features["has_entity"] == float(named)


def test_a_when_question_whose_passage_gives_a_date_is_answered_whatever_the_model():
    strict = model(sure=0.9999999, fairly_sure=0.999999)  # declines anything on its own
    asked = {"content_terms": 2.0, "coverage": 1.0, "all_covered": 1.0, "asks_when": 1.0}
    assert policy.decide(asked, strict).kind == policy.DECLINE  # the passage gives no date
    assert policy.decide(asked | {"gives_date": 1.0}, strict).kind == policy.SURE
    assert policy.decide(asked | {"gives_date": 1.0, "all_covered": 0.0}, strict).kind == policy.DECLINE


def test_what_gives_a_date_and_what_gives_only_a_year():
    from knowledge import lexicon

    assert lexicon.gives_a_date("翠湾路已于2026年10月1日全线通车。") and lexicon.gives_a_date(
        "在上半年帮助两个贫困村脱贫"
    )
    assert not lexicon.gives_a_date("做好2020年慈善万人行工作") and lexicon.gives_a_time("做好2020年慈善万人行工作")
    assert not lexicon.gives_a_time("提升改造金沙路、粤信路")
