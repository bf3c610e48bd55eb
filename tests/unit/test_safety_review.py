"""The content review queue on a real redis-server: entries masked, a decision taken once
(and undone when its effect could not be carried out), and a pending entry listed however many
newer entries were decided after it."""
import pytest
import redis.asyncio as aioredis

from common import safety_review
from common.sensitive import default

pytest_plugins = ["tests.redis_server"]
CONV = "rest-0123456789abcdef0123456789abcdef"


@pytest.fixture
async def client(redis_port):
    c = aioredis.Redis(port=redis_port)
    await c.flushdb()
    yield c
    await c.aclose()


async def held(client, text: str = "傻X，打13800138000") -> str:
    return await safety_review.add(client, "bot_reply", text, default().find(text), conversation=CONV, channel="rest")


async def test_a_decision_is_taken_once_and_can_be_undone(client):
    entry_id = await held(client)
    [entry] = await safety_review.entries(client)
    assert entry["text"] == "傻X，打138****8000" and entry["words"] == [{"word": "傻X", "category": "辱骂"}]
    assert await safety_review.decide(client, entry_id, "rejected", "inspector", "inspector", "确认违规")
    assert not await safety_review.decide(client, entry_id, "approved", "admin", "admin")
    assert await safety_review.entries(client) == []
    [decided] = await safety_review.entries(client, "decided")
    assert (decided["decision"]["decision"], decided["decision"]["by"]) == ("rejected", "inspector")
    assert (await safety_review.get(client, entry_id))["decision"]["note"] == "确认违规"

    await safety_review.undo(client, entry_id)
    assert [e["id"] for e in await safety_review.entries(client)] == [entry_id]
    assert await safety_review.decide(client, entry_id, "approved", "admin", "admin")
    assert await safety_review.get(client, "not-an-id") is None
    assert await safety_review.get(client, "1-0") is None


async def test_an_old_pending_entry_stays_listed_behind_many_decided_ones(client):
    oldest = await held(client, "刷单返利")
    for _ in range(1100):
        await safety_review.decide(client, await held(client), "rejected", "admin", "admin")
    assert [e["id"] for e in await safety_review.entries(client)] == [oldest]
    assert len(await safety_review.entries(client, "decided", limit=50)) == 50
