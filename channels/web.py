"""Web chat channel: the embeddable widget (assistant/static/widget.js) talks over a websocket at
/channels/web/ws and, while the socket is down, over POST /channels/web/message. Both are the
channel "web" with the widget's own user id, so they reach one conversation.

Frames are described in channels/web_frames.py. Pushes reach the citizen's open socket in
whichever gateway process holds it (channels/web_sockets.py); a push nobody acknowledges is
reported as not delivered, so it waits in the outbox."""
from __future__ import annotations

import asyncio
import logging
import secrets
from dataclasses import dataclass, field

import redis.asyncio as aioredis
from aiohttp import WSCloseCode, WSMsgType, web

from channels import web_frames as frames
from channels.base import Channel, Gateway
from channels.web_sockets import LiveSockets
from common import outbox
from common.env import env
from common.reply import Reply
from common.sessions import BadUserId, conversation_id

log = logging.getLogger(__name__)
# Frames beyond this are cut off by aiohttp itself (closing the socket) before being read into memory.
HARD_FRAME_LIMIT = 64 * 1024



@dataclass(frozen=True)
class WebSettings:
    # Sites allowed to embed the widget (their origins, comma separated); "*" allows any site.
    allowed_origins: tuple[str, ...] = field(default_factory=lambda: tuple(
        o.strip().rstrip("/") for o in env("WEB_ALLOWED_ORIGINS", "*").split(",") if o.strip()))
    # Largest accepted frame or fallback request, in bytes (a 1000-character message fits).
    max_frame_bytes: int = field(default_factory=lambda: int(env("WEB_MAX_FRAME_BYTES", "8192")))
    # Seconds between the gateway's pings; a socket that misses a pong is closed.
    heartbeat_s: float = field(default_factory=lambda: float(env("WEB_HEARTBEAT_S", "20")))
    # How long a push waits for the browser to confirm it showed it before it goes to the outbox.
    push_ack_timeout_s: float = field(default_factory=lambda: float(env("WEB_PUSH_ACK_TIMEOUT_S", "5")))
    # Messages a socket may have waiting for an answer before further ones are refused.
    pending_turns: int = field(default_factory=lambda: int(env("WEB_PENDING_TURNS", "3")))

    @property
    def presence_ttl_s(self) -> float:
        return 3 * self.heartbeat_s

    def allows(self, origin: str | None) -> bool:
        # No Origin header: not a browser page, so nothing a site could abuse.
        return "*" in self.allowed_origins or origin is None or origin.rstrip("/") in self.allowed_origins


class WebChannel(Channel):
    name = "web"

    def __init__(self, gateway: Gateway, cfg: WebSettings | None = None):
        super().__init__(gateway)
        self.cfg = cfg or WebSettings()
        self.live = LiveSockets(gateway.redis, self.cfg.presence_ttl_s)
        self._turn_workers: set[asyncio.Task] = set()

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/channels/web/ws", self.socket),
                web.post("/channels/web/message", self.message),
                web.options("/channels/web/message", self.preflight)]

    async def start(self) -> None:
        await self.live.start()

    async def stop(self) -> None:
        for task in self._turn_workers:
            task.cancel()
        await self.live.stop()

    # -- websocket ----------------------------------------------------------------------

    async def socket(self, request: web.Request) -> web.StreamResponse:
        if not self.cfg.allows(request.headers.get("Origin")):
            return web.json_response(frames.error("forbidden", frames.FORBIDDEN), status=403)
        ws = web.WebSocketResponse(heartbeat=self.cfg.heartbeat_s, max_msg_size=HARD_FRAME_LIMIT)
        if not ws.can_prepare(request).ok:
            return web.json_response(frames.error("bad_request", frames.NOT_A_SOCKET), status=400)
        await ws.prepare(request)
        user = request.query.get("user", "")
        try:
            conv = conversation_id(self.name, user)
        except BadUserId:
            await ws.send_json(frames.error("bad_user", frames.BAD_USER))
            await ws.close(code=4400, message=b"bad user id")
            return ws
        turns: asyncio.Queue[str | None] = asyncio.Queue()
        worker = asyncio.create_task(self._answer(ws, user, conv, turns))
        self._turn_workers.add(worker)
        worker.add_done_callback(self._turn_workers.discard)
        try:
            await self.live.add(conv, ws)
            await ws.send_json({"type": "ready"})
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    await self._on_text(ws, msg.data, turns)
                elif msg.type == WSMsgType.BINARY:
                    await ws.send_json(frames.error("bad_frame", frames.BINARY))
                else:       # ERROR: aiohttp closes the socket (e.g. a frame over the hard limit)
                    break
        except (aioredis.RedisError, OSError) as exc:
            # The browser reconnects (with backoff) and meanwhile carries on by the REST fallback.
            log.warning("web chat socket of %s closed: %s", conv, exc)
            await ws.close(code=WSCloseCode.TRY_AGAIN_LATER)
        finally:
            turns.put_nowait(None)      # the worker answers what is queued, then ends
            try:
                await self.live.remove(conv, ws)
            except (aioredis.RedisError, OSError):
                pass                    # its presence entry lapses by itself
        return ws

    async def _on_text(self, ws: web.WebSocketResponse, data: str, turns: asyncio.Queue) -> None:
        try:
            frame = frames.parse(data, self.cfg.max_frame_bytes)
        except frames.BadFrame as bad:
            await ws.send_json(bad.frame())
            return
        if frame["type"] == "ping":
            await ws.send_json({"type": "pong"})
        elif frame["type"] == "ack":
            await self.live.ack(frame["id"])
        elif turns.qsize() >= self.cfg.pending_turns:
            await ws.send_json(frames.error("too_fast", frames.TOO_FAST))
        else:
            turns.put_nowait(frame["text"])

    async def _answer(self, ws: web.WebSocketResponse, user: str, conv: str, turns: asyncio.Queue) -> None:
        """Answers the socket's messages one at a time, in order (the reader keeps reading
        pings and acks meanwhile)."""
        while (text := await turns.get()) is not None:
            try:
                await self._turn(ws, user, conv, text)
            except Exception:           # one failed turn must not end the socket's later ones
                log.exception("web chat turn failed for %s", conv)
                await self._send(ws, user, conv, None, frames.error("internal", frames.INTERNAL))

    async def _turn(self, ws: web.WebSocketResponse, user: str, conv: str, text: str) -> None:
        await self._send(ws, user, conv, None, {"type": "typing"})
        replies = await self.gateway.handle(self.name, user, text)
        for n, r in enumerate(replies, 1):
            await self._send(ws, user, conv, r, frames.reply(r, last=n == len(replies)))

    async def _send(self, ws: web.WebSocketResponse, user: str, conv: str, reply: Reply | None, frame: dict) -> None:
        """Writes a frame; a reply the socket can no longer take is pushed to the citizen's
        new socket (a reconnect) or kept in the outbox, never lost."""
        if not ws.closed:
            try:
                await ws.send_json(frame)
                return
            except (ConnectionError, RuntimeError):
                pass
        if reply is not None and not await self.push(user, [reply]):
            await outbox.push(self.gateway.redis, conv, reply)

    # -- REST fallback ------------------------------------------------------------------

    def _cors(self, request: web.Request) -> dict[str, str]:
        origin = request.headers.get("Origin")
        if origin is None or not self.cfg.allows(origin):
            return {}
        return {"Access-Control-Allow-Origin": origin, "Vary": "Origin",
                "Access-Control-Allow-Methods": "POST, OPTIONS", "Access-Control-Allow-Headers": "Content-Type",
                "Access-Control-Max-Age": "600"}

    async def preflight(self, request: web.Request) -> web.Response:
        if not self.cfg.allows(request.headers.get("Origin")):
            return web.json_response(frames.error("forbidden", frames.FORBIDDEN), status=403)
        return web.Response(status=204, headers=self._cors(request))

    async def _body(self, request: web.Request) -> bytes:
        """The request body, refused unread when it announces more than a frame may hold."""
        too_large = frames.BadFrame("too_large", frames.TOO_LARGE.format(limit=self.cfg.max_frame_bytes))
        if (request.content_length or 0) > self.cfg.max_frame_bytes:
            raise too_large
        try:
            return await request.read()
        except web.HTTPRequestEntityTooLarge:
            raise too_large from None

    async def message(self, request: web.Request) -> web.Response:
        headers = self._cors(request)
        if not self.cfg.allows(request.headers.get("Origin")):
            return web.json_response(frames.error("forbidden", frames.FORBIDDEN), status=403)
        try:
            user, text = frames.parse_rest(await self._body(request), self.cfg.max_frame_bytes)
            replies = await self.gateway.handle(self.name, user, text)
        except frames.BadFrame as bad:
            return web.json_response(bad.frame(), status=413 if bad.code == "too_large" else 400, headers=headers)
        except BadUserId:
            return web.json_response(frames.error("bad_user", frames.BAD_USER), status=400, headers=headers)
        return web.json_response([frames.reply(r, last=n == len(replies)) for n, r in enumerate(replies, 1)],
                                 headers=headers)

    # -- push ---------------------------------------------------------------------------

    async def push(self, user_id: str, replies: list[Reply]) -> bool:
        """True once a browser showing the conversation confirmed the replies."""
        try:
            conv = conversation_id(self.name, user_id)
        except BadUserId:
            return False
        if not await self.live.anywhere(conv):
            return False
        push_id = secrets.token_hex(16)
        if not await self.live.publish(conv, [frames.reply(r, push_id) for r in replies]):
            return False
        return await self.live.acknowledged(push_id, self.cfg.push_ack_timeout_s)
