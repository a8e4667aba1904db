"""What the relay does with each kind of Telegram update. Handlers get their resources from bot_data."""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from contextlib import asynccontextmanager

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, ReplyKeyboardRemove, Update
from telegram.constants import ChatAction, ChatType
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.ext import ContextTypes

from bot.rasa_client import MAINTENANCE, RasaUnavailable
from bot.ratelimit import Verdict
from bot.voice import VoiceUnavailable, duration_seconds, synthesize_async
from knowledge.questions import QuestionLog
from knowledge.settings import get_settings

from . import follow
from .render import is_feedback, render

logger = logging.getLogger(__name__)

ONLY_TEXT = "我只能看懂文字。请用文字输入您的问题，比如：老人在哪里吃饭？"
PHOTO_NOTE = "图片和文件里的内容我看不了，上面只回答了您写在旁边的文字。"
TOO_FAST = "您发得有点快，请稍等一下再问。"
TOO_LONG = "您的消息太长了，请说得简短一些（{limit}字以内）。"
NOT_STAFF = "这个命令只给西区工作人员使用。"
STAFF_PRIVATE_ONLY = "这个命令只能在和我的私聊里使用，请私聊我再发。"
APOLOGY = "抱歉，回答没能发出来，请再问一次，或拨打12345政务服务热线。"
THANKS = "已收到，谢谢"
FEEDBACK_NOT_RECORDED_SHORT = "没能记下，请稍后再按"
FEEDBACK_NOT_RECORDED = "系统正在维护，您的评价这次没能记下。请稍后再按一次回答下面的 👍 或 👎。"
MODE_CHOICE = InlineKeyboardMarkup(
    [
        [
            InlineKeyboardButton("长者模式（字少、简单）", callback_data="/elder_mode_on"),
            InlineKeyboardButton("普通模式", callback_data="/elder_mode_off"),
        ]
    ]
)
FEEDBACK_DONE = "/feedback_done"  # the callback data of the "you chose ..." button left after a 👍/👎 press
# Telegram commands -> what Rasa is told (intent payloads, so no guessing by the NLU).
COMMAND_PAYLOADS = {
    "start": "/greet",
    "help": "/what_can_you_do",
    "elder": "/elder_mode_on",
    "normal": "/elder_mode_off",
    "about": "/about",
}
SEND_ATTEMPTS = 4
RETRY_DELAY = 1.0  # seconds before the first retry of a network error; doubled each time
MAX_FLOOD_WAIT = 60.0  # a longer flood wait is not waited out: the resident gets the apology instead
CHAT_ACTION_EVERY = 4.0  # Telegram shows "typing…" for about 5 s; renew it before it lapses
TYPING_AFTER = 1.0  # "typing…" only for an answer that takes longer than this
REMEMBERED = 10_000  # voice file ids and pressed feedback buttons kept in memory


def sender_id(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
    """Rasa's sender id for this resident: `telegram-` and a keyed pseudonym of the Telegram user (or chat) id,
    an HMAC with the secret in var/pseudonym.key, so no Telegram id reaches Rasa or its tracker store. Stable: the
    same resident keeps one conversation. The actions see only that it is Telegram (it can follow); the relay keeps
    the chat id itself for following (bot/telegram/follow.py)."""
    return "telegram-" + question_log(context).pseudonym(telegram_id(update))


def telegram_id(update: Update) -> str:
    """Who wrote, as Telegram knows them (never stored: only its pseudonym is)."""
    return f"user:{update.effective_user.id}" if update.effective_user else f"chat:{update.effective_chat.id}"


def raw_sender_id(update: Update) -> str:
    """The sender id the relay gave Rasa before it used pseudonyms: /forget_me deletes what was kept under it too."""
    return (
        f"telegram-{update.effective_user.id}" if update.effective_user else f"telegram-chat-{update.effective_chat.id}"
    )


def question_log(context: ContextTypes.DEFAULT_TYPE) -> QuestionLog:
    """The question log, whose secret (var/pseudonym.key, 0600) keys every pseudonym."""
    log = context.bot_data.get("questions")
    if log is None:
        log = context.bot_data["questions"] = QuestionLog(get_settings().questions_path)
    return log


def worth_retrying(error: Exception) -> bool:
    """Flood control and network trouble pass; a refused request (BadRequest, a NetworkError subclass) does not."""
    if isinstance(error, RetryAfter):
        return _seconds(error.retry_after) <= MAX_FLOOD_WAIT
    return isinstance(error, NetworkError) and not isinstance(error, BadRequest)


def _seconds(value) -> float:
    return value.total_seconds() if hasattr(value, "total_seconds") else float(value)


async def with_retry(make_call):
    """Call Telegram, waiting out flood control and retrying network errors with backoff; the one retry layer.

    Only this call waits: other residents' updates run meanwhile (see ChatOrderedProcessor)."""
    delay = RETRY_DELAY
    for attempt in range(SEND_ATTEMPTS):
        try:
            return await make_call()
        except TelegramError as error:
            if attempt == SEND_ATTEMPTS - 1 or not worth_retrying(error):
                raise
            wait = _seconds(error.retry_after) if isinstance(error, RetryAfter) else delay
            logger.warning("Telegram: %s; retrying in %.1f s", error, wait)
            await asyncio.sleep(wait)
            if not isinstance(error, RetryAfter):
                delay *= 2


async def say(context: ContextTypes.DEFAULT_TYPE, chat_id: int, text: str, **kwargs) -> None:
    """Send one text; if Telegram refuses it after the retries, apologise once where Telegram still listens."""
    try:
        await with_retry(lambda: context.bot.send_message(chat_id, text, **kwargs))
    except TelegramError as error:
        await apologise(context, chat_id, error)


async def apologise(context: ContextTypes.DEFAULT_TYPE, chat_id: int, error: TelegramError) -> None:
    logger.error("could not answer chat %s: %s", chat_id, error)
    if isinstance(error, Forbidden):
        return  # the resident blocked the bot or left: nothing reaches them
    try:
        await context.bot.send_message(chat_id, APOLOGY)
    except TelegramError as second:
        logger.error("the apology did not reach chat %s either: %s", chat_id, second)


@asynccontextmanager
async def showing(context: ContextTypes.DEFAULT_TYPE, chat_id: int, action: str, after: float = 0.0):
    """Keep a chat action ("typing…", "recording voice…") on screen while the body runs, renewed every 4 s.

    The first one goes out `after` seconds into the body's work (an answer quicker than that needs no dots, and
    under load every saved Bot API call counts), not before it; a send in flight is let finish (never
    cancelled halfway), so no stray "typing…" can arrive after the answer."""
    done = asyncio.Event()

    async def keep_showing():
        wait = after
        while not (wait and await _waited(done, wait)):
            try:
                await context.bot.send_chat_action(chat_id, action)
            except TelegramError:
                pass  # the dots are a courtesy; the answer matters
            wait = CHAT_ACTION_EVERY

    task = asyncio.create_task(keep_showing())
    try:
        yield
    finally:
        done.set()
        await task


async def _waited(done: asyncio.Event, seconds: float) -> bool:
    """Wait up to `seconds`; True when `done` was set meanwhile."""
    try:
        await asyncio.wait_for(done.wait(), seconds)
    except asyncio.TimeoutError:
        return done.is_set()
    return True


def remembered(context: ContextTypes.DEFAULT_TYPE, name: str) -> OrderedDict:
    return context.bot_data.setdefault(name, OrderedDict())


def remember(store: OrderedDict, key, value) -> None:
    store[key] = value
    store.move_to_end(key)
    while len(store) > REMEMBERED:
        store.popitem(last=False)


async def relay(update: Update, context: ContextTypes.DEFAULT_TYPE, text: str) -> None:
    """Send `text` to Rasa as this user and show the resident what comes back."""
    chat = update.effective_chat
    limit = context.bot_data["settings"].max_message_chars
    if len(text) > limit:
        await say(context, chat.id, TOO_LONG.format(limit=limit))
        return
    messages = await ask_rasa(update, context, text)
    if messages is None:
        await say(context, chat.id, MAINTENANCE)
        return
    await show(update, context, messages)


async def ask_rasa(update: Update, context: ContextTypes.DEFAULT_TYPE, text: str) -> list[dict] | None:
    """Rasa's messages for `text` from this user ("typing…" shown if it takes long), or None when Rasa is down."""
    async with showing(context, update.effective_chat.id, ChatAction.TYPING, after=TYPING_AFTER):
        try:
            return await context.bot_data["rasa"].send(sender_id(update, context), text)
        except RasaUnavailable:
            return None


async def show(update: Update, context: ContextTypes.DEFAULT_TYPE, messages: list[dict]) -> None:
    """Show the resident Rasa's messages, and act on what they ask of the relay (following, the mode)."""
    data = context.bot_data
    chat = update.effective_chat
    await follow.after_rasa(update, context, messages)  # follow requests, /following, /forget_me
    elder_chats: set = data.setdefault("elder_chats", set())
    rendered = render(messages, elder=chat.id in elder_chats)
    if rendered.mode == "elder":
        elder_chats.add(chat.id)
    elif rendered.mode == "standard":
        elder_chats.discard(chat.id)
    try:
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
    except TelegramError as error:
        await apologise(context, chat.id, error)


async def send_voice(context: ContextTypes.DEFAULT_TYPE, chat_id: int, voice: dict) -> None:
    """Speak an elder answer: made once, uploaded once; a repeat sends Telegram's file_id of the first upload."""
    text, lang = voice.get("text", ""), voice.get("lang", "cmn")
    file_ids = remembered(context, "voice_file_ids")
    known = file_ids.get((lang, text))
    if known:
        try:
            await with_retry(lambda: context.bot.send_voice(chat_id, voice=known[0], duration=known[1]))
            return
        except BadRequest as error:  # Telegram forgot the file: upload it again
            logger.warning("cached voice file_id refused (%s); uploading again", error)
            file_ids.pop((lang, text), None)
    async with showing(context, chat_id, ChatAction.RECORD_VOICE):
        try:
            path = await synthesize_async(text, context.bot_data["settings"].voice_cache_dir, lang)
            duration = await asyncio.to_thread(duration_seconds, path)
            clip = await asyncio.to_thread(path.read_bytes)
        except (VoiceUnavailable, ValueError, OSError) as error:
            if not context.bot_data.get("voice_warned"):
                logger.error("no voice for elder answers: %s", error)
                context.bot_data["voice_warned"] = True
            return
    async with showing(context, chat_id, ChatAction.UPLOAD_VOICE):
        sent = await with_retry(lambda: context.bot.send_voice(chat_id, voice=clip, duration=duration))
    if sent is not None and sent.voice is not None:
        remember(file_ids, (lang, text), (sent.voice.file_id, duration))


def is_group(update: Update) -> bool:
    return update.effective_chat is not None and update.effective_chat.type in (ChatType.GROUP, ChatType.SUPERGROUP)


def command_of(update: Update, bot_username: str) -> str | None:
    """The command a message gives this bot (`/start`, `/start@ThisBot`), or None when it names another bot."""
    word = (update.effective_message.text or "/").split()[0][1:]
    name, _, address = word.partition("@")
    if address and address.lower() != (bot_username or "").lower():
        return None
    return name.lower()


def is_for_us(update: Update, bot_username: str) -> bool:
    """Whether the bot answers this update: anything in a private chat or a button press; in a group, only
    commands addressed to this bot or to no bot in particular, so it never talks over people."""
    if update.callback_query is not None:
        return True
    message = update.message
    if message is None or update.effective_user is None:
        return False
    if not is_group(update):
        return True
    return bool(message.text and message.text.startswith("/") and command_of(update, bot_username))


async def admit(context_bot, bot_data: dict, update: Update) -> bool:
    """The rate limit over every kind of message (text, stickers, photos, buttons): one notice per burst."""
    if not isinstance(update, Update) or not is_for_us(update, context_bot.username):
        return True
    verdict = bot_data["rate_limiter"].admit(update.effective_user.id)
    if verdict is Verdict.ALLOW:
        return True
    try:
        if update.callback_query is not None:
            await update.callback_query.answer(TOO_FAST if verdict is Verdict.REFUSE_AND_TELL else None)
        elif verdict is Verdict.REFUSE_AND_TELL:
            await with_retry(lambda: context_bot.send_message(update.effective_chat.id, TOO_FAST))
    except TelegramError as error:
        logger.warning("could not tell chat %s to slow down: %s", update.effective_chat.id, error)
    return False


async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if is_group(update):
        return  # in groups the bot answers commands only, so it never talks over people
    await relay(update, context, update.effective_message.text or "")


async def on_caption(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A photo (or file) with a question written beside it: answer the words, and say the picture is not read."""
    if is_group(update):
        return
    await relay(update, context, update.effective_message.caption or "")
    await say(context, update.effective_chat.id, PHOTO_NOTE)


async def on_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    command = command_of(update, context.bot.username)
    if command is None:
        return  # `/start@OtherBot` in a group is for the other bot
    await relay(update, context, COMMAND_PAYLOADS.get(command, "/what_can_you_do"))
    if command == "start":
        await say(context, update.effective_chat.id, "请选择回答方式：", reply_markup=MODE_CHOICE)


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    if not query.data or query.message is None:
        await _answer(query)
        return
    if query.data == FEEDBACK_DONE or is_feedback(query.data):
        await on_feedback(update, context)
        return
    await _answer(query)  # always, so the button stops spinning
    await relay(update, context, query.data)


async def on_feedback(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """👍/👎 under an answer: counted once for that answer, the buttons replaced by the choice, 已收到，谢谢.

    Only Rasa's action records the press, so it is shown as received only once Rasa has taken it: while Rasa is
    down the resident is told it was not recorded, and the buttons stay to press again later."""
    query = update.callback_query
    message = query.message
    pressed = remembered(context, "feedback_pressed")
    key = (message.chat.id, message.message_id)
    if query.data == FEEDBACK_DONE or key in pressed:
        await _answer(query, THANKS)
        return  # already counted; updates of one chat run in order, so a double tap lands here
    messages = await ask_rasa(update, context, query.data)
    if messages is None:
        await _answer(query, FEEDBACK_NOT_RECORDED_SHORT)
        await say(context, message.chat.id, FEEDBACK_NOT_RECORDED)
        return
    remember(pressed, key, True)
    await _answer(query, THANKS)
    title = next(
        (
            b.text
            for row in (message.reply_markup.inline_keyboard if message.reply_markup else ())
            for b in row
            if b.callback_data == query.data
        ),
        "",
    )
    chosen = InlineKeyboardMarkup(
        [[InlineKeyboardButton(f"✓ 您选了：{title}".rstrip("："), callback_data=FEEDBACK_DONE)]]
    )
    try:
        await with_retry(
            lambda: context.bot.edit_message_reply_markup(message.chat.id, message.message_id, reply_markup=chosen)
        )
    except TelegramError as error:
        logger.warning("could not replace the feedback buttons: %s", error)
    await show(update, context, messages)


async def _answer(query, text: str | None = None) -> None:
    try:
        await query.answer(text)
    except TelegramError:
        pass  # an old query (over 15 minutes) cannot be answered; the press still counts


async def on_other(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Stickers, photos, locations, voice notes, documents: a kind word about what the bot understands."""
    if is_group(update) or update.effective_message is None:
        return
    await say(context, update.effective_chat.id, ONLY_TEXT)


async def on_unanswered(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Staff only, in a private chat: the questions the bot could not answer, most recent first."""
    user = update.effective_user
    chat_id = update.effective_chat.id
    if update.effective_chat.type != ChatType.PRIVATE:
        await say(context, chat_id, STAFF_PRIVATE_ONLY)  # residents' questions are never posted to a group
        return
    if user is None or user.id not in context.bot_data["settings"].telegram_staff_ids:
        await say(context, chat_id, NOT_STAFF)
        return
    groups = await asyncio.to_thread(context.bot_data["questions"].unanswered, 20)
    lines = ["居民问了、但没答上的问题（最近的在前）："] + [f"{g['count']}次：{g['text']}" for g in groups]
    if not groups:
        lines = ["目前没有答不上的问题。"]
    await say(context, chat_id, "\n".join(lines)[:4000])


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    logger.error("update %s failed: %s", getattr(update, "update_id", "?"), context.error, exc_info=context.error)
