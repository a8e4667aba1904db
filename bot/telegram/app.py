"""The Telegram relay: python-telegram-bot between residents and Rasa's REST channel. Entry point only wires."""

from __future__ import annotations

import logging

from telegram import BotCommand, Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.rasa_client import RasaClient
from bot.ratelimit import RateLimiter
from bot.settings import ChannelSettings, get_channel_settings
from knowledge import privacy
from knowledge.questions import QuestionLog
from knowledge.settings import get_settings

from . import follow, handlers
from .ordering import ChatOrderedProcessor
from .request import AiohttpRequest

logger = logging.getLogger(__name__)
CONCURRENT_UPDATES = 64

COMMANDS = [
    BotCommand("start", "开始：介绍和选择回答方式"),
    BotCommand("help", "我能回答什么"),
    BotCommand("elder", "长者模式：字少、简单，有语音"),
    BotCommand("normal", "普通模式：完整回答"),
    BotCommand("about", "我知道哪些文件"),
    BotCommand("following", "我关注的事项（可取消）"),
    BotCommand("forget_me", "删除关于我的全部信息"),
]


def build_application(settings: ChannelSettings | None = None, rasa: RasaClient | None = None) -> Application:
    """The relay, ready to run. Rasa's client is opened in post_init and closed in post_shutdown."""
    settings = settings or get_channel_settings()
    if not settings.telegram_token:
        raise SystemExit("TELEGRAM_TOKEN is not set: get one from @BotFather (see README, Telegram)")

    async def post_init(app: Application) -> None:
        app.bot_data["rasa"] = rasa or RasaClient(settings.rasa_url, settings.rasa_timeout)
        await follow.start(app)  # sends queued follow messages (bot/telegram/notifier.py)
        try:
            await app.bot.set_my_commands(COMMANDS)
        except Exception as error:  # the menu is a nicety: never fail to start for it
            logger.warning("could not set the command menu: %s", error)

    async def post_stop(app: Application) -> None:
        await follow.stop(app)  # the follow message on its way is finished and recorded first

    async def post_shutdown(app: Application) -> None:
        client = app.bot_data.get("rasa")
        if client is not None:
            await client.close()

    # No AIORateLimiter: handlers.with_retry is the one retry layer, and it waits out flood control per chat.
    processor = ChatOrderedProcessor(CONCURRENT_UPDATES)
    app = (
        Application.builder()
        .token(settings.telegram_token)
        .base_url(settings.telegram_base_url)
        .base_file_url(settings.telegram_base_url.replace("/bot", "/file/bot"))
        .concurrent_updates(processor)
        # One aiohttp pool for the Bot API, as large as the updates handled at once; getUpdates has its own.
        .request(AiohttpRequest(connections=CONCURRENT_UPDATES))
        .get_updates_request(AiohttpRequest(connections=1))
        .post_init(post_init)
        .post_stop(post_stop)
        .post_shutdown(post_shutdown)
        .build()
    )
    app.bot_data.update(
        settings=settings,
        rate_limiter=RateLimiter(settings.rate_limit_messages, settings.rate_limit_seconds),
        questions=QuestionLog(get_settings().questions_path),
    )
    processor.admit = lambda update: handlers.admit(app.bot, app.bot_data, update)
    follow.add_handlers(app)  # 关注 buttons and /follow, /unfollow, /following, /forget_me
    app.add_handler(CommandHandler("unanswered", handlers.on_unanswered))
    app.add_handler(CommandHandler(list(handlers.COMMAND_PAYLOADS), handlers.on_command))
    app.add_handler(CallbackQueryHandler(handlers.on_button))
    # Edited messages match none of these (UpdateType.MESSAGE): they are ignored on purpose, the answer to the
    # first version stands.
    app.add_handler(MessageHandler(filters.UpdateType.MESSAGE & filters.TEXT & ~filters.COMMAND, handlers.on_text))
    app.add_handler(MessageHandler(filters.UpdateType.MESSAGE & filters.COMMAND, handlers.on_command))
    app.add_handler(MessageHandler(filters.UpdateType.MESSAGE & filters.CAPTION, handlers.on_caption))
    app.add_handler(
        MessageHandler(filters.UpdateType.MESSAGE & ~filters.TEXT & ~filters.StatusUpdate.ALL, handlers.on_other)
    )
    app.add_error_handler(handlers.on_error)
    return app


def main() -> None:
    privacy.mask_logs()
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s %(message)s", level=logging.INFO)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    settings = get_channel_settings()
    app = build_application(settings)
    if settings.telegram_webhook_url:
        app.run_webhook(
            listen="0.0.0.0",
            port=settings.telegram_webhook_port,
            webhook_url=settings.telegram_webhook_url,
            secret_token=settings.telegram_webhook_secret or None,
            allowed_updates=Update.ALL_TYPES,
        )
    else:
        app.run_polling(allowed_updates=Update.ALL_TYPES)
