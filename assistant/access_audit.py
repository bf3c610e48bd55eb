"""Every public access to the gateway goes into the audit trail (standard 8.1.3): path, method,
status and client address. Health checks and metric scrapes are machine noise and left out;
the query string is never recorded (it may carry tokens or personal data)."""
from __future__ import annotations

import asyncio
import logging

import redis.asyncio as aioredis
from aiohttp import web

from common import audit
from staff.auth import client_ip

log = logging.getLogger(__name__)
NOT_AUDITED = ("/metrics", "/healthz")


def access_audit(redis: aioredis.Redis):
    @web.middleware
    async def middleware(request: web.Request, handler):
        if request.path in NOT_AUDITED:
            return await handler(request)
        status = 500
        try:
            response = await handler(request)
            status = response.status
            return response
        except web.HTTPException as exc:
            status = exc.status
            raise
        except asyncio.CancelledError:
            status = 499                                      # the client went away
            raise
        finally:
            try:
                await audit.record(redis, "anonymous", "public", "http_access", request.path, client_ip(request),
                                   method=request.method, status=status)
            except (aioredis.RedisError, OSError) as exc:    # the audit store being down must not fail the request
                log.error("access not audited (%s %s): %s", request.method, request.path, exc)
    return middleware
