"""Escalation to live window staff (standard 9.3.1.2), all state in Redis so every gateway
process (and the action server, which starts a handoff) shares it and a restart loses nothing.

- `handoff:{conv}`  hash: state (queued | active), department, channel, user_id, queued_at,
                    staff, intent, service_code, note — gone when the handoff ends
- `handoff:queue:{department}`  sorted set of waiting conversations, by time queued
- `handoff:staff:{username}`    set of the conversations a staff member holds
- `handoff:all`                 set of every conversation queued or held
- `staff:online:{department}`   sorted set username -> last heartbeat (presence)
- `handoff:handled`             recent handling times (for the estimated wait)
- `handoff:history`             stream of every queued / claimed / transferred / cancelled / ended,
                                with its time, kept for the analytics' wait and handling times
- `handoff:last:{conv}`         hash: staff, department, ended_at of the last ended handoff (7 days),
                                so the citizen's rating names who served them
- `handoff:told:{conv}`         the queue position last announced to a waiting citizen (1 hour)
- `handoff:phone:{conv}`        hash: a hotline call put through to staff phones (PHONE_TTL_S)
- `handoff:phone-calls`         sorted set of those calls, by time
- `ratings`                     stream of the citizens' 1-5 ratings of staff service (RATINGS_MAX)
Every change is published on the `staff-events` channel for the consoles (staff/api.py)."""
from __future__ import annotations

import json
import time

import redis.asyncio as aioredis

EVENTS = "staff-events"
ALL = "handoff:all"             # every conversation queued or with staff (for inspectors)
PHONE_CALLS = "handoff:phone-calls"   # hotline calls put through to staff phones (screen-pop)
PHONE_TTL_S = 2 * 3600
PRESENCE_TTL_S = 60            # a console that has not sent a heartbeat for this long is offline
DEFAULT_HANDLE_S = 180         # assumed handling time per citizen before any has been measured
HISTORY = "handoff:history"
HISTORY_MAX = 500_000          # about a year of a busy hall's handoffs (a few per conversation)
RATINGS = "ratings"
RATINGS_MAX = 500_000
LAST_TTL_S = 7 * 86400
TOLD_TTL_S = 3600

# KEYS: queue, handoff hash, staff set. ARGV: conversation, staff, now. Only one claim wins.
_CLAIM = """
if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('HSET', KEYS[2], 'state', 'active', 'staff', ARGV[2], 'claimed_at', ARGV[3])
redis.call('SADD', KEYS[3], ARGV[1])
return 1
"""


def _key(conv: str) -> str:
    return f"handoff:{conv}"


def queue_key(department: str) -> str:
    return f"handoff:queue:{department}"


def _staff_key(username: str) -> str:
    return f"handoff:staff:{username}"


def _last_key(conv: str) -> str:
    return f"handoff:last:{conv}"


def _told_key(conv: str) -> str:
    return f"handoff:told:{conv}"


def _phone_key(conv: str) -> str:
    return f"handoff:phone:{conv}"


def _online_key(department: str) -> str:
    return f"staff:online:{department}"


def _history(pipe, kind: str, conv: str, department: str, channel: str = "", staff: str = "") -> None:
    pipe.xadd(HISTORY, {"kind": kind, "conversation": conv, "department": department, "channel": channel,
                        "staff": staff, "at": f"{time.time():.3f}"}, maxlen=HISTORY_MAX, approximate=True)


class Handoff:
    def __init__(self, redis: aioredis.Redis):
        self.redis = redis

    async def publish(self, kind: str, **data) -> None:
        await self.redis.publish(EVENTS, json.dumps({"kind": kind, "at": time.time(), **data}, ensure_ascii=False))

    # --- citizens -------------------------------------------------------------------------
    async def status(self, conv: str) -> dict:
        raw = await self.redis.hgetall(_key(conv))
        return {k.decode(): v.decode() for k, v in raw.items()}

    async def request(self, conv: str, department: str, channel: str, user_id: str = "", **context: str) -> int:
        """Queues a conversation for a department; returns its position (1 = next)."""
        now = time.time()
        record = {"state": "queued", "department": department, "channel": channel, "user_id": user_id,
                  "queued_at": now, **{k: v for k, v in context.items() if v}}
        pipe = self.redis.pipeline(transaction=True)
        pipe.delete(_key(conv))
        pipe.hset(_key(conv), mapping=record)
        pipe.zadd(queue_key(department), {conv: now}, nx=True)
        pipe.sadd(ALL, conv)
        _history(pipe, "queued", conv, department, channel)
        await pipe.execute()
        await self.publish("queued", conversation=conv, department=department)
        return await self.position(conv)

    async def position(self, conv: str) -> int | None:
        info = await self.status(conv)
        if info.get("state") != "queued":
            return None
        rank = await self.redis.zrank(queue_key(info["department"]), conv)
        return None if rank is None else rank + 1

    async def estimated_wait_s(self, position: int, department: str) -> float:
        """Position × the recent average handling time, shared by the staff online."""
        recent = [float(x) for x in await self.redis.lrange("handoff:handled", 0, 49)]
        per = sum(recent) / len(recent) if recent else DEFAULT_HANDLE_S
        staff = max(len(await self.online(department)), 1)
        return position * per / staff

    async def position_changed(self, conv: str, position: int) -> bool:
        """True for exactly one caller when a waiting citizen's position differs from the one
        last announced (the first announcement is the queue notice itself)."""
        pipe = self.redis.pipeline(transaction=True)
        pipe.getset(_told_key(conv), position)
        pipe.expire(_told_key(conv), TOLD_TTL_S)
        previous, _ = await pipe.execute()
        return previous is not None and int(previous) != position

    async def last(self, conv: str) -> dict:
        """Who served the conversation's last ended handoff (empty when none in the last week)."""
        raw = await self.redis.hgetall(_last_key(conv))
        return {k.decode(): v.decode() for k, v in raw.items()}

    async def rate(self, conv: str, rating: str, channel: str) -> None:
        """The citizen's 1-5 rating of the staff who served them last."""
        last = await self.last(conv)
        await self.redis.xadd(RATINGS, {"conversation": conv, "rating": rating, "staff": last.get("staff", ""),
                                        "department": last.get("department", ""), "channel": channel},
                              maxlen=RATINGS_MAX, approximate=True)

    async def departments_queued(self) -> set[str]:
        """Departments that have (or had) a queue."""
        prefix = queue_key("")
        return {k.decode()[len(prefix):] async for k in self.redis.scan_iter(queue_key("*"))}

    async def cancel(self, conv: str) -> bool:
        """The citizen leaves the queue; False when they were not waiting (or a claim was quicker)."""
        info = await self.status(conv)
        if info.get("state") != "queued":
            return False
        # Leaving the queue first, like a claim (_CLAIM): of a racing claim and cancel only the one
        # that removes the conversation from the queue goes on, so a claimed one is never deleted.
        if not await self.redis.zrem(queue_key(info["department"]), conv):
            return False
        pipe = self.redis.pipeline(transaction=True)
        pipe.delete(_key(conv))
        pipe.srem(ALL, conv)
        _history(pipe, "cancelled", conv, info["department"], info.get("channel", ""))
        await pipe.execute()
        await self.publish("cancelled", conversation=conv, department=info["department"])
        return True

    async def phone_transfer(self, conv: str, channel: str, user_id: str, number: str) -> None:
        """A hotline caller put through to the staff phone queue: a screen-pop for the consoles
        (the call itself is bridged by the telephony platform, not queued here)."""
        now = time.time()
        pipe = self.redis.pipeline(transaction=True)
        pipe.hset(_phone_key(conv), mapping={"channel": channel, "user_id": user_id, "number": number, "at": now})
        pipe.expire(_phone_key(conv), PHONE_TTL_S)
        pipe.zadd(PHONE_CALLS, {conv: now})
        pipe.zremrangebyscore(PHONE_CALLS, "-inf", now - PHONE_TTL_S)
        await pipe.execute()
        await self.publish("phone", conversation=conv, department="*", channel=channel)

    async def phone_calls(self) -> list[dict]:
        out = []
        for conv in [c.decode() for c in await self.redis.zrevrange(PHONE_CALLS, 0, 49)]:
            raw = await self.redis.hgetall(_phone_key(conv))
            if raw:
                out.append({"conversation": conv, **{k.decode(): v.decode() for k, v in raw.items()}})
        return out

    async def phone_call(self, conv: str) -> dict:
        raw = await self.redis.hgetall(_phone_key(conv))
        return {k.decode(): v.decode() for k, v in raw.items()}

    # --- staff ----------------------------------------------------------------------------
    async def heartbeat(self, username: str, departments: list[str]) -> None:
        pipe = self.redis.pipeline()
        for d in departments:
            pipe.zadd(_online_key(d), {username: time.time()})
        await pipe.execute()

    async def offline(self, username: str, departments: list[str]) -> None:
        for d in departments:
            await self.redis.zrem(_online_key(d), username)

    async def online(self, department: str) -> list[str]:
        cutoff = time.time() - PRESENCE_TTL_S
        await self.redis.zremrangebyscore(_online_key(department), "-inf", cutoff)
        return [u.decode() for u in await self.redis.zrange(_online_key(department), 0, -1)]

    async def queue(self, department: str) -> list[dict]:
        out = []
        for conv in await self.redis.zrange(queue_key(department), 0, -1):
            conv = conv.decode()
            out.append({"conversation": conv, **await self.status(conv)})
        return out

    async def held_by(self, username: str) -> list[dict]:
        out = []
        for conv in sorted(c.decode() for c in await self.redis.smembers(_staff_key(username))):
            info = await self.status(conv)
            if info.get("staff") == username:
                out.append({"conversation": conv, **info})
            else:                                    # ended or moved meanwhile
                await self.redis.srem(_staff_key(username), conv)
        return out

    async def everything(self) -> list[dict]:
        out = []
        for conv in sorted(c.decode() for c in await self.redis.smembers(ALL)):
            info = await self.status(conv)
            if info:
                out.append({"conversation": conv, **info})
            else:
                await self.redis.srem(ALL, conv)
        return out

    async def claim(self, conv: str, username: str) -> bool:
        """Takes a waiting conversation; False when someone else was quicker (or it left)."""
        info = await self.status(conv)
        if info.get("state") != "queued":
            return False
        won = await self.redis.eval(_CLAIM, 3, queue_key(info["department"]), _key(conv), _staff_key(username),
                                    conv, username, time.time())
        if won:
            pipe = self.redis.pipeline()
            _history(pipe, "claimed", conv, info["department"], info.get("channel", ""), username)
            await pipe.execute()
            await self.publish("claimed", conversation=conv, department=info["department"], staff=username)
        return bool(won)

    async def transfer(self, conv: str, username: str, department: str = "", staff: str = "", note: str = "") -> bool:
        """Hands a held conversation to another department's queue or straight to a colleague."""
        info = await self.status(conv)
        if info.get("state") != "active" or info.get("staff") != username:
            return False
        pipe = self.redis.pipeline(transaction=True)
        pipe.srem(_staff_key(username), conv)
        if staff:
            pipe.hset(_key(conv), mapping={"staff": staff, "note": note, "transferred_by": username})
            pipe.sadd(_staff_key(staff), conv)
        else:
            pipe.hset(_key(conv), mapping={"state": "queued", "department": department, "note": note,
                                           "transferred_by": username, "queued_at": time.time()})
            pipe.hdel(_key(conv), "staff")
            pipe.zadd(queue_key(department), {conv: time.time()})
        _history(pipe, "transferred", conv, department or info["department"], info.get("channel", ""), staff)
        await pipe.execute()
        await self.publish("transferred", conversation=conv, department=department or info["department"],
                           staff=staff, by=username)
        return True

    async def end(self, conv: str, username: str) -> dict | None:
        """Ends a handoff; the bot takes the conversation back. Returns what it was."""
        info = await self.status(conv)
        if info.get("state") != "active" or info.get("staff") != username:
            return None
        pipe = self.redis.pipeline(transaction=True)
        pipe.delete(_key(conv))
        pipe.srem(ALL, conv)
        pipe.srem(_staff_key(username), conv)
        pipe.lpush("handoff:handled", time.time() - float(info.get("claimed_at") or time.time()))
        pipe.ltrim("handoff:handled", 0, 99)
        _history(pipe, "ended", conv, info["department"], info.get("channel", ""), username)
        pipe.hset(_last_key(conv), mapping={"staff": username, "department": info["department"], "ended_at": time.time()})
        pipe.expire(_last_key(conv), LAST_TTL_S)
        await pipe.execute()
        await self.publish("ended", conversation=conv, department=info["department"], staff=username)
        return info
