"""Questions the assistant could not answer (standard 9.3.1.4: knowledge upkeep), kept in the
Redis stream "unanswered" with the fields {text, channel, at, conversation}. The text is
masked (ID and phone numbers) before it is stored; knowledge/candidates.py clusters it into
candidate FAQ entries for information publishers."""
from __future__ import annotations

import time

import redis.asyncio as aioredis

from assistant.identity import mask_text

STREAM = "unanswered"
MAX_ENTRIES = 100_000            # roughly a year of a busy hall's misses; older ones are trimmed
MAX_CHARS = 500


def channel_of(conversation: str) -> str:
    """The gateway's conversation ids start with the channel name ("rest-…", "wechat-…")."""
    return conversation.split("-", 1)[0] if "-" in conversation else ""


async def record(redis: aioredis.Redis, text: str, conversation: str) -> None:
    text = (text or "").strip()
    if not text or text.startswith("/"):          # a button payload is not the citizen's words
        return
    await redis.xadd(STREAM, {"text": mask_text(text)[:MAX_CHARS], "channel": channel_of(conversation),
                              "at": f"{time.time():.3f}", "conversation": conversation},
                     maxlen=MAX_ENTRIES, approximate=True)


async def since(redis: aioredis.Redis, start: float, limit: int = 5000) -> list[dict]:
    """Entries from `start` (epoch seconds) on, newest first, at most `limit`."""
    rows = await redis.xrevrange(STREAM, "+", f"{int(start * 1000)}-0", count=limit)
    return [{k.decode(): v.decode() for k, v in fields.items()} for _, fields in rows]
