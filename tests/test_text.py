"""Normalization: what residents type becomes the plain simplified Mandarin the plan is written in."""

import pytest

from knowledge.text import fix_plan_punctuation, normalize_question

CASES = [
    # A script or style element's content is code, not words of the question.
    ("<script>alert(1)</script><b>长者饭堂</b>", "长者饭堂"),
    ("<STYLE>p{color:red}</style >长者饭堂在哪", "长者饭堂在哪"),
    ("有冇老人饭堂", "有没有老人饭堂"),
    ("長者助餐服務", "长者助餐服务"),
    ("點樣搵工", "怎样找工作"),
    ("我個仔搵唔到工", "我个仔找不到工作"),
    ("金沙路幾時修好", "金沙路什么时候修好"),
    ("佢哋喺邊度食飯", "他们在哪里吃饭"),
    ("啲路仲未修好", "些路还没修好"),
    ("呢條路係咪要改造", "这条路是不是要改造"),
    ("ＡＢＣ１２３", "ABC123"),
    ("金沙路？？？！！！", "金沙路?!"),
    ("老人饭堂😀👍🏻", "老人饭堂"),
    ("  多余   空格  ", "多余 空格"),
    ("食品安全", "食品安全"),  # 食 alone is not Cantonese here
    ("周边环境", "周边环境"),
    # 边啲 (哪些) is not read across a word: the 边 of 街边 belongs to 街边, and only 啲 is Cantonese there.
    ("街边啲垃圾成日冇人清", "街边些垃圾总是没有人清"),
    ("街邊啲垃圾", "街边些垃圾"),
    ("身边啲朋友", "身边些朋友"),
    ("西区边啲路要修", "西区哪些路要修"),
    ("去边啲地方", "去哪些地方"),
]


@pytest.mark.parametrize("typed,expected", CASES)
def test_normalize_question(typed, expected):
    assert normalize_question(typed) == expected


@pytest.mark.parametrize("value", [None, 3, "", "   "])
def test_empty_or_odd_input_gives_empty_text(value):
    assert normalize_question(value) == ""


def test_long_input_is_cut():
    assert len(normalize_question("路" * 10_000)) == 500


def test_plan_punctuation():
    assert fix_plan_punctuation("今年,我们:增长1,000元") == "今年，我们：增长1,000元"


def test_a_text_over_the_limit_keeps_its_start_and_its_end():
    text = normalize_question("我家住金沙路。" + "以前" * 400 + "想问下这条路今年会改造吗？", limit=100)
    assert len(text) == 100
    assert text.startswith("我家住金沙路。") and text.endswith("想问下这条路今年会改造吗?") and "…" in text


@pytest.mark.parametrize(
    "typed, read",
    [
        ("&lt;p&gt;上门康复&lt;/p&gt;", "上门康复"),
        ("[链接](http://example.com) 家庭医生", "链接 家庭医生"),
        ("看 https://example.com/a?b=1 家庭医生", "看 家庭医生"),
        ("身份证号440620195501011234，我爸能不能申请上门康复", ",我爸能不能申请上门康复"),
        ("身份证440620********1234能申请吗", "能申请吗"),
        ("邮箱 zhang@example.com 家庭医生", "家庭医生"),
        ("2020年GDP增长3%", "2020年GDP增长3%"),
    ],
)
def test_entities_links_and_personal_numbers_are_not_read_as_words(typed, read):
    assert normalize_question(typed) == read


@pytest.mark.parametrize(
    "typed, read",
    [
        ("今年有没有打算修一修金沙路", "今年有没有打算修金沙路"),
        ("帮我查一查家庭医生", "帮我查家庭医生"),
        ("统一一下标准", "统一一下标准"),
        ("一一对应", "一一对应"),
    ],
)
def test_a_verb_said_as_try_and_do_is_read_as_the_verb(typed, read):
    assert normalize_question(typed) == read


@pytest.mark.parametrize(
    "typed, read",
    [
        ("jiating yisheng zenme qianyue", "家庭医生怎么签约"),
        ("zhangzhe fantang zai nali", "长者饭堂在哪里"),
        ("jin sha lu shenme shihou xiuhao", "金沙路什么时候修好"),
        ("GDP zengzhang duoshao", "GDP 增长多少"),  # the stretch that is pinyin
        ("Wi-Fi 信号", "Wi-Fi 信号"),
        ("bus taxi APP hello", "bus taxi APP hello"),  # English is left alone
        ("shenme", "shenme"),  # words of asking alone say nothing about the plan
    ],
)
def test_pinyin_typed_for_the_districts_words_is_read_as_them(typed, read):
    assert normalize_question(typed) == read
