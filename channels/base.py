"""The interface every channel adapter implements. A channel turns its platform's requests
into (user id, text) for the gateway and renders the gateway's replies for its platform; it
knows nothing of the dialogue engine.

Adapters that can reach a citizen outside a turn (WeChat customer-service messages, SMS,
Telegram, an open web-chat socket) override `push`; for the others, messages wait in the
outbox and come with the citizen's next reply."""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Protocol

import redis.asyncio as aioredis
from aiohttp import web

from common.reply import Reply

if TYPE_CHECKING:
    from common.delivery import Delivery

# Said when the assistant cannot answer in time (the gateway's and the voice channel's words).
BUSY = "抱歉，系统正忙，请稍后再试。您也可以拨打12345政务服务便民热线咨询。"


class Gateway(Protocol):
    """What a channel needs of the gateway (assistant/gateway.py): one turn, and Redis for the
    channel's own small state (deduplication, menus, call state)."""
    redis: aioredis.Redis

    async def handle(self, channel: str, user_id: str, text: str, metadata: dict | None = None,
                     numbered: bool = False) -> list[Reply]:
        """One citizen message in, the assistant's replies out. Raises BadUserId for a bad id."""


class Channel(ABC):
    #: Short name, part of every conversation id of this channel.
    name: str
    #: Messages outside a turn (SMS offers, pushes); set by the gateway when it mounts the channel.
    delivery: "Delivery | None" = None

    def __init__(self, gateway: Gateway):
        self.gateway = gateway

    @abstractmethod
    def routes(self) -> list[web.RouteDef]:
        """The HTTP routes the gateway mounts for this channel."""

    async def start(self) -> None:
        """Background work of the channel (polling, send queues); called once on gateway start."""

    async def stop(self) -> None:
        """Ends the background work; called once on gateway shutdown."""

    async def push(self, user_id: str, replies: list[Reply]) -> bool:
        """Sends replies to a user outside a turn. False when the channel cannot (or could not
        this time): the caller then keeps them in the outbox for the user's next message."""
        return False
