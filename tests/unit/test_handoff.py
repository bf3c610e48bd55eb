"""The staff queues on a real redis-server: positions, a claim race won exactly once, transfer,
end, cancel, presence and the estimated wait; and the staff accounts' password hashing."""
from __future__ import annotations

import asyncio
from datetime import datetime

import pytest
import redis.asyncio as aioredis

from common.handoff import Handoff
from common.office_hours import BEIJING, is_open
from staff.accounts import AccountError, Accounts, check_password, hash_password

pytest_plugins = ["tests.redis_server"]


@pytest.fixture
async def redis(redis_port):
    client = aioredis.Redis(port=redis_port)
    await client.flushdb()
    yield client
    await client.aclose()


async def test_queue_positions_and_a_claim_race(redis):
    h = Handoff(redis)
    assert await h.request("rest-a", "深圳市公安局", "rest", "a", question="护照") == 1
    assert await h.request("wechat-b", "深圳市公安局", "wechat", "b") == 2
    assert await h.request("sms-c", "综合窗口", "sms", "c") == 1
    results = await asyncio.gather(h.claim("rest-a", "police1"), h.claim("rest-a", "police2"))
    assert sorted(results) == [False, True]
    winner = "police1" if results[0] else "police2"
    assert (await h.status("rest-a"))["staff"] == winner
    assert await h.position("wechat-b") == 1                 # moved up
    assert [r["conversation"] for r in await h.held_by(winner)] == ["rest-a"]


async def test_transfer_end_and_cancel(redis):
    h = Handoff(redis)
    await h.request("rest-a", "深圳市公安局", "rest", "a")
    await h.claim("rest-a", "police1")
    assert not await h.transfer("rest-a", "police2", staff="social1")      # not police2's to transfer
    assert await h.transfer("rest-a", "police1", staff="police2", note="护照问题，请跟进")
    assert (await h.status("rest-a"))["note"] == "护照问题，请跟进"
    assert await h.held_by("police1") == [] and len(await h.held_by("police2")) == 1
    assert await h.transfer("rest-a", "police2", department="综合窗口")
    assert (await h.status("rest-a"))["state"] == "queued" and await h.position("rest-a") == 1
    assert await h.claim("rest-a", "social1")
    assert (await h.end("rest-a", "social1"))["department"] == "综合窗口"
    assert await h.status("rest-a") == {} and await h.everything() == []
    await h.request("rest-z", "综合窗口", "rest", "z")
    assert await h.cancel("rest-z") and await h.status("rest-z") == {} and not await h.cancel("rest-z")


async def test_presence_and_estimated_wait(redis):
    h = Handoff(redis)
    assert await h.online("深圳市公安局") == []
    await h.heartbeat("police1", ["深圳市公安局", "综合窗口"])
    await h.heartbeat("police2", ["深圳市公安局"])
    assert sorted(await h.online("深圳市公安局")) == ["police1", "police2"]
    assert await h.estimated_wait_s(4, "深圳市公安局") == 4 * 180 / 2
    await h.offline("police2", ["深圳市公安局"])
    assert await h.online("深圳市公安局") == ["police1"]


async def test_accounts_hash_with_scrypt_and_refuse_weak_input(redis):
    stored = hash_password("correct horse battery")
    assert stored.startswith("scrypt$") and check_password("correct horse battery", stored)
    assert not check_password("wrong password!!", stored) and not check_password("x", "garbage")
    accounts = Accounts(redis)
    await accounts.add("window7", "a-long-password", "handler", "七号窗口", ["深圳市公安局"])
    assert (await accounts.verify("window7", "a-long-password"))["role"] == "handler"
    assert await accounts.verify("window7", "wrong-password") is None
    assert await accounts.verify("nobody", "a-long-password") is None
    with pytest.raises(AccountError):
        await accounts.add("weak", "short", "handler", "x", [])
    with pytest.raises(AccountError):
        await accounts.add("bad", "a-long-password", "superuser", "x", [])


def test_office_hours():
    monday_10 = datetime(2026, 11, 23, 10, 0, tzinfo=BEIJING)
    sunday_10 = datetime(2026, 11, 29, 10, 0, tzinfo=BEIJING)
    assert is_open("1-5 09:00-18:00", monday_10) and not is_open("1-5 09:00-18:00", sunday_10)
    assert not is_open("1-5 09:00-12:00;1-5 14:00-18:00", monday_10.replace(hour=13))
    assert is_open("1-5 09:00-12:00;6 09:00-12:00", sunday_10.replace(day=28))


async def test_a_cancel_that_loses_to_a_claim_leaves_the_claim_intact(redis):
    h = Handoff(redis)
    await h.request("rest-r", "深圳市公安局", "rest", "r")
    assert await h.claim("rest-r", "police1")
    # The citizen's "取消排队" read the state as queued just before the claim landed.
    await redis.hset("handoff:rest-r", "state", "queued")
    assert not await h.cancel("rest-r")
    await redis.hset("handoff:rest-r", "state", "active")
    assert [r["conversation"] for r in await h.held_by("police1")] == ["rest-r"]


async def test_an_unknown_name_costs_one_password_check_like_a_known_one(redis, monkeypatch):
    from staff import accounts as staff_accounts
    accounts = Accounts(redis)
    await accounts.add("window8", "a-long-password", "handler", "八号窗口", ["深圳市公安局"])
    await accounts.verify("nobody", "a-long-password")        # the dummy hash is made once
    made = []
    monkeypatch.setattr(staff_accounts, "hash_password", lambda p: made.append(p) or "scrypt$x")
    assert await accounts.verify("nobody", "a-long-password") is None
    assert made == []
