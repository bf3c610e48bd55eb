"""Filings the hall could not take right now (down or slow) wait in a Redis stream and are
retried until they land; the citizen then gets the number on their channel (or with their next message).

Each filing carries its idempotency key, so a retry after a lost answer never files twice.
Consumers form a group: several gateway processes share the work, and a filing taken by a
process that died is claimed again after CLAIM_IDLE_MS."""
from __future__ import annotations

import json
import logging

import redis.asyncio as aioredis

from assistant import appointment_sms, audit
from assistant.delivery import Delivery
from assistant.engine import Reply
from assistant.filing_text import filed_text
from assistant.hall_client import HallClient, HallRejected, HallUnavailable
from assistant.stream_worker import StreamWorker

log = logging.getLogger(__name__)
STREAM, GROUP = "filings", "filers"
CLAIM_IDLE_MS = 15_000     # a filing not acknowledged for this long is tried again


async def enqueue(redis: aioredis.Redis, kind: str, record: dict, key: str, conversation: str) -> None:
    await redis.xadd(STREAM, {"kind": kind, "record": json.dumps(record, ensure_ascii=False), "key": key,
                              "conversation": conversation})


def landed_text(kind: str, result: dict) -> str:
    """The same words as a direct filing, introduced as news about an earlier one."""
    return "您之前提交的内容已成功受理。\n" + filed_text(kind, result)


class FilingWorker(StreamWorker):
    # A failed filing stays unacknowledged, so it is never lost: tried again later, here or in
    # another process (the default `failed` does nothing).
    stream, group, claim_idle_ms = STREAM, GROUP, CLAIM_IDLE_MS

    def __init__(self, redis: aioredis.Redis, hall: HallClient, delivery: Delivery):
        super().__init__(redis)
        self.hall, self.delivery = hall, delivery

    async def handle(self, entry_id: bytes, fields: dict[str, str]) -> None:
        await self._file(entry_id, fields)

    async def _file(self, entry_id: bytes, f: dict) -> None:
        try:
            result = await self.hall.file(f["kind"], json.loads(f["record"]), f["key"])
        except HallUnavailable as exc:
            log.info("hall still unavailable for queued %s: %s", f["kind"], exc)
            return                                  # stays pending; claimed again later
        except HallRejected as exc:
            log.warning("hall rejected queued %s: %s", f["kind"], exc)
            await self.delivery.send(f["conversation"], [Reply(
                "抱歉，您之前提交的内容未能受理（信息不完整或已失效），请重新提交，或拨打12345热线。")])
        else:
            await self.delivery.send(f["conversation"], [Reply(landed_text(f["kind"], result))])
            await self.redis.rpush(f"filings:{f['conversation']}", result.get("number", ""))
            if f["kind"] == "appointment":
                record = json.loads(f["record"])       # its phone and name, not the hall's masked copies
                await appointment_sms.booked(self.redis, f["conversation"], {**record, **result, "phone": record["phone"],
                                                                              "name": record["name"]})
            await audit.record(self.redis, f["conversation"], "citizen", "filing", result.get("number", ""), "",
                               kind=f["kind"], channel=json.loads(f["record"]).get("channel", ""), queued=True)
            log.info("queued %s landed as %s", f["kind"], result.get("number"))
        await self.done(entry_id)
