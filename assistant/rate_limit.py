"""Per-user rate limiting shared by every gateway process (a Redis counter per conversation
and minute): one citizen, or a script posing as one, cannot flood the engine."""
from __future__ import annotations

import time

import redis.asyncio as aioredis


async def allowed(redis: aioredis.Redis, conversation: str, per_minute: int) -> bool:
    key = f"rate:{conversation}:{int(time.time() // 60)}"
    pipe = redis.pipeline()
    pipe.incr(key)
    pipe.expire(key, 120)
    count, _ = await pipe.execute()
    return count <= per_minute
