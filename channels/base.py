"""The interface every channel adapter implements. A channel turns its platform's requests
into (user id, text) for the gateway and renders the gateway's replies for its platform; it
knows nothing of the dialogue engine."""
from __future__ import annotations

from abc import ABC, abstractmethod

from aiohttp import web

from assistant.gateway import Gateway


class Channel(ABC):
    #: Short name, part of every conversation id of this channel.
    name: str

    def __init__(self, gateway: Gateway):
        self.gateway = gateway

    @abstractmethod
    def routes(self) -> list[web.RouteDef]:
        """The HTTP routes the gateway mounts for this channel."""
