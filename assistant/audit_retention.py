"""How long the audit trail is kept (standard 8.1.3: at least six months) and the gateway's
background job that expires older entries once a day, whichever process gets there first."""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

import redis.asyncio as aioredis

from common import audit
from common.env import setting

log = logging.getLogger(__name__)
MIN_DAYS = 183                  # six months: a shorter setting is refused, not silently used


@dataclass(frozen=True)
class AuditSettings:
    retention_days: float = setting("AUDIT_RETENTION_DAYS", 200.0)
    # How often the trail is trimmed; every process checks this often whether it is its turn.
    trim_every_s: float = setting("AUDIT_TRIM_EVERY_S", 86400.0)
    check_every_s: float = setting("AUDIT_TRIM_CHECK_S", 3600.0)

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
