"""Messages the action server asks the gateway to deliver outside a turn (an appointment
confirmation, a reminder that fell due): a Redis stream read by a consumer group, so several
gateway processes share the work and an entry taken by a process that died is claimed again.

An entry carries the conversation to notify on its own channel, and optionally a phone number,
SMS template and variables for a templated SMS (carriers require templates)."""
from __future__ import annotations

import asyncio
import json
import logging
import os
import socket

import redis.asyncio as aioredis

from assistant.delivery import Delivery
from assistant.engine import Reply

log = logging.getLogger(__name__)
STREAM, GROUP = "notifications", "notifiers"
CLAIM_IDLE_MS = 30_000
POLL_MS = 2_000


def entry(conversation: str, text: str, buttons: list[dict] | None = None, sms_phone: str = "",
          sms_template: str = "", sms_vars: dict | None = None) -> dict[str, str]:
    return {"conversation": conversation, "text": text,
            "buttons": json.dumps(buttons or [], ensure_ascii=False), "sms_phone": sms_phone,
            "sms_template": sms_template, "sms_vars": json.dumps(sms_vars or {}, ensure_ascii=False)}


async def enqueue(redis: aioredis.Redis, conversation: str, text: str, **sms) -> None:
    await redis.xadd(STREAM, entry(conversation, text, **sms))


class NotificationWorker:
    def __init__(self, redis: aioredis.Redis, delivery: Delivery):
        self.redis, self.delivery = redis, delivery
        self.consumer = f"{socket.gethostname()}-{os.getpid()}"

    async def run(self) -> None:
        try:
            await self.redis.xgroup_create(STREAM, GROUP, id="0", mkstream=True)
        except aioredis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        while True:
            try:
                _, claimed, _ = await self.redis.xautoclaim(STREAM, GROUP, self.consumer, CLAIM_IDLE_MS, "0-0", count=20)
                fresh = await self.redis.xreadgroup(GROUP, self.consumer, {STREAM: ">"}, count=20, block=POLL_MS)
                for entry_id, fields in list(claimed) + [e for _, batch in fresh for e in batch]:
                    try:
                        await self.deliver({k.decode(): v.decode() for k, v in fields.items()})
                    except (aioredis.RedisError, OSError, asyncio.CancelledError):
                        raise                   # not acknowledged: delivered again, here or elsewhere
                    except Exception:
                        # A malformed entry would fail the same way every time: one log line, then
                        # dropped, instead of ending this worker (and every later notification).
                        log.exception("notification %s could not be delivered; dropped", entry_id.decode())
                    await self.redis.xack(STREAM, GROUP, entry_id)
                    await self.redis.xdel(STREAM, entry_id)
            except asyncio.CancelledError:
                raise
            except (aioredis.RedisError, OSError) as exc:
                log.warning("notification stream unavailable: %s", exc)
                await asyncio.sleep(POLL_MS / 1000)

    async def deliver(self, f: dict) -> None:
        if f.get("text"):
            how = await self.delivery.send(f["conversation"], [Reply(f["text"], json.loads(f.get("buttons") or "[]"))])
            log.info("notification for %s %s", f["conversation"], how)
        if f.get("sms_phone") and f.get("sms_template"):
            sent = await self.delivery.sms(f["sms_phone"], f["sms_template"], json.loads(f.get("sms_vars") or "{}"))
            log.info("sms %s %s", f["sms_template"], "sent" if sent else "not sent")
