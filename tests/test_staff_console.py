"""The staff console in-process (aiohttp's test server), its accounts and `kb staff`, and `kb` as an installed command.

The flows in a real browser, with the real bot behind, are in test_staff_console_browser.py.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer
from click.testing import CliRunner

from bot.settings import ConsoleSettings
from bot.staff import inbox, overview
from bot.staff.app import CONSOLE, build_app
from knowledge import accounts, staff, store
from knowledge.cli import cli
from knowledge.questions import QuestionLog
from knowledge.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "correct horse 1"
UPLOAD_LIMIT = 256 * 1024


class Clock:
    def __init__(self):
        self.now = time.time()

    def __call__(self):
        return self.now


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


class Staff:
    """One staff member's browser: a cookie jar, and forms sent with the page's CSRF token."""

    def __init__(self, client: TestClient, session: aiohttp.ClientSession | None = None):
        self.client, self.session = client, session

    async def get(self, path: str, **kw):
        if self.session:
            return await self.session.get(self.client.make_url(path), **kw)
        return await self.client.get(path, **kw)

    async def post(self, path: str, data, **kw):
        if self.session:
            return await self.session.post(self.client.make_url(path), data=data, **kw)
        return await self.client.post(path, data=data, **kw)

    async def token(self, path: str = "/questions") -> str:
        return csrf_of(await (await self.get(path)).text())

    async def login(self, name: str, password: str = PASSWORD):
        page = await (await self.get("/login")).text()
        return await self.post(
            "/login", {"csrf": csrf_of(page), "name": name, "password": password, "next": "/"}, allow_redirects=False
        )

    async def submit(self, path: str, fields: dict, token_from: str | None = None, **kw):
        return await self.post(path, {"csrf": await self.token(token_from or path), **fields}, **kw)


@pytest.fixture(scope="module")
def kb_with_accounts(built_kb, tmp_path_factory) -> Path:
    """The built knowledge base with two editors and a viewer (argon2 is slow on purpose: hash once)."""
    path = tmp_path_factory.mktemp("console") / "knowledge.db"
    shutil.copy(built_kb, path)
    db = store.open_for_writing(path)
    accounts.add_account(db, "editor1", "editor", PASSWORD)
    accounts.add_account(db, "editor2", "editor", PASSWORD)
    accounts.add_account(db, "viewer1", "viewer", PASSWORD)
    db.conn.close()
    return path


@pytest.fixture
def settings(kb_with_accounts, built_kb, tmp_path) -> Settings:
    kb_path = tmp_path / "knowledge.db"
    shutil.copy(kb_with_accounts, kb_path)
    return Settings(
        kb_path=kb_path,
        questions_path=tmp_path / "questions.db",
        trackers_path=tmp_path / "trackers.db",
        jieba_dict_dir=built_kb.parent / "jieba",
        cache_dir=tmp_path / "cache",
    )


@pytest.fixture
async def console(settings, tmp_path):
    clock = Clock()
    app = build_app(
        settings, ConsoleSettings(secret_file=tmp_path / "secret", max_upload_bytes=UPLOAD_LIMIT), clock=clock
    )
    async with TestClient(TestServer(app)) as client:
        client.clock = clock
        yield client


@pytest.fixture
async def editor(console):
    me = Staff(console)
    assert (await me.login("editor1")).status == 302
    return me


async def second_staff(console, name: str) -> Staff:
    session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    other = Staff(console, session)
    assert (await other.login(name)).status == 302
    return other


# ---------------------------------------------------------------- accounts


def test_accounts_lock_after_five_wrong_passwords_for_fifteen_minutes(kb_path):
    db = store.open_for_writing(kb_path)
    accounts.add_account(db, "wang", "editor", PASSWORD)
    now = datetime(2026, 11, 27, 9, 0, tzinfo=timezone.utc)
    for _attempt in range(4):
        with pytest.raises(accounts.LoginRefused) as refused:
            accounts.check_login(db, "wang", "wrong password", now)
        assert refused.value.reason == "wrong"
    with pytest.raises(accounts.LoginRefused) as refused:
        accounts.check_login(db, "wang", "wrong password", now)
    assert refused.value.reason == "locked" and refused.value.until == now + timedelta(minutes=15)
    with pytest.raises(accounts.LoginRefused) as refused:  # the right password does not open a locked account
        accounts.check_login(db, "wang", PASSWORD, now + timedelta(minutes=14))
    assert refused.value.reason == "locked"
    assert accounts.check_login(db, "wang", PASSWORD, now + timedelta(minutes=16))["name"] == "wang"


def test_a_right_password_resets_the_count_and_hashes_are_argon2(kb_path):
    db = store.open_for_writing(kb_path)
    accounts.add_account(db, "wang", "viewer", PASSWORD)
    for _ in range(4):
        with pytest.raises(accounts.LoginRefused):
            accounts.check_login(db, "wang", "nope")
    accounts.check_login(db, "wang", PASSWORD)
    with pytest.raises(accounts.LoginRefused) as refused:
        accounts.check_login(db, "wang", "nope")
    assert refused.value.reason == "wrong"
    stored = db.execute("SELECT password_hash FROM staff_accounts WHERE name = 'wang'").fetchone()[0]
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


@pytest.mark.parametrize(
    "name, role, password, message",
    [
        ("wang", "admin", PASSWORD, "unknown role"),
        ("wang", "editor", "short", "at least 10"),
        ("x", "editor", PASSWORD, "2-40 letters"),
        ("a b", "editor", PASSWORD, "2-40 letters"),
    ],
)
def test_accounts_refuse_bad_requests(kb_path, name, role, password, message):
    db = store.open_for_writing(kb_path)
    with pytest.raises(accounts.AccountError, match=message):
        accounts.add_account(db, name, role, password)
    assert accounts.list_accounts(db) == []


def test_unknown_and_disabled_accounts_cannot_sign_in(kb_path):
    db = store.open_for_writing(kb_path)
    accounts.add_account(db, "wang", "editor", PASSWORD)
    with pytest.raises(accounts.LoginRefused, match="wrong"):
        accounts.check_login(db, "nobody", PASSWORD)
    accounts.set_disabled(db, "wang")
    with pytest.raises(accounts.LoginRefused, match="disabled"):
        accounts.check_login(db, "wang", PASSWORD)
    assert accounts.active_account(db, "wang") is None


def test_kb_staff_add_list_disable_enable_password(kb_path):
    runner = CliRunner()
    db_opt = ["--db", str(kb_path)]
    result = runner.invoke(
        cli, ["staff", "add", "李明", "--role", "editor", *db_opt], input=f"{PASSWORD}\n{PASSWORD}\n"
    )
    assert result.exit_code == 0, result.output
    assert "added editor 李明" in result.output and PASSWORD not in result.output
    result = runner.invoke(
        cli, ["staff", "add", "李明", "--role", "viewer", *db_opt], input=f"{PASSWORD}\n{PASSWORD}\n"
    )
    assert result.exit_code == 1 and "already an account" in result.output
    result = runner.invoke(cli, ["staff", "add", "王芳", "--role", "viewer", *db_opt], input="short\nshort\n")
    assert result.exit_code == 1 and "at least 10 characters" in result.output
    assert runner.invoke(cli, ["staff", "disable", "李明", *db_opt]).exit_code == 0
    listed = runner.invoke(cli, ["staff", "list", *db_opt]).output
    assert re.search(r"李明\s+editor\s+disabled", listed) and "王芳" not in listed
    assert runner.invoke(cli, ["staff", "enable", "李明", *db_opt]).exit_code == 0
    new = "another password 2"
    assert runner.invoke(cli, ["staff", "password", "李明", *db_opt], input=f"{new}\n{new}\n").exit_code == 0
    db = store.open_for_writing(kb_path)
    assert accounts.check_login(db, "李明", new)["role"] == "editor"
    assert runner.invoke(cli, ["staff", "disable", "nobody", *db_opt]).exit_code == 1


def test_kb_is_an_installed_command_with_a_version():
    kb = Path(sys.executable).with_name("kb")
    assert kb.exists(), "make install puts `kb` into .venv/bin"
    env = {"PATH": "/usr/bin:/bin"}  # no PYTHONPATH: the installed package is found by itself
    shown = subprocess.run([str(kb), "--help"], capture_output=True, text=True, env=env, cwd="/", timeout=60)
    assert shown.returncode == 0 and "staff" in shown.stdout, shown.stderr
    version = subprocess.run([str(kb), "--version"], capture_output=True, text=True, env=env, cwd="/", timeout=60)
    from knowledge import __version__

    assert version.stdout.strip() == f"kb {__version__}"


# ---------------------------------------------------------------- sign-in, sessions, CSRF, roles


async def test_pages_need_a_signed_in_staff_member(console):
    for path in ("/", "/questions", "/passages", "/passages/1", "/contacts", "/glossary", "/import", "/overview"):
        response = await console.get(path, allow_redirects=False)
        assert response.status == 302 and response.headers["Location"].startswith("/login?next="), path


async def test_sign_in_sets_a_safe_cookie_and_a_wrong_password_is_told(console):
    me = Staff(console)
    wrong = await me.login("editor1", "not the password")
    assert wrong.status == 401 and "用户名或密码不对" in await wrong.text()
    unknown = await me.login("nobody", PASSWORD)
    assert unknown.status == 401 and "用户名或密码不对" in await unknown.text()
    right = await me.login("editor1")
    assert right.status == 302
    cookie = right.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Max-Age=32400" in cookie
    page = await me.get("/questions")
    assert page.status == 200 and "editor1" in await page.text()
    assert "script-src" not in page.headers["Content-Security-Policy"]  # default-src 'none': no script runs


async def test_lock_out_after_five_wrong_passwords(console):
    me = Staff(console)
    for _ in range(4):
        assert "用户名或密码不对" in await (await me.login("viewer1", "wrong wrong")).text()
    locked = await me.login("viewer1", "wrong wrong")
    assert "已锁定15分钟" in await locked.text()
    again = await me.login("viewer1")
    assert again.status == 401 and "已锁定" in await again.text()


async def test_a_session_ends_after_a_working_day_and_the_typed_text_is_kept(console, editor):
    page = await (await editor.get("/passages/5/edit")).text()
    revision = re.search(r'name="expect_revision" value="(\d+)"', page).group(1)
    console.clock.now += 9 * 3600 + 1
    typed = {
        "csrf": csrf_of(page),
        "expect_revision": revision,
        "topic": "roads",
        "heading": "",
        "text": "我在会话过期前写的这段话。",
        "plain": "",
        "entities": "",
        "valid_from": "",
        "valid_to": "",
    }
    expired = await editor.post("/passages/5/edit", typed, allow_redirects=False)
    body = await expired.text()
    assert expired.status == 401 and "登录已过期" in body and "已保留" in body
    draft = re.search(r'name="draft" value="([^"]+)"', body).group(1)
    signed_in = await editor.post(
        "/login",
        {"csrf": csrf_of(body), "name": "editor1", "password": PASSWORD, "draft": draft},
        allow_redirects=False,
    )
    assert signed_in.headers["Location"] == f"/passages/5/edit?draft={draft}"
    back = await (await editor.get(signed_in.headers["Location"])).text()
    assert "我在会话过期前写的这段话。" in back and "还没有保存" in back
    assert f'name="expect_revision" value="{revision}"' in back
    assert "我在会话过期前" not in staff.get_passage(_db(console), 5)["text"]


def _settings(console) -> Settings:
    return console.server.app[CONSOLE].settings


def _db(console):
    return store.open_for_writing(_settings(console).kb_path)


async def test_csrf_refused(console, editor):
    before = staff.get_passage(_db(console), 5)["text"]
    response = await editor.post("/passages/5/edit", {"csrf": "forged", "topic": "roads", "text": "被篡改的内容。"})
    assert response.status == 403 and "CSRF" in await response.text()
    missing = await editor.post("/glossary/remove", {"term": "白改黑"})
    assert missing.status == 403
    assert staff.get_passage(_db(console), 5)["text"] == before


async def test_a_viewer_reads_everything_and_changes_nothing(console):
    viewer = Staff(console)
    await viewer.login("viewer1")
    for path in ("/questions", "/passages", "/passages/5", "/contacts", "/glossary", "/import", "/overview"):
        page = await viewer.get(path)
        assert page.status == 200, path
        assert 'action="/passages/5/retire"' not in await page.text()
    refused = await viewer.submit("/passages/5/retire", {}, token_from="/passages/5")
    assert refused.status == 403 and "查看账号" in await refused.text()
    assert staff.get_passage(_db(console), 5)["status"] == "active"
    refused = await viewer.submit("/contacts/new", {"topic": "*", "name": "x", "phone": "12345"})
    assert refused.status == 403


async def test_a_disabled_account_is_signed_out_at_its_next_page(console, editor):
    accounts.set_disabled(_db(console), "editor1")
    response = await editor.get("/questions", allow_redirects=False)
    assert response.status == 302 and response.headers["Location"].startswith("/login")


# ---------------------------------------------------------------- passages


def edit_fields(page: str, **changes) -> dict:
    values = {
        "csrf": csrf_of(page),
        "expect_revision": re.search(r'name="expect_revision" value="(\d+)"', page).group(1),
    }
    for name in ("heading", "entities", "valid_from", "valid_to"):
        values[name] = re.search(rf'name="{name}"[^>]*value="([^"]*)"', page).group(1)
    for name in ("text", "plain"):
        values[name] = re.search(rf'name="{name}"[^>]*>(.*?)</textarea>', page, re.S).group(1)
    values["topic"] = re.search(r'<option value="(\w+)" selected>', page).group(1)
    return {k: v.replace("&#34;", '"').replace("&amp;", "&") for k, v in {**values, **changes}.items()}


async def test_two_staff_editing_the_same_passage_the_second_gets_the_conflict_in_words(console, editor):
    other = await second_staff(console, "editor2")
    try:
        mine = await (await editor.get("/passages/5/edit")).text()
        theirs = await (await other.get("/passages/5/edit")).text()
        saved = await other.post(
            "/passages/5/edit", edit_fields(theirs, text="王芳改的内容：金沙路2026年底完工。"), allow_redirects=False
        )
        assert saved.status == 302
        conflict = await editor.post("/passages/5/edit", edit_fields(mine, text="我改的内容：金沙路明年完工。"))
        body = await conflict.text()
        assert conflict.status == 409
        assert "editor2" in body and "没有保存" in body and "王芳改的内容" in body
        assert "我改的内容：金沙路明年完工。" in body  # what I typed is still in the form
        assert staff.get_passage(_db(console), 5)["text"] == "王芳改的内容：金沙路2026年底完工。"
        # Having seen theirs, saving again uses the new revision and wins.
        again = await editor.post(
            "/passages/5/edit", edit_fields(body, text="我改的内容：金沙路明年完工。"), allow_redirects=False
        )
        assert again.status == 302
        assert staff.get_passage(_db(console), 5)["text"] == "我改的内容：金沙路明年完工。"
    finally:
        await other.session.close()


async def test_edit_shows_history_before_and_after_and_undo_puts_it_back(console, editor):
    original = staff.get_passage(_db(console), 7)["text"]
    page = await (await editor.get("/passages/7/edit")).text()
    await editor.post("/passages/7/edit", edit_fields(page, text="新的说法。"))
    shown = await (await editor.get("/passages/7")).text()
    assert "editor1" in shown and "修改" in shown and original[:20] in shown and "新的说法。" in shown
    change_id = re.search(r'action="/changes/(\d+)/undo"', shown).group(1)
    undone = await editor.submit(f"/changes/{change_id}/undo", {"back": "/passages/7"}, token_from="/passages/7")
    assert "已撤销" in await undone.text()
    assert staff.get_passage(_db(console), 7)["text"] == original


async def test_script_tags_are_shown_as_text_everywhere(console, editor):
    evil = "<script>alert('x')</script>翠湾路通车了。"
    QuestionLog(_settings(console).questions_path).record(
        "r1", "<img src=x onerror=alert(1)>几时通车", "ask_roads", 0.5, "declined", 0.1
    )
    saved = await editor.submit(
        "/passages/new",
        {
            "topic": "roads",
            "text": evil,
            "heading": "<b>标题</b>",
            "plain": "",
            "entities": "",
            "valid_from": "",
            "valid_to": "",
            "do": "save",
        },
        token_from="/passages/new",
        allow_redirects=False,
    )
    assert saved.status == 302
    passage = saved.headers["Location"]
    for path in (passage, f"{passage}/edit", "/passages?status=all", "/passages?q=翠湾路通车", "/questions"):
        body = await (await editor.get(path)).text()
        assert "<script>alert" not in body and "<b>标题" not in body and "<img src=x" not in body, path
    assert "&lt;script&gt;alert" in await (await editor.get(passage)).text()
    assert "&lt;img src=x" in await (await editor.get("/questions")).text()


async def test_a_refused_passage_keeps_what_was_typed(console, editor):
    response = await editor.submit(
        "/passages/new",
        {
            "topic": "roads",
            "text": "",
            "plain": "x" * 40,
            "do": "save",
            "heading": "保留我",
            "entities": "",
            "valid_from": "",
            "valid_to": "",
        },
        token_from="/passages/new",
    )
    body = await response.text()
    assert response.status == 400 and "没有保存" in body and "保留我" in body


async def test_a_question_becomes_an_answer_with_a_preview_first(console, editor):
    questions = _settings(console).questions_path
    QuestionLog(questions).record("r1", "西区游泳池几点开门", "out_of_scope", 0.4, "declined", 0.1)
    listed = await (await editor.get("/questions")).text()
    assert "西区游泳池几点开门" in listed and "无法回答" in listed
    fields = {
        "question": "西区游泳池几点开门",
        "intent": "out_of_scope",
        "topic": "livelihood",
        "heading": "西区游泳池",
        "text": "西区游泳池每天几点开门：上午9点开门，晚上9点关门。",
        "plain": "",
        "entities": "",
        "valid_from": "",
        "valid_to": "",
    }
    preview = await editor.submit("/passages/new", {**fields, "do": "preview"}, token_from="/passages/new")
    body = await preview.text()
    assert "会用这条新资料回答" in body and "上午9点开门" in body
    assert _db(console).execute("SELECT count(*) FROM passages WHERE text LIKE '%游泳池%'").fetchone()[0] == 0
    saved = await editor.submit("/passages/new", {**fields, "do": "save"}, token_from="/passages/new")
    assert "会用这条资料回答" in await saved.text()
    assert "西区游泳池几点开门" not in await (await editor.get("/questions")).text()


async def test_not_ours_takes_a_question_off_the_list_until_it_is_asked_again(console, editor):
    log = QuestionLog(_settings(console).questions_path)
    log.record("r1", "比特币能买吗", "out_of_scope", 0.9, "declined", 0.0)
    await editor.submit("/questions/dismiss", {"text": "比特币能买吗"}, token_from="/questions")
    assert "比特币能买吗" not in await (await editor.get("/questions")).text()
    await asyncio.sleep(1.1)  # the log keeps times to the second
    log.record("r2", "比特币能买吗", "out_of_scope", 0.9, "declined", 0.0)
    assert "比特币能买吗" in await (await editor.get("/questions")).text()


async def test_a_question_s_phrase_attached_to_plan_words_makes_the_bot_answer_it(console, editor):
    QuestionLog(_settings(console).questions_path).record("r1", "我想打零工", "ask_employment", 0.9, "declined", 0.2)
    listed = await (await editor.get("/questions")).text()
    assert "我想打零工" in listed and "（婉拒）" in listed
    refused = await editor.submit(
        "/questions/phrase",
        {"text": "我想打零工", "phrase": "打零工", "means": "比特币", "intent": "ask_employment", "confidence": "0.9"},
        token_from="/questions",
    )
    assert "没有关联" in await refused.text() and "我想打零工" in await (await editor.get("/questions")).text()
    done = await editor.submit(
        "/questions/phrase",
        {
            "text": "我想打零工",
            "phrase": "打零工",
            "means": "公益性岗位，就业",
            "intent": "ask_employment",
            "confidence": "0.9",
        },
        token_from="/questions",
    )
    body = await done.text()
    assert "已关联" in body and "机器人会用第" in body
    assert "我想打零工" not in re.sub(
        r'<p class="flash.*?</p>', "", await (await editor.get("/questions")).text(), flags=re.S
    )
    assert staff.list_phrases(_db(console))[0]["means"] == ["公益性岗位", "就业"]
    assert staff.history(_db(console), "phrases", "打零工")[-1]["by"] == "editor1"


async def test_a_question_attached_to_the_passage_that_answers_it_makes_the_bot_answer_it(console, editor):
    question = "隔壁阿伯天天对着电视发呆没人陪"
    QuestionLog(_settings(console).questions_path).record("r1", question, "ask_plan", 0.9, "declined", 0.1)
    listed = await (await editor.get("/questions")).text()
    assert question in listed and "应该用第几条资料回答" in listed
    meals = _db(console).execute("SELECT id FROM passages WHERE text LIKE '%长者助餐配餐%'").fetchone()[0]
    refused = await editor.submit(
        "/questions/example", {"text": question, "passage_id": "第一条", "intent": "ask_plan"}, token_from="/questions"
    )
    assert "请填资料的编号" in await refused.text() and staff.list_examples(_db(console)) == []
    missing = await editor.submit(
        "/questions/example", {"text": question, "passage_id": "999999", "intent": "ask_plan"}, token_from="/questions"
    )
    assert "没有关联" in await missing.text()
    done = await editor.submit(
        "/questions/example",
        {"text": question, "passage_id": str(meals), "intent": "ask_plan", "confidence": "0.9"},
        token_from="/questions",
    )
    assert f"机器人会用第 {meals} 条资料回答" in await done.text()
    assert question not in re.sub(
        r'<p class="flash.*?</p>', "", await (await editor.get("/questions")).text(), flags=re.S
    )
    assert (
        staff.history(_db(console), "examples", str(staff.list_examples(_db(console))[0]["id"]))[-1]["by"] == "editor1"
    )


# ---------------------------------------------------------------- contacts, glossary


async def test_contacts_add_edit_remove(console, editor):
    added = await editor.submit(
        "/contacts/new",
        {"topic": "elderly", "name": "西区长者服务站", "phone": "0760-88881234", "hours": "周一至周五", "address": ""},
    )
    assert "已保存联系电话" in await added.text()
    cid = _db(console).execute("SELECT id FROM contacts WHERE name = '西区长者服务站'").fetchone()[0]
    bad = await editor.submit(
        f"/contacts/{cid}/edit",
        {"topic": "elderly", "name": "西区长者服务站", "phone": "打电话", "hours": "", "address": "保留的地址"},
    )
    assert bad.status == 400 and "保留的地址" in await bad.text()
    await editor.submit(
        f"/contacts/{cid}/edit",
        {"topic": "elderly", "name": "西区长者服务站", "phone": "0760-88880000", "hours": "", "address": ""},
    )
    assert _db(console).execute("SELECT phone FROM contacts WHERE id = ?", [cid]).fetchone()[0] == "0760-88880000"
    await editor.submit(f"/contacts/{cid}/remove", {}, token_from="/contacts")
    assert _db(console).execute("SELECT count(*) FROM contacts WHERE id = ?", [cid]).fetchone()[0] == 0
    assert staff.history(_db(console), "contacts", cid)[-1]["by"] == "editor1"


async def test_glossary_set_and_remove(console, editor):
    await editor.submit("/glossary/edit", {"term": "微改造", "plain": "小范围地修一修"})
    assert "小范围地修一修" in await (await editor.get("/glossary")).text()
    await editor.submit("/glossary/remove", {"term": "微改造"}, token_from="/glossary")
    assert "微改造" not in await (await editor.get("/glossary")).text()


# ---------------------------------------------------------------- import


PLAN = (ROOT / "knowledge" / "data" / "documents" / "xiqu-2020-work-plan.txt").read_text(encoding="utf-8")


async def upload(me: Staff, content: bytes, filename: str = "plan.txt"):
    form = aiohttp.FormData()
    form.add_field("csrf", await me.token("/import"))
    form.add_field("plan", content, filename=filename, content_type="application/octet-stream")
    return await me.post("/import", form)


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "文件是空的"),
        (b"   \n\n", "文件是空的"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4, "不是文字或网页文件"),
        ("西区通知\n今天下午停水，请大家做好准备。\n明天恢复。".encode(), "不像一份工作计划"),
    ],
)
async def test_import_refuses_what_is_not_a_plan(console, editor, content, message):
    response = await upload(editor, content)
    assert response.status == 400 and message in await response.text()


async def test_import_previews_then_imports_a_plan(console, editor):
    plan = PLAN.replace("2020", "2021").replace("2020-02-06", "2021-02-06")
    preview = await upload(editor, plan.encode("utf-8"), "西区2021年工作计划.txt")
    body = await preview.text()
    assert preview.status == 200 and "确认导入" in body and "一、" in body
    count = _db(console).execute("SELECT count(*) FROM documents").fetchone()[0]
    done = await editor.submit(
        "/import/confirm", {"token": re.search(r'name="token" value="([^"]+)"', body).group(1)}, token_from="/import"
    )
    assert "已导入" in await done.text()
    assert _db(console).execute("SELECT count(*) FROM documents").fetchone()[0] == count + 1


async def test_a_viewer_cannot_import(console):
    viewer = Staff(console)
    await viewer.login("viewer1")
    response = await upload(viewer, PLAN.encode())
    assert response.status == 403


def raw_request(port: int, head: str, body: bytes) -> tuple[str, int]:
    """Send a request by hand; returns the status line and how many body bytes were sent before the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(head.encode())
        sent = 0
        s.settimeout(0.05)
        reply = b""
        while sent < len(body):
            try:
                reply = s.recv(4096)
                if reply:
                    break
            except TimeoutError:
                pass
            try:
                s.sendall(body[sent : sent + 65536])
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += 65536
        s.settimeout(10)
        while b"\r\n" not in reply:
            more = s.recv(4096)
            if not more:
                break
            reply += more
    return reply.split(b"\r\n")[0].decode(), sent


async def test_a_20_mb_upload_is_refused_before_it_is_read_whole(console, editor):
    boundary = "----westbot"
    token = await editor.token("/import")
    cookie = "; ".join(f"{c.key}={c.value}" for c in console.session.cookie_jar)
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="csrf"\r\n\r\n{token}\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="plan"; filename="big.txt"\r\n'
        f"Content-Type: text/plain\r\n\r\n"
    ).encode() + b"a" * (20 * 1024 * 1024)
    port = console.server.port

    def head(extra: str) -> str:
        return (
            f"POST /import HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {cookie}\r\n"
            f"Content-Type: multipart/form-data; boundary={boundary}\r\n{extra}\r\n"
        )

    status, sent = await asyncio.to_thread(raw_request, port, head(f"Content-Length: {len(body)}\r\n"), body)
    assert " 413 " in status and sent < len(body) // 2
    # Without a length (chunked), the server stops reading at the limit.
    chunked = (
        b"".join(b"%x\r\n%s\r\n" % (len(body[i : i + 65536]), body[i : i + 65536]) for i in range(0, len(body), 65536))
        + b"0\r\n\r\n"
    )
    status, sent = await asyncio.to_thread(raw_request, port, head("Transfer-Encoding: chunked\r\n"), chunked)
    assert " 413 " in status and sent < len(chunked) // 2


# ---------------------------------------------------------------- overview


def write_trackers(path: Path, per_day: dict[str, int]) -> None:
    conn = sqlite3.connect(path)
    conn.execute(
        "CREATE TABLE events (id INTEGER PRIMARY KEY, sender_id TEXT, type_name TEXT, timestamp REAL, "
        "intent_name TEXT, action_name TEXT, data TEXT)"
    )
    for day, n in per_day.items():
        stamp = datetime.fromisoformat(day).replace(hour=10, tzinfo=timezone.utc).timestamp()
        for _ in range(n):
            conn.execute(
                "INSERT INTO events (sender_id, type_name, timestamp, action_name) VALUES "
                "('s', 'action', ?, 'action_answer_from_plan')",
                [stamp],
            )
            conn.execute(
                "INSERT INTO events (sender_id, type_name, timestamp, action_name) VALUES "
                "('s', 'action', ?, 'utter_greet')",
                [stamp],
            )
    conn.commit()
    conn.close()


def test_daily_figures_share_answered_declined_unsure(tmp_path):
    today = datetime.now(timezone.utc).date()
    write_trackers(tmp_path / "trackers.db", {today.isoformat(): 10})
    log_db = inbox.open_log(tmp_path / "questions.db")
    QuestionLog(tmp_path / "questions.db").record("a", "q1", None, None, "declined", 0)
    QuestionLog(tmp_path / "questions.db").record("a", "q2", None, None, "low_confidence", 0.6)
    figures = overview.daily_figures(tmp_path / "trackers.db", log_db, today)
    assert len(figures) == overview.DAYS and figures[-1] == {
        "day": today.isoformat(),
        "total": 10,
        "answered": 8,
        "unsure": 1,
        "declined": 1,
    }
    svg = overview.chart_svg(figures)
    assert (
        svg.startswith("<svg")
        and svg.count("<rect") == 3
        and "http" not in svg.replace('xmlns="http://www.w3.org/2000/svg"', "")
    )


async def test_overview_page_draws_the_chart_on_the_server(console, editor):
    today = datetime.now(timezone.utc).date().isoformat()
    write_trackers(_settings(console).trackers_path, {today: 4})
    log = QuestionLog(_settings(console).questions_path)
    log.record("a", "比特币能买吗", None, None, "declined", 0)
    log.record_feedback("b", 5, True, "金沙路")
    log.record_feedback("c", 5, False, "金沙路")
    page = await (await editor.get("/overview")).text()
    assert "<svg" in page and "<script" not in page
    assert "比特币能买吗（1 次）" in page
    assert re.search(r"第 5 条.*?</a></td><td>1</td><td>1</td>", page)
    assert re.search(rf"<td>{today}</td><td>4</td>", page)
