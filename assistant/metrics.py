"""Prometheus metrics of the gateway, served at GET /metrics: turns by channel, turn latency,
engine errors, and — read from Redis at scrape time, so every gateway process reports the shared
state — handoff queue lengths and the backlogs of the outbox, notifications, queued filings and
reminders; the staff console sockets open on this process. `METRICS_TOKEN`, when set, must come
as a bearer token (common/metrics_http.py)."""
from __future__ import annotations

from typing import Callable

import redis.asyncio as aioredis
from aiohttp import web
from prometheus_client import Counter, Gauge, Histogram

from common import filings, notifications, outbox, reminders
from common.handoff import queue_key
from common.metrics_http import MetricsSettings, exposition

LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30)
TURNS = Counter("hall_turns", "Citizen messages answered, by channel", ["channel"])
TURN_SECONDS = Histogram("hall_turn_seconds", "Time the dialogue engine took for one turn", ["channel"],
                         buckets=LATENCY_BUCKETS)
ENGINE_ERRORS = Counter("hall_engine_errors", "Turns the dialogue engine failed or timed out on")
HANDOFF_QUEUE = Gauge("hall_handoff_queue_length", "Conversations waiting for window staff", ["department"])
STAFF_SOCKETS = Gauge("hall_staff_console_sockets", "Staff console websockets open on this process")
OUTBOX = Gauge("hall_outbox_conversations", "Conversations with messages waiting for their next turn")
NOTIFICATIONS = Gauge("hall_notification_backlog", "Notifications not yet delivered")
FILINGS = Gauge("hall_filing_backlog", "Filings waiting for the hall to take them")
REMINDERS = Gauge("hall_reminders_scheduled", "Reminders scheduled and not yet due")
SCAN_LIMIT = 100_000            # outbox keys counted per scrape at most (a scrape must stay cheap)


class GatewayMetrics:
    def __init__(self, redis: aioredis.Redis, staff_sockets: Callable[[], int], cfg: MetricsSettings | None = None):
        self.redis, self.staff_sockets, self.cfg = redis, staff_sockets, cfg or MetricsSettings()

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/metrics", self.metrics)]

    async def metrics(self, request: web.Request) -> web.Response:
        if self.cfg.allows(request):
            await self.refresh()
        return exposition(request, self.cfg)

    async def refresh(self) -> None:
        HANDOFF_QUEUE.clear()
        prefix = queue_key("")
        async for key in self.redis.scan_iter(f"{prefix}*", count=500):
            HANDOFF_QUEUE.labels(key.decode()[len(prefix):]).set(await self.redis.zcard(key))
        OUTBOX.set(await outbox.conversations_waiting(self.redis, SCAN_LIMIT))
        NOTIFICATIONS.set(await self.redis.xlen(notifications.STREAM))
        FILINGS.set(await self.redis.xlen(filings.STREAM))
        REMINDERS.set(await self.redis.zcard(reminders.DUE))
        STAFF_SOCKETS.set(self.staff_sockets())
