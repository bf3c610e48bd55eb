"""Reminders a citizen asked for (e.g. a scene's dated step): kept in Redis until due, so they
survive restarts of every process. When one falls due it moves, atomically, into the
notification stream (common/notifications.py), which delivers it on the chosen channel.

A reminder is a JSON hash entry plus its due time in a sorted set; the move is one Lua script,
so with several gateway processes each reminder is sent exactly once.

Redis keys:
- `reminders:due` (sorted set): reminder id -> due time
- `reminders:body` (hash): reminder id -> the notification entry (JSON) it becomes"""
from __future__ import annotations

import json
import time
import uuid

import redis.asyncio as aioredis

from common.notifications import STREAM, entry

DUE, BODIES = "reminders:due", "reminders:body"

# KEYS: due set, bodies hash, notification stream. ARGV: now, batch size.
_MOVE_DUE = """
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, id in ipairs(ids) do
  local body = redis.call('HGET', KEYS[2], id)
  redis.call('ZREM', KEYS[1], id)
  redis.call('HDEL', KEYS[2], id)
  if body then
    local f = cjson.decode(body)
    redis.call('XADD', KEYS[3], '*', 'conversation', f.conversation, 'text', f.text, 'buttons', f.buttons,
                'sms_phone', f.sms_phone, 'sms_template', f.sms_template, 'sms_vars', f.sms_vars)
  end
end
return #ids
"""


async def schedule(redis: aioredis.Redis, due_ts: float, conversation: str, text: str, **sms) -> str:
    """Schedules a reminder; returns its id (to cancel it)."""
    reminder_id = uuid.uuid4().hex[:16]
    pipe = redis.pipeline(transaction=True)
    pipe.hset(BODIES, reminder_id, json.dumps(entry(conversation, text, **sms), ensure_ascii=False))
    pipe.zadd(DUE, {reminder_id: due_ts})
    await pipe.execute()
    return reminder_id


async def cancel(redis: aioredis.Redis, reminder_id: str) -> bool:
    pipe = redis.pipeline(transaction=True)
    pipe.zrem(DUE, reminder_id)
    pipe.hdel(BODIES, reminder_id)
    removed, _ = await pipe.execute()
    return bool(removed)


async def move_due(redis: aioredis.Redis, now: float | None = None, batch: int = 100) -> int:
    return await redis.eval(_MOVE_DUE, 3, DUE, BODIES, STREAM, now if now is not None else time.time(), batch)
