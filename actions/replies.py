"""The words the assistant says: answers from the plan, honest declines, and their source lines."""

from __future__ import annotations

from datetime import date

from knowledge.policy import ALTERNATIVES_OFFERED, SECOND_PASSAGE_RATIO
from knowledge.search import Hit
from knowledge.texts import CONTACT_FALLBACK, MAINTENANCE  # noqa: F401  (MAINTENANCE: said by the actions)

CLOSEST_INTRO = "计划里和您的问题最接近的是："
CLOSEST_ELDER = "计划里最接近的是："
ALTERNATIVES_INTRO = "也可能您想问："
BUTTON_TITLE_CHARS = 18
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
    best = hits[0]
    passage = best.passage
    lines = [f"《{passage['title']}》（{passage['published']}发布）中写道：", passage["text"]]
    for other in hits[1:2]:
        if (
            other.score >= best.score * SECOND_PASSAGE_RATIO
            and other.passage["heading"] != passage["heading"]
            and other.coverage >= best.coverage
        ):
            lines.append(f"另外，“{other.passage['heading'] or short_section(other.passage['section'])}”部分写道：")
            lines.append(other.passage["text"])
    lines += _age_and_source(passage, contacts, today)
    return "\n".join(lines)


def _age_and_source(passage: dict, contacts: list[dict], today: date | None = None) -> list[str]:
    lines = []
    year = passage.get("year")
    this_year = (today or date.today()).year
    if year and year < this_year:
        lines.append(f"这是{year}年的工作计划；现在的进展和具体安排，请咨询{contact_text(contacts)}。")
    lines.append(source_line(passage))
    return lines


def closest_answer(hits: list[Hit], contacts: list[dict], today: date | None = None) -> str:
    """A fairly-sure reply: the closest passage, said as such, with the plan's age and the source."""
    passage = hits[0].passage
    lines = [f"{CLOSEST_INTRO}《{passage['title']}》（{passage['published']}发布）写道：", passage["text"]]
    if alternatives(hits):
        lines.append(f"{ALTERNATIVES_INTRO}见下面的按钮。")
    lines += _age_and_source(passage, contacts, today)
    return "\n".join(lines)


def alternatives(hits: list[Hit]) -> list[dict]:
    """The next-best passages worth offering beside the closest one: other headings, some coverage."""
    offered, seen = [], {hits[0].passage["heading"] or hits[0].passage["text"]}
    for hit in hits[1:]:
        key = hit.passage["heading"] or hit.passage["text"]
        if hit.coverage <= 0 or key in seen:
            continue
        seen.add(key)
        offered.append(hit.passage)
        if len(offered) == ALTERNATIVES_OFFERED:
            break
    return offered


def passage_title(passage: dict, limit: int = BUTTON_TITLE_CHARS) -> str:
    """What a button calls a passage: its heading, or the start of its text."""
    title = passage["heading"] or passage["text"].rstrip("。")
    return title if len(title) <= limit else title[: limit - 1] + "…"


def alternative_buttons(passages: list[dict], elder: bool = False) -> list[dict]:
    """Buttons that show another passage (within Telegram's 64 bytes of callback data)."""
    prefix = "" if elder else ALTERNATIVES_INTRO
    return [{"title": prefix + passage_title(p), "payload": f'/ask_plan{{"passage_id":"{p["id"]}"}}'} for p in passages]


def passage_gone() -> str:
    return "这条信息已经不再使用了。请直接把您的问题再发一次。"


def decline_answer(contacts: list[dict], elder: bool = False) -> str:
    """What to say when the plan does not answer: plainly, with where to ask instead."""
    if elder:
        return f"工作计划里没有讲这件事。\n请打电话问：{(contacts[0] if contacts else CONTACT_FALLBACK)['phone']}。"
    return (
        "抱歉，西区的工作计划里没有讲到这个问题，我不想猜。\n"
        f"您可以咨询{contact_text(contacts)}。\n"
        "我能回答的有：长者助餐和养老服务、找工作和招聘、道路建设，以及工作计划里的其他工作。"
    )


def nothing_to_read() -> str:
    return "我没有看到文字问题。请用文字告诉我您想问什么，比如：老人在哪里吃饭？哪条路在修？"


def too_long_note(limit: int) -> str:
    return f"（您的消息很长，我只读了前{limit}个字。）"
