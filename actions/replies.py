"""The words the assistant says: answers from the plan, honest declines, and their source lines."""

from __future__ import annotations

import re
from datetime import date

from knowledge import lexicon
from knowledge.policy import SECOND_PASSAGE_RATIO
from knowledge.search import Hit
from knowledge.texts import CONTACT_FALLBACK, MAINTENANCE  # noqa: F401  (MAINTENANCE: said by the actions)

CLOSEST_INTRO = "计划里和您的问题最接近的是："
CLOSEST_ELDER = "计划里最接近的是："
ALTERNATIVES_INTRO = "也可能您想问："
OTHERS_BELOW = "计划里别的相关部分在下面的按钮里。"  # the buttons themselves start with ALTERNATIVES_INTRO
MORE_INTRO = "计划里相关的还有一条："
SECTION_INTRO = "计划「{heading}」这部分还讲到："
PART_INTRO = "您问「{part}」："
PART_NOT_IN_PLAN = "计划里没有讲到这一点。"  # a part of a message that the plan does not answer
PART_QUOTE_CHARS = 20  # a part of a long message is quoted by what it asks (after 想问), from its end
BUTTON_TITLE_CHARS = 18
# Another passage is worth offering (a button, or 还有呢) when it holds a good share of what was asked, not just
# a word like 今年 or 检查: at least RELATED_COVERAGE of the question and RELATED_RATIO of what the best one holds.
RELATED_COVERAGE = 0.3
RELATED_RATIO = 0.6
# Offered under standard answers; staff see the counts in `kb unanswered`.
FEEDBACK_BUTTONS = [
    {"title": "👍 有用", "payload": "/feedback_helpful"},
    {"title": "👎 没用", "payload": "/feedback_not_helpful"},
]


def short_section(section: str) -> str:
    """五、紧紧抓住人民这个核心，持续满足... -> 五、紧紧抓住人民这个核心"""
    return section.split("，")[0] if section else ""


def source_of(passage: dict) -> dict:
    """The `custom.source` object of an answer taken from this passage (DESIGN.md contract)."""
    return {
        "document": passage["title"],
        "published": passage["published"],
        "section": short_section(passage["section"]),
        "heading": passage["heading"] or "",
        "passage_id": passage["id"],
    }


def source_line(passage: dict) -> str:
    where = " · ".join(x for x in (short_section(passage["section"]), passage["heading"]) if x)
    return f"来源：《{passage['title']}》{where}"


def contact_text(contacts: list[dict]) -> str:
    contact = contacts[0] if contacts else CONTACT_FALLBACK
    hours = f"，{contact['hours']}" if contact.get("hours") else ""
    return f"{contact['name']}（电话 {contact['phone']}{hours}）"


def standard_answer(hits: list[Hit], contacts: list[dict], today: date | None = None) -> str:
    """An answer from the best passage (and a close second one), with a note on the plan's age and the source."""
    passage = hits[0].passage
    lines = [f"《{passage['title']}》（{passage['published']}发布）中写道：", passage["text"]]
    if other := second_passage(hits):
        lines.append(f"另外，“{other['heading'] or short_section(other['section'])}”部分写道：")
        lines.append(other["text"])
    lines += _age_and_source(passage, contacts, today)
    return "\n".join(lines)


def second_passage(hits: list[Hit]) -> dict | None:
    """A passage under another heading that a sure answer quotes too: it answers as well as the best one."""
    best = hits[0]
    for other in hits[1:2]:
        if (
            other.score >= best.score * SECOND_PASSAGE_RATIO
            and other.passage["heading"] != best.passage["heading"]
            and other.coverage >= best.coverage
        ):
            return other.passage
    return None


def _age_and_source(passage: dict, contacts: list[dict], today: date | None = None) -> list[str]:
    lines = []
    year = passage.get("year")
    this_year = (today or date.today()).year
    if year and year < this_year:
        lines.append(f"这是{year}年的工作计划；现在的进展和具体安排，请咨询{contact_text(contacts)}。")
    lines.append(source_line(passage))
    return lines


def closest_answer(hits: list[Hit], contacts: list[dict], today: date | None = None, offered: bool = False) -> str:
    """A fairly-sure reply: the closest passage, said as such, with the plan's age and the source (and a pointer to
    the buttons of the other passages `offered`)."""
    passage = hits[0].passage
    lines = [f"{CLOSEST_INTRO}《{passage['title']}》（{passage['published']}发布）写道：", passage["text"]]
    if offered:
        lines.append(OTHERS_BELOW)
    lines += _age_and_source(passage, contacts, today)
    return "\n".join(lines)


def related(hits: list[Hit]) -> list[dict]:
    """The other passages of a search worth showing beside the best one, best first: those that hold a good share
    of the question (RELATED_COVERAGE) and what made the best one best: every term it matched, or all but one of
    three or more (平安春运 shares 路 with 今年哪些路在修, not 建设)."""
    best = hits[0]
    floor = max(RELATED_COVERAGE, RELATED_RATIO * best.coverage)
    wanted = set(best.matched)
    allowed_missing = 1 if len(wanted) >= 3 else 0
    return [
        h.passage
        for h in hits[1:]
        if h.coverage >= floor
        and h.passage["id"] != best.passage["id"]
        and len(wanted - set(h.matched)) <= allowed_missing
    ]


def passage_title(passage: dict, limit: int = BUTTON_TITLE_CHARS, taken: frozenset[str] = frozenset()) -> str:
    """What a button calls a passage: its heading, or the start of its text when the heading is `taken` (another
    passage on the screen has it) or missing."""
    title = passage["heading"] if passage["heading"] and passage["heading"] not in taken else ""
    title = title or passage["text"].rstrip("。")
    return title if len(title) <= limit else title[: limit - 1] + "…"


def alternative_buttons(passages: list[dict], elder: bool = False, shown: dict | None = None) -> list[dict]:
    """Buttons that show another passage (within Telegram's 64 bytes of callback data). A passage under the same
    heading as the `shown` one, or as an earlier button, is named by the start of its text."""
    prefix = "" if elder else ALTERNATIVES_INTRO
    taken = {shown["heading"]} if shown and shown.get("heading") else set()
    buttons = []
    for p in passages:
        payload = f'/ask_plan{{"passage_id":"{p["id"]}"}}'
        buttons.append({"title": prefix + passage_title(p, taken=frozenset(taken)), "payload": payload})
        taken.add(p["heading"])
    return buttons


def no_more(contacts: list[dict], asked_before: bool) -> str:
    """还有呢 when nothing else of the plan is near the last question (or nothing was asked yet)."""
    if not asked_before:
        return "您想了解哪方面？请直接问我，比如：老人在哪里吃饭？"
    return f"计划里和这个问题有关的，我都已经告诉您了。想了解更具体的情况，可以问{contact_text(contacts)}。"


def passage_gone() -> str:
    return "这条信息已经不再使用了。请直接把您的问题再发一次。"


EMERGENCY = "如果有人有危险，请马上打电话：急救 120，火警 119，报警 110。"


def part_intro(part: str) -> str:
    """您问「长者饭堂怎么申请」：, introducing the answer to one part of a message that asks several things."""
    asked = part[lexicon.focus_start(part) :].strip(" ,.") or part
    if len(asked) > PART_QUOTE_CHARS:
        asked = "…" + asked[len(asked) - PART_QUOTE_CHARS + 1 :]
    return PART_INTRO.format(part=asked)


def decline_answer(contacts: list[dict], elder: bool = False, why: str = "") -> str:
    """What to say when the plan does not answer: plainly (with `why` when it is known: 西区的工作计划里没有提到
    岐江公路。), with where to ask instead."""
    if elder:
        first = why or "工作计划里没有讲这件事。"
        return f"{first}\n请打电话问：{(contacts[0] if contacts else CONTACT_FALLBACK)['phone']}。"
    first = f"抱歉，{why}" if why else "抱歉，西区的工作计划里没有讲到这个问题，我不想猜。"
    return (
        f"{first}\n"
        f"您可以咨询{contact_text(contacts)}。\n"
        "我能回答的有：长者助餐和养老服务、找工作和招聘、道路建设，以及工作计划里的其他工作。"
    )


# A message in another language (English): the plan may well answer it, but the bot reads Chinese (and pinyin).
ASK_IN_CHINESE = "对不起，我只看得懂中文（也可以打拼音）。请用中文问，比如：老人在哪里吃饭？哪条路在修？\nSorry, please ask in Chinese."
_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")


def in_another_language(text: str) -> bool:
    """True for a normalized message of three or more Latin words and no Chinese: pinyin has become Chinese by
    then, and GDP or 4050 人员 has Chinese or is one word."""
    return not re.search(r"[\u4e00-\u9fff]", text) and len(_LATIN_WORD.findall(text)) >= 3


def nothing_to_read() -> str:
    return "我没有看到文字问题。请用文字告诉我您想问什么，比如：老人在哪里吃饭？哪条路在修？"


def no_date_note(passage: dict, names: list[str], elder: bool = False) -> str:
    """金沙路几时修好, when the passage gives no date: say so first, and what the plan does say of the time."""
    what = names[0] if names else "这项工作"
    year = passage.get("year")
    if elder:
        return f"计划没有写{what}的具体时间。" + (f"这是{year}年要做的事。" if year else "")
    plan = f"只说这是{year}年要做的工作" if year else "只说了要做的工作"
    return f"计划里没有写{what}的具体时间，{plan}："


def privacy_note(elder: bool = False) -> str:
    """Said first when a message holds a phone, ID or card number (read and kept only masked)."""
    if elder:
        return "（请不要发身份证号、电话号码。记录里只留遮住的号码。）"
    return "（为了您的安全，请不要在这里发身份证号、电话号码等个人信息；记录里只保存遮住的号码。）"


def too_long_note(limit: int) -> str:
    return f"（您的消息很长，我只读了开头和最后一共{limit}个字。）"
