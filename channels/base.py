"""The interface every channel adapter implements. A channel turns its platform's requests
into (user id, text) for the gateway and renders the gateway's replies for its platform; it
knows nothing of the dialogue engine.

Adapters that can reach a citizen outside a turn (WeChat customer-service messages, SMS,
Telegram, an open web-chat socket) override `push`; for the others, messages wait in the
outbox and come with the citizen's next reply."""
from __future__ import annotations

from abc import ABC, abstractmethod

from aiohttp import web

from assistant.engine import Reply
from assistant.gateway import Gateway


class Channel(ABC):
    #: Short name, part of every conversation id of this channel.
    name: str

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
