"""What the two hotline webhook contracts share: the call flow (channels/voice_call.py), the four
webhooks a call takes (start, gather, dial result, status) and the gateway's Delivery for SMS
offers (set on the channel when it is mounted). Each contract (voice_twilio.py, voice_jambonz.py) adds only its own authentication,
payload fields and reply format."""
from __future__ import annotations

from aiohttp import web

from channels.base import Channel, Gateway
from channels.voice_call import VoiceCalls, VoiceSettings


class VoiceChannel(Channel):
    #: The webhooks' root; /gather, /dial and /status hang below it.
    path: str

    def __init__(self, gateway: Gateway, voice: VoiceSettings | None = None):
        super().__init__(gateway)
        self.calls = VoiceCalls(gateway, self.name, voice)

    def routes(self) -> list[web.RouteDef]:
        return [web.post(self.path, self.incoming), web.post(f"{self.path}/gather", self.gathered),
                web.post(f"{self.path}/dial", self.dialled), web.post(f"{self.path}/status", self.status)]

    async def start(self) -> None:
        self.calls.warm_up()

    async def incoming(self, request: web.Request) -> web.Response:
        raise NotImplementedError

    async def gathered(self, request: web.Request) -> web.Response:
        raise NotImplementedError

    async def dialled(self, request: web.Request) -> web.Response:
        raise NotImplementedError

    async def status(self, request: web.Request) -> web.Response:
        raise NotImplementedError
