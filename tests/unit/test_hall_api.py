"""The reference hall's API, in-process on a fresh database: a temporary SQLite file and a
throwaway PostgreSQL database (each test runs on both)."""
from datetime import timedelta

import pytest
from aiohttp.test_utils import TestClient, TestServer

from hall import schedule
from hall.app import create_app
from hall.seed import SAMPLES, _id

pytest_plugins = ["tests.hall.plugin"]
KEY = "test-key"


@pytest.fixture
async def client(db_target):
    async with TestClient(TestServer(create_app(db_target, KEY))) as c:
        yield c


async def test_api_refuses_callers_without_the_key(client):
    resp = await client.get(f"/api/v1/cases/{SAMPLES[0][0]}")
    assert resp.status == 401
    resp = await client.get(f"/api/v1/cases/{SAMPLES[0][0]}", headers={"X-Hall-Key": "wrong"})
    assert resp.status == 401
    assert (await client.get("/healthz")).status == 200


async def test_case_by_number_has_the_fields_of_9_2_5(client):
    resp = await client.get(f"/api/v1/cases/{SAMPLES[0][0].lower()}", headers={"X-Hall-Key": KEY})
    case = await resp.json()
    assert resp.status == 200
    for key in ("item_type", "item_code", "item_name", "case_name", "applied_at", "department", "stages"):
        assert case[key]
    assert [s["stage"] for s in case["stages"]][:4] == ["申办", "受理", "审批", "办结"]
    assert "id_number" not in case and "phone" not in case and case["applicant_name"].endswith("*")
    missing = await client.get("/api/v1/cases/QR00119990101000000", headers={"X-Hall-Key": KEY})
    assert missing.status == 404


async def test_case_by_id_needs_a_matching_phone(client):
    id_number = _id(SAMPLES[0][6])
    h = {"X-Hall-Key": KEY}
    assert (await client.get("/api/v1/cases", params={"id_number": id_number}, headers=h)).status == 400
    wrong = await (await client.get("/api/v1/cases", params={"id_number": id_number, "phone": "13000000000"},
                                    headers=h)).json()
    assert wrong["cases"] == []
    right = await (await client.get("/api/v1/cases", params={"id_number": id_number, "phone": SAMPLES[0][7]},
                                    headers=h)).json()
    assert {c["number"] for c in right["cases"]} == {s[0] for s in SAMPLES if s[6] == SAMPLES[0][6]}
    bad = await client.get("/api/v1/cases", params={"id_number": "123", "phone": "13800138001"}, headers=h)
    assert bad.status == 400


async def test_slots_only_on_open_days_within_the_window(client):
    h = {"X-Hall-Key": KEY}
    today = schedule.now().date()          # the hall runs on Shenzhen time
    day = schedule.next_open_day(today)
    body = await (await client.get("/api/v1/appointments/slots",
                                   params={"service_code": "440300-001-QR-0001", "date": day.isoformat()}, headers=h)).json()
    assert body["open"] and [s["start"] for s in body["slots"]] == schedule.slot_starts(day)
    saturday = today + timedelta(days=(5 - today.weekday()) % 7 or 7)
    closed = await (await client.get("/api/v1/appointments/slots",
                                     params={"service_code": "440300-001-QR-0001", "date": saturday.isoformat()},
                                     headers=h)).json()
    assert closed["slots"] == [] and closed["next_open_day"] > saturday.isoformat()
    bad = await client.get("/api/v1/appointments/slots", params={"service_code": "x", "date": "tomorrow"}, headers=h)
    assert bad.status == 400


async def test_statistics_count_received_and_completed(client):
    body = await (await client.get("/api/v1/statistics", headers={"X-Hall-Key": KEY})).json()
    assert body["total"]["received"] == len(SAMPLES)
    assert body["total"]["completed"] == sum(1 for s in SAMPLES if any(st[0] == "办结" for st in s[10]))
