"""Knowledge upkeep (standard 9.3.1.4) and content safety (8.1.2) through the real stack:
unanswered questions become a candidate, a publisher drafts an FAQ entry from it, someone else
approves, it is published and answered at once with nothing restarted; versions and rollback
change what the assistant says; every admin endpoint checks its roles; a public consultation
with a sensitive word is held for review; an assistant reply with one never reaches the citizen."""
from __future__ import annotations

import http.cookiejar
import json
import re
import urllib.error
import urllib.parse
import urllib.request
import uuid

import pytest
import redis

from common.reply_filter import SAFE_APOLOGY
from tests.conftest import reply_text

pytestmark = pytest.mark.e2e
HALL_KEY = "dev-hall-key-change-me"
KB = "/staff/api/admin/knowledge"
SAFETY = "/staff/api/admin/safety"
PASSWORDS = {"admin": "admin-dev-pass", "publisher": "publisher-dev-pass", "inspector": "inspector-dev-pass",
             "police1": "police1-dev-pass"}
KITE = ["莲花山公园可以放风筝吗", "莲花山公园能放风筝吗", "莲花山能不能放风筝"]
KITE_ANSWER = "莲花山公园山顶广场西侧草坪可以放风筝，请避开高压线和人群密集处，风筝线不得使用金属线。"


def fresh() -> str:
    return "k-" + uuid.uuid4().hex[:12]


def said(stack, message: str, me: str | None = None) -> str:
    return reply_text(stack.say(me or fresh(), message))


class Staff:
    """One staff member's browser: the session cookie and the CSRF token of /staff/api/login."""

    def __init__(self, stack, username: str, password: str | None = None):
        self.url = stack.url
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        self.csrf = ""
        if password is not None:
            status, me = self.call("POST", "/staff/api/login", {"username": username, "password": password})
            assert status == 200, me
            self.csrf = me["csrf"]

    def call(self, method: str, path: str, body=None, csrf: bool = True) -> tuple[int, dict]:
        data = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"} if data is not None else {}
        if csrf and self.csrf:
            headers["X-CSRF-Token"] = self.csrf
        req = urllib.request.Request(self.url + path, data=data, headers=headers, method=method)
        try:
            with self.opener.open(req, timeout=180) as resp:
                return resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read() or b"null")

    def ok(self, method: str, path: str, body=None) -> dict:
        status, data = self.call(method, path, body)
        assert status == 200, (method, path, status, data)
        return data


@pytest.fixture(scope="module")
def staff(stack) -> dict[str, Staff]:
    return {name: Staff(stack, name, password) for name, password in PASSWORDS.items()}


@pytest.fixture(scope="module")
def store(stack) -> redis.Redis:
    return redis.Redis(port=stack.redis_port, decode_responses=True)


def audited(store: redis.Redis, actor: str, action: str) -> list[dict]:
    return [f for _, f in store.xrange("audit") if f["actor"] == actor and f["action"] == action]


def hall(stack, method: str, path: str, body=None) -> dict:
    req = urllib.request.Request(stack.hall_url + path, data=None if body is None else json.dumps(body).encode(),
                                 headers={"X-Hall-Key": HALL_KEY, "Content-Type": "application/json"}, method=method)
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read())


def published(staff: dict[str, Staff], fields: dict, kind: str = "faq", target: str = "", author: str = "publisher",
              reviewer: str = "admin") -> dict:
    change = staff[author].ok("POST", f"{KB}/changes", {"kind": kind, "target": target, "fields": fields})
    staff[author].ok("POST", f"{KB}/changes/{change['id']}/submit", {})
    staff[reviewer].ok("POST", f"{KB}/changes/{change['id']}/approve", {"note": "核对无误"})
    return staff[reviewer].ok("POST", f"{KB}/changes/{change['id']}/publish", {})


def test_unanswered_questions_become_an_faq_entry_answered_without_a_restart(stack, staff, store):
    for question in KITE:
        assert KITE_ANSWER[:12] not in said(stack, question)
    misses = [f for _, f in store.xrange("unanswered")]
    assert {q for q in KITE} <= {m["text"] for m in misses}
    kites = [m for m in misses if m["text"] in KITE]          # other tests' misses share the stream
    assert all(m["channel"] == "rest" and m["conversation"].startswith("rest-") and float(m["at"]) > 0 for m in kites)

    found = staff["publisher"].ok("GET", f"{KB}/candidates?days=7&min_size=2")
    kite = next(c for c in found["candidates"] if c["representative"] in KITE)
    assert kite["size"] >= 3 and kite["unanswered"] >= 3 and set(KITE) <= set(kite["examples"])
    assert kite["nearest"] and not kite["nearest"]["covered"]
    assert found["hall_available"] is True

    others = [e for e in kite["examples"] if e != kite["representative"]]
    fields = {"question": kite["representative"] + "？", "alt_questions": others, "answer": KITE_ANSWER,
              "item_code": "", "tags": ["公园"]}
    change = staff["publisher"].ok("POST", f"{KB}/changes", {"kind": "faq", "target": "", "fields": fields,
                                                             "candidate": kite["representative"]})
    assert change["state"] == "draft" and change["target"].startswith("kb-")
    staff["publisher"].ok("POST", f"{KB}/changes/{change['id']}/submit", {})
    status, refused = staff["publisher"].call("POST", f"{KB}/changes/{change['id']}/approve", {})
    assert (status, refused["error"]) == (403, "own_change") and "不能审核自己" in refused["message"]
    assert KITE_ANSWER[:12] not in said(stack, KITE[1])              # submitted is not published
    staff["admin"].ok("POST", f"{KB}/changes/{change['id']}/approve", {"note": "内容准确"})
    done = staff["publisher"].ok("POST", f"{KB}/changes/{change['id']}/publish", {})
    assert done["state"] == "published" and done["version"] == 1

    for question in KITE:                                            # the very next turn answers
        assert KITE_ANSWER in said(stack, question)
    again = staff["publisher"].ok("GET", f"{KB}/candidates?days=7&min_size=2")
    kite = next(c for c in again["candidates"] if c["representative"] in KITE)
    assert kite["nearest"]["covered"] and kite["nearest"]["key"] == change["target"]

    for action in ("kb_candidates", "kb_create", "kb_submit", "kb_approve_refused", "kb_publish"):
        assert audited(store, "publisher", action), action
    assert audited(store, "admin", "kb_approve")[-1]["target"] == change["id"]


def test_versions_are_kept_and_rollback_changes_the_answer(stack, staff):
    question = "电子证照是什么"
    original = said(stack, question)
    assert "电子证照是由政府部门依法签发" in original
    entry = staff["inspector"].ok("GET", f"{KB}/entries/faq/general-004")
    fields = dict(entry["effective"])
    first = published(staff, {**fields, "answer": "第一次修订：电子证照由发证部门依法签发，与纸质证照具有同等法律效力。"},
                      target="general-004")
    assert "第一次修订" in said(stack, question)
    published(staff, {**fields, "answer": "第二次修订：电子证照与纸质证照具有同等法律效力，可在粤省事卡包出示。"},
              target="general-004", author="publisher", reviewer="admin")
    assert "第二次修订" in said(stack, question)

    status, refused = staff["inspector"].call("POST", f"{KB}/entries/faq/general-004/rollback", {"version": 1})
    assert status == 403 and refused["error"] == "forbidden"
    back = staff["admin"].ok("POST", f"{KB}/entries/faq/general-004/rollback", {"version": 1})
    assert back["version"] == 3 and back["rollback_of"] == 1
    assert "第一次修订" in said(stack, question)
    staff["admin"].ok("POST", f"{KB}/entries/faq/general-004/rollback", {"version": 0})
    assert "电子证照是由政府部门依法签发" in said(stack, question)

    history = staff["inspector"].ok("GET", f"{KB}/entries/faq/general-004")["versions"]
    assert [(v["version"], v["author"], v["reviewer"], v["rollback_of"]) for v in history] == [
        (1, "publisher", "admin", None), (2, "publisher", "admin", None), (3, "admin", "", 1), (4, "admin", "", 0)]
    assert all(v["published_at"] >= first["updated_at"] - 1 for v in history)


def test_an_item_field_change_shows_in_the_service_guide(stack, staff):
    code = "440300-001-QR-0001"
    entry = staff["publisher"].ok("GET", f"{KB}/entries/item/{code}")
    fees = {"charged": False, "standard": "首次申领、签注和补领均不收费（2026年起取消工本费）", "basis": ""}
    published(staff, {**entry["effective"], "fees": fees}, kind="item", target=code)
    assert "2026年起取消工本费" in said(stack, "居住证要交钱吗")
    staff["admin"].ok("POST", f"{KB}/entries/item/{code}/rollback", {"version": 0})
    assert "2026年起取消工本费" not in said(stack, "居住证要交钱吗")


ENDPOINTS = [  # method, path, body, roles allowed
    ("GET", f"{KB}/candidates?days=1", None, {"admin", "publisher", "inspector"}),
    ("GET", f"{KB}/changes", None, {"admin", "publisher", "inspector"}),
    ("POST", f"{KB}/changes", {"kind": "faq", "target": "", "fields": {"question": "短"}}, {"publisher"}),
    ("GET", f"{KB}/changes/999999", None, {"admin", "publisher", "inspector"}),
    ("PUT", f"{KB}/changes/999999", {"fields": {}}, {"publisher"}),
    ("POST", f"{KB}/changes/999999/submit", {}, {"publisher"}),
    ("POST", f"{KB}/changes/999999/approve", {}, {"admin", "publisher"}),
    ("POST", f"{KB}/changes/999999/return", {"note": "不对"}, {"admin", "publisher"}),
    ("POST", f"{KB}/changes/999999/publish", {}, {"admin", "publisher"}),
    ("POST", f"{KB}/changes/999999/discard", {}, {"admin", "publisher"}),
    ("GET", f"{KB}/entries?kind=faq&q={urllib.parse.quote('电子证照')}", None, {"admin", "publisher", "inspector"}),
    ("GET", f"{KB}/entries/faq/general-001", None, {"admin", "publisher", "inspector"}),
    ("POST", f"{KB}/entries/faq/no-such-entry/rollback", {"version": 0}, {"admin", "publisher"}),
    ("GET", f"{SAFETY}/review", None, {"admin", "inspector"}),
    ("POST", f"{SAFETY}/review/1-0/approve", {}, {"admin", "inspector"}),
    ("POST", f"{SAFETY}/review/1-0/reject", {}, {"admin", "inspector"}),
]


def test_every_knowledge_and_safety_endpoint_checks_roles_session_and_csrf(stack, staff, store):
    anonymous = Staff(stack, "anonymous")
    for method, path, body, allowed in ENDPOINTS:
        assert anonymous.call(method, path, body)[0] == 401, path
        for role, member in staff.items():
            status, answer = member.call(method, path, body)
            if role in allowed:
                assert status != 403 and status < 500, (role, method, path, status, answer)
            else:
                assert (status, answer["error"]) == (403, "forbidden"), (role, method, path, status, answer)
                assert "无权" in answer["message"]
        if method != "GET":
            writer = staff[sorted(allowed)[0]]
            status, answer = writer.call(method, path, body, csrf=False)
            assert (status, answer["error"]) == (403, "csrf"), (method, path)
    assert audited(store, "inspector", "denied") and audited(store, "police1", "denied")
    # Inspectors read everything but edit nothing.
    assert staff["inspector"].call("GET", f"{KB}/changes")[0] == 200
    status, _ = staff["inspector"].call("POST", f"{KB}/changes", {"kind": "faq", "target": "", "fields": {}})
    assert status == 403


def test_a_public_consultation_with_a_sensitive_word_is_held_for_review(stack, staff, store):
    me = fresh()
    content = "最近群里有人发刷单返利的广告，说是社保局招的兼职，这是真的吗"
    for message in ("我想提交一个咨询", content, "市社保局", "政策咨询", "公开", "赵敏", "13600136000"):
        summary = said(stack, message, me)
    assert "刷单返利" in summary and "是否公开：是" in summary         # the citizen's own words come back to them
    filed = said(stack, "确认提交", me)
    number = re.search(r"ZX\d{17}", filed).group()
    assert "不宜公开" in filed and "诈骗" in filed and "不公开" in filed
    assert hall(stack, "GET", f"/api/v1/consultations/{number}")["public"] is False

    queue = staff["inspector"].ok("GET", f"{SAFETY}/review")["entries"]
    held = next(e for e in queue if e.get("number") == number)
    assert held["kind"] == "consultation" and held["words"] == [{"word": "刷单返利", "category": "诈骗"}]
    assert held["text"] == content.replace("，", ",") and held["decision"] is None
    status, refused = staff["publisher"].call("POST", f"{SAFETY}/review/{held['id']}/approve", {})
    assert status == 403
    staff["inspector"].ok("POST", f"{SAFETY}/review/{held['id']}/approve", {"note": "市民反映诈骗，可公开提醒他人"})
    assert hall(stack, "GET", f"/api/v1/consultations/{number}")["public"] is True
    status, again = staff["admin"].call("POST", f"{SAFETY}/review/{held['id']}/reject", {})
    assert (status, again["error"]) == (409, "decided")
    decided = staff["admin"].ok("GET", f"{SAFETY}/review?state=decided")["entries"]
    assert next(e for e in decided if e["id"] == held["id"])["decision"]["by"] == "inspector"
    assert audited(store, "inspector", "safety_approved")[-1]["target"] == held["id"]


def test_an_assistant_reply_with_a_sensitive_word_never_reaches_the_citizen(stack, staff, store):
    filed = hall(stack, "POST", "/api/v1/consultations", {
        "department": "深圳市公安局", "consultation_type": "办事咨询", "public": False, "subject": "居住证签注",
        "content": "居住证签注可以网上办吗？", "attachments": [], "name": "陈晓明", "phone": "13800138001",
        "channel": "web", "item_code": ""})
    spam = "可以网上办理。另：扫码领红包，详询客服。"
    hall(stack, "POST", f"/api/v1/consultations/{filed['number']}/answer", {"answer": spam, "staff": "户政窗口"})
    me = fresh()
    replies = stack.say(me, f"{filed['number']}答复了吗")
    text = reply_text(replies)
    assert SAFE_APOLOGY in text and "扫码领红包" not in text and "可以网上办理" not in text

    queue = staff["admin"].ok("GET", f"{SAFETY}/review")["entries"]
    withheld = next(e for e in queue if e["kind"] == "bot_reply" and filed["number"] in e["text"])
    assert withheld["words"] == [{"word": "扫码领红包", "category": "广告"}] and withheld["channel"] == "rest"
    staff["admin"].ok("POST", f"{SAFETY}/review/{withheld['id']}/reject", {"note": "答复内容被篡改，已通知部门"})
    assert audited(store, "admin", "safety_rejected")[-1]["target"] == withheld["id"]
    shown = [json.loads(m) for m in store.lrange(f"transcript:{withheld['conversation']}", 0, -1)]
    assert all("扫码领红包" not in m["text"] for m in shown if m["who"] == "bot")
    gateway_log = (stack.var / "logs" / "gateway.log").read_text(encoding="utf-8")
    assert "reply withheld" in gateway_log and "广告：扫码领红包" in gateway_log
