"""The audit trail (standard 8.1.3): who did what, when and from where — every staff and
administrator action. Append-only in a Redis stream (entries are never edited; retention trims
only the oldest, see trim), mirrored to the JSON log."""
from __future__ import annotations

import json
import logging
import time

import redis.asyncio as aioredis

from assistant.identity import mask_text

log = logging.getLogger("audit")
STREAM = "audit"


async def record(redis: aioredis.Redis, actor: str, role: str, action: str, target: str = "", ip: str = "",
                 **details) -> None:
    entry = {"at": f"{time.time():.3f}", "actor": actor, "role": role, "action": action, "target": target,
             "ip": ip, "details": json.dumps(details, ensure_ascii=False)}
    await redis.xadd(STREAM, entry)
    log.info("audit actor=%s role=%s action=%s target=%s ip=%s %s", actor, role, action, target, ip,
             mask_text(entry["details"]))


async def trim(redis: aioredis.Redis, keep_days: float) -> int:
    """Drops entries older than the retention period (stream ids start with milliseconds)."""
    cutoff_ms = int((time.time() - keep_days * 86400) * 1000)
    return await redis.xtrim(STREAM, minid=f"{cutoff_ms}-0", approximate=False)


async def search(redis: aioredis.Redis, actor: str = "", action: str = "", since: float = 0, until: float = 0,
                 limit: int = 200) -> list[dict]:
    start = f"{int(since * 1000)}-0" if since else "-"
    end = f"{int(until * 1000)}-0" if until else "+"
    out = []
    for entry_id, fields in await redis.xrevrange(STREAM, end, start, count=max(limit * 5, 1000)):
        row = {k.decode(): v.decode() for k, v in fields.items()}
        if (actor and row["actor"] != actor) or (action and row["action"] != action):
            continue
        out.append({"id": entry_id.decode(), **row, "details": json.loads(row["details"])})
        if len(out) >= limit:
            break
    return out
