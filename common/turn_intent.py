"""The intent the dialogue engine heard in a turn, handed from the action server (which sees
the tracker) to the gateway (which audits the turn) through one short-lived Redis key. Turns
that run no custom action leave no key: their intent stays unknown.

Redis keys:
- `turn:intent:{conversation}` (string, TTL_S): the intent of the turn in flight"""
from __future__ import annotations

import redis.asyncio as aioredis

TTL_S = 120


def _key(conversation: str) -> str:
    return f"turn:intent:{conversation}"


async def remember(redis: aioredis.Redis, conversation: str, intent: str) -> None:
    if intent:
        await redis.set(_key(conversation), intent, ex=TTL_S)


async def take(redis: aioredis.Redis, conversation: str) -> str:
    value = await redis.getdel(_key(conversation))
    return value.decode() if value else ""
