"""The web chat sockets of all gateway processes, seen as one.

Each process keeps its own open sockets. For every conversation it holds a socket for, it
keeps an entry in Redis that expires unless the process refreshes it (a process that dies
stops refreshing, so its entries lapse). A push is published on Redis; every process hands it
to its own sockets for that conversation, and the browser acknowledges what it showed, so
the pushing process learns whether the citizen really got it."""
from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
import socket
import time

import redis.asyncio as aioredis
from aiohttp import WSCloseCode, web

log = logging.getLogger(__name__)
PUSH_CHANNEL = "webchat:push"
ACK_TTL_S = 120
ACK_POLL_S = 1.0


def _live_key(conversation: str) -> str:
    return f"webchat:live:{conversation}"


def _ack_key(push_id: str) -> str:
    return f"webchat:ack:{push_id}"


class LiveSockets:
    def __init__(self, redis: aioredis.Redis, presence_ttl_s: float):
        self.redis, self.ttl_s = redis, presence_ttl_s
        self.me = f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(4)}"
        self._open: dict[str, set[web.WebSocketResponse]] = {}
        self._tasks: list[asyncio.Task] = []
        self._pubsub = None

    # -- this process's sockets ---------------------------------------------------------

    async def add(self, conversation: str, ws: web.WebSocketResponse) -> None:
        self._open.setdefault(conversation, set()).add(ws)
        await self._mark([conversation])

    async def remove(self, conversation: str, ws: web.WebSocketResponse) -> None:
        sockets = self._open.get(conversation, set())
        sockets.discard(ws)
        if not sockets:
            self._open.pop(conversation, None)
            await self.redis.zrem(_live_key(conversation), self.me)

    async def _mark(self, conversations: list[str]) -> None:
        """(Re)announces that this process holds sockets for these conversations."""
        now = time.time()
        pipe = self.redis.pipeline(transaction=False)
        for conv in conversations:
            pipe.zadd(_live_key(conv), {self.me: now + self.ttl_s})
            pipe.zremrangebyscore(_live_key(conv), "-inf", now)       # entries of dead processes
            pipe.expire(_live_key(conv), int(self.ttl_s) + 1)
        await pipe.execute()

    # -- every process's sockets --------------------------------------------------------

    async def anywhere(self, conversation: str) -> bool:
        """Whether some gateway process holds a live socket for the conversation."""
        return await self.redis.zcount(_live_key(conversation), time.time(), "+inf") > 0

    async def publish(self, conversation: str, frames: list[dict]) -> bool:
        """Hands frames to every process; False when no process listens."""
        message = json.dumps({"conversation": conversation, "frames": frames}, ensure_ascii=False)
        return await self.redis.publish(PUSH_CHANNEL, message) > 0

    async def ack(self, push_id: str) -> None:
        pipe = self.redis.pipeline(transaction=False)
        pipe.rpush(_ack_key(push_id), 1)
        pipe.expire(_ack_key(push_id), ACK_TTL_S)
        await pipe.execute()

    async def acknowledged(self, push_id: str, timeout_s: float) -> bool:
        """Waits until a browser acknowledged the push, at most timeout_s."""
        deadline = time.monotonic() + timeout_s
        while (left := deadline - time.monotonic()) >= 0.01:     # BLPOP's timeout 0 would block for ever
            # Short blocking reads: one longer than the client's socket timeout (5 s by
            # default) would be cut off as a failure instead of ending with no ack.
            if await self.redis.blpop([_ack_key(push_id)], timeout=min(ACK_POLL_S, left)) is not None:
                return True
        return False

    # -- background work ----------------------------------------------------------------

    async def start(self) -> None:
        # Subscribed before the first socket is accepted, so no push meets a deaf process.
        self._pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
        await self._pubsub.subscribe(PUSH_CHANNEL)
        self._tasks = [asyncio.create_task(self._listen()), asyncio.create_task(self._refresh())]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        # Going away: browsers reconnect, to another process when there is one.
        for conversation, sockets in list(self._open.items()):
            for ws in list(sockets):
                await ws.close(code=WSCloseCode.GOING_AWAY, message="服务重启".encode())
            await self.redis.zrem(_live_key(conversation), self.me)
        self._open.clear()
        if self._pubsub is not None:
            await self._pubsub.aclose()

    async def _refresh(self) -> None:
        while True:
            await asyncio.sleep(self.ttl_s / 3)
            try:
                if self._open:
                    await self._mark(list(self._open))
            except (aioredis.RedisError, OSError) as exc:
                log.warning("web chat presence not refreshed: %s", exc)

    async def _listen(self) -> None:
        while True:
            try:
                # Resubscribed here after an outage, and again on the next round while Redis is
                # still away: listen() on a pubsub without a subscription returns at once, so
                # looping over it unsubscribed would spin and block the event loop.
                if not self._pubsub.subscribed:
                    await self._pubsub.subscribe(PUSH_CHANNEL)
                async for message in self._pubsub.listen():
                    try:
                        await self._deliver(json.loads(message["data"]))
                    except (ValueError, KeyError, TypeError):
                        log.warning("web chat push message not understood; skipped")
            except asyncio.CancelledError:
                raise
            except (aioredis.RedisError, OSError) as exc:
                log.warning("web chat push channel unavailable: %s", exc)
                await asyncio.sleep(1)
                try:
                    await self._pubsub.aclose()
                except (aioredis.RedisError, OSError):
                    pass
                self._pubsub = self.redis.pubsub(ignore_subscribe_messages=True)

    async def _deliver(self, message: dict) -> None:
        for ws in list(self._open.get(message.get("conversation", ""), ())):
            try:
                for frame in message["frames"]:
                    await ws.send_json(frame)
            except (ConnectionError, RuntimeError) as exc:   # closed meanwhile: no ack, so the pusher keeps it
                log.info("web chat push not written to a closing socket: %s", exc)
