"""The words of the messages followers get: what changed, briefly, with the source line; elders the short form.

The elder short form is the staff-written plain version when there is one, otherwise the same deterministic
rules as elder answers (actions/elder.py); its text without the source line is what the voice reads.
"""

from __future__ import annotations

import json
from datetime import date

from .follows import Subject

MAX_ANNOUNCEMENT = 1000
NO_LONGER = "该条信息已不再适用。"
STOP_HINT = "不想再收到，请发“取消关注{label}”。"
# Standard form: what kind of change, for the subject the resident follows.
HEADLINES = {
    "added": "您关注的「{label}」有新消息：",
    "valid": "您关注的「{label}」有新消息（今天起适用）：",
    "edited": "您关注的「{label}」的信息有更新：",
    "retired": "您关注的「{label}」有变化：",
    "expired": "您关注的「{label}」有变化：",
}
ELDER_HEADLINES = {
    "added": "「{label}」有新消息。",
    "valid": "「{label}」有新消息。",
    "edited": "「{label}」的消息更新了。",
    "retired": "「{label}」的一条消息不再适用了。",
    "expired": "「{label}」的一条消息不再适用了。",
}


def what_changed(before: dict | None, after: dict | None, today: date | None = None) -> str | None:
    """added | edited | retired, or None for a change followers are not told about (heading, plain version,
    dates only; a passage added for a later date is told on that date instead)."""
    today_iso = (today or date.today()).isoformat()
    before, after = before or {}, after or {}
    active_before = before.get("status") == "active"
    active_after = after.get("status") == "active"
    if active_before and not active_after:
        return "retired"
    if not active_after:
        return None
    if after.get("valid_from") and after["valid_from"] > today_iso:
        return None
    if after.get("valid_to") and after["valid_to"] < today_iso:
        return None
    if not active_before:
        return "added"
    return "edited" if (before.get("text") or "") != (after.get("text") or "") else None


def passage_for_notice(kb_db, row: dict) -> dict:
    """A passage row (from the history or the table) with its document's title and year."""
    passage = dict(row)
    doc = kb_db.execute(
        "SELECT title, year, published FROM documents WHERE id = ?", [passage.get("document_id")]
    ).fetchone()
    if doc:
        passage.setdefault("title", doc[0])
        passage.setdefault("year", doc[1])
        if not passage.get("published"):
            passage["published"] = doc[2]
    passage.setdefault("title", "西区居民助手补充信息")
    for key in ("entities", "topics"):
        if isinstance(passage.get(key), str):
            passage[key] = json.loads(passage[key] or "[]")
    passage.setdefault("section", "")
    passage.setdefault("heading", "")
    return passage


def compose(what: str, subject: Subject, passage: dict, elder: bool) -> tuple[str, str | None]:
    """(message text, voice text or None) for one follower."""
    from actions import elder as elder_rules  # the same wording rules as answers
    from actions import replies

    label = subject.label
    gone = what in ("retired", "expired")
    if elder:
        if gone:
            body = NO_LONGER
        else:
            body = elder_rules.simplify_for_elders(
                passage, [label] if subject.kind == "entity" else [], len(passage["text"]) + 80, [], {}
            )
            body = "\n".join(
                line for line in body.split("\n") if not line.startswith("来源") and not line.startswith("想问清楚")
            )
        spoken = ELDER_HEADLINES[what].format(label=label) + "\n" + body
        return spoken + "\n" + elder_rules.short_source_line(passage), spoken
    if gone:
        before = passage["text"] if len(passage["text"]) <= 80 else passage["text"][:80] + "…"
        body = f"{NO_LONGER}\n原来的内容：{before}"
    else:
        body = passage["text"]
    lines = [HEADLINES[what].format(label=label), body, replies.source_line(passage), STOP_HINT.format(label=label)]
    return "\n".join(lines), None


def compose_announcement(subject: Subject, text: str, elder: bool) -> tuple[str, str | None]:
    label = subject.label
    if elder:
        spoken = f"西区通知（{label}）：\n{text}"
        return spoken, spoken
    return f"西区工作人员通知（您关注的「{label}」）：\n{text}\n{STOP_HINT.format(label=label)}", None
