"""The content review queue (standard 8.1.2): public consultations held back and assistant
replies stopped by the sensitive-word check, kept in the Redis stream "safety:review" for
administrators and inspectors to approve (the content may go out: a held consultation is made
public) or reject (it stays withheld). A decision is taken once: the first reviewer's stands.

Redis keys:
- `safety:review` (stream, at most MAX_ENTRIES): kind, text, words, conversation, channel, number
- `safety:pending` (sorted set): entry ids awaiting a decision, by time
- `safety:decision:{entry id}` (hash): decision, by, role, at, note"""
from __future__ import annotations

import json
import time

import redis.asyncio as aioredis

from common.identity import mask_text
from common.sensitive import Match

STREAM = "safety:review"
PENDING = "safety:pending"       # ids awaiting a decision, by time: however old, they stay listed
MAX_ENTRIES = 50_000
KINDS = {"consultation": "公开咨询", "bot_reply": "智能助手回复"}
DECISIONS = {"approved": "通过", "rejected": "不通过"}


def _decision_key(entry_id: str) -> str:
    return f"safety:decision:{entry_id}"


def _score(entry_id: str) -> int:
    return int(entry_id.split("-", 1)[0])


async def undo(redis: aioredis.Redis, entry_id: str) -> None:
    """Withdraws a decision whose effect could not be carried out, so it can be taken again."""
    pipe = redis.pipeline(transaction=True)
    pipe.delete(_decision_key(entry_id))
    pipe.zadd(PENDING, {entry_id: _score(entry_id)})
    await pipe.execute()


async def add(redis: aioredis.Redis, kind: str, text: str, matches: list[Match], conversation: str = "",
              channel: str = "", number: str = "") -> str:
    words = [{"word": w, "category": c} for w, c in dict.fromkeys((m.word, m.category) for m in matches)]
    entry = {"kind": kind, "text": mask_text(text)[:2000], "words": json.dumps(words, ensure_ascii=False),
             "conversation": conversation, "channel": channel, "number": number, "at": f"{time.time():.3f}"}
    entry_id = (await redis.xadd(STREAM, entry, maxlen=MAX_ENTRIES, approximate=True)).decode()
    await redis.zadd(PENDING, {entry_id: _score(entry_id)})
    return entry_id


def _row(entry_id: str, fields: dict, decision: dict) -> dict:
    row = {k.decode(): v.decode() for k, v in fields.items()}
    row["words"] = json.loads(row.get("words") or "[]")
    row["kind_name"] = KINDS.get(row.get("kind", ""), row.get("kind", ""))
    return {"id": entry_id, **row, "decision": decision or None}


async def entries(redis: aioredis.Redis, state: str = "pending", limit: int = 200) -> list[dict]:
    """Newest first; state "pending" (no decision yet, however old), "decided" or "all" (among
    the latest entries)."""
    if state == "pending":
        ids = [i.decode() for i in await redis.zrevrange(PENDING, 0, limit - 1)]
        pipe = redis.pipeline()
        for entry_id in ids:
            pipe.xrange(STREAM, entry_id, entry_id)
        found = await pipe.execute() if ids else []
        rows = [(entry_id.encode(), hit[0][1]) for entry_id, hit in zip(ids, found) if hit]
    else:
        rows = await redis.xrevrange(STREAM, "+", "-", count=max(limit * 5, 1000))
    pipe = redis.pipeline()
    for entry_id, _ in rows:
        pipe.hgetall(_decision_key(entry_id.decode()))
    decisions = await pipe.execute() if rows else []
    out = []
    for (entry_id, fields), raw in zip(rows, decisions):
        decision = {k.decode(): v.decode() for k, v in raw.items()}
        if (state == "pending" and decision) or (state == "decided" and not decision):
            continue
        out.append(_row(entry_id.decode(), fields, decision))
        if len(out) >= limit:
            break
    return out


async def get(redis: aioredis.Redis, entry_id: str) -> dict | None:
    rows = await redis.xrange(STREAM, entry_id, entry_id) if _valid_id(entry_id) else []
    if not rows:
        return None
    raw = await redis.hgetall(_decision_key(entry_id))
    return _row(entry_id, rows[0][1], {k.decode(): v.decode() for k, v in raw.items()})


async def decide(redis: aioredis.Redis, entry_id: str, decision: str, by: str, role: str, note: str = "") -> bool:
    """Records the decision unless one was taken already (False then)."""
    key = _decision_key(entry_id)
    if not await redis.hsetnx(key, "decision", decision):
        return False
    pipe = redis.pipeline(transaction=True)
    pipe.hset(key, mapping={"by": by, "role": role, "at": f"{time.time():.3f}", "note": note[:500]})
    pipe.zrem(PENDING, entry_id)
    await pipe.execute()
    return True


def _valid_id(entry_id: str) -> bool:
    ms, _, seq = entry_id.partition("-")
    return ms.isdigit() and seq.isdigit()
