"""The web chat page in a real browser (Playwright driving Debian's Chromium), with the real Rasa behind it.

Checks what a resident meets: a conversation, the elder switch, keyboard-only use, Rasa down, axe-core at
WCAG 2.2 AA in both modes, sizes (18/24 px text, 44/60 px targets), and screenshots at 375 and 1280 px wide
in both modes, kept in var/screenshots/ for a person to look at.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from devtools.servers import ROOT, free_port, running_bot, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.needs("chromium")]

# The page's Content-Security-Policy forbids eval and injected scripts; Playwright's waits and axe-core need
# both, so the test contexts bypass it (the policy itself is checked in tests/test_web.py).
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
SHOTS = ROOT / "var" / "screenshots"
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


def start_web(rasa_url: str, log: Path, path: str | None = None) -> tuple[subprocess.Popen, str]:
    """The page's server; `path` replaces PATH (an empty folder: a machine without espeak-ng)."""
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "RASA_URL": rasa_url,
        "WESTBOT_VOICE_CACHE": str(log.parent / "voice"),
    }
    if path is not None:
        env["PATH"] = path
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.web", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=open(log, "ab"),
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/"
    wait_for(url, 30, process)
    return process, url


@pytest.fixture(scope="module")
def site(built_kb, tmp_path_factory):
    assert AXE.exists(), "axe-core missing: run `npm ci` (make test does)"
    work = tmp_path_factory.mktemp("web")
    web = down = mute = None
    (work / "no-programs").mkdir()
    with running_bot(built_kb, work) as servers:
        try:
            web, url = start_web(servers.url, work / "web.log")
            down, down_url = start_web(f"http://127.0.0.1:{free_port()}", work / "web-down.log")
            mute, mute_url = start_web(servers.url, work / "web-mute.log", path=str(work / "no-programs"))
            yield {"url": url, "down_url": down_url, "mute_url": mute_url}
        finally:
            for p in (web, down, mute):
                if p:
                    p.terminate()
                    p.wait(10)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN", bypass_csp=True)
    page = context.new_page()
    yield page
    context.close()


def ask(page, text):
    before = page.locator(".msg.bot").count()
    page.fill("#question", text)
    page.click("#send")
    page.wait_for_function(f"document.querySelectorAll('.msg.bot').length > {before}", timeout=30_000)
    return page.locator(".msg.bot").nth(before)


def axe_violations(page):
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async (tags) => await axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG)
    return [(v["id"], v["help"], [n["target"] for n in v["nodes"]][:3]) for v in result["violations"]]


def test_a_conversation_with_sources_and_feedback(site, page):
    page.goto(site["url"])
    answer = ask(page, "老人家可以去哪里吃饭")
    assert "助餐" in answer.inner_text()
    assert answer.locator(".source").inner_text().startswith("来源：《西区2020年工作计划》")
    assert page.locator("#question").input_value() == ""
    thumbs = answer.get_by_role("button", name="👍 有用")
    with page.expect_request("**/api/chat") as request:
        thumbs.click()
    assert '/feedback_helpful{"passage_id":' in request.value.post_data_json["message"]  # bound to this answer
    page.wait_for_function("document.querySelector('.log').innerText.includes('谢谢您的反馈')")
    assert page.get_attribute("#log", "aria-live") == "polite"
    chosen = answer.get_by_role("button", name="✓ 👍 有用（已选）")
    assert chosen.is_disabled() and answer.get_by_role("button", name="👎 没用").is_disabled()


def test_phone_numbers_are_tap_to_call(site, page):
    page.goto(site["url"])
    answer = ask(page, "今天会下雨吗")
    assert answer.locator('a[href="tel:12345"]').inner_text() == "12345"


def test_double_enter_sends_once_and_the_wait_is_shown(site, page):
    page.goto(site["url"])
    held, requests = [], []
    page.on("request", lambda r: requests.append(r) if r.url.endswith("/api/chat") else None)
    page.route("**/api/chat", lambda route: held.append(route))
    page.fill("#question", "金沙路什么时候修")
    page.press("#question", "Enter")
    page.wait_for_function("document.querySelector('#log').getAttribute('aria-busy') === 'true'")
    page.press("#question", "Enter")
    page.click("#send", force=True)
    assert page.is_disabled("#send") and page.inner_text("#busy") == "正在查找…"
    assert page.get_attribute("#busy", "role") == "status"
    held[0].continue_()
    page.wait_for_function("document.querySelectorAll('.msg.bot').length > 0", timeout=30_000)
    assert len(held) == 1 and len(requests) == 1 and page.locator(".msg.user").count() == 1
    assert page.get_attribute("#log", "aria-busy") == "false" and page.inner_text("#busy") == ""


def test_a_failed_question_is_marked_and_sent_again(site, page):
    page.goto(site["url"])
    page.route("**/api/chat", lambda route: route.abort())
    page.fill("#question", "金沙路什么时候修")
    page.click("#send")
    failed = page.locator(".msg.user.failed")
    failed.wait_for()
    assert "没有发出去" in failed.inner_text() and "网络连接断开" in page.inner_text("#status")
    page.unroute("**/api/chat")
    failed.get_by_role("button", name="重新发送").click()
    page.wait_for_function("document.querySelectorAll('.msg.bot').length > 0", timeout=30_000)
    assert page.locator(".msg.user.failed").count() == 0 and page.locator(".msg.user").count() == 1
    assert "金沙路" in page.locator(".msg.bot").first.inner_text()


@pytest.mark.parametrize(
    "width,height,elder",
    [
        (320, 568, False),
        (375, 667, False),
        (640, 450, False),  # 1280x900 at 200% zoom
        (187, 333, False),  # a 375x667 phone at 200% zoom
        (187, 333, True),
    ],
)
def test_after_a_reply_its_first_line_is_at_the_top_and_the_question_box_in_view(site, browser, width, height, elder):
    context = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN", bypass_csp=True)
    page = context.new_page()
    page.goto(site["url"])
    if elder:
        page.evaluate("document.body.classList.add('elder')")  # the elder sizes only: the answers stay the same
    for question in ("老人家可以去哪里吃饭", "找工作", "金沙路什么时候修"):
        reply = ask(page, question)
        top = reply.evaluate("e => e.getBoundingClientRect().top")
        assert abs(top) <= 2, f"the reply starts {top}px from the top of the screen"
        # The reply's first line of text is in view, above the question box that sticks to the bottom.
        first_line = reply.evaluate(
            """e => {
                const walker = document.createTreeWalker(e, NodeFilter.SHOW_TEXT,
                    {acceptNode: n => n.textContent.trim() && !n.parentElement.closest('.who')
                        ? NodeFilter.FILTER_ACCEPT : NodeFilter.FILTER_SKIP});
                const range = document.createRange();
                range.selectNodeContents(walker.nextNode());
                const r = range.getClientRects()[0];
                return {top: r.top, bottom: r.bottom};
            }"""
        )
        form_top = page.locator("#ask").bounding_box()["y"]
        assert 0 <= first_line["top"] and first_line["bottom"] <= form_top, (first_line, form_top)
        box = page.locator("#question").bounding_box()
        assert box["y"] >= 0 and box["y"] + box["height"] <= height
        assert page.locator("#send").bounding_box()["y"] + page.locator("#send").bounding_box()["height"] <= height
        assert page.evaluate("document.activeElement.id") == "question"
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    context.close()


def test_a_button_tabbed_to_is_not_hidden_behind_the_question_box(site, browser):
    context = browser.new_context(viewport={"width": 187, "height": 333}, locale="zh-CN", bypass_csp=True)
    page = context.new_page()
    page.goto(site["url"])
    reply = ask(page, "老人家可以去哪里吃饭")
    page.evaluate("window.scrollTo(0, 0)")
    reply.locator("button").first.focus()
    button = reply.locator("button").first.bounding_box()
    form_top = page.locator("#ask").bounding_box()["y"]
    assert button["y"] >= 0 and button["y"] + button["height"] <= form_top, (button, form_top)
    context.close()


def test_a_reload_keeps_the_conversation_until_it_is_cleared(site, page):
    page.goto(site["url"])
    ask(page, "老人家可以去哪里吃饭")
    before = page.inner_text("#log")
    page.reload()
    assert page.inner_text("#log") == before and page.locator(".msg.bot .source").count() == 1
    page.get_by_role("button", name="清空对话").click()
    assert page.locator("#log li").count() == 0
    page.reload()
    assert page.locator("#log li").count() == 0


def test_no_voice_button_where_the_server_cannot_speak(site, page):
    page.goto(site["mute_url"])
    assert page.request.get(site["mute_url"] + "api/voice/status").json() == {"available": False}
    page.click("#elder-switch")
    page.wait_for_function("document.querySelector('#log').innerText.includes('已换成长者模式')", timeout=30_000)
    answer = ask(page, "找工作")
    assert answer.get_by_role("button", name="再说一遍").is_visible()
    assert page.get_by_role("button", name="▶ 听语音").count() == 0


def test_the_elder_switch_works_while_the_server_is_down_and_is_sent_when_it_is_back(site, page):
    page.goto(site["url"])
    page.route(
        "**/api/chat",
        lambda route: route.fulfill(status=503, content_type="application/json", body='{"error": "系统正在维护"}'),
    )
    page.click("#elder-switch")
    assert page.evaluate("document.body.classList.contains('elder')")
    assert page.get_attribute("#elder-switch", "aria-pressed") == "true"
    page.wait_for_function("document.querySelector('#status').innerText.includes('连上后会自动告诉它')")
    page.unroute("**/api/chat")
    page.wait_for_function("document.querySelector('#log').innerText.includes('已换成长者模式')", timeout=30_000)
    assert page.evaluate("localStorage.getItem('westbot-elder-pending')") is None
    assert ask(page, "找工作").get_by_role("button", name="再说一遍").is_visible()  # the bot knows


def test_voice_plays_one_clip_at_a_time_with_pause_and_stop(site, page):
    page.goto(site["url"])
    page.click("#elder-switch")
    page.wait_for_function("document.querySelector('#log').innerText.includes('已换成长者模式')", timeout=30_000)
    first, second = ask(page, "找工作"), ask(page, "翠湾路")
    first.get_by_role("button", name="▶ 听语音").click()
    first.get_by_role("button", name="⏸ 暂停").wait_for()
    first.get_by_role("button", name="⏸ 暂停").click()
    first.get_by_role("button", name="▶ 继续听").wait_for(timeout=5_000)  # the label changes as the clip pauses
    second.get_by_role("button", name="▶ 听语音").click()
    second.get_by_role("button", name="■ 停止").wait_for()
    assert page.get_by_role("button", name="■ 停止").count() == 1  # the first clip stopped
    assert first.get_by_role("button", name="▶ 听语音").is_visible()
    second.get_by_role("button", name="■ 停止").click()
    assert page.get_by_role("button", name="■ 停止").count() == 0


def test_a_paste_over_the_limit_says_how_much_was_cut(site, page):
    page.goto(site["url"])
    page.evaluate("""() => {
        const data = new DataTransfer();
        data.setData("text/plain", "路".repeat(2100));
        document.querySelector("#question").dispatchEvent(new ClipboardEvent("paste", {clipboardData: data,
                                                                                     cancelable: true}));
    }""")
    assert len(page.input_value("#question")) == 2000
    assert "100字没有放进来" in page.inner_text("#status")


def test_outlines_in_forced_colours_and_a_favicon(site, browser):
    context = browser.new_context(forced_colors="active", locale="zh-CN", bypass_csp=True)
    page = context.new_page()
    page.goto(site["url"])
    ask(page, "找工作")
    for bubble in (".msg.user", ".msg.bot"):
        style = page.locator(bubble).first.evaluate("e => getComputedStyle(e)")
        assert style["borderTopStyle"] == "solid" and float(style["borderTopWidth"][:-2]) >= 1
        assert style["borderTopColor"] not in ("rgba(0, 0, 0, 0)", "transparent")
    icon = page.get_attribute('link[rel="icon"]', "href")
    response = page.request.get(site["url"] + icon.lstrip("/"))
    assert response.status == 200 and response.headers["content-type"].startswith("image/svg")
    context.close()


def test_the_elder_switch_sets_the_bots_mode(site, page):
    page.goto(site["url"])
    page.click("#elder-switch")
    page.wait_for_function("document.body.classList.contains('elder')")
    assert page.get_attribute("#elder-switch", "aria-pressed") == "true"
    page.wait_for_function("document.querySelector('#log').innerText.includes('已换成长者模式')", timeout=30_000)
    answer = ask(page, "找工作")
    text = answer.locator(".text").inner_text()
    assert all(len(line) <= 30 for line in text.split("\n"))
    assert [b.inner_text() for b in answer.locator(".actions button").all()][:3] == ["再说一遍", "打电话问", "回到开头"]
    assert answer.get_by_role("button", name="▶ 听语音").is_visible()
    assert float(page.evaluate("getComputedStyle(document.body).fontSize")[:-2]) >= 24
    sizes = page.evaluate("""() => [...document.querySelectorAll('body *')].filter(e => e.offsetParent !== null
        && [...e.childNodes].some(n => n.nodeType === 3 && n.textContent.trim()))
        .map(e => [e.tagName + '.' + e.className, parseFloat(getComputedStyle(e).fontSize)])""")
    assert [s for s in sizes if s[1] < 24] == []  # labels, source line, hints and footer too
    assert float(page.evaluate("getComputedStyle(document.querySelector('h1')).fontSize")[:-2]) > 30
    for box in [b.bounding_box() for b in page.locator("button:visible").all()]:
        assert box["height"] >= 60 and box["width"] >= 60
    page.click("#elder-switch")
    page.wait_for_function("!document.body.classList.contains('elder')")
    page.wait_for_function("document.querySelector('#log').innerText.includes('已换回普通模式')", timeout=30_000)


@pytest.mark.needs("espeak-ng")
def test_voice_of_an_elder_answer_plays(site, page):
    page.goto(site["url"])
    page.click("#elder-switch")
    page.wait_for_function("document.querySelector('#log').innerText.includes('已换成长者模式')", timeout=30_000)
    ask(page, "翠湾路")
    with page.expect_response(lambda r: "/api/voice/" in r.url) as response:
        page.locator(".msg.bot").last.get_by_role("button", name="▶ 听语音").click()
    assert response.value.status in (200, 206)  # 206: the browser asks for byte ranges of media
    assert response.value.headers["content-type"] == "audio/ogg"


def test_keyboard_only(site, page):
    page.goto(site["url"])
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    for _ in range(5):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "question":
            break
    assert page.evaluate("document.activeElement.id") == "question"
    page.keyboard.type("金沙路什么时候修")
    page.keyboard.press("Enter")
    page.wait_for_function("document.querySelectorAll('.msg.bot').length > 0", timeout=30_000)
    assert "金沙路" in page.locator(".msg.bot").last.inner_text()
    assert page.evaluate("document.activeElement.id") == "question"
    # Tab reaches the answer's buttons, and Enter presses one.
    for _ in range(10):
        page.keyboard.press("Shift+Tab")
        if page.evaluate("document.activeElement.textContent") == "👍 有用":
            break
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"
    page.keyboard.press("Enter")
    page.wait_for_function("document.querySelector('.log').innerText.includes('谢谢您的反馈')")


def test_rasa_down_is_said_in_words_and_the_question_is_kept(site, page):
    page.goto(site["down_url"])
    page.fill("#question", "金沙路什么时候修")
    page.click("#send")
    page.wait_for_function("document.querySelector('#status').innerText.length > 0", timeout=30_000)
    assert "系统正在维护" in page.inner_text("#status")
    assert page.input_value("#question") == "金沙路什么时候修"


@pytest.mark.parametrize("elder", [False, True])
def test_no_axe_violations_and_readable_sizes(site, browser, elder):
    for width, height in ((375, 900), (1280, 900), (187, 333)):  # 187x333: a phone at 200% zoom (one-row box)
        context = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN", bypass_csp=True)
        page = context.new_page()
        page.goto(site["url"])
        if elder:
            page.click("#elder-switch")
            page.wait_for_function(
                "document.querySelector('#log').innerText.includes('已换成长者模式')", timeout=30_000
            )
        ask(page, "西区今年修什么路")
        assert axe_violations(page) == []
        body = float(page.evaluate("getComputedStyle(document.body).fontSize")[:-2])
        line = float(page.evaluate("getComputedStyle(document.body).lineHeight")[:-2])
        assert body >= (24 if elder else 18) and line / body >= 1.3
        assert page.evaluate("document.documentElement.scrollWidth") <= width  # no sideways scrolling
        SHOTS.mkdir(parents=True, exist_ok=True)
        name = f"chat-{'elder' if elder else 'standard'}-{width}"
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=height == 900)
        context.close()


def test_usable_at_320_px_and_200_percent_zoom(site, browser):
    context = browser.new_context(
        viewport={"width": 320, "height": 640}, device_scale_factor=2, locale="zh-CN", bypass_csp=True
    )
    page = context.new_page()
    page.goto(site["url"])
    page.evaluate("document.documentElement.style.fontSize = '200%'")
    ask(page, "找工作")
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    assert page.locator("#send").is_visible() and page.locator("#elder-switch").is_visible()
    context.close()


def test_reduced_motion_is_respected(site, browser):
    context = browser.new_context(reduced_motion="reduce", bypass_csp=True)
    page = context.new_page()
    page.goto(site["url"])
    assert page.evaluate("matchMedia('(prefers-reduced-motion: reduce)').matches")
    assert page.evaluate("getComputedStyle(document.querySelector('button')).transitionDuration") in ("0s", "")
    context.close()
