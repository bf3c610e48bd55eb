"""Prometheus metrics: the gateway's gauges read from a real redis-server at scrape time, the
optional bearer token, and the action server's per-action counters and latency from a real
rasa-sdk ActionExecutor (which also hands the turn's intent to the gateway's audit)."""
from __future__ import annotations

import json
import time

import pytest
import redis.asyncio as aioredis
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client import REGISTRY
from rasa_sdk import Action
from rasa_sdk.executor import ActionExecutor

from actions import metrics as action_metrics
from assistant.metrics import GatewayMetrics
from common import filings, notifications, outbox, reminders, turn_intent
from common.handoff import Handoff
from common.metrics_http import MetricsSettings
from common.reply import Reply

pytest_plugins = ["tests.redis_server"]


@pytest.fixture
async def redis(redis_port):
    client = aioredis.Redis(port=redis_port)
    await client.flushdb()
    yield client
    await client.aclose()


def sample(text: str, name: str, **labels) -> float | None:
    """The value of one sample in Prometheus text output."""
    want = name + ("{" + ",".join(f'{k}="{v}"' for k, v in labels.items()) + "}" if labels else "")
    for line in text.splitlines():
        if line.startswith(want + " "):
            return float(line.rsplit(" ", 1)[1])
    return None


async def scrape(redis, token: str = "", header: str | None = None) -> tuple[int, str]:
    app = web.Application()
    app.router.add_routes(GatewayMetrics(redis, lambda: 3, MetricsSettings(token)).routes())
    async with TestClient(TestServer(app)) as client:
        resp = await client.get("/metrics", headers={"Authorization": header} if header else {})
        return resp.status, await resp.text()


async def test_gateway_gauges_show_the_shared_backlogs(redis):
    handoff = Handoff(redis)
    await handoff.request("rest-a", "深圳市公安局", "rest")
    await handoff.request("rest-b", "深圳市公安局", "rest")
    await handoff.request("rest-c", "综合窗口", "rest")
    await outbox.push(redis, "rest-a", Reply("您的投诉已受理"))
    await notifications.enqueue(redis, "rest-b", "提醒：明天去领证")
    await filings.enqueue(redis, "complaint", {"content": "x"}, "key-1", "rest-c")
    await reminders.schedule(redis, time.time() + 86400, "rest-c", "记得带身份证")
    status, text = await scrape(redis)
    assert status == 200
    assert sample(text, "hall_handoff_queue_length", department="深圳市公安局") == 2
    assert sample(text, "hall_handoff_queue_length", department="综合窗口") == 1
    assert sample(text, "hall_outbox_conversations") == 1
    assert sample(text, "hall_notification_backlog") == 1
    assert sample(text, "hall_filing_backlog") == 1
    assert sample(text, "hall_reminders_scheduled") == 1
    assert sample(text, "hall_staff_console_sockets") == 3
    await handoff.cancel("rest-c")
    _, text = await scrape(redis)
    assert sample(text, "hall_handoff_queue_length", department="综合窗口") is None     # an empty queue is gone


async def test_a_configured_token_is_required(redis):
    status, text = await scrape(redis, token="s3cret")
    assert status == 401 and "监控令牌" in json.loads(text)["message"]
    assert (await scrape(redis, token="s3cret", header="Bearer wrong"))[0] == 401
    status, text = await scrape(redis, token="s3cret", header="Bearer s3cret")
    assert status == 200 and "hall_filing_backlog" in text


class Greet(Action):
    def name(self) -> str:
        return "action_test_greet"

    async def run(self, dispatcher, tracker, domain):
        dispatcher.utter_message(text="您好")
        return []


class Broken(Action):
    def name(self) -> str:
        return "action_test_broken"

    async def run(self, dispatcher, tracker, domain):
        raise RuntimeError("a bug")


def call(name: str, sender: str = "rest-x", intent: str = "greet") -> dict:
    return {"next_action": name, "sender_id": sender, "version": "3.6.21", "domain": {},
            "tracker": {"sender_id": sender, "slots": {}, "events": [], "active_loop": {},
                        "latest_message": {"text": "你好", "intent": {"name": intent} if intent else {},
                                           "entities": []}, "latest_action_name": None}}


def runs(action: str, outcome: str) -> float:
    return REGISTRY.get_sample_value("hall_action_runs_total", {"action": action, "outcome": outcome}) or 0


async def test_action_runs_are_counted_timed_and_pass_the_intent_on(redis):
    class Executor(ActionExecutor):          # patched on its own, not rasa-sdk's class
        pass
    action_metrics.install(Executor, lambda: redis)
    action_metrics.install(Executor, lambda: redis)           # twice is once
    executor = Executor()
    executor.register_action(Greet)
    executor.register_action(Broken)
    before_ok, before_err = runs("action_test_greet", "ok"), runs("action_test_broken", "error")
    timed = REGISTRY.get_sample_value("hall_action_seconds_count", {"action": "action_test_greet"}) or 0
    result = await executor.run(call("action_test_greet"))
    assert result.responses[0]["text"] == "您好"
    with pytest.raises(RuntimeError):
        await executor.run(call("action_test_broken", sender="rest-y", intent=""))
    with pytest.raises(Exception):
        await executor.run(call("action_made_up"))
    assert runs("action_test_greet", "ok") == before_ok + 1
    assert runs("action_test_broken", "error") == before_err + 1
    assert runs("unknown", "error") >= 1
    assert REGISTRY.get_sample_value("hall_action_seconds_count", {"action": "action_test_greet"}) == timed + 1
    assert await turn_intent.take(redis, "rest-x") == "greet"
    assert await turn_intent.take(redis, "rest-x") == ""                   # taken once
    assert await turn_intent.take(redis, "rest-y") == ""                   # no intent, nothing kept
