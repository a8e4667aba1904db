"""The wording model (knowledge/wording.py): scored at run time exactly as scikit-learn fitted it, and learned
from wording, so it tells a plan-kind question from a price or opening-hours question of any passage."""

from __future__ import annotations

import pytest

from knowledge import policy, wording

ANSWERABLE = [
    "今年西区有什么安排",
    "区里今年会不会继续搞",
    "西区今年的目标是什么",
    "区里有没有计划建设",
    "今年会推进哪些工作",
    "西区打算怎么做",
]
DECLINE = [
    "门票多少钱",
    "几点开门",
    "养老金每个月领多少钱",
    "社保卡怎么补办",
    "明天几点关门",
    "收费多少钱一个月",
]


@pytest.fixture(scope="module")
def fitted():
    return wording.fit(ANSWERABLE + DECLINE, [1] * len(ANSWERABLE) + [0] * len(DECLINE))


def test_ngrams_are_one_to_three_characters_of_the_lower_cased_text():
    assert wording.ngrams("Ab 路") == ["a", "b", " ", "路", "ab", "b ", " 路", "ab ", "b 路"]
    assert wording.ngrams("  ") == []


def test_run_time_scoring_equals_scikit_learn(fitted):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    texts, labels = ANSWERABLE + DECLINE, [1] * len(ANSWERABLE) + [0] * len(DECLINE)
    vectorizer = TfidfVectorizer(analyzer=wording.ngrams, min_df=2, sublinear_tf=True)
    reference = LogisticRegression(C=1.0, max_iter=3000, class_weight="balanced").fit(
        vectorizer.fit_transform(texts), labels
    )
    for text in ["西区今年有什么计划", "公园几点开门", "完全没见过的字", ""]:
        expected = reference.predict_proba(vectorizer.transform([text]))[0, 1]
        assert fitted.probability(text) == pytest.approx(expected, abs=1e-9)


def test_a_model_survives_its_json_round_trip(fitted):
    again = wording.WordingModel.from_json(fitted.to_json(fitted_on="test"))
    for text in ["今年有什么安排", "多少钱"]:
        assert again.probability(text) == pytest.approx(fitted.probability(text), abs=1e-4)


def test_a_model_of_other_ngram_sizes_is_refused(fitted):
    data = fitted.to_json().replace('"ngram_sizes":[1,2,3]', '"ngram_sizes":[1,2]')
    with pytest.raises(ValueError):
        wording.WordingModel.from_json(data)


def test_the_shipped_model_tells_plan_questions_from_price_and_hours_questions():
    shipped = wording.load_model()
    plan_kind = ["西区今年对长者饭堂有什么安排", "金沙路今年会不会改造"]
    other_kind = ["长者饭堂一餐多少钱", "长者饭堂几点开门"]
    assert min(map(shipped.probability, plan_kind)) > max(map(shipped.probability, other_kind))


def test_the_decision_reads_the_wording(kb):
    from actions.plan import assess

    found = assess(kb, "西区今年对长者饭堂有什么安排", "ask_elderly", 0.9)
    assert found.features["wording"] == pytest.approx(
        wording.default_model().probability(kb.analyze("西区今年对长者饭堂有什么安排").text)
    )
    # The model reads it where the passage's words leave the question uncovered (policy.with_interactions).
    assert "wording_uncovered" in policy.load_model().names
    assert policy.with_interactions(found.features | {"coverage": 0.25})["wording_uncovered"] == pytest.approx(
        0.75 * found.features["wording"]
    )


def test_without_a_fitted_model_the_feature_is_neutral(monkeypatch, tmp_path):
    monkeypatch.setattr(wording, "default_model", lambda: wording.load_model(tmp_path / "missing.json"))
    assert policy.wording_probability("今年有什么安排") == 0.5
