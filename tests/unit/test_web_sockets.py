"""The web chat's push listener (channels/web_sockets.py) through a Redis outage."""
from __future__ import annotations

import asyncio

import redis.asyncio as aioredis

from channels.web_sockets import LiveSockets


class FakePubSub:
    def __init__(self, log: list[str]):
        self.log, self.subscribed = log, False

    async def subscribe(self, channel: str) -> None:
        self.log.append("subscribe")
        if self.log.count("subscribe") < 2:         # Redis still away at the first attempt
            raise aioredis.ConnectionError("connection refused")
        self.subscribed = True

    async def listen(self):
        # redis-py's listen() returns at once without a subscription: a loop over it would spin.
        assert self.subscribed, "listen() without a subscription"
        self.log.append("listening")
        await asyncio.Event().wait()
        yield {}

    async def aclose(self) -> None:
        self.log.append("aclose")


class FakeRedis:
    def __init__(self):
        self.log: list[str] = []

    def pubsub(self, **_) -> FakePubSub:
        return FakePubSub(self.log)


async def test_a_failed_resubscription_is_retried_instead_of_spinning():
    redis = FakeRedis()
    live = LiveSockets(redis, 60)
    live._pubsub = redis.pubsub()           # as left by an outage: not subscribed
    task = asyncio.create_task(live._listen())
    for _ in range(50):
        await asyncio.sleep(0.1)
        if "listening" in redis.log or task.done():
            break
    assert not task.done(), task.exception()
    task.cancel()
    assert redis.log == ["subscribe", "aclose", "subscribe", "listening"]
