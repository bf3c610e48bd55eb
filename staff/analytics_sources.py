"""The raw records the analytics are computed from, read from Redis as the stack keeps them:

- Rasa's tracker store (tracker db, keys "tracker:tracker:{conversation}", JSON {"name", "events"}):
  every turn's intent, the actions run, slots set (service_code, district) and timestamps. One
  analytics "conversation" is one Rasa session: a new one starts after the domain's
  session_expiration_time of silence (event "session_started").
- transcripts ("transcript:{conversation}"): every message, also those exchanged with staff,
  which never reach Rasa; kept 30 days, so older conversations are counted from the tracker.
- the gateway's sessions ("session:{conversation}": channel, first_seen, last_seen, turns).
- the streams "handoff:history", "ratings" and "unanswered".
Everything is read in batches; nothing here writes."""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field

import redis.asyncio as aioredis

from common import sessions, unanswered
from common.handoff import HISTORY, RATINGS

log = logging.getLogger(__name__)
TRACKER_PREFIX = "tracker:tracker:"       # Rasa's RedisTrackerStore with key_prefix "tracker"
BATCH = 200
STAFF_ACTIONS = {"action_request_human", "action_request_callback"}   # the citizen asked for a person


@dataclass
class Conversation:
    conversation: str
    channel: str
    start: float
    end: float
    citizen_messages: int = 0
    bot_messages: int = 0
    staff_messages: int = 0
    intents: list[str] = field(default_factory=list)
    services: list[str] = field(default_factory=list)     # distinct, in the order discussed
    districts: list[str] = field(default_factory=list)
    asked_for_staff: bool = False
    handed_off: bool = False                              # queued for live staff (handoff history)
    # From the message that opened it to the one that opened the next: where its handoffs fall.
    window: tuple[float, float] = (float("-inf"), float("inf"))

    @property
    def duration(self) -> float:
        return max(self.end - self.start, 0.0)

    @property
    def escalated(self) -> bool:
        return self.asked_for_staff or self.handed_off


def channel_of(conversation: str) -> str:
    """The gateway's conversation ids are "{channel}-{hash}" (common/sessions.py)."""
    return unanswered.channel_of(conversation) or "unknown"


def _opens_session(event: dict) -> bool:
    return event.get("event") == "action" and event.get("name") == "action_session_start"


def split_sessions(events: list[dict]) -> list[list[dict]]:
    """A tracker's events cut where Rasa starts a session (the slot "session_started_metadata",
    then action_session_start, then "session_started"); sessions without a user message dropped."""
    sessions, current = [], []
    for event in events:
        if _opens_session(event) and any(e.get("event") == "user" for e in current):
            n = len(current)
            while n and current[n - 1].get("event") == "slot" and current[n - 1].get("name") == "session_started_metadata":
                n -= 1
            sessions.append(current[:n])
            current = current[n:]
        current.append(event)
    sessions.append(current)
    return [s for s in sessions if any(e.get("event") == "user" for e in s)]


def _distinct(values: list[str]) -> list[str]:
    return list(dict.fromkeys(v for v in values if v))


def from_tracker(conversation: str, events: list[dict], transcript: list[dict]) -> list[Conversation]:
    """The tracker's sessions, with the messages and times of the transcript where it still exists.

    A session's transcript part begins with the citizen message that opened it: the gateway
    writes it to the transcript just before Rasa records the user event."""
    sessions = split_sessions(events)
    firsts = [next(e["timestamp"] for e in s if e.get("event") == "user") for s in sessions]
    said = [m["at"] for m in transcript if m.get("who") == "citizen"]
    bounds = [float("-inf")] + [max([t for t in said if t <= first] or [first]) for first in firsts[1:]] + [float("inf")]
    out = []
    for n, session in enumerate(sessions):
        users = [e for e in session if e.get("event") == "user"]
        part = [m for m in transcript if bounds[n] <= m["at"] < bounds[n + 1]]
        times = [e["timestamp"] for e in session if e.get("timestamp")] + [m["at"] for m in part]
        start = min([firsts[n]] + [m["at"] for m in part])
        c = Conversation(conversation, channel_of(conversation), start, max(times))
        if part:
            c.citizen_messages = sum(m.get("who") == "citizen" for m in part)
            c.bot_messages = sum(m.get("who") == "bot" for m in part)
            c.staff_messages = sum(m.get("who") == "staff" for m in part)
        else:
            c.citizen_messages = len(users)
            c.bot_messages = sum(e.get("event") == "bot" for e in session)
        c.intents = [((e.get("parse_data") or {}).get("intent") or {}).get("name") or "" for e in users]
        # Slots set before the first user message are Rasa's carry-over from the previous session
        # (carry_over_slots_to_new_session), not something discussed in this one.
        opened = next(i for i, e in enumerate(session) if e.get("event") == "user")
        slots = [(e.get("name"), e.get("value")) for e in session[opened:] if e.get("event") == "slot"]
        c.services = _distinct([str(v) for k, v in slots if k == "service_code" and v])
        c.districts = _distinct([str(v) for k, v in slots if k == "district" and v])
        c.asked_for_staff = any(e.get("event") == "action" and e.get("name") in STAFF_ACTIONS for e in session)
        c.window = (bounds[n], bounds[n + 1])
        out.append(c)
    return out


async def _batches(redis: aioredis.Redis, match: str):
    keys = []
    async for key in redis.scan_iter(match=match, count=1000):
        keys.append(key)
        if len(keys) >= BATCH:
            yield keys
            keys = []
    if keys:
        yield keys


async def conversations(trackers: aioredis.Redis, gateway: aioredis.Redis, since: float, until: float) -> list[Conversation]:
    """Every conversation (Rasa session) that began in [since, until)."""
    out: list[Conversation] = []
    async for keys in _batches(trackers, TRACKER_PREFIX + "*"):
        found = []
        for key, raw in zip(keys, await trackers.mget(keys)):
            if raw is None:
                continue
            try:
                events = json.loads(raw).get("events") or []
            except (ValueError, AttributeError):           # not a tracker Rasa wrote: skipped, not fatal
                log.warning("unreadable tracker %s", key.decode(errors="replace"))
                continue
            stamps = [e["timestamp"] for e in events if e.get("timestamp")]
            if stamps and max(stamps) >= since and min(stamps) < until:
                found.append((key.decode()[len(TRACKER_PREFIX):], events))
        pipe = gateway.pipeline()
        for conv, _ in found:
            pipe.lrange(f"transcript:{conv}", 0, -1)
        transcripts = await pipe.execute() if found else []
        for (conv, events), lines in zip(found, transcripts):
            transcript = [json.loads(x) for x in lines]
            out.extend(c for c in from_tracker(conv, events, transcript) if since <= c.start < until)
    return out


async def stream(redis: aioredis.Redis, key: str, since: float, until: float) -> list[dict]:
    """Stream entries added in [since, until), each with "at" (seconds) if it has none."""
    rows = []
    for entry_id, fields in await redis.xrange(key, str(int(since * 1000)), str(int(until * 1000) - 1)):
        row = {k.decode(): v.decode() for k, v in fields.items()}
        row["at"] = float(row.get("at") or int(entry_id.decode().split("-")[0]) / 1000)
        rows.append(row)
    return rows


async def handoff_history(redis: aioredis.Redis, since: float, until: float) -> list[dict]:
    return await stream(redis, HISTORY, since, until)


async def ratings(redis: aioredis.Redis, since: float, until: float) -> list[dict]:
    return await stream(redis, RATINGS, since, until)


async def unanswered_turns(redis: aioredis.Redis, since: float, until: float) -> list[dict]:
    return await unanswered.read(redis, since, until)


async def new_users(redis: aioredis.Redis, since: float, until: float) -> dict[str, int]:
    """Channel users first seen in [since, until), by channel (the gateway's session hashes)."""
    counts: dict[str, int] = {}
    async for keys in _batches(redis, sessions.KEYS):
        pipe = redis.pipeline()
        for key in keys:
            pipe.hmget(key, "channel", "first_seen")
        for channel, first in await pipe.execute():
            if first is not None and since <= float(first) < until:
                name = (channel or b"unknown").decode()
                counts[name] = counts.get(name, 0) + 1
    return counts
