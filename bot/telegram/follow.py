"""Following on Telegram: the 关注 buttons and commands, /following with a stop button each, /forget_me, and
what the follow actions of Rasa ask the relay to store. The follows store is knowledge/follows.py; the sending
is bot/telegram/notifier.py.

Hooks: `add_handlers(app)` before the relay's own handlers, `after_rasa(update, context, messages)` once Rasa
has answered, `start(app)` in post_init and `stop(app)` in post_stop.
"""

from __future__ import annotations

import asyncio
import logging
import re
import sqlite3

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import TelegramError
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes, MessageHandler, filters

from bot.voice import VoiceUnavailable, synthesize_async
from knowledge import follows
from knowledge.questions import QuestionLog
from knowledge.settings import get_settings

from .notifier import Notifier, NotifierConfig

logger = logging.getLogger(__name__)

KIND_CODES = {"e": "entity", "t": "topic"}
CODE_OF = {v: k for k, v in KIND_CODES.items()}
# The title of the button under an answer (actions/follow.py makes it); in elder mode it comes back as text.
BUTTON_TEXT = re.compile(r"^\s*(取消)?关注「(.+?)」(的新消息)?\s*$")
FOLLOWED = (
    "好的，已关注「{label}」。有新消息时我会告诉您（晚上10点到早上8点不发）。\n不想再收到，请发“取消关注{label}”。"
)
FOLLOWED_ELDER = "好的，已关注「{label}」。\n有新消息，我会告诉您。"
ALREADY = "您已经关注了「{label}」。"
UNFOLLOWED = "已取消关注「{label}」，不会再发它的消息了。"
NOT_FOLLOWED = "您没有关注「{label}」。"
NOTHING_FOLLOWED = "您还没有关注任何事项。问完一个问题后，点回答下面的“关注”按钮就可以关注。"
FOLLOWING_HEAD = "您关注了这些（点按钮可以取消）："
FOLLOW_HOW = "请告诉我想关注什么，比如：/follow 金沙路，或者发“关注金沙路”。"
FORGOTTEN = (
    "已删除我们保存的关于您的全部信息：关注（{follows}项）、待发的消息（{messages}条）、"
    "聊天记录（{events}条）和提问记录（{questions}条）。以后您再发消息，就像第一次来一样。"
)
STOP_BUTTON = "不再关注「{label}」"


def store(context: ContextTypes.DEFAULT_TYPE):
    """The follows store of this relay, opened on first use (one connection; calls run in a worker thread)."""
    data = context.bot_data
    if "follows" not in data:
        data["follows"] = follows.open_follows(get_settings().follows_path)
        data["follows_lock"] = asyncio.Lock()
    return data["follows"]


async def in_store(context: ContextTypes.DEFAULT_TYPE, fn, *args):
    db = store(context)
    async with context.bot_data["follows_lock"]:
        return await asyncio.to_thread(fn, db, *args)


def is_elder(context: ContextTypes.DEFAULT_TYPE, chat_id: int) -> bool:
    return chat_id in context.bot_data.get("elder_chats", set())


def callback(op: str, subject: follows.Subject) -> str | None:
    """`follow:e:金沙路` — None when it would not fit Telegram's 64 bytes."""
    data = f"{op}:{CODE_OF[subject.kind]}:{subject.name}"
    return data if len(data.encode()) <= 64 else None


def parse_callback(data: str) -> tuple[str, follows.Subject] | None:
    op, _, rest = (data or "").partition(":")
    code, _, name = rest.partition(":")
    if op not in ("follow", "unfollow") or code not in KIND_CODES or not name:
        return None
    return op, follows.Subject(KIND_CODES[code], name)


async def say(context: ContextTypes.DEFAULT_TYPE, chat_id: int, text: str, markup=None, voice: bool = False):
    from .handlers import with_retry  # the relay's one retry layer: flood control waited out

    await with_retry(lambda: context.bot.send_message(chat_id, text, reply_markup=markup))
    if voice:
        try:
            path = await synthesize_async(text, context.bot_data["settings"].voice_cache_dir, "cmn")
            await with_retry(lambda: context.bot.send_voice(chat_id, voice=path.read_bytes()))
        except (VoiceUnavailable, ValueError, OSError, TelegramError) as error:
            logger.error("no voice for the follow confirmation: %s", error)


async def do_follow(
    context, chat_id: int, subject: follows.Subject, elder: bool, voice_lang: str = "cmn", speak: bool = True
) -> None:
    try:
        new = await in_store(context, follows.follow, chat_id, subject, elder, voice_lang)
    except ValueError as error:
        logger.info("refused follow of %s: %s", subject, error)
        await say(context, chat_id, "抱歉，这个不能关注。请在回答下面点“关注”按钮。")
        return
    label = subject.label
    if not new:
        await say(context, chat_id, ALREADY.format(label=label), voice=elder and speak)
    else:
        await say(context, chat_id, (FOLLOWED_ELDER if elder else FOLLOWED).format(label=label), voice=elder and speak)


async def do_unfollow(context, chat_id: int, subject: follows.Subject, elder: bool, speak: bool = True) -> None:
    gone = await in_store(context, follows.unfollow, chat_id, subject)
    text = (UNFOLLOWED if gone else NOT_FOLLOWED).format(label=subject.label)
    await say(context, chat_id, text, voice=elder and speak)


async def show_following(context, chat_id: int) -> None:
    subjects = await in_store(context, follows.following, chat_id)
    if not subjects:
        await say(context, chat_id, NOTHING_FOLLOWED)
        return
    rows = [
        [InlineKeyboardButton(STOP_BUTTON.format(label=s.label), callback_data=data)]
        for s in subjects
        if (data := callback("unfollow", s))
    ]
    lines = [FOLLOWING_HEAD] + [f"· {s.label}" for s in subjects]
    await say(context, chat_id, "\n".join(lines), InlineKeyboardMarkup(rows) if rows else None)


def match_followed(subjects: list[follows.Subject], words: str) -> follows.Subject | None:
    words = words.strip()
    return next((s for s in subjects if words in (s.name, s.label)), None)


# ---------------------------------------------------------------- handlers


async def on_follow_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    try:
        await query.answer()
    except TelegramError:
        pass
    parsed = parse_callback(query.data)
    if parsed is None or update.effective_chat is None:
        return
    op, subject = parsed
    chat_id = update.effective_chat.id
    if op == "follow":
        await do_follow(context, chat_id, subject, is_elder(context, chat_id))
    else:
        await do_unfollow(context, chat_id, subject, is_elder(context, chat_id))


async def on_button_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """关注「金沙路」的新消息 typed by the big elder button: the subject is known exactly, no guessing."""
    match = BUTTON_TEXT.match(update.effective_message.text or "")
    chat_id = update.effective_chat.id
    offers = context.bot_data.setdefault("follow_offers", {}).get(chat_id, {})
    subject = offers.get(match.group(2)) if match else None
    if subject is None and match and match.group(1):
        subject = match_followed(await in_store(context, follows.following, chat_id), match.group(2))
    if subject is None:
        from . import handlers  # not one of ours after all: the usual way through Rasa

        await handlers.on_text(update, context)
        return
    if match.group(1):
        await do_unfollow(context, chat_id, subject, is_elder(context, chat_id))
    else:
        await do_follow(context, chat_id, subject, is_elder(context, chat_id))


async def on_follow_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/follow 金沙路 (read by Rasa, which knows the names), /follow alone (what was just offered)."""
    from . import handlers

    chat_id = update.effective_chat.id
    words = " ".join(context.args or []).strip()
    if words:
        await handlers.relay(update, context, f"关注{words}")
        return
    last = context.bot_data.setdefault("follow_offers", {}).get(chat_id, {}).get("")
    if last is None:
        await say(context, chat_id, FOLLOW_HOW)
        return
    await do_follow(context, chat_id, last, is_elder(context, chat_id))


async def on_unfollow_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    chat_id = update.effective_chat.id
    words = " ".join(context.args or []).strip()
    if words:
        subject = match_followed(await in_store(context, follows.following, chat_id), words)
        if subject is not None:
            await do_unfollow(context, chat_id, subject, is_elder(context, chat_id))
            return
    await show_following(context, chat_id)


async def on_following_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await show_following(context, update.effective_chat.id)


async def on_forget_me_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await forget_me(update, context)


async def forget_me(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Everything stored about this resident: follows, queued messages, the conversation, the question log."""
    from .handlers import question_log, raw_sender_id, sender_id

    chat_id = update.effective_chat.id
    # The pseudonymous sender, and the raw one conversations were kept under before the relay used pseudonyms.
    senders = [sender_id(update, context), raw_sender_id(update)]
    removed = await in_store(context, follows.forget_chat, chat_id)
    settings = get_settings()
    log = question_log(context)
    events = questions = 0
    for sender in senders:
        events += await asyncio.to_thread(forget_conversation, settings.trackers_path, sender)
        questions += await asyncio.to_thread(forget_questions, log, sender)
    context.bot_data.get("elder_chats", set()).discard(chat_id)
    context.bot_data.setdefault("follow_offers", {}).pop(chat_id, None)
    await say(
        context,
        chat_id,
        FORGOTTEN.format(follows=removed["follows"], messages=removed["messages"], events=events, questions=questions),
    )


def forget_conversation(trackers_path, sender: str) -> int:
    """Delete one conversation from Rasa's SQLite tracker store (the cached store re-reads it: its row count
    changed). Returns how many events went."""
    try:
        with sqlite3.connect(trackers_path, timeout=30) as db:
            if not db.execute("SELECT 1 FROM sqlite_master WHERE name = 'events'").fetchone():
                return 0
            return db.execute("DELETE FROM events WHERE sender_id = ?", [sender]).rowcount
    except sqlite3.OperationalError as error:
        logger.error("could not delete the conversation of a resident who asked: %s", error)
        return 0


def forget_questions(log: QuestionLog, sender: str) -> int:
    """Delete a sender's unanswered questions and feedback from the question log (kept under a pseudonym)."""
    from knowledge import questions

    name = log.pseudonym(sender) if hasattr(log, "pseudonym") else questions.pseudonym(sender)
    path = log._path
    if not path.exists():
        return 0
    with sqlite3.connect(path, timeout=30) as db:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        return sum(
            db.execute(f"DELETE FROM {table} WHERE sender = ?", [name]).rowcount
            for table in ("questions", "feedback")
            if table in tables
        )


# ---------------------------------------------------------------- what Rasa's actions ask for


async def after_rasa(update: Update, context: ContextTypes.DEFAULT_TYPE, messages: list[dict]) -> None:
    """Act on the `custom` parts that concern following (actions/follow.py, actions/plan.py): remember the
    subject an answer offered, store a follow or unfollow, list, forget, and keep the follower's form in step."""
    chat = update.effective_chat
    if chat is None:
        return
    for message in messages:
        custom = message.get("custom") or {}
        offer = custom.get("follow_offer")
        if offer:
            subject = follows.Subject(offer["kind"], offer["subject"])
            context.bot_data.setdefault("follow_offers", {})[chat.id] = {"": subject, subject.label: subject}
        op = custom.get("follow_op")
        if op and op.get("kind") in CODE_OF and op.get("subject"):
            subject = follows.Subject(op["kind"], op["subject"])
            if op.get("op") == "unfollow":
                await do_unfollow(context, chat.id, subject, bool(op.get("elder")))
            else:
                await do_follow(context, chat.id, subject, bool(op.get("elder")), op.get("voice_lang") or "cmn")
        if custom.get("following"):
            await show_following(context, chat.id)
        if custom.get("forget_me"):
            await forget_me(update, context)
        if custom.get("mode") in ("elder", "standard"):
            await in_store(context, follows.set_form, chat.id, custom["mode"] == "elder")


# ---------------------------------------------------------------- wiring


def add_handlers(app: Application) -> None:
    """Register before the relay's own handlers, so these win for their buttons and commands."""
    app.add_handler(CallbackQueryHandler(on_follow_button, pattern=r"^(follow|unfollow):"))
    app.add_handler(CommandHandler("follow", on_follow_command))
    app.add_handler(CommandHandler("unfollow", on_unfollow_command))
    app.add_handler(CommandHandler("following", on_following_command))
    app.add_handler(CommandHandler("forget_me", on_forget_me_command))
    app.add_handler(
        MessageHandler(
            filters.UpdateType.MESSAGE & filters.ChatType.PRIVATE & filters.Regex(BUTTON_TEXT), on_button_text
        )
    )


async def start(app: Application) -> None:
    """Open the follows store and start sending queued follow messages (post_init)."""
    app.bot_data["follows"] = await asyncio.to_thread(follows.open_follows, get_settings().follows_path)
    app.bot_data["follows_lock"] = asyncio.Lock()
    notifier = Notifier(app.bot, NotifierConfig.from_settings(get_settings(), app.bot_data["settings"].voice_cache_dir))
    app.bot_data["notifier"] = notifier
    app.bot_data["notifier_task"] = asyncio.create_task(notifier.run(), name="follow-notifier")


async def stop(app: Application) -> None:
    """Let the message on its way finish and be recorded, then stop (post_stop)."""
    notifier, task = app.bot_data.pop("notifier", None), app.bot_data.pop("notifier_task", None)
    if notifier is not None:
        notifier.stop()
        await asyncio.gather(task, return_exceptions=True)
    db = app.bot_data.pop("follows", None)
    if db is not None:
        db.conn.close()
