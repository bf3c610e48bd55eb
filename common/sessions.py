"""Who is talking: one conversation per (channel, channel user id), kept in Redis.

The engine only ever sees an opaque conversation id derived from both parts, so a user id
from one channel can never reach a conversation of another channel or another user.

Redis keys:
- `session:{conversation}` (hash, the session TTL): channel, user_id, first_seen, last_seen, turns
"""
from __future__ import annotations

import hashlib
import re
import time

import redis.asyncio as aioredis

_USER_ID = re.compile(r"^[\w.@:+\-]{1,128}$")


class BadUserId(ValueError):
    pass


def conversation_id(channel: str, user_id: str) -> str:
    if not _USER_ID.match(user_id or ""):
        raise BadUserId(user_id)
    digest = hashlib.sha256(f"{channel}\0{user_id}".encode()).hexdigest()[:32]
    return f"{channel}-{digest}"


def _key(conversation: str) -> str:
    return f"session:{conversation}"


KEYS = _key("*")            # every session (analytics scans them)


async def who(redis: aioredis.Redis, conversation: str) -> tuple[str, str] | None:
    """(channel, channel user id) of a conversation, from its session; None when unknown."""
    session = await redis.hgetall(_key(conversation))
    if not session:
        return None
    return session[b"channel"].decode(), session[b"user_id"].decode()


class Sessions:
    def __init__(self, redis: aioredis.Redis, ttl_s: int):
        self.redis, self.ttl_s = redis, ttl_s

    async def touch(self, channel: str, user_id: str, conv: str) -> dict:
        """Records a turn; returns the session (first seen, last seen, turns)."""
        key = _key(conv)
        now = time.time()
        pipe = self.redis.pipeline()
        pipe.hsetnx(key, "first_seen", now)
        pipe.hset(key, mapping={"channel": channel, "user_id": user_id, "last_seen": now})
        pipe.hincrby(key, "turns", 1)
        pipe.expire(key, self.ttl_s)
        pipe.hgetall(key)
        session = (await pipe.execute())[-1]
        return {k.decode(): v.decode() for k, v in session.items()}
