"""Messages the action server asks the gateway to deliver outside a turn (an appointment
confirmation, a reminder that fell due): a Redis stream read by a consumer group, so several
gateway processes share the work and an entry taken by a process that died is claimed again.

An entry carries the conversation to notify on its own channel, and optionally a phone number,
SMS template and variables for a templated SMS (carriers require templates)."""
from __future__ import annotations

import json
import logging

import redis.asyncio as aioredis

from assistant.delivery import Delivery
from assistant.engine import Reply
from assistant.stream_worker import StreamWorker

log = logging.getLogger(__name__)
STREAM, GROUP = "notifications", "notifiers"
CLAIM_IDLE_MS = 30_000


def entry(conversation: str, text: str, buttons: list[dict] | None = None, sms_phone: str = "",
          sms_template: str = "", sms_vars: dict | None = None) -> dict[str, str]:
    return {"conversation": conversation, "text": text,
            "buttons": json.dumps(buttons or [], ensure_ascii=False), "sms_phone": sms_phone,
            "sms_template": sms_template, "sms_vars": json.dumps(sms_vars or {}, ensure_ascii=False)}


async def enqueue(redis: aioredis.Redis, conversation: str, text: str, **sms) -> None:
    await redis.xadd(STREAM, entry(conversation, text, **sms))


class NotificationWorker(StreamWorker):
    stream, group, claim_idle_ms, batch = STREAM, GROUP, CLAIM_IDLE_MS, 20

    def __init__(self, redis: aioredis.Redis, delivery: Delivery):
        super().__init__(redis)
        self.delivery = delivery

    async def handle(self, entry_id: bytes, fields: dict[str, str]) -> None:
        await self.deliver(fields)
        await self.done(entry_id)

    async def failed(self, entry_id: bytes) -> None:
        # A malformed entry would fail the same way every time: dropped after its log line,
        # instead of blocking every later notification.
        await self.done(entry_id)

    async def deliver(self, f: dict) -> None:
        if f.get("text"):
            how = await self.delivery.send(f["conversation"], [Reply(f["text"], json.loads(f.get("buttons") or "[]"))])
            log.info("notification for %s %s", f["conversation"], how)
        if f.get("sms_phone") and f.get("sms_template"):
            sent = await self.delivery.sms(f["sms_phone"], f["sms_template"], json.loads(f.get("sms_vars") or "{}"))
            log.info("sms %s %s", f["sms_template"], "sent" if sent else "not sent")
