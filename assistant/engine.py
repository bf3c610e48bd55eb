"""The dialogue engine as the gateway sees it: Rasa's REST webhook, one call per turn."""
from __future__ import annotations

import asyncio

import aiohttp

from common.reply import Reply


class EngineUnavailable(Exception):
    """Rasa did not answer in time or failed."""


class RasaEngine:
    def __init__(self, base_url: str, timeout_s: float, token: str = ""):
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session: aiohttp.ClientSession | None = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            # Rasa serialises turns per conversation with its lock store; the gateway
            # keeps enough connections open for many conversations at once.
            self._session = aiohttp.ClientSession(timeout=self.timeout,
                                                  connector=aiohttp.TCPConnector(limit=64, keepalive_timeout=60))
        return self._session

    async def turn(self, sender: str, text: str, metadata: dict | None = None) -> list[Reply]:
        body = {"sender": sender, "message": text, "metadata": metadata or {}}
        try:
            async with self._http().post(f"{self.base_url}/webhooks/rest/webhook", json=body) as resp:
                if resp.status != 200:
                    raise EngineUnavailable(f"rasa answered {resp.status}")
                messages = await resp.json()
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:     # ValueError: not JSON
            raise EngineUnavailable(str(exc) or type(exc).__name__) from exc
        out: list[Reply] = []
        for m in messages:
            if out and m.get("custom") and not (m.get("text") or m.get("buttons") or m.get("image")):
                out[-1].custom = m["custom"]     # Rasa sends a message's custom part on its own
                continue
            out.append(Reply(text=m.get("text") or "", buttons=m.get("buttons") or [], image=m.get("image") or "",
                             custom=m.get("custom")))
        return out

    async def health(self) -> bool:
        try:
            async with self._http().get(f"{self.base_url}/status", params={"token": self.token}) as resp:
                return resp.status == 200 and bool((await resp.json()).get("model_file"))
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError):
            return False

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
