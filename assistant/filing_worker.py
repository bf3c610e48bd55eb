"""Files the filings the hall could not take at once (common/filings.py queues them): retried
until they land; the citizen then gets the number on their channel (or with their next message).

Consumers form a group: several gateway processes share the work, and a filing taken by a
process that died is claimed again after CLAIM_IDLE_MS. A failed filing stays unacknowledged,
so it is never lost: tried again later, here or in another process."""
from __future__ import annotations

import json
import logging

import redis.asyncio as aioredis

from assistant.stream_worker import StreamWorker
from common import filings
from common.delivery import Delivery
from common.hall_client import HallClient, HallRejected, HallUnavailable
from common.reply import Reply

log = logging.getLogger(__name__)
REJECTED = "抱歉，您之前提交的内容未能受理（信息不完整或已失效），请重新提交，或拨打12345热线。"


class FilingWorker(StreamWorker):
    # The default `failed` does nothing: the entry stays pending and is claimed again.
    stream, group, claim_idle_ms = filings.STREAM, filings.GROUP, filings.CLAIM_IDLE_MS

    def __init__(self, redis: aioredis.Redis, hall: HallClient, delivery: Delivery):
        super().__init__(redis)
        self.hall, self.delivery = hall, delivery

    async def handle(self, entry_id: bytes, fields: dict[str, str]) -> None:
        await self._file(entry_id, fields)

    async def _file(self, entry_id: bytes, f: dict) -> None:
        record = json.loads(f["record"])
        try:
            result = await self.hall.file(f["kind"], record, f["key"])
        except HallUnavailable as exc:
            log.info("hall still unavailable for queued %s: %s", f["kind"], exc)
            return                                  # stays pending; claimed again later
        except HallRejected as exc:
            log.warning("hall rejected queued %s: %s", f["kind"], exc)
            await self.delivery.send(f["conversation"], [Reply(REJECTED)])
        else:
            await self.delivery.send(f["conversation"], [Reply(filings.landed_text(f["kind"], result))])
            await filings.landed(self.redis, f["conversation"], f["kind"], record, result, queued=True)
            log.info("queued %s landed as %s", f["kind"], result.get("number"))
        await self.done(entry_id)
