"""Moves due reminders (common/reminders.py) onto the notification stream; runs in every gateway
process, and the store's one Lua move makes their work safe to share."""
from __future__ import annotations

import asyncio
import logging
import time

import redis.asyncio as aioredis

from common.reminders import move_due

log = logging.getLogger(__name__)
TICK_S = 1.0


class ReminderScheduler:
    """Runs in every gateway process; the Lua move makes their work safe to share."""

    def __init__(self, redis: aioredis.Redis, clock=time.time):
        self.redis, self.clock = redis, clock

    async def run(self) -> None:
        while True:
            try:
                moved = await move_due(self.redis, self.clock())
                if moved:
                    log.info("%d reminders fell due", moved)
            except asyncio.CancelledError:
                raise
            except (aioredis.RedisError, OSError) as exc:
                log.warning("reminder store unavailable: %s", exc)
            await asyncio.sleep(TICK_S)
