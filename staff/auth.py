"""Staff console sessions: an opaque token in an HttpOnly, SameSite=Strict cookie, kept in Redis
with an idle timeout and an absolute lifetime; a per-session CSRF token that every state-changing
request must echo in the X-CSRF-Token header; login throttling per user name and address."""
from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass

import redis.asyncio as aioredis
from aiohttp import web

COOKIE = "hall_staff"
IDLE_S = 30 * 60
ABSOLUTE_S = 12 * 3600
MAX_FAILURES, FAILURE_WINDOW_S = 5, 15 * 60


@dataclass
class StaffSession:
    token: str
    username: str
    role: str
    name: str
    departments: list[str]
    csrf: str
    created: float

    def serves(self, department: str) -> bool:
        return "*" in self.departments or department in self.departments


def _key(token: str) -> str:
    return f"staff:session:{token}"


def client_ip(request: web.Request) -> str:
    return request.remote or ""


class SessionStore:
    def __init__(self, redis: aioredis.Redis):
        self.redis = redis

    async def throttled(self, username: str, ip: str) -> bool:
        return int(await self.redis.get(f"staff:login-failures:{username}:{ip}") or 0) >= MAX_FAILURES

    async def failed(self, username: str, ip: str) -> None:
        key = f"staff:login-failures:{username}:{ip}"
        pipe = self.redis.pipeline()
        pipe.incr(key)
        pipe.expire(key, FAILURE_WINDOW_S)
        await pipe.execute()

    async def create(self, account: dict) -> StaffSession:
        session = StaffSession(secrets.token_urlsafe(32), account["username"], account["role"], account["name"],
                               account["departments"], secrets.token_urlsafe(24), time.time())
        await self.redis.set(_key(session.token), json.dumps(session.__dict__, ensure_ascii=False), ex=IDLE_S)
        return session

    async def get(self, token: str | None) -> StaffSession | None:
        if not token:
            return None
        raw = await self.redis.get(_key(token))
        if raw is None:
            return None
        session = StaffSession(**json.loads(raw))
        if time.time() - session.created > ABSOLUTE_S:
            await self.redis.delete(_key(token))
            return None
        await self.redis.expire(_key(token), IDLE_S)      # sliding idle timeout
        return session

    async def alive(self, session: StaffSession) -> bool:
        """Whether a session is still valid (not logged out, idle or too old), without counting
        the question as activity: an unattended open console must still time out."""
        return time.time() - session.created <= ABSOLUTE_S and bool(await self.redis.exists(_key(session.token)))

    async def end(self, token: str) -> None:
        await self.redis.delete(_key(token))


def error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": code, "message": message}, status=status)
