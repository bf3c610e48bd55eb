"""The hall's consultations as knowledge upkeep and content review use them: the recent list
(what citizens asked, without their personal data) and the public flag a reviewer sets, on
SQLite and PostgreSQL. The hall's clock is fixed on Friday 2026-11-27 10:00 (Shenzhen)."""
from datetime import timedelta

from tests.hall.common import CONSULTATION, FRIDAY, H, get, post

pytest_plugins = ["tests.hall.plugin"]


async def test_recent_consultations_carry_what_was_asked_without_personal_data(hall, clock):
    await post(hall, "/api/v1/consultations", CONSULTATION)
    clock.set(FRIDAY + timedelta(days=3))
    asked = {**CONSULTATION, "subject": "社保转移怎么办", "item_code": "",
             "content": "我的手机13800138001收不到验证码，社保转移怎么办？身份证440301199001011234"}
    status, later, _ = await post(hall, "/api/v1/consultations", asked)
    assert status == 201

    status, body = await get(hall, "/api/v1/consultations", {"since": "2026-11-27"})
    assert status == 200
    rows = body["consultations"]
    assert [r["number"] for r in rows][0] == later["number"] and len(rows) == 2          # newest first
    assert rows[0]["subject"] == "社保转移怎么办"
    assert "138****8001" in rows[0]["content"] and "13800138001" not in rows[0]["content"]
    assert "440301********1234" in rows[0]["content"]
    assert not {"name", "phone", "id_number"} & set(rows[0])

    status, body = await get(hall, "/api/v1/consultations", {"since": "2026-11-28"})
    assert [r["number"] for r in body["consultations"]] == [later["number"]]
    status, body = await get(hall, "/api/v1/consultations", {"since": "2026-11-27", "limit": "1"})
    assert len(body["consultations"]) == 1
    for bad in ({"since": "lately"}, {"since": "2026-11-27", "limit": "0"}, {"since": "2026-11-27", "limit": "x"}, {}):
        status, body = await get(hall, "/api/v1/consultations", bad)
        assert status == 400, bad


async def test_a_reviewer_sets_whether_a_consultation_is_public(hall):
    status, filed, _ = await post(hall, "/api/v1/consultations", {**CONSULTATION, "public": False})
    number = filed["number"]
    resp = await hall.patch(f"/api/v1/consultations/{number}", json={"public": True}, headers=H)
    assert resp.status == 200 and (await resp.json())["public"] is True
    assert (await get(hall, f"/api/v1/consultations/{number}"))[1]["public"] is True
    resp = await hall.patch(f"/api/v1/consultations/{number}", json={"public": "是"}, headers=H)
    assert resp.status == 400
    resp = await hall.patch("/api/v1/consultations/ZX00120261127999999", json={"public": True}, headers=H)
    assert resp.status == 404
    resp = await hall.patch(f"/api/v1/consultations/{number}", json={"public": False})
    assert resp.status == 401                                                           # no service key
