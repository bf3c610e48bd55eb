"""Questions the assistant could not answer (standard 6.2.6 and 9.3.1.4), kept in the Redis stream
"unanswered" for the analytics and for knowledge upkeep (knowledge/candidates.py clusters them into
candidate FAQ entries). Only the masked question is kept (ID and mobile numbers starred), with its
time, channel and conversation, the intent it was heard as, why it went unanswered and the closest
catalog items, if any.

Redis keys:
- `unanswered` (stream, at most MAX_ENTRIES): question (masked), at, channel, conversation, intent,
  reason, candidates"""
from __future__ import annotations

import time

import redis.asyncio as aioredis

from common.identity import mask_text

STREAM = "unanswered"
MAX_ENTRIES = 200_000           # about a year of a busy hall's unanswered turns
MAX_CHARS = 500
# Why a turn went unanswered: the knowledge base had nothing close enough, or the message was
# not understood at all (out of scope, NLU fallback, an answer to no question).
REASONS = ("not_in_knowledge", "not_understood")


async def record(redis: aioredis.Redis, question: str, conversation: str, reason: str, intent: str = "",
                 candidates: tuple[str, ...] = ()) -> None:
    if reason not in REASONS:
        raise ValueError(f"reason must be one of {REASONS}")
    question = (question or "").strip()
    if not question or question.startswith("/"):      # a button payload is not the citizen's words
        return
    masked = mask_text(question)[:MAX_CHARS]
    # "question" for the analytics, "text" for knowledge upkeep: the same masked words.
    await redis.xadd(STREAM, {"question": masked, "text": masked, "at": f"{time.time():.3f}",
                              "channel": channel_of(conversation), "conversation": conversation,
                              "reason": reason, "intent": intent, "candidates": ",".join(candidates)},
                     maxlen=MAX_ENTRIES, approximate=True)


def channel_of(conversation: str) -> str:
    """The gateway's conversation ids start with the channel name ("rest-…", "wechat-…")."""
    return conversation.split("-", 1)[0] if "-" in conversation else ""


async def read(redis: aioredis.Redis, since: float, until: float) -> list[dict]:
    """Entries between two moments (stream ids begin with the milliseconds they were added)."""
    out = []
    for entry_id, fields in await redis.xrange(STREAM, str(int(since * 1000)), str(int(until * 1000) - 1)):
        row = {k.decode(): v.decode() for k, v in fields.items()}
        row["id"] = entry_id.decode()
        row["at"] = float(row["at"])
        out.append(row)
    return out


async def since(redis: aioredis.Redis, start: float, limit: int = 5000) -> list[dict]:
    """Entries from `start` (epoch seconds) on, newest first, at most `limit`."""
    rows = await redis.xrevrange(STREAM, "+", f"{int(start * 1000)}-0", count=limit)
    return [{k.decode(): v.decode() for k, v in fields.items()} for _, fields in rows]
