"""The console's pages: 待处理问题, 资料, 联系电话, 术语解释, 导入, 概况.

Each handler reads the request, calls the library (knowledge/staff.py for every change, on the console's worker
thread) and renders a template. A refusal of the library (validation, a conflict, a missing row, a failed write)
is shown in words on the same form, with what was typed kept.
"""

from __future__ import annotations

import json
import re
import sqlite3
import tempfile
from datetime import datetime, timezone
from pathlib import Path

import aiohttp_jinja2
from aiohttp import web
from aiohttp_session import get_session

from knowledge import catalog, ingest, policy, staff

from . import answers, inbox, overview
from .app import CONSOLE, Console, csrf_ok, editor_only, flash, refused

PASSAGE_FORM = ("topic", "heading", "text", "plain", "entities", "valid_from", "valid_to")
LIBRARY_REFUSALS = (staff.ValidationError, staff.ConflictError, staff.NotFound, ValueError)
SAVE_FAILED = "保存失败（{error}）。什么都没有改动，请稍后再试，或联系技术人员。"
HISTORY_SKIP = {
    "updated_at",
    "revision",
    "published",
    "id",
    "document_id",
    "seq",
    "part_no",
    "heading_tokens",
    "tokens",
}
ACTIONS = {
    "add": "新增",
    "edit": "修改",
    "retire": "停用",
    "remove": "删除",
    "undo": "撤销",
    "import": "导入",
    "restore": "恢复备份",
}


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/", home)
    router.add_get("/questions", questions_page)
    router.add_post("/questions/dismiss", dismiss_question)
    router.add_post("/questions/phrase", attach_phrase)
    router.add_post("/questions/example", attach_example)
    router.add_get("/passages", passages_page)
    router.add_get("/passages/new", new_passage_page)
    router.add_post("/passages/new", new_passage)
    router.add_get(r"/passages/{id:\d+}", passage_page)
    router.add_get(r"/passages/{id:\d+}/edit", edit_passage_page)
    router.add_post(r"/passages/{id:\d+}/edit", edit_passage)
    router.add_post(r"/passages/{id:\d+}/retire", retire_passage)
    router.add_post(r"/changes/{id:\d+}/undo", undo_change)
    router.add_get("/contacts", contacts_page)
    router.add_get("/contacts/new", contact_form_page)
    router.add_post("/contacts/new", save_contact)
    router.add_get(r"/contacts/{id:\d+}/edit", contact_form_page)
    router.add_post(r"/contacts/{id:\d+}/edit", save_contact)
    router.add_post(r"/contacts/{id:\d+}/remove", remove_contact)
    router.add_get("/glossary", glossary_page)
    router.add_get("/glossary/edit", glossary_form_page)
    router.add_post("/glossary/edit", save_glossary)
    router.add_post("/glossary/remove", remove_glossary)
    router.add_get("/import", import_page)
    router.add_post("/import", upload_plan)
    router.add_post("/import/confirm", confirm_import)
    router.add_get("/overview", overview_page)


async def home(request: web.Request) -> web.Response:
    raise web.HTTPFound("/questions")


def as_float(value) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def when(stamp: str | None) -> str:
    """A stored UTC time as the server's local time, to the minute: 2026-11-27 09:30."""
    if not stamp:
        return ""
    moment = datetime.fromisoformat(stamp)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone().strftime("%Y-%m-%d %H:%M")


def console_of(request: web.Request) -> Console:
    return request.app[CONSOLE]


def who(request: web.Request) -> str:
    return request["account"]["name"]


def render(template: str, request: web.Request, context: dict, status: int = 200) -> web.Response:
    return aiohttp_jinja2.render_template(template, request, context, status=status)


def topic_choices() -> list[tuple[str, str]]:
    return [(key, topic.label) for key, topic in catalog.topics().items()]


def draft_fields(request: web.Request) -> dict | None:
    """What was typed before the session ended, when this page is where it was typed."""
    token = request.query.get("draft")
    kept = console_of(request).drafts.get(token) if token else None
    if kept and kept["path"] == request.path:
        return dict(kept["fields"])
    return None


async def library_call(request: web.Request, fn, *args, **kwargs):
    """Run a knowledge/staff.py call on the worker thread; returns (result, error message or None)."""
    try:
        return await console_of(request).run(fn, *args, **kwargs), None
    except LIBRARY_REFUSALS as error:
        return None, str(error)
    except (OSError, sqlite3.Error) as error:
        return None, SAVE_FAILED.format(error=error)


# ---------------------------------------------------------------- 待处理问题


async def questions_page(request: web.Request) -> web.Response:
    console = console_of(request)

    def load():
        log = console.log()
        groups = inbox.unanswered(log)
        for g in groups:
            g["reply"] = answers.bot_reply(console.kb, g["text"], g["intent"], g["confidence"])
            g["topic"] = policy.TOPIC_INTENTS.get(g["intent"]) or ""
        downs = inbox.thumbs_down(log)
        headings = passage_headings(console, [d["passage_id"] for d in downs])
        for d in downs:
            d["heading"] = headings.get(d["passage_id"], "")
        return groups, downs

    groups, downs = await console.run(load)
    return render("questions.html", request, {"groups": groups, "downs": downs, "title": "待处理问题"})


def passage_headings(console: Console, ids) -> dict[int, str]:
    ids = [i for i in ids if i is not None]
    if not ids:
        return {}
    rows = (
        console.db()
        .execute(f"SELECT id, heading, section FROM passages WHERE id IN ({','.join('?' * len(ids))})", ids)
        .fetchall()
    )
    return {pid: heading or section for pid, heading, section in rows}


@editor_only
async def dismiss_question(request: web.Request) -> web.Response:
    form = await request.post()
    text = str(form.get("text", ""))
    console = console_of(request)
    await console.run(lambda: inbox.mark(console.log(), text, "not_ours", who(request)))
    await flash(request, f"已标记为“不是我们的事”：{text}")
    raise web.HTTPFound("/questions")


@editor_only
async def attach_phrase(request: web.Request) -> web.Response:
    """Teach the bot the resident's words for plan words (`kb phrase`), then say what it answers now."""
    console = console_of(request)
    form = await request.post()
    text, phrase, means = (str(form.get(name, "")) for name in ("text", "phrase", "means"))
    intent, confidence = str(form.get("intent", ""))[:40] or None, as_float(form.get("confidence"))

    def save():
        staff.add_phrase(console.db(), phrase, means, by=who(request))
        reply = answers.bot_reply(console.kb, text, intent, confidence)
        if reply["answered"]:
            inbox.mark(console.log(), text, "phrase", who(request))
        return reply

    reply, error = await library_call(request, save)
    if error:
        await flash(request, f"没有关联：{error}", "error")
    elif reply["answered"]:
        await flash(
            request,
            f"已关联：“{phrase}”就是计划里的“{means}”。现在问“{text}”，机器人会用第 {reply['passage_id']} 条资料回答。",
        )
    else:
        await flash(
            request,
            f"已关联“{phrase}”和“{means}”，但机器人对“{text}”还是会婉拒；这个问题留在列表里，可以再写一条新答案。",
            "warn",
        )
    raise web.HTTPFound("/questions")


@editor_only
async def attach_example(request: web.Request) -> web.Response:
    """Teach the bot which passage answers the resident's question (`kb example`), then say what it answers now."""
    console = console_of(request)
    form = await request.post()
    text = str(form.get("text", ""))
    intent, confidence = str(form.get("intent", ""))[:40] or None, as_float(form.get("confidence"))
    try:
        passage_id = int(str(form.get("passage_id", "")).strip())
    except ValueError:
        await flash(request, "没有关联：请填资料的编号（数字）。", "error")
        raise web.HTTPFound("/questions") from None

    def save():
        staff.add_example(console.db(), passage_id, text, by=who(request))
        reply = answers.bot_reply(console.kb, text, intent, confidence)
        if reply["answered"] and reply["passage_id"] == passage_id:
            inbox.mark(console.log(), text, "example", who(request))
        return reply

    reply, error = await library_call(request, save)
    if error:
        await flash(request, f"没有关联：{error}", "error")
    elif reply["answered"] and reply["passage_id"] == passage_id:
        await flash(request, f"已关联：现在问“{text}”和类似的问题，机器人会用第 {passage_id} 条资料回答。")
    else:
        now = f"用第 {reply['passage_id']} 条资料回答" if reply["answered"] else "婉拒"
        await flash(
            request,
            f"已把“{text}”关联到第 {passage_id} 条资料，但机器人现在还是会{now}；这个问题留在列表里，可以再写一条新答案。",
            "warn",
        )
    raise web.HTTPFound("/questions")


# ---------------------------------------------------------------- 资料


async def passages_page(request: web.Request) -> web.Response:
    console = console_of(request)
    q = request.query.get("q", "").strip()[:200]
    status = request.query.get("status", "active")
    if status not in ("active", "retired", "all"):
        status = "active"

    def load():
        if q:
            return [
                {
                    "id": h.passage["id"],
                    "heading": h.passage["heading"] or h.passage["section"],
                    "text": h.passage["text"],
                    "score": h.score,
                    "coverage": h.coverage,
                    "matched": h.matched,
                    "status": "active",
                }
                for h in console.kb.search(q, limit=20)
            ]
        where = "" if status == "all" else "WHERE p.status = ?"
        rows = console.db().execute(
            f"SELECT p.id, p.heading, p.section, p.text, p.status, d.title FROM passages p "
            f"JOIN documents d ON d.id = p.document_id {where} ORDER BY p.id",
            [] if status == "all" else [status],
        )
        return [{"id": i, "heading": h or s, "text": t, "status": st, "document": d} for i, h, s, t, st, d in rows]

    rows = await console.run(load)
    return render("passages.html", request, {"rows": rows, "q": q, "status": status, "title": "资料"})


def passage_view(console: Console, passage_id: int) -> dict:
    db = console.db()
    passage = staff.get_passage(db, passage_id)
    passage["document"] = db["documents"].get(passage["document_id"])["title"]
    passage["topics"] = json.loads(passage["topics"] or "[]")
    passage["entities"] = json.loads(passage["entities"] or "[]")
    changes = staff.history(db, "passages", passage_id)
    for c in changes:
        c["fields"] = [
            (k, (c["before"] or {}).get(k), (c["after"] or {}).get(k))
            for k in dict.fromkeys([*(c["before"] or {}), *(c["after"] or {})])
            if k not in HISTORY_SKIP and (c["before"] or {}).get(k) != (c["after"] or {}).get(k)
        ]
        c["action_label"] = ACTIONS.get(c["action"], c["action"])
    passage["changes"] = list(reversed(changes))
    return passage


async def passage_page(request: web.Request) -> web.Response:
    console = console_of(request)
    passage, error = await library_call(request, passage_view, console, int(request.match_info["id"]))
    if error:
        raise web.HTTPNotFound(text="没有这条资料。")
    return render(
        "passage.html", request, {"p": passage, "title": f"资料 {passage['id']}", "topics": dict(topic_choices())}
    )


def form_values(form) -> dict:
    return {name: str(form.get(name, "")) for name in PASSAGE_FORM}


def passage_fields(values: dict) -> dict:
    """Form values as knowledge/staff.py arguments: entities split on commas or spaces."""
    fields = dict(values)
    fields["entities"] = [e for e in re.split(r"[,，、;；\s]+", values.get("entities", "")) if e]
    return fields


def values_of(passage: dict) -> dict:
    return {
        "topic": (json.loads(passage["topics"] or "[]") or [""])[0],
        "heading": passage["heading"] or "",
        "text": passage["text"],
        "plain": passage["plain"] or "",
        "entities": "，".join(json.loads(passage["entities"] or "[]")),
        "valid_from": passage["valid_from"] or "",
        "valid_to": passage["valid_to"] or "",
    }


@editor_only
async def new_passage_page(request: web.Request) -> web.Response:
    question = request.query.get("question", "")[:500]
    intent = request.query.get("intent", "")[:40]
    confidence = request.query.get("confidence", "")[:20]
    values = {name: "" for name in PASSAGE_FORM}
    values["topic"] = policy.TOPIC_INTENTS.get(intent) or ""
    kept = draft_fields(request)
    if kept:
        values.update({k: kept.get(k, "") for k in PASSAGE_FORM})
        question, intent = kept.get("question", question), kept.get("intent", intent)
        confidence = kept.get("confidence", confidence)
    return render(
        "passage_form.html",
        request,
        {
            "title": "写新答案" if question else "新增资料",
            "values": values,
            "question": question,
            "intent": intent,
            "confidence": confidence,
            "topics": topic_choices(),
            "action": "/passages/new",
            "from_draft": bool(kept),
        },
    )


@editor_only
async def new_passage(request: web.Request) -> web.Response:
    console = console_of(request)
    form = await request.post()
    values = form_values(form)
    question, intent = str(form.get("question", ""))[:500], str(form.get("intent", ""))[:40] or None
    confidence = as_float(form.get("confidence"))
    fields = passage_fields(values)
    context = {
        "title": "写新答案" if question else "新增资料",
        "values": values,
        "question": question,
        "intent": intent or "",
        "confidence": form.get("confidence", ""),
        "topics": topic_choices(),
        "action": "/passages/new",
    }
    if form.get("do") == "preview":
        if not question:
            context["error"] = "预览需要一个居民的问题。"
            return render("passage_form.html", request, context, status=400)
        reply, error = await library_call(
            request,
            answers.preview_new_passage,
            console.settings.kb_path,
            question,
            intent,
            confidence,
            fields,
            who(request),
        )
        context.update(preview=reply, error=error)
        return render("passage_form.html", request, context, status=400 if error else 200)

    def save():
        passage_id = staff.add_passage(console.db(), by=who(request), **fields)
        reply = None
        if question:
            inbox.mark(console.log(), question, "answered", who(request))
            reply = answers.bot_reply(console.kb, question, intent, confidence)
        return passage_id, reply

    saved, error = await library_call(request, save)
    if error:
        context["error"] = error
        return render("passage_form.html", request, context, status=400)
    passage_id, reply = saved
    message = f"已保存为第 {passage_id} 条资料，机器人从下一个问题起就会用它。"
    if reply:
        message += f"现在问“{question}”，机器人{'会用这条资料回答' if reply['passage_id'] == passage_id else '的回答没有用到这条资料，请检查用词'}。"
    await flash(request, message)
    raise web.HTTPFound(f"/passages/{passage_id}")


@editor_only
async def edit_passage_page(request: web.Request) -> web.Response:
    console = console_of(request)
    passage_id = int(request.match_info["id"])
    passage, error = await library_call(request, lambda: staff.get_passage(console.db(), passage_id))
    if error:
        raise web.HTTPNotFound(text="没有这条资料。")
    values, revision = values_of(passage), passage["revision"]
    kept = draft_fields(request)
    if kept:
        values.update({k: kept.get(k, "") for k in PASSAGE_FORM})
        revision = int(kept.get("expect_revision") or revision)
    return render(
        "passage_form.html",
        request,
        {
            "title": f"修改资料 {passage_id}",
            "values": values,
            "revision": revision,
            "passage_id": passage_id,
            "topics": topic_choices(),
            "action": f"/passages/{passage_id}/edit",
            "from_draft": bool(kept),
        },
    )


@editor_only
async def edit_passage(request: web.Request) -> web.Response:
    console = console_of(request)
    passage_id = int(request.match_info["id"])
    form = await request.post()
    values = form_values(form)
    try:
        expected = int(form.get("expect_revision", ""))
    except ValueError:
        expected = None
    context = {
        "title": f"修改资料 {passage_id}",
        "values": values,
        "revision": expected,
        "passage_id": passage_id,
        "topics": topic_choices(),
        "action": f"/passages/{passage_id}/edit",
    }

    def save():
        db = console.db()
        current = values_of(staff.get_passage(db, passage_id))
        fields = passage_fields(values)
        changed = {
            k: v for k, v in fields.items() if (passage_fields(current)[k] if k == "entities" else current[k]) != v
        }
        if not changed:
            return None
        return staff.edit_passage(db, passage_id, by=who(request), expect_revision=expected, **changed)

    try:
        row = await console.run(save)
    except staff.ConflictError:
        conflict = await console.run(conflict_view, console, passage_id)
        context.update(conflict=conflict, revision=conflict["revision"])
        return render("passage_form.html", request, context, status=409)
    except LIBRARY_REFUSALS as error:
        context["error"] = str(error)
        return render("passage_form.html", request, context, status=400)
    except (OSError, sqlite3.Error) as error:
        context["error"] = SAVE_FAILED.format(error=error)
        return render("passage_form.html", request, context, status=500)
    await flash(
        request,
        "没有改动，所以没有保存。"
        if row is None
        else f"已保存（第 {row['revision']} 版），机器人从下一个问题起就用新的内容。",
    )
    raise web.HTTPFound(f"/passages/{passage_id}")


def conflict_view(console: Console, passage_id: int) -> dict:
    db = console.db()
    passage = staff.get_passage(db, passage_id)
    last = staff.history(db, "passages", passage_id)[-1]
    return {
        "by": last["by"],
        "at": when(last["at"]),
        "revision": passage["revision"],
        "saved": values_of(passage),
        "status": passage["status"],
    }


@editor_only
async def retire_passage(request: web.Request) -> web.Response:
    console = console_of(request)
    passage_id = int(request.match_info["id"])
    _, error = await library_call(request, lambda: staff.retire_passage(console.db(), passage_id, by=who(request)))
    await flash(
        request,
        error or f"第 {passage_id} 条资料已停用，机器人不再用它回答；需要时可以撤销。",
        "error" if error else "ok",
    )
    raise web.HTTPFound(f"/passages/{passage_id}")


@editor_only
async def undo_change(request: web.Request) -> web.Response:
    console = console_of(request)
    change_id = int(request.match_info["id"])
    form = await request.post()
    back = str(form.get("back", "/passages"))
    back = back if back.startswith("/") and not back.startswith("//") else "/passages"
    _, error = await library_call(request, lambda: staff.undo(console.db(), change_id, by=who(request)))
    await flash(
        request, f"没有撤销：{error}" if error else f"已撤销第 {change_id} 号改动。", "error" if error else "ok"
    )
    raise web.HTTPFound(back)


# ---------------------------------------------------------------- 联系电话


CONTACT_FORM = ("topic", "name", "phone", "hours", "address")


async def contacts_page(request: web.Request) -> web.Response:
    console = console_of(request)
    rows = await console.run(lambda: list(console.db()["contacts"].rows_where(order_by="topic, id")))
    return render("contacts.html", request, {"rows": rows, "title": "联系电话", "topics": dict(topic_choices())})


@editor_only
async def contact_form_page(request: web.Request) -> web.Response:
    console = console_of(request)
    contact_id = request.match_info.get("id")
    values = {name: "" for name in CONTACT_FORM}
    values["topic"] = "*"
    if contact_id:
        row = await console.run(
            lambda: (
                console.db()
                .execute("SELECT topic, name, phone, hours, address FROM contacts WHERE id = ?", [int(contact_id)])
                .fetchone()
            )
        )
        if row is None:
            raise web.HTTPNotFound(text="没有这个联系电话。")
        values = dict(zip(CONTACT_FORM, [v or "" for v in row]))
    kept = draft_fields(request)
    if kept:
        values.update({k: kept.get(k, "") for k in CONTACT_FORM})
    return render(
        "contact_form.html",
        request,
        {
            "title": "修改联系电话" if contact_id else "新增联系电话",
            "values": values,
            "topics": topic_choices(),
            "action": request.path,
            "from_draft": bool(kept),
        },
    )


@editor_only
async def save_contact(request: web.Request) -> web.Response:
    console = console_of(request)
    contact_id = request.match_info.get("id")
    form = await request.post()
    values = {name: str(form.get(name, "")) for name in CONTACT_FORM}
    _, error = await library_call(
        request,
        lambda: staff.set_contact(
            console.db(), by=who(request), contact_id=int(contact_id) if contact_id else None, **values
        ),
    )
    if error:
        return render(
            "contact_form.html",
            request,
            {
                "title": "修改联系电话" if contact_id else "新增联系电话",
                "values": values,
                "topics": topic_choices(),
                "action": request.path,
                "error": error,
            },
            status=400,
        )
    await flash(request, f"已保存联系电话：{values['name']} {values['phone']}")
    raise web.HTTPFound("/contacts")


@editor_only
async def remove_contact(request: web.Request) -> web.Response:
    console = console_of(request)
    contact_id = int(request.match_info["id"])
    _, error = await library_call(request, lambda: staff.remove_contact(console.db(), contact_id, by=who(request)))
    await flash(request, f"没有删除：{error}" if error else "已删除这个联系电话。", "error" if error else "ok")
    raise web.HTTPFound("/contacts")


# ---------------------------------------------------------------- 术语解释


async def glossary_page(request: web.Request) -> web.Response:
    console = console_of(request)
    rows = await console.run(lambda: list(console.db()["glossary"].rows_where(order_by="term")))
    return render("glossary.html", request, {"rows": rows, "title": "术语解释"})


@editor_only
async def glossary_form_page(request: web.Request) -> web.Response:
    console = console_of(request)
    term = request.query.get("term", "")[:40]
    values = {"term": term, "plain": ""}
    if term:
        row = await console.run(
            lambda: console.db().execute("SELECT plain FROM glossary WHERE term = ?", [term]).fetchone()
        )
        values["plain"] = row[0] if row else ""
    kept = draft_fields(request)
    if kept:
        values.update({k: kept.get(k, "") for k in ("term", "plain")})
    return render(
        "glossary_form.html",
        request,
        {"title": "修改术语解释" if term else "新增术语解释", "values": values, "from_draft": bool(kept)},
    )


@editor_only
async def save_glossary(request: web.Request) -> web.Response:
    console = console_of(request)
    form = await request.post()
    values = {"term": str(form.get("term", "")), "plain": str(form.get("plain", ""))}
    _, error = await library_call(
        request, lambda: staff.set_glossary(console.db(), values["term"], values["plain"], by=who(request))
    )
    if error:
        return render(
            "glossary_form.html", request, {"title": "术语解释", "values": values, "error": error}, status=400
        )
    await flash(request, f"已保存术语解释：{values['term']}")
    raise web.HTTPFound("/glossary")


@editor_only
async def remove_glossary(request: web.Request) -> web.Response:
    console = console_of(request)
    term = str((await request.post()).get("term", ""))
    _, error = await library_call(request, lambda: staff.remove_glossary(console.db(), term, by=who(request)))
    await flash(request, f"没有删除：{error}" if error else f"已删除术语：{term}", "error" if error else "ok")
    raise web.HTTPFound("/glossary")


# ---------------------------------------------------------------- 导入


class NotAPlan(ValueError):
    """An upload that is not a work plan: binary data, an empty file, a document with no parts."""


def read_plan(data: bytes) -> tuple[str, ingest.ParsedDocument]:
    """Decode and parse an uploaded plan, or raise NotAPlan saying why in words."""
    if not data.strip():
        raise NotAPlan("文件是空的。请上传保存好的计划网页（HTML）或文字文件。")
    if b"\x00" in data[:65536]:
        raise NotAPlan("这不是文字或网页文件（像是图片、压缩包或 Word/PDF 文件）。请上传 HTML 或 TXT 文件。")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            raw = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise NotAPlan("读不出这个文件的文字（编码不是 UTF-8 或 GB18030）。请另存为 UTF-8 文字文件再上传。")
    if sum(ch.isprintable() or ch.isspace() for ch in raw) < 0.95 * len(raw):
        raise NotAPlan("这不是文字或网页文件。请上传 HTML 或 TXT 文件。")
    try:
        doc = ingest.parse_plan(raw)
    except ValueError:
        raise NotAPlan("在这个文件里没有找到计划的正文。") from None
    if not any(p.part_no for p in doc.passages):
        raise NotAPlan("没有找到“一、二、三、”这样的部分标题，这不像一份工作计划，所以没有导入。")
    return raw, doc


def plan_outline(doc: ingest.ParsedDocument) -> list[dict]:
    parts: dict[str, dict] = {}
    for p in doc.passages:
        part = parts.setdefault(p.section, {"section": p.section, "passages": []})
        part["passages"].append({"heading": p.heading, "text": p.text})
    return list(parts.values())


async def import_page(request: web.Request) -> web.Response:
    return render("import.html", request, {"title": "导入", "limit_mb": limit_mb(request)})


def limit_mb(request: web.Request) -> str:
    return f"{console_of(request).console.max_upload_bytes / 1024 / 1024:g}"


async def upload_plan(request: web.Request) -> web.Response:
    """Read an upload (refused unread when too large), check it is a plan, and show its parts before importing."""
    console = console_of(request)
    limit = console.console.max_upload_bytes

    def refuse(message: str, status: int = 400) -> web.Response:
        return render(
            "import.html", request, {"title": "导入", "error": message, "limit_mb": limit_mb(request)}, status=status
        )

    if request.content_length is not None and request.content_length > limit + 64 * 1024:
        return refuse(f"文件太大了：计划文件最多 {limit_mb(request)} MB。没有导入。", 413)
    reader = await request.multipart()
    first = await reader.next()
    session = await get_session(request)
    if first is None or first.name != "csrf" or not csrf_ok(session, (await first.read(decode=True)).decode()):
        return refused(request, "这个表单没有有效的安全令牌（CSRF），所以没有导入。请回到页面刷新后再试一次。")
    if request["account"]["role"] != "editor":
        return refused(request, "您的账号是查看账号，只能查看，不能导入。需要时请联系管理员开通编辑权限。")
    part = await reader.next()
    if part is None or part.name != "plan" or not part.filename:
        return refuse("请选择要导入的文件。")
    data = bytearray()
    while chunk := await part.read_chunk(64 * 1024):
        data += chunk
        if len(data) > limit:  # a sender that gave no length, or lied about it: stop reading here
            return refuse(f"文件太大了：计划文件最多 {limit_mb(request)} MB。没有导入。", 413)
    try:
        raw, doc = read_plan(bytes(data))
    except NotAPlan as error:
        return refuse(str(error))
    token = console.keep(console.uploads, {"user": who(request), "filename": part.filename, "raw": raw})
    return render(
        "import_preview.html",
        request,
        {"title": "导入：预览", "doc": doc, "parts": plan_outline(doc), "token": token, "filename": part.filename},
    )


@editor_only
async def confirm_import(request: web.Request) -> web.Response:
    console = console_of(request)
    form = await request.post()
    upload = console.uploads.pop(str(form.get("token", "")), None)
    if upload is None or upload["user"] != who(request):
        return render(
            "import.html",
            request,
            {"title": "导入", "limit_mb": limit_mb(request), "error": "预览已过期，请重新上传文件。"},
            status=400,
        )

    def save():
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "plan.txt"
            path.write_text(upload["raw"], encoding="utf-8")
            return staff.import_file(console.db(), path, by=who(request))

    result, error = await library_call(request, save)
    if error:
        return render(
            "import.html", request, {"title": "导入", "limit_mb": limit_mb(request), "error": error}, status=400
        )
    doc_id, created, title = result
    await flash(
        request,
        f"已导入《{title}》（文件 {doc_id}），机器人从下一个问题起就会用它。"
        if created
        else f"《{title}》以前已经导入过，没有改动。",
    )
    raise web.HTTPFound("/passages?status=all")


# ---------------------------------------------------------------- 概况


async def overview_page(request: web.Request) -> web.Response:
    console = console_of(request)

    def load():
        log = console.log()
        figures = overview.daily_figures(console.settings.trackers_path, log, datetime.now(timezone.utc).date())
        feedback = inbox.feedback_per_passage(log)
        headings = passage_headings(console, [f["passage_id"] for f in feedback])
        for f in feedback:
            f["heading"] = headings.get(f["passage_id"], "（已不存在）")
        return figures, inbox.top_unanswered_this_week(log), feedback

    figures, top, feedback = await console.run(load)
    return render(
        "overview.html",
        request,
        {
            "title": "概况",
            "figures": figures,
            "chart": overview.chart_svg(figures),
            "top": top,
            "feedback": feedback,
            "colours": overview.COLOURS,
            "labels": overview.LABELS,
        },
    )
