"""Runtime settings, all from the environment, with the embedded defaults of `make run`.

One `Settings` object is shared by the gateway, the action server and the hall so that the
stack runner (scripts/stack.py) can move every port with one base value.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from common.env import env

ROOT = Path(__file__).resolve().parent.parent



@dataclass(frozen=True)
class Settings:
    gateway_host: str = field(default_factory=lambda: env("ASSISTANT_HOST", "127.0.0.1"))
    gateway_port: int = field(default_factory=lambda: int(env("ASSISTANT_PORT", "8080")))
    rasa_url: str = field(default_factory=lambda: env("RASA_URL", "http://127.0.0.1:5005"))
    # Token of Rasa's HTTP API (status, model); the webhook channel itself needs none.
    rasa_token: str = field(default_factory=lambda: env("RASA_TOKEN", "dev-rasa-token-change-me"))
    action_url: str = field(default_factory=lambda: env("ACTION_SERVER_URL", "http://127.0.0.1:5055"))
    hall_url: str = field(default_factory=lambda: env("HALL_URL", "http://127.0.0.1:8090"))
    # Service-to-service key for the hall API; the embedded hall and the assistant share it.
    hall_api_key: str = field(default_factory=lambda: env("HALL_API_KEY", "dev-hall-key-change-me"))
    redis_host: str = field(default_factory=lambda: env("REDIS_HOST", "127.0.0.1"))
    redis_port: int = field(default_factory=lambda: int(env("REDIS_PORT", "6390")))
    redis_db: int = field(default_factory=lambda: int(env("REDIS_GATEWAY_DB", "0")))
    # Longest citizen message accepted on any channel, in characters.
    max_message_chars: int = field(default_factory=lambda: int(env("MAX_MESSAGE_CHARS", "1000")))
    # Messages one user may send per minute on any channel before being asked to slow down.
    rate_limit_per_minute: int = field(default_factory=lambda: int(env("RATE_LIMIT_PER_MINUTE", "30")))
    engine_timeout_s: float = field(default_factory=lambda: float(env("ENGINE_TIMEOUT_S", "20")))
    hall_timeout_s: float = field(default_factory=lambda: float(env("HALL_TIMEOUT_S", "5")))
    session_ttl_s: int = field(default_factory=lambda: int(env("SESSION_TTL_SECONDS", str(30 * 24 * 3600))))
    # Seconds added to the reminder scheduler's clock: lets a drill or a test see reminders
    # that fall due in days fire now. 0 in production.
    reminder_clock_offset_s: float = field(default_factory=lambda: float(env("REMINDER_CLOCK_OFFSET_S", "0")))
    # Creates the documented development staff accounts (README) at start: `make run` and tests only.
    staff_dev_accounts: bool = field(default_factory=lambda: env("STAFF_DEV_ACCOUNTS", "0") == "1")
    # When window staff answer online (ISO weekdays, Beijing time, see common/office_hours.py);
    # outside, callbacks and tickets.
    handoff_hours: str = field(default_factory=lambda: env("HANDOFF_HOURS", "1-5 09:00-18:00"))
    embedding_model: str = field(default_factory=lambda: env("HALL_E5_MODEL", ""))
    cache_dir: Path = field(default_factory=lambda: Path(env(
        "HALL_CACHE", str(Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "hall-assistant"))))
    var_dir: Path = field(default_factory=lambda: Path(env("HALL_VAR", str(ROOT / "var"))))

    @property
    def redis_url(self) -> str:
        return f"redis://{self.redis_host}:{self.redis_port}/{self.redis_db}"


def settings() -> Settings:
    return Settings()
