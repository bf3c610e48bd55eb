"""The SMS channel end to end: real Kannel (bearerbox + smsbox) bound over SMPP to the SMSC
simulator (tests/fakes/smsc_simulator.py), real gateway, Rasa and action server. Citizens'
messages go in as deliver_sm PDUs at the SMSC; answers are the submit_sm PDUs Kannel sends it,
reassembled here from their UDH the way a handset does."""
from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from itertools import count

import pytest
import redis
import yaml

from channels import sms_render
from channels.sms import UNREADABLE
from channels.sms_templates import TEMPLATES_FILE
from common.notifications import STREAM, entry
from common.reply import Reply
from common.sessions import conversation_id

pytestmark = pytest.mark.e2e
SERVICE_NUMBER = "1069012345"
UCS2, UDHI = 0x08, 0x40
WAIT_S = 120   # a deadline for something that must happen, never a measured threshold
_numbers = count(1)


def new_phone() -> str:
    """A fresh mainland mobile number per test: its own conversation and its own MT list."""
    return f"1390{int(time.time()) % 100000:05d}{next(_numbers):02d}"


def smsc(stack) -> str:
    return f"http://127.0.0.1:{stack.base + 9}"


def call(url: str, body=None) -> tuple[int, object]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            raw = resp.read()
            return resp.status, json.loads(raw) if raw.startswith((b"{", b"[")) else raw.decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def mo(stack, sender: str, text: str | None = None, pdus: list[dict] | None = None, ton: int = 1) -> None:
    """A citizen's message into the SMSC, which delivers it to Kannel as deliver_sm."""
    body = {"source_addr": sender, "source_addr_ton": ton, **({"pdus": pdus} if pdus else {"text": text})}
    status, answer = call(smsc(stack) + "/mo", body)
    assert status == 200 and answer["delivered"], answer


@dataclass
class Message:
    text: str
    pdus: list[dict]


def udh_concat(short_message: bytes) -> tuple[int, int, int, bytes]:
    """(reference, total, sequence, payload) from a concatenation UDH (8- or 16-bit reference)."""
    length = short_message[0]
    udh, payload = short_message[1:1 + length], short_message[1 + length:]
    i = 0
    while i < len(udh):
        iei, iel, data = udh[i], udh[i + 1], udh[i + 2:i + 2 + udh[i + 1]]
        if iei == 0x00:
            return data[0], data[1], data[2], payload
        if iei == 0x08:
            return int.from_bytes(data[:2], "big"), data[2], data[3], payload
        i += 2 + iel
    raise AssertionError(f"UDH without a concatenation element: {udh.hex()}")


def reassemble(pdus: list[dict]) -> list[Message]:
    """Complete messages among the MT PDUs, in the order their first part arrived."""
    singles, parts, order = {}, {}, []
    for n, pdu in enumerate(pdus):
        sm = bytes.fromhex(pdu["short_message_hex"])
        if pdu["esm_class"] & UDHI:
            ref, total, seq, payload = udh_concat(sm)
            key = ("concat", ref, total)
            parts.setdefault(key, {})[seq] = (payload, pdu)
        else:
            key = ("single", n)
            singles[key] = (sm, pdu)
        if key not in order:
            order.append(key)
    out = []
    for key in order:
        if key in singles:
            chunks = [singles[key]]
        else:
            got = parts[key]
            if sorted(got) != list(range(1, key[2] + 1)):
                continue   # not all parts yet
            chunks = [got[s] for s in sorted(got)]
        assert all(p["data_coding"] == UCS2 for _, p in chunks), "MT not UCS-2"
        out.append(Message(b"".join(c for c, _ in chunks).decode("utf-16-be"), [p for _, p in chunks]))
    return out


def mt_messages(stack, phone: str) -> list[Message]:
    status, pdus = call(f"{smsc(stack)}/mt?destination={phone}")
    assert status == 200
    return reassemble(pdus)


def wait_messages(stack, phone: str, n: int) -> list[Message]:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        got = mt_messages(stack, phone)
        if len(got) >= n:
            return got
        time.sleep(0.3)
    pytest.fail(f"{n} SMS to {phone} did not arrive; got {[m.text[:30] for m in mt_messages(stack, phone)]}")


def say_sms(stack, phone: str, text: str, sender: str | None = None) -> Message:
    """Sends an MO and returns the answer: the next complete MT message to that phone."""
    before = len(mt_messages(stack, phone))
    mo(stack, sender or phone, text)
    return wait_messages(stack, phone, before + 1)[before]


def rest_pages(stack, message: str) -> list[str]:
    """What the same question gets on the REST channel, rendered as the SMS channel renders."""
    replies = [Reply(r.get("text") or "", r.get("buttons") or []) for r in stack.say(f"sms-ref-{new_phone()}", message)]
    return sms_render.pages(replies, 3)


def rest_buttons(stack, message: str) -> list[dict]:
    return [b for r in stack.say(f"sms-ref-{new_phone()}", message) for b in r.get("buttons") or []]


def gateway_log(stack) -> str:
    return (stack.var / "logs" / "gateway.log").read_text(encoding="utf-8")


def wait_log(stack, needle: str) -> str:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        if needle in (text := gateway_log(stack)):
            return text
        time.sleep(0.3)
    pytest.fail(f"gateway log never showed {needle!r}")


def test_question_answered_as_ucs2_concatenated_mt(stack):
    phone = new_phone()
    answer = say_sms(stack, phone, "居住证怎么办", sender=f"+86{phone}")
    expected = rest_pages(stack, "居住证怎么办")
    assert answer.text == expected[0]                     # what the gateway produced, unchanged
    assert len(answer.pdus) == sms_render.segments(answer.text) <= 3 < len(expected)
    refs = {udh_concat(bytes.fromhex(p["short_message_hex"]))[:2] for p in answer.pdus}
    assert len(refs) == 1 and refs.pop()[1] == len(answer.pdus)   # one message, every part present
    assert all(p["esm_class"] & UDHI and p["source_addr"] == SERVICE_NUMBER for p in answer.pdus)
    # Plain text for a phone: the guide's start, its buttons as numbered options, and the way on.
    assert "居住证" in answer.text and "**" not in answer.text and "](" not in answer.text
    titles = [b["title"] for b in rest_buttons(stack, "居住证怎么办")]
    assert [f"回复{i}：{t}" for i, t in enumerate(titles, 1)] == \
           [line for line in answer.text.split("\n") if line.startswith("回复") and not line.startswith("回复0")]
    assert answer.text.endswith(sms_render.MORE)


def test_rest_of_a_long_answer_on_request(stack):
    phone = new_phone()
    say_sms(stack, phone, "居住证怎么办")
    expected = rest_pages(stack, "居住证怎么办")
    second = say_sms(stack, phone, "0")
    third = say_sms(stack, phone, "更多")
    assert [second.text, third.text] == expected[1:3]
    assert all(len(m.pdus) <= 3 for m in (second, third))


def test_numbered_option_answered_with_a_digit(stack):
    phone = new_phone()
    say_sms(stack, phone, "居住证怎么办", sender=f"+86{phone}")
    # The same citizen, presented by the carrier without the country code this time.
    answer = say_sms(stack, phone, "1", sender=phone)
    first_button = rest_buttons(stack, "居住证怎么办")[0]
    assert first_button["title"] == "所需材料"
    assert answer.text == rest_pages(stack, first_button["payload"])[0]
    assert "材料" in answer.text and "居民身份证" in answer.text


def test_gb18030_mo_is_understood(stack):
    phone = new_phone()
    # data_coding 0 carries the carrier's default alphabet, GB18030 here (standard 6.3.2.1).
    gb = "居住证怎么办".encode("gb18030")
    before = len(mt_messages(stack, phone))
    mo(stack, phone, pdus=[{"data_coding": 0, "esm_class": 0, "short_message_hex": gb.hex()}], ton=0)
    answer = wait_messages(stack, phone, before + 1)[before]
    assert answer.text == rest_pages(stack, "居住证怎么办")[0]


def test_gb18030_text_on_the_inbound_endpoint(stack):
    # Another SMS gateway may pass GB18030 bytes with their charset; the endpoint decodes them.
    phone = new_phone()
    text = urllib.parse.quote_from_bytes("居住证怎么办".encode("gb18030"))
    status, _ = call(f"{stack.url}/channels/sms?secret=dev-sms-secret-change-me&from=%2B86{phone}"
                     f"&text={text}&coding=1&charset=GB18030&id=gb-{phone}")
    assert status == 202
    assert wait_messages(stack, phone, 1)[0].text == rest_pages(stack, "居住证怎么办")[0]


def test_long_mo_arrives_joined(stack):
    phone = new_phone()
    question = ("您好，我在深圳工作两年了，一直租房住，公司给我交了社保。现在孩子要上学，学校说需要居住证，"
                "请问居住证怎么办理，需要带什么材料，去哪里办？谢谢！")
    assert sms_render.units(question) > sms_render.SINGLE_SEGMENT_UNITS   # the handset sends it in parts
    say_sms(stack, phone, question)
    conv = conversation_id("sms", phone)
    turns = [line for line in gateway_log(stack).splitlines() if f"conv={conv}" in line and "turn channel=sms" in line]
    assert len(turns) == 1 and f"chars={len(question)}" in turns[0]


def test_templated_notification_delivered(stack):
    phone = new_phone()
    variables = {"name": "王芳", "date": "2026-12-01", "start": "09:30", "hall": "福田区政务服务中心",
                 "service": "深圳市居住证申领", "number": "YY440300202612010001"}
    r = redis.Redis(port=stack.redis_port)
    r.xadd(STREAM, entry("", "", sms_phone=f"+86{phone}", sms_template="appointment_booked", sms_vars=variables))
    message = wait_messages(stack, phone, 1)[0]
    template = yaml.safe_load(TEMPLATES_FILE.read_text(encoding="utf-8"))["appointment_booked"]
    assert message.text == template.format(**variables)
    assert len(message.pdus) == sms_render.segments(message.text) > 1


def test_unknown_template_or_missing_variable_refused(stack):
    phone = new_phone()
    r = redis.Redis(port=stack.redis_port)
    r.xadd(STREAM, entry("", "", sms_phone=phone, sms_template="lottery_win", sms_vars={"prize": "100万"}))
    r.xadd(STREAM, entry("", "", sms_phone=phone, sms_template="appointment_rescheduled", sms_vars={"number": "YY1"}))
    r.xadd(STREAM, entry("", "", sms_phone=phone, sms_template="reminder", sms_vars={"text": "明天上午办理居住证签注"}))
    # The worker takes the stream in order: once the third is here, the first two were refused.
    messages = wait_messages(stack, phone, 1)
    assert [m.text for m in messages] == ["【深圳政务服务】办事提醒：明天上午办理居住证签注"]
    log = wait_log(stack, "unknown template 'lottery_win'")
    assert "template 'appointment_rescheduled' lacks date, start" in log


def test_push_outside_a_turn_and_its_option(stack):
    phone = new_phone()
    say_sms(stack, phone, "你好")
    conv = conversation_id("sms", phone)
    buttons = [{"title": "查询办件进度", "payload": "/query_case_status"}]
    r = redis.Redis(port=stack.redis_port)
    r.xadd(STREAM, entry(conv, "您的咨询已受理，受理编号ZX440300202612010001。", buttons=buttons))
    pushed = wait_messages(stack, phone, 2)[1]
    assert pushed.text == "您的咨询已受理，受理编号ZX440300202612010001。\n回复1：查询办件进度"
    answer = say_sms(stack, phone, "1")
    assert answer.text == rest_pages(stack, "/query_case_status")[0]


def test_a_retried_delivery_is_answered_once(stack):
    phone = new_phone()
    url = f"{stack.url}/channels/sms?secret=dev-sms-secret-change-me&from={phone}&coding=2&charset=UTF-16BE"
    hello = urllib.parse.quote_from_bytes("你好".encode("utf-16-be"))
    for _ in range(2):   # smsbox retrying a get-url: the same message, the same Kannel id
        assert call(f"{url}&text={hello}&id=dup-{phone}")[0] == 202
    question = urllib.parse.quote_from_bytes("居住证怎么办".encode("utf-16-be"))
    assert call(f"{url}&text={question}&id=next-{phone}")[0] == 202
    # Turns of one citizen go in order, so a second answer to the retry would come before this one.
    messages = wait_messages(stack, phone, 2)
    assert [m.text for m in messages] == [rest_pages(stack, "你好")[0], rest_pages(stack, "居住证怎么办")[0]]


def test_unreadable_text_gets_a_chinese_hint(stack):
    phone = new_phone()
    status, _ = call(f"{stack.url}/channels/sms?secret=dev-sms-secret-change-me&from={phone}"
                     f"&text=%FF%FE%FD&coding=0&charset=UTF-8&id=bad-{phone}")
    assert status == 202
    assert wait_messages(stack, phone, 1)[0].text == UNREADABLE and "编码" in UNREADABLE


def test_inbound_endpoint_refuses_bad_requests(stack):
    ok = "居住证".encode("utf-16-be")
    text = urllib.parse.quote_from_bytes(ok)
    status, body = call(f"{stack.url}/channels/sms?secret=wrong&from=13900000000&text={text}&coding=2")
    assert status == 403 and "禁止访问" in body
    status, body = call(f"{stack.url}/channels/sms?secret=dev-sms-secret-change-me&from=abc&text=1&coding=0")
    assert status == 400 and "手机号码" in body


def test_numbers_stay_out_of_the_logs(stack):
    phone = new_phone()
    say_sms(stack, phone, "你好", sender=f"+86{phone}")
    for log in (stack.var / "logs").glob("*.log"):
        assert phone not in log.read_text(encoding="utf-8", errors="replace"), log.name
