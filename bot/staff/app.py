"""The staff console's server: sign-in, sessions, CSRF, roles, and the routes of its pages.

    python -m bot.staff [--host 127.0.0.1] [--port 8081]

Sessions are encrypted, signed cookies (aiohttp-session with Fernet), HttpOnly and SameSite=Strict, ending one
working day after sign-in. Every POST carries the session's CSRF token. Viewers may read every page; only editors
may change content, and every change goes through knowledge/staff.py. The databases are used from one worker
thread, off the event loop.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import functools
import hmac
import logging
import os
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import quote

import aiohttp_jinja2
import jinja2
from aiohttp import web
from aiohttp_session import get_session, new_session, session_middleware
from aiohttp_session.cookie_storage import EncryptedCookieStorage

from bot.settings import ConsoleSettings, get_console_settings
from knowledge import accounts, privacy, segment, store
from knowledge.search import KnowledgeBase
from knowledge.settings import Settings, get_settings

from . import inbox

logger = logging.getLogger(__name__)
HERE = Path(__file__).resolve().parent
CONSOLE = web.AppKey("console", object)
PUBLIC_PATHS = ("/login", "/static/")
COOKIE = "westbot_staff"
DRAFT_SECONDS = 3600
MAX_KEPT = 100  # drafts and uploads kept in memory at most


class Console:
    """What the pages share: the databases (used from one worker thread), drafts and uploads in memory."""

    def __init__(self, settings: Settings, console: ConsoleSettings, clock=time.time):
        self.settings, self.console, self.clock = settings, console, clock
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="staff-console-db")
        self.kb = KnowledgeBase.from_path(settings.kb_path)
        self._db = None
        self._log = None
        self.drafts: dict[str, dict] = {}
        self.uploads: dict[str, dict] = {}

    def db(self):
        """The writer connection to the knowledge base (worker thread only)."""
        if self._db is None:
            self._db = store.open_for_writing(self.settings.kb_path)
        return self._db

    def log(self):
        """The question log with the console's marks (worker thread only)."""
        if self._log is None:
            self._log = inbox.open_log(self.settings.questions_path)
        return self._log

    async def run(self, fn, *args, **kwargs):
        return await asyncio.get_running_loop().run_in_executor(self.executor, functools.partial(fn, *args, **kwargs))

    def keep(self, store_: dict, value: dict) -> str:
        """Keep a draft or an upload for an hour under a random token."""
        now = self.clock()
        for key in [k for k, v in store_.items() if v["at"] < now - DRAFT_SECONDS]:
            del store_[key]
        while len(store_) >= MAX_KEPT:
            del store_[next(iter(store_))]
        token = secrets.token_urlsafe(16)
        store_[token] = {**value, "at": now}
        return token

    def close(self) -> None:
        self.executor.shutdown(wait=True)


def load_secret(path: Path) -> bytes:
    """The cookie key: 32 random bytes kept in `path`, made readable by its owner only on first start."""
    path = Path(path)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())
    return base64.urlsafe_b64decode(path.read_text().strip())


# ---------------------------------------------------------------- sessions, sign-in, CSRF


async def csrf_token(request: web.Request) -> str:
    session = await get_session(request)
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(24)
    return session["csrf"]


def csrf_ok(session, given) -> bool:
    expected = session.get("csrf")
    return bool(expected and given) and hmac.compare_digest(str(expected), str(given))


def signed_in(request: web.Request, session) -> bool:
    console: Console = request.app[CONSOLE]
    login_at = session.get("login_at")
    return (
        bool(session.get("user"))
        and login_at is not None
        and (console.clock() - login_at < console.console.session_hours * 3600)
    )


def is_multipart(request: web.Request) -> bool:
    return request.content_type.startswith("multipart/")


@web.middleware
async def require_staff(request: web.Request, handler):
    """Every page but the sign-in page needs a signed-in, enabled account; every POST needs the CSRF token."""
    if request.path.startswith(PUBLIC_PATHS):
        return await handler(request)
    console: Console = request.app[CONSOLE]
    session = await get_session(request)
    account = None
    if signed_in(request, session):
        account = await console.run(lambda: accounts.active_account(console.db(), session["user"]))
    if account is None:
        session.pop("user", None)
        if request.method == "GET":
            raise web.HTTPFound(f"/login?next={quote(request.path_qs)}")
        # A session that ended in the middle of an edit: keep what was typed, and bring it back after sign-in.
        draft = None
        if not is_multipart(request):
            form = await request.post()
            fields = {k: v for k, v in form.items() if k != "csrf" and isinstance(v, str)}
            draft = console.keep(console.drafts, {"path": request.path, "fields": fields})
        return await render_login(
            request,
            status=401,
            draft=draft,
            message="登录已过期，请重新登录。"
            + (
                "您刚才填写的内容已保留，登录后会回到原来的页面，核对后再保存。"
                if draft
                else "上传的文件没有保存，登录后请再上传一次。"
            ),
        )
    request["account"] = account
    if request.method == "POST" and not is_multipart(request):  # an upload checks its token as its first part
        form = await request.post()
        if not csrf_ok(session, form.get("csrf")):
            return refused(request, "这个表单没有有效的安全令牌（CSRF），所以没有保存。请回到页面刷新后再试一次。")
    return await handler(request)


def refused(request: web.Request, message: str, status: int = 403) -> web.Response:
    return aiohttp_jinja2.render_template("refused.html", request, {"message": message}, status=status)


def editor_only(handler):
    """Viewers may read everything and change nothing."""

    @functools.wraps(handler)
    async def wrapper(request: web.Request):
        if request["account"]["role"] != "editor":
            return refused(request, "您的账号是查看账号，只能查看，不能修改。需要修改时，请联系管理员开通编辑权限。")
        return await handler(request)

    return wrapper


def safe_next(value: str | None) -> str:
    value = value or "/"
    return value if value.startswith("/") and not value.startswith("//") and "\\" not in value else "/"


async def render_login(
    request: web.Request, status: int = 200, message: str = "", draft: str | None = None, name: str = ""
) -> web.Response:
    context = {
        "csrf": await csrf_token(request),
        "message": message,
        "draft": draft,
        "name": name,
        "next": safe_next(request.query.get("next")),
    }
    return aiohttp_jinja2.render_template("login.html", request, context, status=status)


async def login_page(request: web.Request) -> web.Response:
    session = await get_session(request)
    if signed_in(request, session):
        raise web.HTTPFound(safe_next(request.query.get("next")))
    return await render_login(request)


async def login(request: web.Request) -> web.Response:
    console: Console = request.app[CONSOLE]
    session = await get_session(request)
    form = await request.post()
    if not csrf_ok(session, form.get("csrf")):
        return await render_login(request, status=403, message="登录页面已过期，请再输入一次。")
    name, password = str(form.get("name", "")).strip(), str(form.get("password", ""))
    draft = form.get("draft") or None
    try:
        account = await console.run(lambda: accounts.check_login(console.db(), name, password))
    except accounts.LoginRefused as refusal:
        if refusal.reason == "locked":
            until = refusal.until.astimezone().strftime("%H:%M")
            message = (
                f"连续输错{accounts.MAX_FAILURES}次密码，这个账号已锁定{accounts.LOCK_MINUTES}分钟，"
                f"请在 {until} 以后再试；忘了密码请找管理员用 kb staff password 重设。"
            )
        elif refusal.reason == "disabled":
            message = "这个账号已停用。如需使用，请联系管理员。"
        else:
            message = "用户名或密码不对，请再试一次。"
        return await render_login(request, status=401, message=message, draft=draft, name=name)
    session = await new_session(request)  # a fresh session (and CSRF token) at every sign-in
    session.update({"user": account["name"], "login_at": console.clock(), "csrf": secrets.token_urlsafe(24)})
    kept = console.drafts.get(draft) if draft else None
    if kept:
        raise web.HTTPFound(f"{kept['path']}?draft={quote(draft)}")
    raise web.HTTPFound(safe_next(form.get("next")))


async def logout(request: web.Request) -> web.Response:
    session = await get_session(request)
    session.invalidate()
    raise web.HTTPFound("/login")


async def flash(request: web.Request, message: str, kind: str = "ok") -> None:
    session = await get_session(request)
    session["flash"] = {"message": message, "kind": kind}


async def page_context(request: web.Request) -> dict:
    if request.path.startswith("/login"):
        return {"account": None, "flash": None}
    session = await get_session(request)
    return {
        "account": request.get("account"),
        "csrf": await csrf_token(request),
        "flash": session.pop("flash", None),
        "path": request.path,
    }


HEADERS = {
    # No script at all: the pages are plain HTML forms, and the chart is drawn on the server.
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


@web.middleware
async def security_headers(request: web.Request, handler):
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        for name, value in HEADERS.items():
            exc.headers.setdefault(name, value)
        raise
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    return response


# ---------------------------------------------------------------- wiring


def build_app(
    settings: Settings | None = None, console_settings: ConsoleSettings | None = None, clock=time.time
) -> web.Application:
    from . import views

    settings = settings or get_settings()
    console_settings = console_settings or get_console_settings()
    seconds = int(console_settings.session_hours * 3600)
    storage = EncryptedCookieStorage(
        load_secret(console_settings.secret_file), cookie_name=COOKIE, max_age=seconds, httponly=True, samesite="Strict"
    )
    app = web.Application(
        middlewares=[security_headers, session_middleware(storage), require_staff], client_max_size=128 * 1024
    )
    console = Console(settings, console_settings, clock)
    app[CONSOLE] = console
    aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        context_processors=[page_context, aiohttp_jinja2.request_processor],
        filters={"when": views.when},
    )

    async def warm(app: web.Application) -> None:
        segment.init_jieba(settings.jieba_dict_dir, settings.cache_dir)
        await console.run(lambda: (console.db(), console.log(), console.kb.snapshot()))

    async def close(app: web.Application) -> None:
        console.close()

    app.on_startup.append(warm)
    app.on_cleanup.append(close)
    app.router.add_get("/login", login_page)
    app.router.add_post("/login", login)
    app.router.add_post("/logout", logout)
    views.add_routes(app.router)
    app.router.add_static("/static/", HERE / "static")
    return app


def main() -> None:
    console_settings = get_console_settings()
    parser = argparse.ArgumentParser(description="西区居民助手: the staff console")
    parser.add_argument("--host", default=console_settings.host)
    parser.add_argument("--port", type=int, default=console_settings.port)
    args = parser.parse_args()
    privacy.mask_logs()
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s %(message)s", level=logging.INFO)
    print(f"Staff console: http://{args.host}:{args.port}/ (accounts: kb staff add NAME --role editor)", flush=True)
    web.run_app(build_app(console_settings=console_settings), host=args.host, port=args.port, print=None)
