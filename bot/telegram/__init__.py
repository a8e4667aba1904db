"""The Telegram relay (python-telegram-bot 22). Run: python -m bot.telegram (TELEGRAM_TOKEN set)."""
