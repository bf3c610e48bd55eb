"""Filing through the hall in natural multi-turn Chinese, through the real stack: complaint,
consultation, appointments, going back, cancelling, and the hall being down while filing."""
from __future__ import annotations

import json
import re
import signal
import time
import urllib.request
import uuid

import psutil
import pytest

from tests.conftest import reply_text

pytestmark = pytest.mark.e2e
NUMBER = re.compile(r"\b(TS|ZX|YY)\d{17}\b")


def fresh() -> str:
    return "f-" + uuid.uuid4().hex[:12]


def hall_get(stack, path: str) -> dict:
    req = urllib.request.Request(stack.hall_url + path, headers={"X-Hall-Key": "dev-hall-key-change-me"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read())


def converse(stack, me: str, messages: list[str]) -> list[str]:
    return [reply_text(stack.say(me, m)) for m in messages]


def test_complaint_in_natural_turns_then_its_result_by_number(stack):
    me = fresh()
    replies = converse(stack, me, [
        "我要投诉",
        "上周三在福田区政务服务中心办居住证，窗口工作人员态度很差，还让我来回跑了三趟",
        "福田区政务服务中心",
        "不知道",
        "我叫李明",
        "138 0013 8000",
    ])
    assert "投诉" in replies[0] and "描述" in replies[0]
    summary = replies[-1]
    assert "请核对" in summary and "服务态度" in summary and "李明" in summary
    assert "13800138000" not in summary and "138****8000" in summary        # masked on screen
    filed = reply_text(stack.say(me, "确认"))
    number = NUMBER.search(filed).group()
    assert number.startswith("TS") and "个工作日" in filed
    status = reply_text(stack.say(fresh(), f"查询{number}"))
    assert number in status and "投诉" in status
    record = hall_get(stack, f"/api/v1/complaints/{number}")
    assert record["complaint_type"] == "服务态度" and "态度很差" in record["content"]


def test_several_fields_in_one_message_and_corrections(stack):
    me = fresh()
    replies = converse(stack, me, [
        "投诉一下",
        "市公安局出入境窗口办护照拖了一个多月没结果，我叫王芳，电话13912345678",
    ])
    # content, type (超时), name and phone came in one message; only what is missing is asked.
    asked = replies[-1]
    assert "部门" in asked or "被投诉人" in asked
    if "部门" in asked:
        asked = reply_text(stack.say(me, "市公安局出入境管理支队"))
    assert "被投诉人" in asked
    summary = reply_text(stack.say(me, "工号1024"))
    assert "办理超时" in summary and "王芳" in summary and "139****5678" in summary
    assert "已取消" in reply_text(stack.say(me, "取消"))


def test_bad_phone_is_corrected_and_back_and_cancel_lose_nothing(stack):
    me = fresh()
    converse(stack, me, ["我要投诉", "窗口乱收费，办个证收了我两百块", "龙华区政务服务中心", "不知道"])
    asked_phone = reply_text(stack.say(me, "张伟"))
    assert "手机" in asked_phone
    wrong = reply_text(stack.say(me, "1234"))
    assert "11位" in wrong
    back = reply_text(stack.say(me, "返回上一步"))
    assert "姓名" in back
    assert "手机" in reply_text(stack.say(me, "张卫"))
    summary = reply_text(stack.say(me, "13700137000"))
    assert "张卫" in summary and "乱收费" in summary
    before = hall_get(stack, "/api/v1/statistics")
    assert "已取消" in reply_text(stack.say(me, "算了不投诉了"))
    assert hall_get(stack, "/api/v1/statistics") == before


def test_consultation_is_filed_and_answerable_by_number(stack):
    me = fresh()
    replies = converse(stack, me, [
        "我想提交一个咨询",
        "我是非深户，想问下灵活就业人员能不能在深圳交社保，每个月最低交多少",
        "市社保局",
        "政策咨询",
        "不公开",
        "赵敏",
        "13600136000",
    ])
    assert "请核对" in replies[-1] and "不公开" not in replies[-1] or "否" in replies[-1]
    filed = reply_text(stack.say(me, "确认提交"))
    number = NUMBER.search(filed).group()
    assert number.startswith("ZX")
    assert number in reply_text(stack.say(fresh(), f"{number}答复了吗"))


def _open_days(n: int) -> list[str]:
    """The next n days the hall takes appointments, as citizens write them ("12月2日")."""
    from datetime import date

    from hall.schedule import next_open_day

    days, d = [], date.today()
    while len(days) < n:
        d = next_open_day(d)
        days.append(f"{d.month}月{d.day}日")
    return days


def test_book_move_and_cancel_an_appointment(stack):
    me = fresh()
    first_day, second_day = _open_days(3)[1:]
    first = reply_text(stack.say(me, f"我要预约{first_day}去办居住证"))
    assert "居住证" in first and "09:00" in first
    summary = reply_text(stack.say(me, "09:00"))
    if "姓名" in summary:
        summary = reply_text(stack.say(me, "陈晨"))
    if "手机" in summary:
        summary = reply_text(stack.say(me, "13800138111"))
    assert "请核对" in summary and "09:00" in summary
    booked = reply_text(stack.say(me, "确认"))
    number = NUMBER.search(booked).group()
    assert number.startswith("YY")
    moved = converse(stack, me, [f"改约{number}", second_day, "14:30"])
    assert "请核对" in moved[-1]
    assert "改约成功" in reply_text(stack.say(me, "确认"))
    assert hall_get(stack, f"/api/v1/appointments/{number}")["start"] == "14:30"
    # Numbers are sequential: anyone else must show the booking phone's last four digits.
    stranger = fresh()
    assert "后四位" in reply_text(stack.say(stranger, f"取消预约{number}"))
    assert "后四位" in reply_text(stack.say(stranger, f"取消预约{number} 尾号1234"))
    assert "确认取消" in reply_text(stack.say(stranger, f"取消预约{number} 尾号8111"))
    stack.say(stranger, "不取消")
    assert hall_get(stack, f"/api/v1/appointments/{number}")["status"] != "cancelled"
    ask = reply_text(stack.say(me, f"取消预约{number}"))
    assert "确认取消" in ask
    assert "已取消" in reply_text(stack.say(me, "是的"))
    assert hall_get(stack, f"/api/v1/appointments/{number}")["status"] == "cancelled"


def _hall_process(stack) -> psutil.Process:
    for p in psutil.Process(stack.proc.pid).children(recursive=True):
        if "-m hall" in " ".join(p.cmdline()):
            return p
    raise AssertionError("hall process not found")


def test_hall_down_while_filing_then_exactly_one_record(stack):
    me = fresh()
    converse(stack, me, ["我要投诉", "南山区政务服务中心取号机坏了一上午没人管", "南山区政务服务中心",
                         "其他", "不知道", "周杰", "13300133000"])
    received = hall_get(stack, "/api/v1/statistics")["total"]["received"]
    hall = _hall_process(stack)
    hall.send_signal(signal.SIGSTOP)               # the hall hangs: the assistant times out
    try:
        queued = reply_text(stack.say(me, "确认"))
    finally:
        hall.send_signal(signal.SIGCONT)
    assert "已安全保存" in queued and not NUMBER.search(queued)
    deadline = time.monotonic() + 60
    notice = ""
    while time.monotonic() < deadline and not NUMBER.search(notice):
        time.sleep(3)
        notice = reply_text(stack.say(me, "你好"))
    number = NUMBER.search(notice).group()
    assert "成功受理" in notice
    time.sleep(2)
    assert hall_get(stack, "/api/v1/statistics")["total"]["received"] == received + 1
    assert hall_get(stack, f"/api/v1/complaints/{number}")["content"] == "南山区政务服务中心取号机坏了一上午没人管"


def test_opinion_on_a_current_topic(stack):
    me = fresh()
    topics = stack.say(me, "现在有哪些征求意见的政策，我想提个建议")
    text = reply_text(topics)
    assert "征求意见" in text and "个工作日内反馈" in text
    payload = next(b["payload"] for r in topics for b in r.get("buttons", []) if "opinion_topic" in b["payload"])
    assert "意见或建议" in reply_text(stack.say(me, payload))
    assert "手机" in reply_text(stack.say(me, "建议网上办事能保存草稿，材料不用每次重新上传"))
    summary = reply_text(stack.say(me, "13500135000"))
    assert "请核对" in summary and "保存草稿" in summary
    filed = reply_text(stack.say(me, "确认"))
    assert re.search(r"YJ\d{17}", filed) and "个工作日内" in filed
