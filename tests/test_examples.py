"""Example questions in residents' words (knowledge/examples.py): a passage is found by a question that shares
none of its words, the words still decide between passages that have them all, and the answer policy's second
opinion keeps a question whose every word the passage has from being talked out of its answer."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import pytest

from knowledge import examples, policy, staff, store
from knowledge.search import KnowledgeBase
from knowledge.text import normalize_question

ROOT = Path(__file__).resolve().parent.parent
PLAN = "西区2020年工作计划"


def test_an_example_like_the_question_scores_its_passage_highest():
    index = examples.ExampleIndex(
        [
            ((PLAN, 1), "我妈一个人在家中午吃不上饭"),
            ((PLAN, 1), "老人家送饭上门有没有"),
            ((PLAN, 2), "金沙路什么时候修好"),
        ]
    )
    scores = index.scores("我爸一个人在家吃不上饭怎么办")
    assert max(scores, key=scores.get) == (PLAN, 1)
    assert scores[(PLAN, 1)] > 0.5 and scores.get((PLAN, 2), 0.0) < 0.1
    assert index.scores("zzz") == {} and examples.ExampleIndex([]).scores("吃饭") == {}


def test_every_passage_of_the_plan_has_examples_and_none_copies_a_sentence(kb):
    shipped = examples.load()
    passages = kb.snapshot().passages
    assert all(len(shipped.get((p["title"], p["seq"]), [])) >= 10 for p in passages)
    sentences = {s for p in passages for s in p["text"].split("。") if len(s) >= 12}
    assert not {q.rstrip("？?") for qs in shipped.values() for q in qs} & sentences


@pytest.mark.parametrize(
    "question, said",
    [
        ("下一个五年的发展怎么打算", "十四五"),  # by its words alone: 提升存量发展水平
        ("当官的收红包有没有人查", "腐败"),  # 坚决整治群众身边腐败和作风问题
    ],
)
def test_a_question_without_the_plans_words_finds_its_passage_through_the_examples(kb, question, said):
    assert said in kb.search(question)[0].passage["text"]
    words_only = KnowledgeBase.from_database(kb.db())
    words_only.use_examples = False
    hits = words_only.search(question)
    assert not hits or said not in hits[0].passage["text"]


def test_examples_do_not_outvote_a_passage_that_has_every_word(kb_path):
    """A staff passage with every word of the question wins over the plan's passage that its examples are like."""
    db = store.open_for_writing(kb_path)
    added = staff.add_passage(
        db, topic="roads", heading="道路通车", text="翠湾路已于2026年10月1日全线通车。", by="李明"
    )
    best = KnowledgeBase.from_path(kb_path).search("翠湾路几时通车")[0]
    assert best.passage["id"] == added and best.coverage == 1.0


def test_a_retired_passages_examples_find_nothing(kb_path):
    kb = KnowledgeBase.from_path(kb_path)
    meals = kb.search("我妈八十多岁一个人住，中午经常不吃饭")[0].passage
    assert "助餐" in meals["text"]
    staff.retire_passage(store.open_for_writing(kb_path), meals["id"], by="李明")
    assert all(h.passage["id"] != meals["id"] for h in kb.search("我妈八十多岁一个人住，中午经常不吃饭"))


def test_examples_are_read_as_questions_are(kb):
    """An example in Cantonese and traditional characters is read in the form questions are (simplified
    Mandarin), so the same question asked finds its passage through it at full similarity."""
    shipped = examples.load()
    key, question = next((k, q) for k, qs in shipped.items() for q in qs if "冇" in q and "嘅" in q)
    assert normalize_question(question) != question
    best = kb.search(question)[0]
    assert (best.passage["title"], best.passage["seq"]) == key and best.example > 0.99


def two_models(main_p: float, lexical_p: float) -> policy.Model:
    """A main model and a second opinion that give these probabilities whatever the question."""

    def constant(p):
        z = math.log(p / (1 - p))
        return policy.Model(("coverage",), (0.0,), (1.0,), (0.0,), z, 0.8, 0.5)

    return dataclasses.replace(constant(main_p), lexical=constant(lexical_p))


@pytest.mark.parametrize(
    "all_covered, main_p, lexical_p, kind",
    [
        (1.0, 0.2, 0.9, policy.SURE),  # every word is in the passage: the words alone may answer
        (1.0, 0.2, 0.6, policy.FAIRLY_SURE),
        (1.0, 0.9, 0.2, policy.SURE),  # the second opinion never takes an answer away
        (0.0, 0.2, 0.9, policy.DECLINE),  # a word is missing: the main model decides alone
    ],
)
def test_the_second_opinion_speaks_only_for_a_question_whose_every_word_the_passage_has(
    all_covered, main_p, lexical_p, kind
):
    values = {"coverage": 0.9, "content_terms": 2.0, "all_covered": all_covered}
    assert policy.decide(values, two_models(main_p, lexical_p)).kind == kind


@pytest.mark.parametrize("coverage, kind", [(0.0, policy.FAIRLY_SURE), (0.1, policy.SURE)])
def test_a_passage_found_through_examples_alone_is_only_offered_as_the_closest(coverage, kind):
    values = {"coverage": coverage, "content_terms": 5.0, "example": 0.5}
    assert policy.decide(values, two_models(0.95, 0.2)).kind == kind


def test_the_shipped_model_has_its_second_opinion():
    shipped = policy.load_model()
    assert shipped.lexical is not None and shipped.lexical.names == policy.LEXICAL_FEATURE_NAMES
    assert "example_uncovered" in shipped.names and 0.0 < shipped.lexical.fairly_sure <= shipped.lexical.sure < 1.0


def test_questions_the_plan_cannot_answer_are_indexed_as_questions_are(kb):
    """A shipped decline question asked as it is scores full likeness; an answerable question much less; none
    when the search reads words alone (the second opinion's rows)."""
    declines = examples.load_declines()
    assert len(declines) >= 600 and len(set(declines)) == len(declines)
    asked = next(q for q in declines if "幾" in q or "喺" in q)
    assert kb.decline_likeness(kb.analyze(asked)) > 0.99
    assert kb.decline_likeness(kb.analyze("长者饭堂怎么申请")) < 0.6
    words_only = KnowledgeBase.from_database(kb.db())
    words_only.use_examples = False
    assert words_only.decline_likeness(words_only.analyze(asked)) == 0.0


def test_the_shipped_model_reads_how_like_a_decline_a_question_is():
    shipped = policy.load_model()
    assert "decline_like" in shipped.names and "decline_like" not in shipped.lexical.names
    # Fitted on the bank, more likeness to a decline question lowers the probability of answering.
    assert shipped.coef[shipped.names.index("decline_like")] < 0


# ---------------------------------------------------------------- the classifier learned from the examples


def test_the_classifier_tells_passages_apart_by_what_their_examples_share():
    """Each passage's examples together outvote one example of another passage that shares a word by chance;
    the questions the plan cannot answer are a class of their own; the shares sum to 1."""
    learned = examples.PassageClassifier(
        [
            ((PLAN, 1), "我妈一个人在家中午吃不上饭"),
            ((PLAN, 1), "老人家送饭上门有没有"),
            ((PLAN, 1), "阿婆冇人煮饭点算"),
            ((PLAN, 2), "金沙路什么时候修好"),
            ((PLAN, 2), "金沙路成日塞车几时修"),
            ((PLAN, 2), "一个人开车上班路太烂"),
            (examples.NONE, "饭堂一餐几多钱"),
            (examples.NONE, "金沙路上那家茶楼几点开门"),
        ]
    )
    shares = learned.scores("我爸一个人在家没饭吃")
    assert max(shares, key=shares.get) == (PLAN, 1) and math.isclose(sum(shares.values()), 1.0)
    assert max(learned.scores("那条路修到哪了"), key=learned.scores("那条路修到哪了").get) == (PLAN, 2)
    assert learned.scores("zzz") == {} and examples.PassageClassifier([]).scores("吃饭") == {}


def test_the_classifier_scores_a_question_as_scikit_learn_would():
    """The question is scored with the learned weights directly; the decision values are scikit-learn's."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.svm import LinearSVC

    pairs = [(key, normalize_question(q)) for key, qs in list(examples.load().items())[:12] for q in qs]
    learned = examples.PassageClassifier(pairs)
    vectorizer = TfidfVectorizer(analyzer=examples._grams_for_sklearn, sublinear_tf=True)
    matrix = vectorizer.fit_transform([text for _, text in pairs])
    number = {key: i for i, key in enumerate(learned.keys)}
    svm = LinearSVC(C=1.0, random_state=0).fit(matrix, [number[key] for key, _ in pairs])
    for question in ("我妈一个人在家吃不上饭", "今年区里为啥这么拼 abc", "西区"):
        expected = svm.decision_function(vectorizer.transform([question]))[0]
        assert max(abs(a - b) for a, b in zip(expected, learned.decision(question))) < 1e-5


def test_the_examples_for_the_classifier_alone_are_new_and_cover_every_passage(kb):
    """examples_more.yml: at least 30 more a passage, none repeating examples.yml or a question of the bank."""
    import yaml

    more = examples.load(examples.MORE_EXAMPLES_PATH)
    shipped = examples.load()
    assert all(len(more.get((p["title"], p["seq"]), [])) >= 30 for p in kb.snapshot().passages)
    bank = yaml.safe_load((ROOT / "benchmarks" / "data" / "question_bank.yml").read_text(encoding="utf-8"))
    asked = {item["q"] for item in bank["questions"]}
    written = {q for qs in shipped.values() for q in qs}
    assert not {q for qs in more.values() for q in qs} & (asked | written)


def test_a_question_in_residents_words_finds_its_passage_through_the_classifier(kb):
    """None of 长者助餐's words, and no example of it word for word: the classifier's share puts it first."""
    best = kb.search("屋企阿爷成日一个人食唔到饭，区里有冇人理")[0]
    assert "助餐" in best.passage["text"] and best.learned > 0.3


def test_the_shipped_model_trusts_the_classifier():
    shipped = policy.load_model()
    assert {"learned_uncovered", "learned_agrees_uncovered"} <= set(shipped.names)
    assert "learned_uncovered" not in shipped.lexical.names  # the second opinion reads the words alone
    assert shipped.coef[shipped.names.index("learned_uncovered")] > 0


# ---------------------------------------------------------------- questions staff attach (`kb example`)

LONELY = "隔壁阿伯天天对着电视发呆没人陪"


def test_a_question_staff_attach_is_live_for_the_next_question_and_undo_takes_it_back(kb_path):
    from actions.plan import assess

    reader = KnowledgeBase.from_path(kb_path)  # a serving reader opened before the change
    meals = reader.search("长者助餐", limit=1)[0].passage["id"]
    assert assess(reader, LONELY, "ask_plan", 0.9).decision.kind == policy.DECLINE
    db = store.open_for_writing(kb_path)
    saved = staff.add_example(db, meals, LONELY + "，我电话13812345678", by="李明")
    assert saved["passage_id"] == meals and "13812345678" not in saved["question"]  # masked before it is stored
    for question in (LONELY, "楼上阿伯成日对住电视发呆冇人陪"):  # and a question like it, in Cantonese
        found = assess(reader, question, "ask_plan", 0.9)
        assert found.decision.kind == policy.SURE and found.hits[0].passage["id"] == meals
    change = staff.history(db, "examples", str(saved["id"]))[-1]
    assert change["by"] == "李明" and change["after"]["passage_id"] == meals
    staff.undo(db, change["id"], by="李明")
    assert staff.list_examples(db) == []
    assert assess(reader, LONELY, "ask_plan", 0.9).decision.kind == policy.DECLINE


def test_a_question_attached_to_a_retired_passage_finds_nothing(kb_path):
    db = store.open_for_writing(kb_path)
    meals = KnowledgeBase.from_path(kb_path).search("长者助餐", limit=1)[0].passage["id"]
    staff.add_example(db, meals, LONELY, by="李明")
    staff.retire_passage(db, meals, by="李明")
    assert all(h.passage["id"] != meals for h in KnowledgeBase.from_path(kb_path).search(LONELY))
    with pytest.raises(staff.ValidationError, match="retired"):
        staff.add_example(db, meals, "另一个问题", by="李明")


@pytest.mark.parametrize(
    "passage, question, error",
    [
        (999999, LONELY, staff.NotFound),
        (None, "", staff.ValidationError),
        (None, "？？！", staff.ValidationError),
        (None, "问" * 201, staff.ValidationError),
    ],
)
def test_a_bad_example_is_refused_and_nothing_is_written(kb_path, passage, question, error):
    db = store.open_for_writing(kb_path)
    passage = passage or KnowledgeBase.from_path(kb_path).search("长者助餐", limit=1)[0].passage["id"]
    with pytest.raises(error):
        staff.add_example(db, passage, question, by="李明")
    assert staff.list_examples(db) == []


def test_the_cli_adds_lists_and_removes_an_example(kb_path):
    from click.testing import CliRunner

    from knowledge.cli import cli

    meals = KnowledgeBase.from_path(kb_path).search("长者助餐", limit=1)[0].passage["id"]
    runner = CliRunner()
    added = runner.invoke(cli, ["example", "add", str(meals), LONELY, "--db", str(kb_path), "--by", "李明"])
    assert added.exit_code == 0 and "from the next question" in added.output, added.output
    assert KnowledgeBase.from_path(kb_path).search(LONELY)[0].passage["id"] == meals
    listed = runner.invoke(cli, ["example", "list", "--db", str(kb_path), "--passage", str(meals)])
    assert f"{meals}\t{LONELY}" in listed.output
    refused = runner.invoke(cli, ["example", "add", "999999", LONELY, "--db", str(kb_path)])
    assert refused.exit_code == 1 and "no passage" in refused.output
    example_id = listed.output.split("\t")[0]
    removed = runner.invoke(cli, ["example", "remove", example_id, "--db", str(kb_path), "--by", "李明"])
    assert removed.exit_code == 0 and staff.list_examples(store.open_read_only(kb_path)) == []
    history = runner.invoke(cli, ["history", f"example:{example_id}", "--db", str(kb_path)])
    assert "remove" in history.output and "add" in history.output
