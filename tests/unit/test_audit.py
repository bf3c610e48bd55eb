"""The audit trail on a real redis-server: personal data masked before it is stored, search by
actor, action, target and time with paging, retention trimming once across processes, the
public-access middleware, and the administrators' search and CSV export (roles, CSRF-free GETs,
Chinese errors, every search itself audited)."""
from __future__ import annotations

import asyncio
import csv
import io
import time

import pytest
import redis.asyncio as aioredis
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from assistant.access_audit import access_audit
from assistant.audit_retention import AuditSettings
from common import audit
from common.config import Settings
from common.delivery import Delivery
from common.hall_client import HallClient
from staff.accounts import Accounts
from staff.admin_audit import parse_time
from staff.app import PREFIX as STAFF_PREFIX, create_staff_app

pytest_plugins = ["tests.redis_server"]
RAW_ID, RAW_PHONE = "440304199003072815", "13800138000"


@pytest.fixture
async def redis(redis_port):
    client = aioredis.Redis(port=redis_port)
    await client.flushdb()
    yield client
    await client.aclose()


async def stored(redis) -> str:
    """Everything the stream holds, as one text."""
    return "\n".join(v.decode() for _, fields in await redis.xrange(audit.STREAM) for v in fields.values())


async def test_personal_data_is_masked_before_it_is_stored(redis):
    await audit.record(redis, "conv-1", "citizen", "turn", "conv-1", "", channel="rest",
                       text=f"我叫李明，身份证{RAW_ID}，电话138 0013 8000", name="王芳", phone=RAW_PHONE,
                       nested={"id_number": RAW_ID, "list": [RAW_PHONE]})
    text = await stored(redis)
    for raw in (RAW_ID, RAW_PHONE, "138 0013 8000", "李明", "王芳"):
        assert raw not in text, raw
    [row] = await audit.search(redis)
    assert row["details"]["name"] == "王*" and row["details"]["phone"] == "138****8000"
    assert row["details"]["nested"] == {"id_number": "440304********2815", "list": ["138****8000"]}
    assert "我叫李*" in row["details"]["text"] and "440304********2815" in row["details"]["text"]


async def test_search_filters_and_pages_newest_first(redis):
    for n in range(1200):
        await audit.record(redis, f"user{n % 3}", "handler", "claim" if n % 2 else "reply", f"conv-{n}", "10.0.0.1")
    assert len(await audit.search(redis, limit=5000)) == 1200
    mine = await audit.search(redis, actor="user1", action="claim", limit=5000)
    assert len(mine) == 200 and all(r["actor"] == "user1" and r["action"] == "claim" for r in mine)
    assert [r["target"] for r in await audit.search(redis, target="conv-119", limit=50)] == \
        ["conv-1199", "conv-1198", "conv-1197", "conv-1196", "conv-1195", "conv-1194", "conv-1193", "conv-1192",
         "conv-1191", "conv-1190", "conv-119"]
    first = await audit.search(redis, limit=700)
    rest = await audit.search(redis, before=first[-1]["id"], limit=700)
    assert first[0]["target"] == "conv-1199" and len(rest) == 500
    assert {r["id"] for r in first}.isdisjoint(r["id"] for r in rest)


async def test_time_range_uses_the_entries_own_time(redis):
    now_ms = int(time.time() * 1000)
    for days_ago in (300, 100, 10, 1):
        ms = now_ms - days_ago * 86_400_000
        await redis.xadd(audit.STREAM, {"at": f"{ms / 1000:.3f}", "actor": f"d{days_ago}", "role": "admin",
                                        "action": "login", "target": "", "ip": "", "details": "{}"}, id=f"{ms}-0")
    since, until = time.time() - 50 * 86400, time.time() - 5 * 86400
    assert [r["actor"] for r in await audit.search(redis, since=since, until=until)] == ["d10"]
    assert [r["actor"] for r in await audit.search(redis, since=since)] == ["d1", "d10"]


async def test_trimming_keeps_the_retention_period_and_runs_once_across_processes(redis):
    now_ms = int(time.time() * 1000)
    for days_ago in (400, 201, 199, 0):
        ms = now_ms - days_ago * 86_400_000
        await redis.xadd(audit.STREAM, {"at": f"{ms / 1000:.3f}", "actor": f"d{days_ago}", "role": "", "action": "x",
                                        "target": "", "ip": "", "details": "{}"}, id=f"{ms}-0")
    others = [aioredis.Redis(port=redis.connection_pool.connection_kwargs["port"]) for _ in range(4)]
    try:
        results = await asyncio.gather(*(audit.trim_once(r, 200, 86400) for r in others))
    finally:
        for r in others:
            await r.aclose()
    assert sorted(results, key=str) == [2, None, None, None]
    left = [r["actor"] for r in await audit.search(redis)]
    assert left == ["system", "d0", "d199"]                # the trim itself is audited
    assert await audit.trim_once(redis, 200, 86400) is None


def test_retention_shorter_than_six_months_is_refused(monkeypatch):
    assert AuditSettings().retention_days == 200
    monkeypatch.setenv("AUDIT_RETENTION_DAYS", "90")
    with pytest.raises(ValueError, match="six months"):
        AuditSettings()


def test_admin_times_are_china_time_and_a_bare_until_date_covers_the_day():
    assert parse_time("2026-03-01") == 1772294400.0          # 2026-03-01 00:00 +08:00
    assert parse_time("2026-03-01", end_of_day=True) == 1772294400.0 + 86400
    assert parse_time("2026-03-01T09:30", end_of_day=True) == 1772294400.0 + 9.5 * 3600


# --- over HTTP ---------------------------------------------------------------------------------
@pytest.fixture
async def client(redis):
    await Accounts(redis).ensure_dev_accounts()
    hall = HallClient("http://127.0.0.1:9", "unused", 1)      # the audit routes never call the hall
    app = web.Application(middlewares=[access_audit(redis)])
    app.add_subapp(STAFF_PREFIX, create_staff_app(redis, Delivery(redis, {}), hall, Settings())[0])

    async def healthz(request):
        return web.json_response({"status": "ok"})

    async def boom(request):
        raise web.HTTPNotFound()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/chat/{x}", boom)
    async with TestClient(TestServer(app)) as c:
        yield c
    await hall.close()


async def login(client, username: str) -> dict:
    resp = await client.post("/staff/api/login", json={"username": username, "password": f"{username}-dev-pass"})
    assert resp.status == 200
    return await resp.json()


async def test_public_access_is_audited_without_health_checks_or_query_strings(client, redis):
    assert (await client.get("/healthz")).status == 200
    assert (await client.get(f"/chat/page?phone={RAW_PHONE}&token=secret")).status == 404
    rows = await audit.search(redis, action="http_access")
    assert [(r["target"], r["details"]) for r in rows] == [("/chat/page", {"method": "GET", "status": 404})]
    assert rows[0]["ip"] == "127.0.0.1" and rows[0]["actor"] == "anonymous"
    assert RAW_PHONE not in await stored(redis) and "secret" not in await stored(redis)


async def test_only_administrators_search_and_each_search_is_audited(client, redis):
    resp = await client.get("/staff/api/admin/audit")
    assert resp.status == 401 and (await resp.json())["message"] == "请先登录。"
    await login(client, "inspector")
    resp = await client.get("/staff/api/admin/audit")
    assert resp.status == 403 and "无权" in (await resp.json())["message"]
    assert (await audit.search(redis, actor="inspector", action="denied"))[0]["target"] == "/staff/api/admin/audit"
    client.session.cookie_jar.clear()
    await login(client, "admin")
    resp = await client.get("/staff/api/admin/audit", params={"action": "login", "limit": "1"})
    body = await resp.json()
    assert resp.status == 200 and [e["actor"] for e in body["entries"]] == ["admin"]
    assert body["next"] == body["entries"][0]["id"] and body["entries"][0]["time"][:2] == "20"
    older = await (await client.get("/staff/api/admin/audit", params={"action": "login", "before": body["next"]})).json()
    assert [e["actor"] for e in older["entries"]] == ["inspector"] and older["next"] == ""
    [searched, *_] = await audit.search(redis, action="audit_search")
    assert searched["actor"] == "admin" and searched["details"]["filters"]["action"] == "login"


@pytest.mark.parametrize("query, message", [
    ({"since": "昨天"}, "时间格式不正确"), ({"since": "2026-03-02", "until": "2026-03-01"}, "开始时间应早于结束时间"),
    ({"limit": "abc"}, "每页条数应为数字"), ({"limit": "100000"}, "每页条数应在1到500之间"),
    ({"before": "1-2; DROP"}, "翻页参数不正确")])
async def test_bad_filters_get_a_chinese_message(client, query, message):
    await login(client, "admin")
    resp = await client.get("/staff/api/admin/audit", params=query)
    assert resp.status == 400 and message in (await resp.json())["message"]


async def test_csv_export_is_masked_quoted_and_filtered(client, redis):
    await audit.record(redis, "conv-9", "citizen", "turn", "conv-9", "", text=f"=HYPERLINK(\"x\") {RAW_PHONE}")
    await audit.record(redis, "police1", "handler", "claim", "conv-9", "10.1.2.3")
    await login(client, "inspector")
    assert (await client.get("/staff/api/admin/audit.csv")).status == 403
    client.session.cookie_jar.clear()
    await login(client, "admin")
    resp = await client.get("/staff/api/admin/audit.csv", params={"target": "conv-9"})
    assert resp.status == 200 and resp.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in resp.headers["Content-Disposition"]
    raw = await resp.read()
    assert raw.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0] == ["编号", "时间", "操作人", "角色", "操作", "对象", "来源地址", "详情"]
    assert [(r[2], r[4], r[5]) for r in rows[1:]] == [("police1", "claim", "conv-9"), ("conv-9", "turn", "conv-9")]
    assert RAW_PHONE not in raw.decode() and "138****8000" in rows[2][7]
    assert (await audit.search(redis, action="audit_export"))[0]["details"]["filters"]["target"] == "conv-9"


async def test_csv_cells_that_look_like_formulas_are_quoted(client, redis):
    await audit.record(redis, "=cmd|' /C calc'!A0", "citizen", "turn", "+1", "")
    await login(client, "admin")
    raw = await (await client.get("/staff/api/admin/audit.csv", params={"action": "turn"})).read()
    row = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))[1]
    assert row[2] == "'=cmd|' /C calc'!A0" and row[5] == "'+1"


async def test_a_queued_filing_that_lands_is_audited_with_its_number(redis, tmp_path):
    from assistant.filing_worker import FilingWorker
    from common import filings
    from hall.app import create_app
    from tests.hall.common import COMPLAINT, KEY

    async with TestServer(create_app(tmp_path / "hall.db", KEY)) as server:
        hall = HallClient(str(server.make_url("")).rstrip("/"), KEY, 10)
        try:
            await filings.enqueue(redis, "complaint", {**COMPLAINT, "channel": "rest"}, "idem-1", "rest-queued")
            [(entry_id, fields)] = await redis.xrange(filings.STREAM)
            await FilingWorker(redis, hall, Delivery(redis, {}))._file(
                entry_id, {k.decode(): v.decode() for k, v in fields.items()})
        finally:
            await hall.close()
    [filed] = await audit.search(redis, action="filing")
    assert filed["actor"] == "rest-queued" and filed["target"].startswith("TS")
    assert filed["details"] == {"kind": "complaint", "channel": "rest", "queued": True}


async def test_a_conversation_id_is_kept_whole_even_when_its_hex_looks_like_a_phone(redis):
    conv = "rest-ab13812345678cd0123456789abcdef0"     # sessions.conversation_id's form
    assert len(conv.split("-")[1]) == 32
    await audit.record(redis, conv, "citizen", "turn", conv, "", conversation=conv, text="电话13812345678")
    [row] = await audit.search(redis, target=conv)
    assert row["actor"] == conv and row["details"]["conversation"] == conv
    assert row["details"]["text"] == "电话138****5678"
