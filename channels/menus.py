"""Numbered menus for channels without buttons (SMS, voice DTMF): the buttons of the last
replies are numbered 1..N, remembered per conversation, and a bare digit in the next message
becomes the chosen button's payload. Web chat and Telegram send payloads themselves.

Redis keys:
- `menu:{conversation}` (string, JSON list of payloads, TTL_S): the options of the last replies"""
from __future__ import annotations

import json

import redis.asyncio as aioredis

from common.reply import Reply

TTL_S = 24 * 3600
_FULL_WIDTH_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")


def _key(conversation: str) -> str:
    return f"menu:{conversation}"


def options(replies: list[Reply]) -> list[dict]:
    """Every button of the replies in order: option k is options[k-1]."""
    return [b for r in replies for b in r.buttons if b.get("payload")]


async def remember(redis: aioredis.Redis, conversation: str, replies: list[Reply]) -> None:
    buttons = options(replies)
    if buttons:
        await redis.set(_key(conversation), json.dumps([b["payload"] for b in buttons], ensure_ascii=False), ex=TTL_S)
    else:
        await redis.delete(_key(conversation))


async def resolve(redis: aioredis.Redis, conversation: str, text: str) -> str:
    """The payload of option N when the text is just N (of the current menu), else the text."""
    digits = text.strip().translate(_FULL_WIDTH_DIGITS)
    if not digits.isdigit():
        return text
    raw = await redis.get(_key(conversation))
    payloads = json.loads(raw) if raw else []
    index = int(digits) - 1
    return payloads[index] if 0 <= index < len(payloads) else text
