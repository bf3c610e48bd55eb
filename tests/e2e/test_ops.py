"""Operations through the real stack: no raw ID or phone number in any log file after a complaint
and an identity-checked case query; the audit trail holds the public access, the turns (with the
intent) and the filing, searchable and exportable by an administrator only; every process serves
its Prometheus metrics; the Python processes log JSON lines."""
from __future__ import annotations

import csv
import http.cookiejar
import io
import json
import re
import urllib.parse
import urllib.request
import uuid

import pytest
import redis

from common.sessions import conversation_id
from tests.conftest import reply_text

pytestmark = pytest.mark.e2e
NUMBER = re.compile(r"\bTS\d{17}\b")
PHONE, PHONE_TYPED = "13800138000", "138 0013 8000"


def fresh() -> str:
    return "ops-" + uuid.uuid4().hex[:12]


class Staff:
    """A staff console session over HTTP: the cookie jar keeps `hall_staff`."""

    def __init__(self, stack, username: str):
        self.stack = stack
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        status, self.me = self.request("POST", "/staff/api/login",
                                       {"username": username, "password": f"{username}-dev-pass"})
        assert status == 200, self.me

    def request(self, method: str, path: str, body=None) -> tuple[int, object]:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.stack.url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with self.opener.open(req, timeout=30) as resp:
                raw = resp.read()
                return resp.status, json.loads(raw) if "json" in resp.headers["Content-Type"] else raw
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read() or b"null")

    def audit(self, **query) -> list[dict]:
        status, body = self.request("GET", "/staff/api/admin/audit?" + urllib.parse.urlencode(query))
        assert status == 200, body
        return body["entries"]


@pytest.fixture(scope="module")
def filed(stack) -> dict:
    """A complaint with a name and a phone typed in groups, then a case query by ID number and phone."""
    from hall.seed import SAMPLES, _id

    me = fresh()
    for message in ["我要投诉", "上周三在福田区政务服务中心办居住证，窗口工作人员态度很差，还让我来回跑了三趟",
                    "福田区政务服务中心", "不知道", "我叫李明", PHONE_TYPED]:
        stack.say(me, message)
    number = NUMBER.search(reply_text(stack.say(me, "确认"))).group()
    asker, id_number, case_phone = fresh(), _id(SAMPLES[0][6]), SAMPLES[0][7]
    assert "手机" in reply_text(stack.say(asker, f"我想查办件进度，身份证号{id_number}"))
    assert SAMPLES[0][0] in reply_text(stack.say(asker, case_phone))
    return {"me": me, "number": number, "asker": asker, "raw": [PHONE, PHONE_TYPED, id_number, case_phone]}


def test_no_raw_id_or_phone_number_in_any_log_or_the_audit_trail(stack, filed):
    logs = sorted((stack.var / "logs").iterdir())
    assert {p.name for p in logs} >= {"gateway.log", "hall.log", "actions.log", "rasa.log", "redis.log"}
    for path in logs:
        text = path.read_text(encoding="utf-8", errors="replace")
        for raw in filed["raw"]:
            assert raw not in text, f"{raw} in {path.name}"
    audit = "\n".join(v.decode() for _, f in redis.Redis(port=stack.redis_port).xrange("audit") for v in f.values())
    for raw in filed["raw"] + ["李明"]:
        assert raw not in audit, raw
    # The full values live in the hall's own record.
    req = urllib.request.Request(f"{stack.hall_url}/api/v1/complaints/{filed['number']}",
                                 headers={"X-Hall-Key": "dev-hall-key-change-me"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert json.loads(resp.read())["content"].startswith("上周三在福田区政务服务中心")


def test_access_turns_and_the_filing_are_audited_for_administrators_only(stack, filed):
    inspector = Staff(stack, "inspector")
    status, body = inspector.request("GET", "/staff/api/admin/audit")
    assert status == 403 and "无权" in body["message"]
    admin = Staff(stack, "admin")
    conv = conversation_id("rest", filed["me"])
    [filing] = admin.audit(action="filing", target=filed["number"])
    assert filing["actor"] == conv and filing["details"] == {"kind": "complaint", "channel": "rest"}
    turns = admin.audit(actor=conv, action="turn")
    assert len(turns) == 7 and all(t["details"]["channel"] == "rest" for t in turns)
    assert "file_complaint" in {t["details"]["intent"] for t in turns}             # the intent, where an action heard it
    assert {t["details"]["text"] for t in turns} >= {"我叫李*", "138****8000"}
    access = admin.audit(action="http_access", target="/webhooks/rest/webhook", limit=5)
    assert access and access[0]["ip"] == "127.0.0.1" and access[0]["details"] == {"method": "POST", "status": 200}
    assert admin.audit(target="/healthz") == [] and admin.audit(target="/metrics") == []
    assert admin.audit(action="denied", actor="inspector")[0]["target"] == "/staff/api/admin/audit"
    status, raw = admin.request("GET", "/staff/api/admin/audit.csv?" + urllib.parse.urlencode({"actor": conv}))
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert status == 200 and rows[0][:3] == ["编号", "时间", "操作人"]
    assert {r[4] for r in rows[1:]} == {"turn", "filing"} and len(rows) == 1 + 7 + 1
    page = urllib.request.urlopen(stack.url + "/staff/static/admin/audit.html", timeout=10).read().decode()
    script = urllib.request.urlopen(stack.url + "/staff/static/admin/audit.js", timeout=10).read().decode()
    assert "审计日志" in page and 'const API = "/staff/api"' in script and 'call("/login"' in script


def metrics(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as resp:
        assert resp.headers["Content-Type"].startswith("text/plain")
        return resp.read().decode()


def value(text: str, sample: str) -> float:
    line = next((x for x in text.splitlines() if x.startswith(sample + " ")), None)
    assert line is not None, f"{sample} missing"
    return float(line.rsplit(" ", 1)[1])


def test_every_process_serves_its_metrics(stack, filed):
    gateway = metrics(stack.url + "/metrics")
    assert value(gateway, 'hall_turns_total{channel="rest"}') >= 9
    assert value(gateway, 'hall_turn_seconds_count{channel="rest"}') >= 9
    assert value(gateway, "hall_filing_backlog") == 0 and "hall_engine_errors_total" in gateway
    hall = metrics(stack.hall_url + "/metrics")
    assert value(hall, 'hall_api_requests_total{method="POST",route="/api/v1/complaints",status="201"}') >= 1
    assert value(hall, 'hall_api_request_seconds_count{method="GET",route="/api/v1/cases"}') >= 1   # by ID number
    assert "hall_turns_total" not in hall                       # each process shows only its own
    actions = metrics(f"http://127.0.0.1:{stack.base + 15}/metrics")
    assert value(actions, 'hall_action_runs_total{action="action_handle_confirmation",outcome="ok"}') >= 1
    assert value(actions, 'hall_action_seconds_count{action="action_query_case_status"}') >= 1


def test_python_processes_log_json_lines(stack, filed):
    sizes = {name: (stack.var / "logs" / name).stat().st_size for name in ("actions.log", "rasa.log")}
    stack.say(fresh(), "居住证怎么办理")
    for name in ("gateway.log", "hall.log"):
        lines = (stack.var / "logs" / name).read_text(encoding="utf-8").splitlines()
        assert lines and all(json.loads(line)["service"] == name[:-4] for line in lines), name
    for name, size in sizes.items():                # their start-up has third-party prints (README)
        with (stack.var / "logs" / name).open("rb") as f:
            f.seek(size)
            for line in f.read().decode("utf-8").splitlines():
                assert json.loads(line)["service"] == name[:-4], line
