"""The staff console in a real browser (Playwright driving Debian's Chromium), with the real bot behind it.

The console and the bot share one knowledge base and question log, as under `make run`: a question the bot
declined shows up in 待处理问题, staff turn it into an answer, and the bot answers it through REST. Also: edits
with a conflict, undo, a viewer, CSRF, lock-out, a binary upload, an expired session mid-edit, and axe-core
(WCAG 2.2 AA) on every page. A screenshot of 待处理问题 is written to var/screenshots/staff-console.png.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from devtools.servers import ROOT, free_port, running_bot, wait_for
from knowledge import staff, store

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
SHOTS = ROOT / "var" / "screenshots"
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
PASSWORD = "correct horse 1"
QUESTION = "西区游泳池几点开门"
ANSWER = "西区游泳池每天几点开门：上午9点开门，晚上9点关门。"


def kb_staff_add(kb_path: Path, name: str, role: str) -> None:
    """The installed `kb staff add`, answering its password prompts."""
    kb = Path(sys.executable).with_name("kb")
    done = subprocess.run(
        [str(kb), "staff", "add", name, "--role", role, "--db", str(kb_path)],
        input=f"{PASSWORD}\n{PASSWORD}\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr


@pytest.fixture(scope="module")
def site(built_kb, tmp_path_factory):
    assert AXE.exists(), "axe-core missing: run `npm ci` (make test does)"
    work = tmp_path_factory.mktemp("console")
    with running_bot(built_kb, work) as bot:
        kb_path = work / "knowledge.db"
        for name, role in (("editor1", "editor"), ("editor2", "editor"), ("viewer1", "viewer"), ("locked1", "editor")):
            kb_staff_add(kb_path, name, role)
        port = free_port()
        env = {
            **bot.env,
            "WESTBOT_TRACKERS": str(work / "trackers.db"),
            "WESTBOT_CONSOLE_SECRET": str(work / "console-secret"),
        }
        console = subprocess.Popen(
            [sys.executable, "-m", "bot.staff", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=open(work / "console.log", "ab"),
            stderr=subprocess.STDOUT,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            wait_for(f"{url}/login", 60, console)
            yield {"url": url, "bot": bot, "kb_path": kb_path}
        finally:
            console.terminate()
            console.wait(10)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def new_page(browser):
    contexts = []

    def make():
        # axe-core is injected as a script, which the console's policy (no script at all) would block.
        context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN", bypass_csp=True)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def log_in(page, site, name: str, password: str = PASSWORD):
    page.goto(f"{site['url']}/login")
    page.get_by_label("用户名").fill(name)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()
    page.wait_for_load_state()


def axe_violations(page):
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async (tags) => await axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG)
    return [(v["id"], v["help"], [n["target"] for n in v["nodes"]][:3]) for v in result["violations"]]


def passage_text(site, passage_id: int) -> str:
    return staff.get_passage(store.open_read_only(site["kb_path"]), passage_id)["text"]


def test_log_in_after_a_wrong_password(site, new_page):
    page = new_page()
    page.goto(site["url"] + "/passages")
    assert page.url.startswith(site["url"] + "/login")
    log_in(page, site, "editor1", "not the password")
    assert "用户名或密码不对" in page.get_by_role("alert").inner_text()
    log_in(page, site, "editor1")
    assert page.get_by_role("heading", level=1).inner_text() == "待处理问题"
    assert page.get_by_role("navigation", name="主菜单").is_visible()


def test_an_unanswered_question_becomes_an_answer_the_bot_gives(site, new_page):
    bot = site["bot"]
    declined = bot.say("resident-1", QUESTION)
    assert declined and not any((m.get("custom") or {}).get("source") for m in declined)
    # More for the list (and the screenshot): another decline, and an answer a resident found no help.
    bot.say("resident-3", "比特币在哪里买")
    bot.say("resident-4", "金沙路几时修好")
    bot.say("resident-4", "/feedback_not_helpful")
    page = new_page()
    log_in(page, site, "editor1")
    card = page.locator(".card", has=page.get_by_role("heading", name=QUESTION))
    assert card.count() == 1 and "无法回答" in card.inner_text()
    assert "金沙路几时修好" in page.locator("table").inner_text()  # the 没用 feedback
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "staff-console.png"), full_page=True)
    card.get_by_role("link", name="写新答案").click()
    assert QUESTION in page.locator(".question-box").inner_text()
    page.get_by_label("话题").select_option("livelihood")
    page.get_by_label("内容：告诉居民的话，写完整的句子").fill(ANSWER)
    page.get_by_role("button", name="预览机器人的回答").click()
    assert "会用这条新资料回答" in page.locator(".preview").inner_text()
    assert ANSWER in page.locator(".preview .reply").inner_text()
    assert page.get_by_label("内容：告诉居民的话，写完整的句子").input_value() == ANSWER
    page.get_by_role("button", name="保存").click()
    assert "会用这条资料回答" in page.get_by_role("status").inner_text()
    passage_id = int(re.search(r"/passages/(\d+)$", page.url).group(1))
    answered = bot.say("resident-2", QUESTION)
    sources = [(m.get("custom") or {}).get("source") for m in answered]
    assert any(s and s["passage_id"] == passage_id for s in sources), answered
    assert ANSWER in " ".join(m.get("text") or "" for m in answered)
    page.goto(site["url"] + "/questions")
    assert page.locator(".card", has=page.get_by_role("heading", name=QUESTION)).count() == 0


def test_a_question_s_phrase_attached_to_plan_words_then_the_bot_answers_it(site, new_page):
    bot = site["bot"]
    declined = bot.say("resident-5", "我想打零工")
    assert not any((m.get("custom") or {}).get("source") for m in declined)
    page = new_page()
    log_in(page, site, "editor1")
    card = page.locator(".card", has=page.get_by_role("heading", name="我想打零工"))
    card.get_by_label("问题里的说法").fill("打零工")
    card.get_by_label("就是计划里的（用逗号分开）").fill("公益性岗位，就业")
    card.get_by_role("button", name="关联到计划用语").click()
    assert "已关联" in page.get_by_role("status").inner_text()
    answered = bot.say("resident-6", "我想打零工")
    assert any((m.get("custom") or {}).get("source") for m in answered), answered


def test_edit_with_a_conflict_then_undo(site, new_page):
    first, second = new_page(), new_page()
    log_in(first, site, "editor1")
    log_in(second, site, "editor2")
    original = passage_text(site, 12)
    first.goto(site["url"] + "/passages/12/edit")
    second.goto(site["url"] + "/passages/12/edit")
    second.get_by_label("内容：告诉居民的话，写完整的句子").fill("编辑二先保存的内容。")
    second.get_by_role("button", name="保存").click()
    assert "已保存" in second.get_by_role("status").inner_text()
    first.get_by_label("内容：告诉居民的话，写完整的句子").fill("编辑一后保存的内容。")
    first.get_by_role("button", name="保存").click()
    alert = first.get_by_role("alert").inner_text()
    assert "没有保存" in alert and "editor2" in alert and "编辑二先保存的内容。" in alert
    assert first.get_by_label("内容：告诉居民的话，写完整的句子").input_value() == "编辑一后保存的内容。"
    assert passage_text(site, 12) == "编辑二先保存的内容。"
    # Undo editor2's change from the passage's history.
    second.goto(site["url"] + "/passages/12")
    history = second.locator(".history li").first
    assert "editor2" in history.inner_text() and original[:15] in history.inner_text()
    history.get_by_role("button", name=re.compile("撤销第")).click()
    assert "已撤销" in second.get_by_role("status").inner_text()
    assert passage_text(site, 12) == original


def test_a_viewer_is_refused(site, new_page):
    page = new_page()
    log_in(page, site, "viewer1")
    page.goto(site["url"] + "/passages/12")
    assert page.get_by_role("link", name="修改").count() == 0
    assert page.get_by_role("button", name=re.compile("停用")).count() == 0
    page.goto(site["url"] + "/passages/12/edit")
    assert "查看账号" in page.get_by_role("alert").inner_text()


def test_a_forged_csrf_token_is_refused(site, new_page):
    page = new_page()
    log_in(page, site, "editor1")
    before = passage_text(site, 20)
    page.goto(site["url"] + "/passages/20/edit")
    page.evaluate("document.querySelector('main form input[name=csrf]').value = 'forged'")
    page.get_by_label("内容：告诉居民的话，写完整的句子").fill("不该保存的内容。")
    page.get_by_role("button", name="保存").click()
    assert "CSRF" in page.get_by_role("alert").inner_text()
    assert passage_text(site, 20) == before


def test_lock_out_after_five_wrong_passwords(site, new_page):
    page = new_page()
    for _ in range(5):
        log_in(page, site, "locked1", "wrong password")
    assert "已锁定15分钟" in page.get_by_role("alert").inner_text()
    log_in(page, site, "locked1")
    assert "已锁定" in page.get_by_role("alert").inner_text()
    assert "/login" in page.url


def test_import_refuses_a_binary_file(site, new_page):
    page = new_page()
    log_in(page, site, "editor1")
    page.goto(site["url"] + "/import")
    page.get_by_label("计划文件").set_input_files(
        files=[
            {"name": "photo.png", "mimeType": "image/png", "buffer": b"\x89PNG\r\n\x1a\n\x00\x00" + os.urandom(4096)}
        ]
    )
    page.get_by_role("button", name="上传并预览").click()
    assert "不是文字或网页文件" in page.get_by_role("alert").inner_text()


def test_an_expired_session_mid_edit_keeps_the_typed_text(site, new_page):
    page = new_page()
    log_in(page, site, "editor1")
    page.goto(site["url"] + "/passages/30/edit")
    page.get_by_label("内容：告诉居民的话，写完整的句子").fill("会话过期时正在写的内容。")
    page.context.clear_cookies()  # the session is gone, as after a working day
    page.get_by_role("button", name="保存").click()
    assert "已保留" in page.get_by_role("alert").inner_text()
    page.get_by_label("用户名").fill("editor1")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    assert "/passages/30/edit" in page.url
    assert page.get_by_label("内容：告诉居民的话，写完整的句子").input_value() == "会话过期时正在写的内容。"
    assert "会话过期时" not in passage_text(site, 30)


PAGES = [
    "/questions",
    "/passages",
    "/passages?q=金沙路几时修好",
    "/passages/5",
    "/passages/5/edit",
    f"/passages/new?question={QUESTION}",
    "/contacts",
    "/contacts/new",
    "/glossary",
    "/glossary/edit?term=白改黑",
    "/import",
    "/overview",
]


def test_no_axe_violations_on_any_page(site, new_page):
    page = new_page()
    page.goto(site["url"] + "/login")
    assert axe_violations(page) == [], "/login"
    log_in(page, site, "editor1")
    for path in PAGES:
        page.goto(site["url"] + path)
        assert axe_violations(page) == [], path
    # The import preview and a refused form too.
    page.goto(site["url"] + "/import")
    plan = (ROOT / "knowledge" / "data" / "documents" / "xiqu-2020-work-plan.txt").read_bytes()
    page.get_by_label("计划文件").set_input_files(
        files=[{"name": "plan.txt", "mimeType": "text/plain", "buffer": plan}]
    )
    page.get_by_role("button", name="上传并预览").click()
    assert "确认导入" in page.content()
    assert axe_violations(page) == [], "import preview"
    page.goto(site["url"] + "/contacts/new")
    page.get_by_label("名称").fill("x")
    page.get_by_label("电话").fill("没有号码")
    page.get_by_role("button", name="保存").click()
    assert axe_violations(page) == [], "refused contact form"


def test_keyboard_reaches_the_menu_and_the_forms(site, new_page):
    page = new_page()
    log_in(page, site, "editor1")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "待处理问题"
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none"
