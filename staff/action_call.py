"""Calling one custom action on the action server's webhook directly, outside the dialogue (agent
assist for staff, FAQ candidates for publishers): the knowledge base is loaded in that process
only, so the gateway asks it instead of loading a second copy."""
from __future__ import annotations

import asyncio

import aiohttp


class ActionServerUnavailable(Exception):
    """The action server did not answer, or answered with something that is not JSON."""


async def call(action_url: str, action: str, sender: str, text: str = "", metadata: dict | None = None,
               timeout_s: float = 10) -> list[dict]:
    """The action's messages ({"text", "custom", …}) for a tracker holding just this message."""
    tracker = {"sender_id": sender, "slots": {}, "events": [], "active_loop": {}, "latest_action_name": None,
               "latest_message": {"text": text, "intent": {}, "entities": [], "metadata": metadata or {}}}
    body = {"next_action": action, "sender_id": sender, "version": "3.6.21", "domain": {}, "tracker": tracker}
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout_s)) as http:
            async with http.post(f"{action_url.rstrip('/')}/webhook", json=body) as resp:
                result = await resp.json()
    except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:
        raise ActionServerUnavailable(str(exc) or type(exc).__name__) from exc
    return result.get("responses", []) if isinstance(result, dict) else []
