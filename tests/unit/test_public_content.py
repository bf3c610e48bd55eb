"""A consultation the citizen wants public is checked for sensitive words: a flagged one is
switched to not public before filing, queued for review, and the citizen is told which kind
of content it was (never the word itself); a clean or private one passes untouched."""
import pytest
import redis.asyncio as aioredis
from rasa_sdk.executor import CollectingDispatcher

from actions import public_content
from common import safety_review

pytest_plugins = ["tests.redis_server"]
CONV = "rest-0123456789abcdef0123456789abcdef"


def consultation(content: str, public: bool = True) -> dict:
    return {"subject": content[:30], "content": content, "public": public}


@pytest.fixture
async def client(redis_port):
    c = aioredis.Redis(port=redis_port)
    await c.flushdb()
    yield c
    await c.aclose()


async def test_a_flagged_public_consultation_is_filed_private_and_held(client):
    record = consultation("群里有人发刷 单 返 利的广告，还说能办证刻章，是真的吗")
    matches = public_content.withheld("consultation", record)
    assert record["public"] is False and {m.word for m in matches} == {"刷单返利", "办证刻章"}
    dispatcher = CollectingDispatcher()
    await public_content.hold(dispatcher, client, CONV, record, matches, "ZX00520261127000001")
    [told] = [m["text"] for m in dispatcher.messages]
    assert "不宜公开" in told and "诈骗" in told and "不公开" in told and "刷单返利" not in told
    [held] = await safety_review.entries(client)
    assert (held["kind"], held["number"], held["channel"], held["conversation"]) == (
        "consultation", "ZX00520261127000001", "rest", CONV)


async def test_clean_private_and_other_filings_pass_untouched(client):
    for kind, record in (("consultation", consultation("居住证签注可以网上办吗？")),
                         ("consultation", consultation("有人发刷单返利广告，不公开", public=False)),
                         ("complaint", {"content": "窗口有人私下说可以刷单返利", "public": True})):
        before = dict(record)
        assert public_content.withheld(kind, record) == [] and record == before
    dispatcher = CollectingDispatcher()
    await public_content.hold(dispatcher, client, CONV, consultation("居住证签注"), [])
    assert dispatcher.messages == [] and await safety_review.entries(client) == []
