"""Tells waiting citizens when their place in a staff queue changes (on channels that can push;
the others see their place with their next message)."""
from __future__ import annotations

import asyncio
import logging

import redis.asyncio as aioredis

from assistant.gateway import Gateway
from common.delivery import Delivery
from common.handoff import ALL

log = logging.getLogger(__name__)
INTERVAL_S = 15


class QueueUpdates:
    def __init__(self, redis: aioredis.Redis, gateway: Gateway, delivery: Delivery):
        self.redis, self.gateway, self.delivery = redis, gateway, delivery

    async def run(self) -> None:
        while True:
            try:
                await self.tick()
            except asyncio.CancelledError:
                raise
            except (aioredis.RedisError, OSError) as exc:
                log.warning("queue updates unavailable: %s", exc)
            await asyncio.sleep(INTERVAL_S)

    async def tick(self) -> None:
        for conv in [c.decode() for c in await self.redis.smembers(ALL)]:
            info = await self.gateway.handoff.status(conv)
            position = await self.gateway.handoff.position(conv)
            if info.get("state") != "queued" or position is None:
                continue
            # Only one process announces each change: the one that swaps in the new position.
            if await self.gateway.handoff.position_changed(conv, position):
                await self.delivery.push(conv, [await self.gateway.queue_notice(conv, info["department"])])
