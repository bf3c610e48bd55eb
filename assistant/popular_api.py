"""Public hot search and service ranking on the gateway (standard 9.4.1, 9.4.2), for the hall's
pages and the channels: JSON built only from the knowledge base's wording and counts, never
from what a citizen typed.

    GET /api/hot-questions?days=7&limit=10     大家都在问
    GET /api/service-ranking?days=30&limit=10  catalog items by questions answered + filings"""
from __future__ import annotations

import redis.asyncio as aioredis
from aiohttp import web

from common import popularity
from common.report_periods import local_date
from staff.auth import error

MAX_LIMIT = 50


def _int(request: web.Request, name: str, default: int, top: int) -> int | None:
    raw = request.query.get(name)
    if raw is None:
        return default
    return int(raw) if raw.isdigit() and 1 <= int(raw) <= top else None


class PopularApi:
    def __init__(self, redis: aioredis.Redis):
        self.redis = redis

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/api/hot-questions", self.hot_questions), web.get("/api/service-ranking", self.ranking)]

    async def _window(self, request: web.Request, default_days: int) -> tuple[float, float, int, dict] | web.Response:
        days = _int(request, "days", default_days, popularity.MAX_DAYS)
        limit = _int(request, "limit", 10, MAX_LIMIT)
        if days is None or limit is None:
            return error(400, "bad_request", f"参数有误：days 应为1到{popularity.MAX_DAYS}的整数，"
                                             f"limit 应为1到{MAX_LIMIT}的整数。")
        since, until = popularity.last_days(days)
        return since, until, limit, {"days": days, "from": local_date(since).isoformat(),
                                     "to": local_date(until - 1).isoformat()}

    async def hot_questions(self, request: web.Request) -> web.Response:
        got = await self._window(request, 7)
        if isinstance(got, web.Response):
            return got
        since, until, limit, window = got
        rows = await popularity.hot_questions(self.redis, since, until, limit)
        keep = ("rank", "question", "service_code", "service_name", "count", "payload")
        return web.json_response({**window, "questions": [{k: r.get(k, "") for k in keep} for r in rows]})

    async def ranking(self, request: web.Request) -> web.Response:
        got = await self._window(request, 30)
        if isinstance(got, web.Response):
            return got
        since, until, limit, window = got
        return web.json_response({**window, "services": await popularity.service_ranking(self.redis, since, until, limit)})
