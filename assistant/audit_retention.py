"""How long the audit trail is kept (standard 8.1.3: at least six months) and the gateway's
background job that expires older entries once a day, whichever process gets there first."""
from __future__ import annotations

import asyncio
import logging
import os
from dataclasses import dataclass, field

import redis.asyncio as aioredis

from common import audit

log = logging.getLogger(__name__)
MIN_DAYS = 183                  # six months: a shorter setting is refused, not silently used


@dataclass(frozen=True)
class AuditSettings:
    retention_days: float = field(default_factory=lambda: float(os.environ.get("AUDIT_RETENTION_DAYS", "200")))
    # How often the trail is trimmed; every process checks this often whether it is its turn.
    trim_every_s: float = field(default_factory=lambda: float(os.environ.get("AUDIT_TRIM_EVERY_S", str(86400))))
    check_every_s: float = field(default_factory=lambda: float(os.environ.get("AUDIT_TRIM_CHECK_S", "3600")))

    def __post_init__(self):
        if self.retention_days < MIN_DAYS:
            raise ValueError(f"AUDIT_RETENTION_DAYS must be at least {MIN_DAYS} (six months), not {self.retention_days:g}")


class AuditExpiry:
    """Runs audit.trim_once forever; a lock key in Redis makes it once per period overall."""

    def __init__(self, redis: aioredis.Redis, cfg: AuditSettings):
        self.redis, self.cfg = redis, cfg

    async def run(self) -> None:
        while True:
            try:
                removed = await audit.trim_once(self.redis, self.cfg.retention_days, self.cfg.trim_every_s)
                if removed is not None:
                    log.info("audit trail trimmed: %d entries older than %g days", removed, self.cfg.retention_days)
            except asyncio.CancelledError:
                raise
            except (aioredis.RedisError, OSError) as exc:
                log.warning("audit expiry skipped: %s", exc)
            await asyncio.sleep(self.cfg.check_every_s)
