"""Every conversation's messages (citizen, bot, staff) in order, kept in Redis for the staff
console: window staff taking over see what was said before, on whichever channel.

Redis keys:
- `transcript:{conversation}` (list of JSON, the last KEEP, TTL_S): who (citizen, bot, staff,
  system), text, at, channel"""
from __future__ import annotations

import json
import time

import redis.asyncio as aioredis

KEEP = 500                      # messages kept per conversation
TTL_S = 30 * 24 * 3600


def _key(conv: str) -> str:
    return f"transcript:{conv}"


async def append(redis: aioredis.Redis, conv: str, who: str, text: str, channel: str = "", **extra) -> None:
    entry = {"who": who, "text": text, "at": time.time(), "channel": channel, **extra}
    pipe = redis.pipeline()
    pipe.rpush(_key(conv), json.dumps(entry, ensure_ascii=False))
    pipe.ltrim(_key(conv), -KEEP, -1)
    pipe.expire(_key(conv), TTL_S)
    await pipe.execute()


async def read(redis: aioredis.Redis, conv: str, last: int = KEEP) -> list[dict]:
    return [json.loads(x) for x in await redis.lrange(_key(conv), -last, -1)]
