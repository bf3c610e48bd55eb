"""The staff console API on a real redis-server: the session cookie outlives the idle limit
(Redis enforces it), a console socket ends with its session, and inspectors see callers'
numbers masked."""
from __future__ import annotations

import aiohttp
import pytest
import redis.asyncio as aioredis
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from common.config import Settings
from common.delivery import Delivery
from common.hall_client import HallClient
from common.handoff import Handoff
from staff.accounts import Accounts
from staff.api import SESSION_ENDED
from staff.app import PREFIX as STAFF_PREFIX, create_staff_app
from staff.auth import ABSOLUTE_S

pytest_plugins = ["tests.redis_server"]


@pytest.fixture
async def redis(redis_port):
    client = aioredis.Redis(port=redis_port)
    await client.flushdb()
    yield client
    await client.aclose()


@pytest.fixture
async def server(redis):
    await Accounts(redis).ensure_dev_accounts()
    hall = HallClient("http://127.0.0.1:9", "unused", 1)
    app = web.Application()
    app.add_subapp(STAFF_PREFIX, create_staff_app(redis, Delivery(redis, {}), hall, Settings())[0])
    server = TestServer(app)
    await server.start_server()
    yield server
    await server.close()
    await hall.close()


async def login(server, username: str) -> tuple[TestClient, dict]:
    client = TestClient(server)
    await client.start_server()
    resp = await client.post("/staff/api/login", json={"username": username, "password": f"{username}-dev-pass"})
    assert resp.status == 200
    return client, {"resp": resp, "me": await resp.json()}


async def test_the_cookie_lasts_the_absolute_lifetime_not_the_idle_one(server):
    client, got = await login(server, "police1")
    try:
        assert got["resp"].cookies["hall_staff"]["max-age"] == str(ABSOLUTE_S)
    finally:
        await client.close()


async def test_a_console_socket_closes_when_its_session_ends(server):
    client, got = await login(server, "police1")
    try:
        ws = await client.ws_connect("/staff/api/ws")
        ws_ok = await client.ws_connect("/staff/api/ws")
        resp = await client.post("/staff/api/logout", headers={"X-CSRF-Token": got["me"]["csrf"]})
        assert resp.status == 200
        await ws.send_str("ping")
        msg = await ws.receive(timeout=5)
        assert msg.type == aiohttp.WSMsgType.CLOSE and msg.data == SESSION_ENDED
        await ws_ok.close()
    finally:
        await client.close()


async def test_inspectors_see_callers_numbers_masked(server, redis):
    await Handoff(redis).phone_transfer("voice-0123", "voice", "13800138000", "13800138000")
    await Handoff(redis).phone_transfer("voice-0456", "voice", "075588776655", "075588776655")
    inspector, _ = await login(server, "inspector")
    handler, _ = await login(server, "police1")
    try:
        calls = {c["conversation"]: c for c in (await (await inspector.get("/staff/api/phone-calls")).json())["calls"]}
        assert (calls["voice-0123"]["number"], calls["voice-0123"]["user_id"]) == ("138****8000", "138****8000")
        assert "88776655" not in str(calls["voice-0456"])
        calls = {c["conversation"]: c for c in (await (await handler.get("/staff/api/phone-calls")).json())["calls"]}
        assert calls["voice-0123"]["user_id"] == "13800138000"
    finally:
        await inspector.close()
        await handler.close()
