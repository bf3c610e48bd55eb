"""Delivers the notification stream (common/notifications.py) from every gateway process: a
consumer group, so several processes share the work and an entry taken by a process that died
is claimed again. A malformed entry is dropped after its log line rather than retried."""
from __future__ import annotations

import json
import logging

import redis.asyncio as aioredis

from assistant.stream_worker import StreamWorker
from common.delivery import Delivery
from common.notifications import CLAIM_IDLE_MS, GROUP, STREAM
from common.reply import Reply

log = logging.getLogger(__name__)


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
