"""The gateway's last check on assistant replies (standard 8.1.2), on a real redis-server: a
reply carrying a sensitive word of the assistant's own is replaced by the safe apology, logged
and queued for review; words the citizen wrote themselves may be repeated back to them."""
import logging

import pytest
import redis.asyncio as aioredis

from common import safety_review, transcript
from common.reply import Reply
from common.reply_filter import ReplyFilter, SAFE_APOLOGY

pytest_plugins = ["tests.redis_server"]
CONV = "rest-0123456789abcdef0123456789abcdef"


@pytest.fixture
async def client(redis_port):
    c = aioredis.Redis(port=redis_port)
    await c.flushdb()
    yield c
    await c.aclose()


async def test_a_reply_with_a_sensitive_word_is_replaced_logged_and_queued(client, caplog):
    ok = Reply("居住证签注可以在“深圳公安”微信公众号办理。", [{"title": "办理流程", "payload": "/x"}])
    bad = Reply("答复：加微信领红包，联系13800138000", [{"title": "了解更多", "payload": "/y"}])
    in_button = Reply("请选择：", [{"title": "刷单返利入口", "payload": "/z"}])
    with caplog.at_level(logging.WARNING, logger="common.reply_filter"):
        out = await ReplyFilter(client).screen(CONV, "rest", [ok, bad, in_button])
    assert out[0] is ok and [r.text for r in out[1:]] == [SAFE_APOLOGY, SAFE_APOLOGY]
    assert not out[1].buttons
    assert "广告：加微信领红包" in caplog.text and "13800138000" not in caplog.text and "138****8000" in caplog.text
    queued = await safety_review.entries(client)
    assert [(e["kind"], e["conversation"], e["channel"]) for e in queued] == [("bot_reply", CONV, "rest")] * 2
    assert queued[1]["words"] == [{"word": "加微信领红包", "category": "广告"}]
    assert "138****8000" in queued[1]["text"] and "13800138000" not in queued[1]["text"]
    assert queued[0]["words"][0]["category"] == "诈骗" and queued[0]["decision"] is None


async def test_the_citizens_own_words_may_be_repeated_back_to_them(client):
    await transcript.append(client, CONV, "citizen", "有人在群里发 刷 单 返 利 的广告，能管吗", "rest")
    summary = Reply("请核对您的咨询信息：\n咨询内容：有人在群里发 刷 单 返 利 的广告，能管吗")
    out = await ReplyFilter(client).screen(CONV, "rest", [summary])
    assert out == [summary] and await safety_review.entries(client) == []
    other = Reply("另外，办证刻章请到正规窗口。")                       # a word the citizen never wrote
    assert (await ReplyFilter(client).screen(CONV, "rest", [other]))[0].text == SAFE_APOLOGY
