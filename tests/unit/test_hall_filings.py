"""Consultations (9.3.1), complaints (9.3.2), opinion collection (9.3.3), statistics (9.4.5),
idempotency and input validation, through the HTTP API on SQLite and on PostgreSQL. The
hall's clock is fixed on Friday 2026-11-27 10:00 (Shenzhen)."""
from datetime import date, datetime, timedelta

import pytest

from common.clock import TZ
from hall import schedule
from hall.seed import SAMPLES, TOPICS, _id
from tests.hall.common import COMPLAINT, CONSULTATION, FRIDAY, H, get, post

pytest_plugins = ["tests.hall.plugin"]

# -- consultations ---------------------------------------------------------------------------
async def test_consultation_is_filed_numbered_and_answered(hall):
    status, body, _ = await post(hall, "/api/v1/consultations", CONSULTATION, "c-1")
    assert status == 201
    # ZX + 001 (from the item code) + filing date + sequence
    assert body["number"] == "ZX00120261127000001"
    assert body["status"] == "submitted" and body["filed_at"].startswith("2026-11-27T10:00:00+08:00")
    assert body["answer_due"] == "2026-12-02" and body["answer"] is None      # 3 working days, Fri -> Wed
    assert body["public"] is False and body["phone"] == "138****8001" and body["name"] == "陈**"

    status, again, _ = await post(hall, "/api/v1/consultations", {**CONSULTATION, "item_code": ""}, "c-2")
    assert status == 201 and again["number"] == "ZX00120261127000002"     # department name -> 001
    status, other, _ = await post(hall, "/api/v1/consultations",
                                  {**CONSULTATION, "department": "由大厅分派", "item_code": ""}, "c-3")
    assert other["number"] == "ZX00020261127000001"                       # unknown department: 000, own sequence

    number = body["number"]
    status, found = await get(hall, f"/api/v1/consultations/{number.lower()}")
    assert status == 200 and found["subject"] == CONSULTATION["subject"] and found["status_text"] == "已受理，待答复"
    answer = {"answer": "居住证签注可通过“深圳公安”微信公众号在线办理，无需本人到场。", "staff": "福田派出所户政窗口 张警官"}
    status, answered, _ = await post(hall, f"/api/v1/consultations/{number}/answer", answer)
    assert status == 200 and answered["status"] == "answered"
    assert answered["answer"]["text"] == answer["answer"] and answered["answer"]["staff"] == answer["staff"]
    status, found = await get(hall, f"/api/v1/consultations/{number}")
    assert found["answer"]["answered_at"].startswith("2026-11-27") and found["status_text"] == "已答复"
    status, body, _ = await post(hall, f"/api/v1/consultations/{number}/answer", answer)
    assert status == 409 and body["error"] == "already_answered"
    assert (await get(hall, "/api/v1/consultations/ZX00120261127999999"))[0] == 404
    assert (await get(hall, "/api/v1/consultations/not-a-number"))[0] == 404
    status, body, _ = await post(hall, "/api/v1/consultations/ZX00120261127999999/answer", answer)
    assert status == 404


async def test_consultation_keeps_its_attachments(hall):
    files = [{"name": "户口本首页.jpg", "content_type": "image/jpeg", "url": "https://files.example.cn/a.jpg"},
             {"name": "居住证.png", "content_type": "image/png", "url": "http://files.example.cn/b.png"}]
    status, body, _ = await post(hall, "/api/v1/consultations", {**CONSULTATION, "attachments": files, "public": True})
    assert status == 201 and body["attachments"] == files and body["public"] is True
    assert (await get(hall, f"/api/v1/consultations/{body['number']}"))[1]["attachments"] == files


# -- complaints ---------------------------------------------------------------------------------
async def test_complaint_states_its_time_limit_and_result_is_queryable(hall):
    status, body, _ = await post(hall, "/api/v1/complaints", COMPLAINT, "t-1")
    assert status == 201
    assert body["number"] == "TS01420261127000001"                  # 市场监督管理局南山监管局 -> 014
    assert body["time_limit_days"] == 5 and body["due_date"] == "2026-12-04"    # Fri + 5 working days = Fri
    assert body["status"] == "accepted" and body["result"] is None and body["overdue"] is False
    assert body["case_number"] == SAMPLES[2][0] and body["attachments"] == COMPLAINT["attachments"]
    number = body["number"]
    result = {"result": "经核查，该申请因现场核查排期延误，已于11月30日完成核查并发证。",
              "measures": "南山监管局已调整现场核查排期，超过10个工作日未核查的申请由科室负责人督办。", "staff": "南山监管局 李科长"}
    status, done, _ = await post(hall, f"/api/v1/complaints/{number}/result", result)
    assert status == 200 and done["status"] == "completed" and done["status_text"] == "已办结"
    status, found = await get(hall, f"/api/v1/complaints/{number}")
    assert found["result"]["text"] == result["result"] and found["result"]["measures"] == result["measures"]
    status, again, _ = await post(hall, f"/api/v1/complaints/{number}/result", result)
    assert status == 409 and again["error"] == "already_completed"
    assert (await get(hall, "/api/v1/complaints/TS01420261127000099"))[0] == 404


async def test_complaint_becomes_overdue_after_its_due_date(hall, clock):
    status, body, _ = await post(hall, "/api/v1/complaints", {**COMPLAINT, "department": "未指明（由大厅核实）"})
    assert body["number"].startswith("TS000") and not body["overdue"]
    clock.set(datetime(2026, 12, 7, 9, 0, tzinfo=TZ))       # the Monday after the due Friday
    assert (await get(hall, f"/api/v1/complaints/{body['number']}"))[1]["overdue"] is True


@pytest.mark.parametrize("filed, due", [
    (date(2026, 11, 23), date(2026, 11, 30)),      # Monday -> next Monday
    (date(2026, 11, 28), date(2026, 12, 4)),       # Saturday -> Friday (the weekend does not count)
    (date(2026, 12, 29), date(2027, 1, 6)),        # across New Year's Day (a holiday)
])
def test_working_days_skip_weekends_and_holidays(filed, due):
    assert schedule.add_working_days(filed, 5) == due


async def test_complaint_filed_on_a_saturday_is_due_the_next_friday(hall, clock):
    clock.set(datetime(2026, 11, 28, 15, 30, tzinfo=TZ))
    status, body, _ = await post(hall, "/api/v1/complaints", COMPLAINT)
    assert status == 201 and body["due_date"] == "2026-12-04" and body["number"][5:13] == "20261128"


# -- idempotency --------------------------------------------------------------------------------
@pytest.mark.parametrize("path, body", [("/api/v1/consultations", CONSULTATION), ("/api/v1/complaints", COMPLAINT)])
async def test_same_key_same_body_returns_the_first_result(hall, path, body):
    status, first, headers = await post(hall, path, body, "assistant-7f3a9c")
    assert status == 201 and "Idempotent-Replayed" not in headers
    status, again, headers = await post(hall, path, dict(reversed(list(body.items()))), "assistant-7f3a9c")
    assert status == 200 and again == first and headers["Idempotent-Replayed"] == "true"
    status, clash, _ = await post(hall, path, {**body, "content": body["content"] + "补充说明。"}, "assistant-7f3a9c")
    assert status == 409 and clash["error"] == "idempotency_key_reused"
    status, other, _ = await post(hall, path, body, "assistant-other")
    assert status == 201 and other["number"] != first["number"]
    status, stats = await get(hall, "/api/v1/statistics")
    kind = "consultations" if "consult" in path else "complaints"
    assert stats["by_kind"][kind]["total"]["received"] == 2


async def test_a_rejected_filing_does_not_use_up_its_key_or_a_number(hall):
    status, body, _ = await post(hall, "/api/v1/complaints", {**COMPLAINT, "phone": "12345"}, "k-bad")
    assert status == 400
    status, body, _ = await post(hall, "/api/v1/complaints", COMPLAINT, "k-bad")
    assert status == 201 and body["number"].endswith("000001")


async def test_idempotency_key_must_be_printable_ascii(hall):
    resp = await hall.post("/api/v1/complaints", json=COMPLAINT, headers={**H, "Idempotency-Key": "x" * 201})
    assert resp.status == 400 and (await resp.json())["error"] == "bad_idempotency_key"


# -- validation -----------------------------------------------------------------------------------
@pytest.mark.parametrize("change, code, field", [
    ({"phone": "1380013800"}, "bad_phone", "phone"),
    ({"phone": "23800138000"}, "bad_phone", "phone"),
    ({"phone": None}, "missing_field", "phone"),
    ({"name": "   "}, "missing_field", "name"),
    ({"name": "张" * 41}, "too_long", "name"),
    ({"department": ""}, "missing_field", "department"),
    ({"content": "太慢"}, "too_short", "content"),
    ({"content": "慢" * 2001}, "too_long", "content"),
    ({"content": 12345}, "bad_type", "content"),
    ({"channel": ""}, "missing_field", "channel"),
    ({"channel": "微信"}, "bad_value", "channel"),
    ({"id_number": "440304199003072810"}, "bad_id_number", "id_number"),
    ({"case_number": "TS-1"}, "bad_number", "case_number"),
    ({"respondent_name": "工号" * 20}, "too_long", "respondent_name"),
    ({"attachments": [{"name": "a.exe", "content_type": "application/x-msdownload", "url": "https://x.cn/a"}]},
     "bad_content_type", "attachments[0].content_type"),
    ({"attachments": [{"name": "a.pdf", "content_type": "application/pdf", "url": "ftp://x.cn/a"}]},
     "bad_url", "attachments[0].url"),
    ({"attachments": "a.pdf"}, "bad_type", "attachments"),
])
async def test_complaint_fields_are_checked(hall, change, code, field):
    status, body, _ = await post(hall, "/api/v1/complaints", {**COMPLAINT, **change})
    assert status == 400 and body["error"] == code and body["field"] == field and field in body["message"]


@pytest.mark.parametrize("change, code, field", [
    ({"public": "是"}, "bad_type", "public"),
    ({"public": None}, "missing_field", "public"),
    ({"subject": "问" * 101}, "too_long", "subject"),
    ({"subject": "控制\x07字符"}, "bad_value", "subject"),
    ({"item_code": "440300-1-QR-1"}, "bad_item_code", "item_code"),
    ({"consultation_type": ""}, "missing_field", "consultation_type"),
])
async def test_consultation_fields_are_checked(hall, change, code, field):
    status, body, _ = await post(hall, "/api/v1/consultations", {**CONSULTATION, **change})
    assert status == 400 and body["error"] == code and body["field"] == field


async def test_one_line_fields_have_their_line_breaks_folded(hall):
    status, body, _ = await post(hall, "/api/v1/consultations", {**CONSULTATION, "subject": " 居住证\n签注\t问题 "})
    assert status == 201 and body["subject"] == "居住证 签注 问题"


async def test_good_variants_are_accepted(hall):
    valid_id = _id(SAMPLES[0][6])
    status, body, _ = await post(hall, "/api/v1/complaints",
                                 {**COMPLAINT, "phone": "0755-88123456", "id_number": valid_id.lower(),
                                  "respondent_name": "工号A0231"})
    assert status == 201 and body["respondent_name"] == "工号A0231"


async def test_bodies_must_be_json_objects(hall):
    resp = await hall.post("/api/v1/complaints", data=b"not json", headers=H)
    assert resp.status == 400 and (await resp.json())["error"] == "bad_json"
    status, body, _ = await post(hall, "/api/v1/complaints", [COMPLAINT])
    assert status == 400 and body["error"] == "bad_json"


async def test_every_api_route_needs_the_key(hall):
    for method, path in [("POST", "/api/v1/consultations"), ("GET", "/api/v1/complaints/TS00020261127000001"),
                         ("GET", "/api/v1/opinion-topics"), ("GET", "/api/v1/statistics"), ("GET", "/api/v1/halls"),
                         ("DELETE", "/api/v1/appointments/YY00120261127000001")]:
        resp = await hall.request(method, path, json={})
        assert resp.status == 401, path
        assert (await resp.json())["error"] == "unauthorized"
    assert (await hall.get("/openapi.json")).status == 200
    resp = await hall.get("/api/v1/no-such-thing", headers=H)
    assert resp.status == 404 and (await resp.json())["error"] == "not_found"


# -- opinion collection ----------------------------------------------------------------------------
async def test_current_topics_state_their_response_time_and_take_opinions(hall):
    status, body = await get(hall, "/api/v1/opinion-topics")
    topics = body["topics"]
    open_ids = {t[0] for t in TOPICS if t[6] >= 0}
    assert status == 200 and {t["id"] for t in topics} == open_ids       # the closed topic is not listed
    assert all(t["respond_within_days"] > 0 and t["opened_on"] <= "2026-11-27" <= t["closes_on"] for t in topics)
    topic = next(t for t in topics if t["id"] == "T03")
    opinion = {"content": "建议租房提取额度按区分档，并支持每月自动提取到本人银行卡。", "name": "李娜",
               "phone": "13900139002", "channel": "app"}
    status, receipt, _ = await post(hall, "/api/v1/opinion-topics/T03/opinions", opinion, "o-1")
    assert status == 201 and receipt["number"] == "YJ00720261127000001"
    assert receipt["respond_within_days"] == topic["respond_within_days"] == 15
    assert receipt["respond_by"] == schedule.add_working_days(date(2026, 11, 27), 15).isoformat()
    status, anonymous, _ = await post(hall, "/api/v1/opinion-topics/T01/opinions",
                                      {"content": "希望更多事项可以全程网上办理，不用跑现场。", "channel": "web"})
    assert status == 201 and anonymous["number"].startswith("YJ000")
    assert (await post(hall, "/api/v1/opinion-topics/T03/opinions", opinion, "o-1"))[0] == 200
    counts = {t["id"]: t["opinion_count"] for t in (await get(hall, "/api/v1/opinion-topics"))[1]["topics"]}
    assert counts["T03"] == 1 and counts["T01"] == 1
    status, closed, _ = await post(hall, "/api/v1/opinion-topics/T05/opinions", opinion)
    assert status == 409 and closed["error"] == "topic_closed"
    assert (await post(hall, "/api/v1/opinion-topics/T99/opinions", opinion))[0] == 404
    status, bad, _ = await post(hall, "/api/v1/opinion-topics/T03/opinions", {**opinion, "phone": "110"})
    assert status == 400 and bad["field"] == "phone"


# -- statistics ----------------------------------------------------------------------------------
async def test_statistics_count_consultations_and_complaints(hall, clock):
    before = (await get(hall, "/api/v1/statistics"))[1]
    assert before["by_kind"]["cases"]["total"]["received"] == len(SAMPLES)
    c = (await post(hall, "/api/v1/consultations", CONSULTATION))[1]
    await post(hall, "/api/v1/consultations", {**CONSULTATION, "subject": "另一个问题"})
    t = (await post(hall, "/api/v1/complaints", COMPLAINT))[1]
    await post(hall, f"/api/v1/consultations/{c['number']}/answer", {"answer": "可以网上办理。", "staff": "窗口"})
    clock.set(FRIDAY + timedelta(days=4))                                # Tuesday 1 December: a new month
    await post(hall, f"/api/v1/complaints/{t['number']}/result", {"result": "已督办办结。", "staff": "督查科"})
    await post(hall, "/api/v1/complaints", COMPLAINT)
    stats = (await get(hall, "/api/v1/statistics"))[1]
    assert stats["by_kind"]["consultations"]["total"] == {"received": 2, "completed": 1}
    assert stats["by_kind"]["complaints"]["total"] == {"received": 2, "completed": 1}
    assert stats["by_kind"]["complaints"]["today"] == {"received": 1, "completed": 1}
    assert stats["by_kind"]["consultations"]["month"] == {"received": 0, "completed": 0}
    assert stats["total"]["received"] == before["total"]["received"] + 4
    assert stats["total"]["completed"] == before["total"]["completed"] + 2
    assert stats["today"]["received"] == sum(stats["by_kind"][k]["today"]["received"] for k in stats["by_kind"])
