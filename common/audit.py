"""The audit trail (standard 8.1.3, 9.4.6): who did what, when and from where — public HTTP
access, conversation turns, filings, and every staff and administrator action. Append-only in a
Redis stream (entries are never edited; retention trims only the oldest, see trim), mirrored to
the JSON log. Personal data is masked before it is stored: full values live only in the hall's
own records.

Redis keys:
- `audit` (stream): one entry per action (actor, role, action, target, address, details); trimmed
  by age only (AUDIT_RETENTION_DAYS, assistant/audit_retention.py)"""
from __future__ import annotations

import json
import logging
import re
import time
from typing import AsyncIterator

import redis.asyncio as aioredis

from common.identity import mask_id, mask_name, mask_phone, mask_text

log = logging.getLogger("audit")
STREAM = "audit"
TRIM_LOCK = "audit:trim:lock"
PAGE = 500                      # entries read per round trip while searching
# Detail keys that hold one personal value each, and how each is masked.
MASKED_KEYS = {"name": mask_name, "citizen_name": mask_name, "applicant_name": mask_name,
               "respondent_name": mask_name, "phone": mask_phone, "citizen_phone": mask_phone,
               "sms_phone": mask_phone, "id_number": mask_id}
CONVERSATION_ID_RE = re.compile(r"[a-z]+-[0-9a-f]{32}")     # common/sessions.py conversation_id


def masked(value, key: str = ""):
    """A detail value with ID numbers, phone numbers and names masked, at any depth."""
    if isinstance(value, dict):
        return {k: masked(v, k) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [masked(v) for v in value]
    if isinstance(value, str):
        if key in MASKED_KEYS and value:
            return MASKED_KEYS[key](value)
        # A conversation id is a hash, not personal data; its hex digits can look like a mobile
        # number (…a13812345678b…), and a masked id could no longer be searched for.
        return value if CONVERSATION_ID_RE.fullmatch(value) else mask_text(value)
    return value


async def record(redis: aioredis.Redis, actor: str, role: str, action: str, target: str = "", ip: str = "",
                 **details) -> None:
    entry = {"at": f"{time.time():.3f}", "actor": masked(actor), "role": role, "action": action,
             "target": masked(target), "ip": ip, "details": json.dumps(masked(details), ensure_ascii=False)}
    await redis.xadd(STREAM, entry)
    log.info("audit actor=%s role=%s action=%s target=%s ip=%s %s", entry["actor"], role, action, entry["target"],
             ip, entry["details"])


async def trim(redis: aioredis.Redis, keep_days: float) -> int:
    """Drops entries older than the retention period (stream ids start with milliseconds)."""
    cutoff_ms = int((time.time() - keep_days * 86400) * 1000)
    return await redis.xtrim(STREAM, minid=f"{cutoff_ms}-0", approximate=False)


async def trim_once(redis: aioredis.Redis, keep_days: float, every_s: float) -> int | None:
    """Trims unless another process already did within `every_s` (one lock key with that
    lifetime); returns how many entries went, or None when it was not this process's turn."""
    if not await redis.set(TRIM_LOCK, str(time.time()), nx=True, ex=max(int(every_s), 1)):
        return None
    removed = await trim(redis, keep_days)
    await record(redis, "system", "system", "audit_trim", STREAM, "", removed=removed, keep_days=keep_days)
    return removed


def _row(entry_id: bytes, fields: dict) -> dict:
    row = {k.decode(): v.decode() for k, v in fields.items()}
    return {"id": entry_id.decode(), **row, "details": json.loads(row.get("details") or "{}")}


def _matches(row: dict, actor: str, action: str, target: str) -> bool:
    return ((not actor or row["actor"] == actor) and (not action or row["action"] == action)
            and (not target or target in row["target"]))


async def entries(redis: aioredis.Redis, actor: str = "", action: str = "", target: str = "", since: float = 0,
                  until: float = 0, before: str = "") -> AsyncIterator[dict]:
    """Matching entries, newest first: actor and action exactly, target as a substring, the
    time range [since, until) in epoch seconds, and only entries older than the id `before`."""
    end = f"({before}" if before else (f"({int(until * 1000)}-0" if until else "+")
    start = f"{int(since * 1000)}-0" if since else "-"
    while True:
        batch = await redis.xrevrange(STREAM, end, start, count=PAGE)
        for entry_id, fields in batch:
            row = _row(entry_id, fields)
            if until and float(row["at"]) >= until:
                continue
            if _matches(row, actor, action, target):
                yield row
        if len(batch) < PAGE:
            return
        end = f"({batch[-1][0].decode()}"


async def search(redis: aioredis.Redis, actor: str = "", action: str = "", target: str = "", since: float = 0,
                 until: float = 0, before: str = "", limit: int = 200) -> list[dict]:
    out = []
    async for row in entries(redis, actor, action, target, since, until, before):
        out.append(row)
        if len(out) >= limit:
            break
    return out
