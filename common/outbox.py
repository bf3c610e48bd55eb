"""Messages for a citizen that arrive outside a turn (a queued filing that has now landed, its
number): kept in Redis per conversation until delivered, so none is lost on a restart.
Channels that can push deliver them at once; the others on the citizen's next message.

Redis keys:
- `outbox:{conversation}` (list of JSON replies, TTL_S): waiting for the citizen's next turn"""
from __future__ import annotations

import json

import redis.asyncio as aioredis

from common.reply import Reply

TTL_S = 30 * 24 * 3600


def _key(conversation: str) -> str:
    return f"outbox:{conversation}"


async def push(redis: aioredis.Redis, conversation: str, reply: Reply) -> None:
    pipe = redis.pipeline()
    pipe.rpush(_key(conversation), json.dumps({"text": reply.text, "buttons": reply.buttons}, ensure_ascii=False))
    pipe.expire(_key(conversation), TTL_S)
    await pipe.execute()


async def drain(redis: aioredis.Redis, conversation: str) -> list[Reply]:
    """Takes every waiting message, oldest first (atomically: two turns never both get one)."""
    pipe = redis.pipeline(transaction=True)
    pipe.lrange(_key(conversation), 0, -1)
    pipe.delete(_key(conversation))
    raw, _ = await pipe.execute()
    return [Reply(**json.loads(item)) for item in raw]


async def conversations_waiting(redis: aioredis.Redis, limit: int) -> int:
    """How many conversations have messages waiting (counted up to `limit`: a scan must stay cheap)."""
    waiting = 0
    async for _ in redis.scan_iter(_key("*"), count=1000):
        waiting += 1
        if waiting >= limit:
            break
    return waiting
