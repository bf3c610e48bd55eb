"""A scene in progress, kept in Redis under a short resume code (CJ + 6 digits) so the citizen
can leave and come back later — in the same conversation, or from another channel by giving the
code. A scene holds only the answers to its questions (户籍情况, 企业类型…), never identity data,
so the code alone is enough to resume it."""
from __future__ import annotations

import json
import re
import secrets
import time

import redis.asyncio as aioredis

from scenes.runner import State

TTL_S = 90 * 24 * 3600
CODE_RE = re.compile(r"CJ\d{6}", re.IGNORECASE)


def _key(code: str) -> str:
    return f"scene:{code.upper()}"


def _latest_key(conversation: str, scene_id: str) -> str:
    return f"scene-latest:{conversation}:{scene_id}"


class SceneStore:
    def __init__(self, redis: aioredis.Redis):
        self.redis = redis

    async def create(self, scene_id: str, conversation: str) -> tuple[str, State]:
        while True:
            code = f"CJ{secrets.randbelow(10**6):06d}"
            state = State(scene_id)
            if await self.redis.set(_key(code), self._dump(state, conversation), nx=True, ex=TTL_S):
                await self.redis.set(_latest_key(conversation, scene_id), code, ex=TTL_S)
                return code, state

    async def load(self, code: str) -> State | None:
        raw = await self.redis.get(_key(code))
        if raw is None:
            return None
        data = json.loads(raw)
        return State(data["scene"], data["answers"], data["order"])

    async def save(self, code: str, state: State, conversation: str) -> None:
        await self.redis.set(_key(code), self._dump(state, conversation), ex=TTL_S)
        await self.redis.set(_latest_key(conversation, state.scene), code.upper(), ex=TTL_S)

    async def latest(self, conversation: str, scene_id: str) -> str | None:
        """The code of this conversation's last run of a scene, if it is still kept."""
        code = await self.redis.get(_latest_key(conversation, scene_id))
        return code.decode() if code and await self.redis.exists(_key(code.decode())) else None

    @staticmethod
    def _dump(state: State, conversation: str) -> str:
        return json.dumps({"scene": state.scene, "answers": state.answers, "order": state.order,
                           "conversation": conversation, "updated": time.time()}, ensure_ascii=False)
