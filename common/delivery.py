"""Delivery of messages that arrive outside a turn (a queued filing's number, a reminder, an
appointment confirmation): pushed on the citizen's own channel when it can push, otherwise kept
in the outbox until their next message. Nothing is dropped either way."""
from __future__ import annotations

import logging
from typing import Protocol

import redis.asyncio as aioredis

from common import outbox
from common.reply import Reply
from common.sessions import who

log = logging.getLogger(__name__)


class Channel(Protocol):
    """What delivery needs of a channel adapter (channels/base.py implements it)."""
    name: str

    async def push(self, user_id: str, replies: list[Reply]) -> bool:
        """True when the replies reached the user at once."""


class Delivery:
    def __init__(self, redis: aioredis.Redis, channels: dict[str, Channel] | None = None):
        self.redis = redis
        self.channels: dict[str, Channel] = channels if channels is not None else {}

    async def who(self, conversation: str) -> tuple[str, str] | None:
        """(channel, channel user id) of a conversation, from its session."""
        return await who(self.redis, conversation)

    async def push(self, conversation: str, replies: list[Reply]) -> bool:
        """Pushes at once when the citizen's channel can; False (nothing kept) otherwise."""
        target = await self.who(conversation)
        channel = self.channels.get(target[0]) if target else None
        if channel is None:
            return False
        try:
            return await channel.push(target[1], replies)
        except Exception:       # a platform failure must not lose the message: callers fall back
            log.exception("push on %s failed", target[0])
            return False

    async def send(self, conversation: str, replies: list[Reply]) -> str:
        """'pushed' when the channel delivered at once, 'queued' when it waits in the outbox."""
        if await self.push(conversation, replies):
            return "pushed"
        for reply in replies:
            await outbox.push(self.redis, conversation, reply)
        return "queued"

    async def sms(self, phone: str, template: str, variables: dict) -> bool:
        """A templated SMS to a phone number (confirmations, reminders), when an SMS channel runs."""
        channel = self.channels.get("sms")
        send = getattr(channel, "send_template", None)
        if send is None:
            log.info("no SMS channel: template %s not sent", template)
            return False
        return await send(phone, template, variables)
