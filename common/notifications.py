"""Messages the action server asks the gateway to deliver outside a turn (an appointment
confirmation, a reminder that fell due): a Redis stream read by a consumer group, so several
gateway processes share the work and an entry taken by a process that died is claimed again.

An entry carries the conversation to notify on its own channel, and optionally a phone number,
SMS template and variables for a templated SMS (carriers require templates).

Redis keys:
- `notifications` (stream, consumer group `notifiers`): conversation, text, buttons, sms_phone,
  sms_template, sms_vars"""
from __future__ import annotations

import json

import redis.asyncio as aioredis

STREAM, GROUP = "notifications", "notifiers"
CLAIM_IDLE_MS = 30_000


def entry(conversation: str, text: str, buttons: list[dict] | None = None, sms_phone: str = "",
          sms_template: str = "", sms_vars: dict | None = None) -> dict[str, str]:
    return {"conversation": conversation, "text": text,
            "buttons": json.dumps(buttons or [], ensure_ascii=False), "sms_phone": sms_phone,
            "sms_template": sms_template, "sms_vars": json.dumps(sms_vars or {}, ensure_ascii=False)}


async def enqueue(redis: aioredis.Redis, conversation: str, text: str, **sms) -> None:
    await redis.xadd(STREAM, entry(conversation, text, **sms))
