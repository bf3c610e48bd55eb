"""One clock and one time zone for every process: the hall, its staff and its citizens live on
Beijing time (UTC+8, no daylight saving), whatever the server's own zone."""
from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

TZ = ZoneInfo("Asia/Shanghai")


def now() -> datetime:
    """The current time in Beijing (aware)."""
    return datetime.now(TZ)


def today() -> date:
    return now().date()


def local(ts: float) -> datetime:
    """A Unix time as Beijing time."""
    return datetime.fromtimestamp(ts, TZ)
