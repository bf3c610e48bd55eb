"""Files a citizen sends while talking (a WeChat photo of a document, a web upload): kept per
conversation until the next consultation or complaint is filed, which carries them (standard
9.3.1.1 lists attachments among a consultation's fields).

Redis keys:
- `attachments:{conversation}` (list of JSON, TTL_S, at most MAX_FILES): name, content_type, url"""
from __future__ import annotations

import json

import redis.asyncio as aioredis

MAX_FILES = 5
TTL_S = 24 * 3600


def _key(conversation: str) -> str:
    return f"attachments:{conversation}"


async def add(redis: aioredis.Redis, conversation: str, name: str, content_type: str, url: str) -> int | None:
    """Keeps one file reference (the hall's attachment shape: name, MIME type, http(s) URL);
    returns how many are waiting, None when the limit is reached."""
    if await redis.llen(_key(conversation)) >= MAX_FILES:
        return None
    pipe = redis.pipeline()
    pipe.rpush(_key(conversation), json.dumps({"name": name, "content_type": content_type, "url": url}, ensure_ascii=False))
    pipe.expire(_key(conversation), TTL_S)
    count, _ = await pipe.execute()
    return count


async def pending(redis: aioredis.Redis, conversation: str) -> list[dict]:
    return [json.loads(item) for item in await redis.lrange(_key(conversation), 0, -1)]


async def clear(redis: aioredis.Redis, conversation: str) -> None:
    await redis.delete(_key(conversation))
