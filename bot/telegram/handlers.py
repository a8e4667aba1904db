"""What the relay does with each kind of Telegram update. Handlers get their resources from bot_data."""
from __future__ import annotations

import asyncio
import logging

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, ReplyKeyboardRemove, Update
from telegram.constants import ChatAction, ChatType
from telegram.error import NetworkError, RetryAfter, TimedOut
from telegram.ext import ContextTypes

from bot.rasa_client import MAINTENANCE, RasaUnavailable
from bot.voice import VoiceUnavailable, synthesize_async

from . import follow
from .render import render

logger = logging.getLogger(__name__)

ONLY_TEXT = "我只能看懂文字。请用文字输入您的问题，比如：老人在哪里吃饭？"
TOO_FAST = "您发得有点快，请稍等一下再问。"
TOO_LONG = "您的消息太长了，请说得简短一些（{limit}字以内）。"
NOT_STAFF = "这个命令只给西区工作人员使用。"
MODE_CHOICE = InlineKeyboardMarkup([[
    InlineKeyboardButton("长者模式（字少、简单）", callback_data="/elder_mode_on"),
    InlineKeyboardButton("普通模式", callback_data="/elder_mode_off"),
]])
# Telegram commands -> what Rasa is told (intent payloads, so no guessing by the NLU).
COMMAND_PAYLOADS = {
    "start": "/greet",
    "help": "/what_can_you_do",
    "elder": "/elder_mode_on",
    "normal": "/elder_mode_off",
    "about": "/about",
}
SEND_ATTEMPTS = 4


def sender_id(update: Update) -> str:
    return f"telegram-{update.effective_user.id}" if update.effective_user else f"telegram-chat-{update.effective_chat.id}"


async def with_retry(make_call):
    """Call Telegram, waiting out flood control (RetryAfter) and retrying network errors with backoff."""
    delay = 1.0
    for attempt in range(SEND_ATTEMPTS):
        try:
            return await make_call()
        except RetryAfter as error:
            wait = error.retry_after.total_seconds() if hasattr(error.retry_after, "total_seconds") \
                else float(error.retry_after)
            logger.warning("Telegram flood control: waiting %.1f s", wait)
            await asyncio.sleep(wait)
        except (TimedOut, NetworkError) as error:
            if attempt == SEND_ATTEMPTS - 1:
                raise
            logger.warning("Telegram network error (%s), retrying in %.1f s", error, delay)
            await asyncio.sleep(delay)
            delay *= 2
    return await make_call()


async def relay(update: Update, context: ContextTypes.DEFAULT_TYPE, text: str) -> None:
    """Send `text` to Rasa as this user and show the resident what comes back."""
    data = context.bot_data
    chat = update.effective_chat
    user_key = update.effective_user.id if update.effective_user else chat.id
    if not data["rate_limiter"].allow(user_key):
        await with_retry(lambda: context.bot.send_message(chat.id, TOO_FAST))
        return
    limit = data["settings"].max_message_chars
    if len(text) > limit:
        await with_retry(lambda: context.bot.send_message(chat.id, TOO_LONG.format(limit=limit)))
        return
    try:
        await context.bot.send_chat_action(chat.id, ChatAction.TYPING)
    except (TimedOut, NetworkError):
        pass  # the typing dots are a courtesy; the answer matters
    try:
        messages = await data["rasa"].send(sender_id(update), text)
    except RasaUnavailable:
        await with_retry(lambda: context.bot.send_message(chat.id, MAINTENANCE))
        return
    await follow.after_rasa(update, context, messages)  # follow requests, /following, /forget_me
    elder_chats: set = data.setdefault("elder_chats", set())
    rendered = render(messages, elder=chat.id in elder_chats)
    if rendered.mode == "elder":
        elder_chats.add(chat.id)
    elif rendered.mode == "standard":
        elder_chats.discard(chat.id)
    for i, reply in enumerate(rendered.replies):
        keyboard = reply.keyboard
        if keyboard is None and rendered.mode == "standard" and i == len(rendered.replies) - 1:
            keyboard = ReplyKeyboardRemove()
        if reply.image:
            await with_retry(lambda r=reply: context.bot.send_photo(chat.id, photo=r.image))
        else:
            await with_retry(lambda r=reply, k=keyboard: context.bot.send_message(chat.id, r.text, reply_markup=k))
        if reply.voice:
            await send_voice(context, chat.id, reply.voice)


async def send_voice(context: ContextTypes.DEFAULT_TYPE, chat_id: int, voice: dict) -> None:
    try:
        path = await synthesize_async(voice.get("text", ""), context.bot_data["settings"].voice_cache_dir,
                                      voice.get("lang", "cmn"))
    except (VoiceUnavailable, ValueError, OSError) as error:
        if not context.bot_data.get("voice_warned"):
            logger.error("no voice for elder answers: %s", error)
            context.bot_data["voice_warned"] = True
        return
    await with_retry(lambda: context.bot.send_voice(chat_id, voice=path.read_bytes()))


def is_group(update: Update) -> bool:
    return update.effective_chat is not None and update.effective_chat.type in (ChatType.GROUP, ChatType.SUPERGROUP)


async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if is_group(update):
        return  # in groups the bot answers commands only, so it never talks over people
    await relay(update, context, update.effective_message.text or "")


async def on_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    command = (update.effective_message.text or "/").split()[0][1:].split("@")[0].lower()
    await relay(update, context, COMMAND_PAYLOADS.get(command, "/what_can_you_do"))
    if command == "start":
        await with_retry(lambda: context.bot.send_message(
            update.effective_chat.id, "请选择回答方式：", reply_markup=MODE_CHOICE))


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    try:
        await query.answer()  # always, so the button stops spinning
    except (TimedOut, NetworkError):
        pass
    if query.data and query.message is not None:
        await relay(update, context, query.data)


async def on_other(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Stickers, photos, locations, voice notes, documents: a kind word about what the bot understands."""
    if is_group(update) or update.effective_message is None:
        return
    await with_retry(lambda: context.bot.send_message(update.effective_chat.id, ONLY_TEXT))


async def on_unanswered(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Staff only: the questions the bot could not answer, most recent first."""
    user = update.effective_user
    chat_id = update.effective_chat.id
    if user is None or user.id not in context.bot_data["settings"].telegram_staff_ids:
        await with_retry(lambda: context.bot.send_message(chat_id, NOT_STAFF))
        return
    groups = await asyncio.to_thread(context.bot_data["questions"].unanswered, 20)
    lines = ["居民问了、但没答上的问题（最近的在前）："] + [f"{g['count']}次：{g['text']}" for g in groups]
    if not groups:
        lines = ["目前没有答不上的问题。"]
    await with_retry(lambda: context.bot.send_message(chat_id, "\n".join(lines)[:4000]))


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    logger.error("update %s failed: %s", getattr(update, "update_id", "?"), context.error, exc_info=context.error)
