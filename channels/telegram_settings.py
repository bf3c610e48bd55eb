"""Settings of the Telegram channel, apart from the adapter so that deciding whether to mount it
does not load python-telegram-bot (about 20 MB) in deployments without a bot."""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

from common.env import env

_SECRET_CHARS = re.compile(r"^[A-Za-z0-9_-]{1,256}$")   # what Telegram allows in secret_token


@dataclass(frozen=True)
class TelegramSettings:
    # The bot's token from @BotFather; the channel is mounted only when it is set.
    token: str = field(default_factory=lambda: env("TELEGRAM_TOKEN", ""))
    mode: str = field(default_factory=lambda: env("TELEGRAM_MODE", "webhook"))
    # Telegram sends it in X-Telegram-Bot-Api-Secret-Token with every webhook request.
    webhook_secret: str = field(default_factory=lambda: env("TELEGRAM_WEBHOOK_SECRET", "dev-telegram-secret-change-me"))
    # Where the Bot API lives; "<base><token>/<method>" (tests point it at an emulator).
    api_base: str = field(default_factory=lambda: env("TELEGRAM_API_BASE", "https://api.telegram.org/bot"))
    # The gateway's public https origin; when set in webhook mode, start() registers the webhook.
    public_url: str = field(default_factory=lambda: env("TELEGRAM_PUBLIC_URL", ""))

    def __post_init__(self):
        if self.mode not in ("webhook", "polling"):
            raise ValueError(f"TELEGRAM_MODE must be webhook or polling, not {self.mode!r}")
        if self.mode == "webhook" and not _SECRET_CHARS.match(self.webhook_secret):
            raise ValueError("TELEGRAM_WEBHOOK_SECRET must be 1-256 characters of A-Z, a-z, 0-9, _ and -")

    @property
    def bot_id(self) -> str:
        """The numeric part of the token: names this bot's keys in Redis without the secret part."""
        return self.token.split(":", 1)[0]

    @property
    def webhook_path(self) -> str:
        """Derived from the token, so the URL is unguessable without it and needs no setting."""
        digest = hashlib.sha256(f"telegram-webhook\0{self.token}".encode()).hexdigest()[:32]
        return f"/channels/telegram/{digest}"
