"""Delivery outside a turn, on a real redis-server: numbered menus, the per-user rate limit,
reminders falling due exactly once across processes, and notifications pushed on a channel that
can push or kept in the outbox for one that cannot."""
from __future__ import annotations

import asyncio
import json

import pytest
import redis.asyncio as aioredis

from assistant import rate_limit
from assistant.notification_worker import NotificationWorker
from channels import menus
from common import notifications, outbox, reminders
from common.delivery import Delivery
from common.reply import Reply

pytest_plugins = ["tests.redis_server"]


@pytest.fixture
async def redis(redis_port):
    client = aioredis.Redis(port=redis_port)
    await client.flushdb()
    yield client
    await client.aclose()


class PushChannel:
    name = "push"

    def __init__(self, works: bool):
        self.works, self.sent = works, []

    async def push(self, user_id, replies):
        if self.works:
            self.sent.append((user_id, [r.text for r in replies]))
        return self.works


async def test_numbered_menu_maps_digits_to_the_last_buttons(redis):
    replies = [Reply("请选择", [{"title": "材料", "payload": "/ask{\"a\":1}"}]), Reply("或者", [{"title": "预约", "payload": "/book"}])]
    await menus.remember(redis, "c1", replies)
    assert await menus.resolve(redis, "c1", "2") == "/book"
    assert await menus.resolve(redis, "c1", "１") == "/ask{\"a\":1}"       # full-width digit
    assert await menus.resolve(redis, "c1", "3") == "3"                     # not an option: the text itself
    assert await menus.resolve(redis, "c1", "居住证") == "居住证"
    await menus.remember(redis, "c1", [Reply("没有按钮")])
    assert await menus.resolve(redis, "c1", "1") == "1"


async def test_rate_limit_counts_per_conversation(redis):
    results = [await rate_limit.allowed(redis, "c1", 3) for _ in range(5)]
    assert results == [True, True, True, False, False]
    assert await rate_limit.allowed(redis, "c2", 3)


async def test_a_due_reminder_moves_once_even_with_two_schedulers(redis):
    await reminders.schedule(redis, 1000.0, "web-abc", "该办医保了", sms_phone="13800138000", sms_template="reminder",
                             sms_vars={"text": "该办医保了"})
    later = await reminders.schedule(redis, 5000.0, "web-abc", "以后的提醒")
    assert await reminders.move_due(redis, now=500.0) == 0
    moved = await asyncio.gather(reminders.move_due(redis, now=2000.0), reminders.move_due(redis, now=2000.0))
    assert sorted(moved) == [0, 1]
    entries = await redis.xrange(notifications.STREAM)
    assert len(entries) == 1
    fields = {k.decode(): v.decode() for k, v in entries[0][1].items()}
    assert fields["text"] == "该办医保了" and fields["sms_template"] == "reminder"
    assert json.loads(fields["sms_vars"]) == {"text": "该办医保了"}
    assert await reminders.cancel(redis, later) and not await reminders.cancel(redis, later)


async def test_notifications_push_where_possible_and_otherwise_wait_in_the_outbox(redis):
    pushing, failing = PushChannel(True), PushChannel(False)
    delivery = Delivery(redis, {"push": pushing, "fail": failing})
    await redis.hset("session:push-1", mapping={"channel": "push", "user_id": "u1"})
    await redis.hset("session:fail-1", mapping={"channel": "fail", "user_id": "u2"})
    worker = NotificationWorker(redis, delivery)
    await worker.deliver(notifications.entry("push-1", "您的预约已确认"))
    await worker.deliver(notifications.entry("fail-1", "您的预约已确认"))
    assert pushing.sent == [("u1", ["您的预约已确认"])]
    assert [r.text for r in await outbox.drain(redis, "fail-1")] == ["您的预约已确认"]
    assert await outbox.drain(redis, "push-1") == []


async def test_the_worker_delivers_from_the_stream_and_acknowledges(redis):
    pushing = PushChannel(True)
    await redis.hset("session:push-1", mapping={"channel": "push", "user_id": "u1"})
    worker = NotificationWorker(redis, Delivery(redis, {"push": pushing}))
    task = asyncio.create_task(worker.run())
    try:
        await notifications.enqueue(redis, "push-1", "提醒：明天办理")
        for _ in range(100):
            if pushing.sent:
                break
            await asyncio.sleep(0.05)
    finally:
        task.cancel()
    assert pushing.sent == [("u1", ["提醒：明天办理"])]
    assert await redis.xlen(notifications.STREAM) == 0


async def test_sms_without_an_sms_channel_is_reported_not_sent(redis):
    assert await Delivery(redis, {}).sms("13800138000", "reminder", {"text": "x"}) is False


async def test_a_malformed_notification_is_dropped_without_ending_the_worker(redis):
    pushing = PushChannel(True)
    await redis.hset("session:push-2", mapping={"channel": "push", "user_id": "u2"})
    worker = NotificationWorker(redis, Delivery(redis, {"push": pushing}))
    task = asyncio.create_task(worker.run())
    try:
        await redis.xadd(notifications.STREAM, {"text": "没有会话", "buttons": "not json"})
        await notifications.enqueue(redis, "push-2", "提醒：后天办理")
        for _ in range(100):
            if pushing.sent:
                break
            await asyncio.sleep(0.05)
        assert not task.done()
    finally:
        task.cancel()
    assert pushing.sent == [("u2", ["提醒：后天办理"])]
    assert await redis.xlen(notifications.STREAM) == 0
