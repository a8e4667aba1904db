"""Sound-alike names: typos of the same sound are read as the name; near-misses and ordinary words are not."""

import pytest

from knowledge.soundalike import SoundAlikeMatcher, fold, sounds

NAMES = ["粤信路", "金业路", "翠湾路", "裕福南路", "长者助餐", "4050人员", "黄氏大宗祠", "老人饭堂", "沙朗市场侧道路"]


@pytest.fixture(scope="module")
def matcher():
    return SoundAlikeMatcher(NAMES)


@pytest.mark.parametrize(
    "typed,name",
    [
        ("月信路什么时候修", "粤信路"),
        ("金叶路", "金业路"),
        ("翠弯路通车了吗", "翠湾路"),
        ("裕福难路", "裕福南路"),
        ("长者住餐", "长者助餐"),
        ("4050人元", "4050人员"),
        ("黄式大宗祠", "黄氏大宗祠"),
        ("老人饭趟", "老人饭堂"),
        ("沙朗市场侧到路", "沙朗市场侧道路"),
    ],
)
def test_typos_of_the_same_sound_are_read_as_the_name(matcher, typed, name):
    assert name in matcher.correct(typed)


@pytest.mark.parametrize(
    "typed",
    [
        "金山路在哪里",  # jin shan lu: another road, not 金沙路
        "月亮出来了",
        "粤菜好吃",  # one character of 粤信路 is not enough
        "翠绿的路",
        "黄色的大门",
        "长者",  # too short to guess at
        "金业",
        "今天会下雨吗",
        "余富男路",  # every character changed: too far
    ],
)
def test_near_misses_are_left_alone(matcher, typed):
    assert matcher.correct(typed) == typed


def test_names_written_right_are_not_touched(matcher):
    assert matcher.find("粤信路和金业路") == []


def test_pearl_river_delta_sounds_are_folded():
    assert fold("zhang") == "zan" and fold("lan") == "nan" and fold("xing") == "xin"
    assert sounds("长") >= {"can", "zan"}  # both readings of 长


def test_search_reads_a_sound_alike_road(kb):
    from actions.plan import assess
    from knowledge import policy

    found = assess(kb, "月信路几时修好", "ask_roads", 0.9)
    assert "粤信路" in found.hits[0].passage["text"] and found.decision.kind == policy.SURE


def test_the_index_finds_what_comparing_with_every_name_finds(kb):
    """The blank-one-character index gives the same answer as comparing each window with every name."""
    snapshot = kb.snapshot()
    matcher = snapshot.sound_alike
    text = "".join(p["text"] for p in snapshot.passages) + "月信路金叶路翠弯路裕福难路长者住餐老人饭趟"
    checked = 0
    for length, same_length in matcher._by_length.items():
        for start in range(len(text) - length + 1):
            window = text[start : start + length]
            assert matcher._match(window, matcher._candidates(window)) == matcher._match(window, same_length)
            checked += 1
    assert checked > 10_000
