"""GET /healthz: 200 only when every part a citizen's turn needs answers."""
from __future__ import annotations

import asyncio

import aiohttp
import redis.asyncio as aioredis

from assistant.engine import RasaEngine
from common.hall_client import HallClient


async def _action_server(url: str) -> bool:
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=3)) as http:
            async with http.get(url.rstrip("/") + "/health") as resp:
                return resp.status == 200
    except (aiohttp.ClientError, asyncio.TimeoutError):
        return False


async def _redis(client: aioredis.Redis) -> bool:
    try:
        return bool(await asyncio.wait_for(client.ping(), 3))
    except (aioredis.RedisError, asyncio.TimeoutError, OSError):
        return False


async def check(engine: RasaEngine, action_url: str, redis: aioredis.Redis, hall: HallClient) -> dict[str, bool]:
    names = ("rasa", "action_server", "redis", "hall")
    results = await asyncio.gather(engine.health(), _action_server(action_url), _redis(redis), hall.health())
    return dict(zip(names, results))
