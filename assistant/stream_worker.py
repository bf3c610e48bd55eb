"""One consumer of a Redis stream's consumer group, run in every gateway process: stalled
entries (taken by a process that died, or left unacknowledged) are claimed again after
`claim_idle_ms`, then new ones are read. The subclass handles an entry and acknowledges it when
done, and decides what an unexpected error in one entry means (retry later, or drop)."""
from __future__ import annotations

import asyncio
import logging
import os
import socket

import redis.asyncio as aioredis

log = logging.getLogger(__name__)


class StreamWorker:
    stream: str
    group: str
    claim_idle_ms: int
    batch: int = 10
    poll_ms: int = 2_000

    def __init__(self, redis: aioredis.Redis):
        self.redis = redis
        self.consumer = f"{socket.gethostname()}-{os.getpid()}"

    async def handle(self, entry_id: bytes, fields: dict[str, str]) -> None:
        raise NotImplementedError

    async def failed(self, entry_id: bytes) -> None:
        """An entry whose handling raised something other than a Redis error (logged already)."""

    async def done(self, entry_id: bytes) -> None:
        await self.redis.xack(self.stream, self.group, entry_id)
        await self.redis.xdel(self.stream, entry_id)

    async def run(self) -> None:
        try:
            await self.redis.xgroup_create(self.stream, self.group, id="0", mkstream=True)
        except aioredis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        while True:
            try:
                _, claimed, _ = await self.redis.xautoclaim(self.stream, self.group, self.consumer,
                                                             self.claim_idle_ms, "0-0", count=self.batch)
                fresh = await self.redis.xreadgroup(self.group, self.consumer, {self.stream: ">"},
                                                    count=self.batch, block=self.poll_ms)
                for entry_id, fields in list(claimed) + [e for _, batch in fresh for e in batch]:
                    try:
                        await self.handle(entry_id, {k.decode(): v.decode() for k, v in fields.items()})
                    except (aioredis.RedisError, OSError, asyncio.CancelledError):
                        raise                   # not acknowledged: handled again, here or elsewhere
                    except Exception:
                        # One bad entry must not end the worker of every process.
                        log.exception("%s entry %s failed", self.stream, entry_id.decode())
                        await self.failed(entry_id)
            except asyncio.CancelledError:
                raise
            except (aioredis.RedisError, OSError) as exc:
                log.warning("%s stream unavailable: %s", self.stream, exc)
                await asyncio.sleep(self.poll_ms / 1000)
