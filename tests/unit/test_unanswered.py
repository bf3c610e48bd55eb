"""The "unanswered" stream (knowledge upkeep) on a real redis-server: what the assistant could
not answer, masked, with its channel, time and conversation; button payloads are not questions."""
import time

import pytest
import redis.asyncio as aioredis

from common import unanswered

pytest_plugins = ["tests.redis_server"]
CONV = "wechat-0123456789abcdef0123456789abcdef"


@pytest.fixture
async def client(redis_port):
    c = aioredis.Redis(port=redis_port)
    await c.flushdb()
    yield c
    await c.aclose()


async def test_questions_are_kept_masked_with_channel_time_and_conversation(client):
    before = time.time()
    await unanswered.record(client, "莲花山公园能放风筝吗", CONV, "not_in_knowledge")
    await unanswered.record(client, "我身份证440301199001011234，电话13800138000，能办吗", CONV, "not_in_knowledge")
    await unanswered.record(client, "/request_human", CONV, "not_in_knowledge")
    await unanswered.record(client, "   ", CONV, "not_in_knowledge")
    rows = await unanswered.since(client, before - 1)
    assert [r["text"] for r in rows] == ["我身份证440301********1234，电话138****8000，能办吗", "莲花山公园能放风筝吗"]
    assert {r["channel"] for r in rows} == {"wechat"} and {r["conversation"] for r in rows} == {CONV}
    assert all(before - 1 <= float(r["at"]) <= time.time() for r in rows)
    assert set(rows[0]) == {"text", "question", "channel", "at", "conversation", "reason", "intent", "candidates"}
    assert rows[0]["question"] == rows[0]["text"] and rows[0]["reason"] == "not_in_knowledge"
    assert await unanswered.since(client, time.time() + 60) == []
    assert len(await unanswered.since(client, before - 1, limit=1)) == 1
