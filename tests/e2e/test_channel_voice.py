"""The hotline IVR through the real stack, over both webhook contracts a hotline gateway speaks:
Twilio-style TwiML (signed with X-Twilio-Signature) and jambonz JSON verbs (signed with
Jambonz-Signature). Each test is a phone call: the platform's requests are built and signed
exactly as the platform builds them, and the answers are read as the platform reads them."""
from __future__ import annotations

import hashlib
import hmac
import json
import random
import re
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from xml.etree import ElementTree

import pytest
import redis
from pypinyin import Style, lazy_pinyin
from twilio.request_validator import RequestValidator

from channels.voice_call import VoiceSettings
from channels.voice_jambonz import JambonzSettings
from channels.voice_twilio import TwilioSettings
from common.sessions import conversation_id

pytestmark = pytest.mark.e2e
TWILIO = "/webhooks/voice/twilio"
JAMBONZ = "/webhooks/voice/jambonz"
# The dev settings the stack's gateway runs with (same environment as this process).
STAFF = VoiceSettings().staff_number
TWILIO_TOKEN = TwilioSettings().auth_token
JAMBONZ_SECRET = JambonzSettings().webhook_secrets[0]
SPEAKABLE = re.compile(r"^[\u4e00-\u9fffA-Za-z ，。！？；：、]+$")


def caller() -> str:
    """A fresh mobile number per call, as the network presents it (+86)."""
    return f"+86139{random.randrange(10 ** 8):08d}"


def http_post(url: str, data: bytes, headers: dict) -> tuple[int, str]:
    req = urllib.request.Request(url, data=data, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


class TwilioCall:
    """One call as a Twilio-style gateway places it: form-encoded POSTs signed with the auth
    token over the full URL and the sorted fields."""

    def __init__(self, stack, number: str | None = None, token: str = TWILIO_TOKEN):
        self.stack, self.token = stack, token
        self.sid = "CA" + uuid.uuid4().hex
        self.number = number or caller()
        self.prompts: list[str] = []

    def request(self, path: str, fields: dict, signature: str | None = None) -> tuple[int, str]:
        params = {"CallSid": self.sid, "AccountSid": "AC" + "0" * 32, "From": self.number, "To": "+8675512345",
                  "CallStatus": "in-progress", "Direction": "inbound", **fields}
        url = self.stack.url + path
        signature = signature if signature is not None else RequestValidator(self.token).compute_signature(url, params)
        return http_post(url, urllib.parse.urlencode(params).encode(),
                         {"X-Twilio-Signature": signature, "Content-Type": "application/x-www-form-urlencoded"})

    def twiml(self, path: str, **fields) -> ElementTree.Element:
        status, body = self.request(path, fields)
        assert status == 200, body
        root = ElementTree.fromstring(body)
        assert root.tag == "Response"
        self.prompts += [say.text for say in root.iter("Say")]
        return root

    def start(self) -> ElementTree.Element:
        return self.twiml(TWILIO, CallStatus="ringing")

    def say(self, text: str, confidence: float = 0.93) -> ElementTree.Element:
        return self.twiml(f"{TWILIO}/gather", SpeechResult=text, Confidence=str(confidence))

    def press(self, key: str) -> ElementTree.Element:
        return self.twiml(f"{TWILIO}/gather", Digits=key)

    def silence(self) -> ElementTree.Element:
        return self.twiml(f"{TWILIO}/gather")


def prompt(root: ElementTree.Element) -> str:
    """The text read inside the Gather (the prompt the caller can barge in on)."""
    gather = root.find("Gather")
    assert gather is not None, ElementTree.tostring(root, encoding="unicode")
    assert gather.get("input") == "speech dtmf" and gather.get("language") == "zh-CN"
    assert gather.get("numDigits") == "1" and gather.get("finishOnKey") == "" and gather.get("bargeIn") == "true"
    assert gather.get("action") == f"{TWILIO}/gather" and gather.get("actionOnEmptyResult") == "true"
    says = gather.findall("Say")
    assert len(says) == 1 and says[0].get("language") == "zh-CN"
    return says[0].text


def test_call_starts_with_greeting_and_keypad_menu(stack):
    call = TwilioCall(stack)
    root = call.start()
    text = prompt(root)
    assert "智能助手" in text and "按一，办事指南；按二，办件进度查询" in text and "人工服务请按零" in text
    assert "重听请按星号键，返回上一步请按井号键" in text
    # Silence after the Gather comes back to the same action (a gateway without actionOnEmptyResult).
    assert root.find("Redirect").text == f"{TWILIO}/gather"


def test_call_state_and_conversation_are_keyed_by_call_and_caller(stack):
    call = TwilioCall(stack)
    call.start()
    call.say("居住证怎么办理")
    r = redis.Redis(port=stack.redis_port, db=0)
    state = json.loads(r.get(f"voicecall:voice_twilio:{call.sid}"))
    national = call.number[3:]                                       # +86 dropped
    assert state["user"] == national and state["mobile"] == national
    assert state["stage"] == "offer" and state["offer"] == "440300-001-QR-0001" and state["prompt"]
    session = f"session:{conversation_id('voice_twilio', national)}"
    assert r.hget(session, "channel") == b"voice_twilio" and r.hget(session, "user_id") == national.encode()
    assert r.hget(session, "turns") == b"2"
    # The same caller, dialling again without +86, continues the same conversation.
    again = TwilioCall(stack, number=national)
    again.start()
    assert r.hget(session, "turns") == b"3"
    assert json.loads(r.get(f"voicecall:voice_twilio:{again.sid}"))["stage"] == "menu"


def test_question_answered_speakably_then_sms_offer_menu_repeat_and_more(stack):
    call = TwilioCall(stack)
    call.start()
    answer = prompt(call.say("居住证怎么办理"))
    assert "深圳市居住证申领" in answer
    assert "四四零三零零，零零幺，Q R，零零零幺" in answer          # the item code, digit by digit
    assert not re.search(r"[0-9【】（）()/:*#]|http", answer)
    assert "继续收听请按九" in answer and answer.endswith("需要把材料清单发送到您的手机吗？按一发送，按二跳过。")

    sent = prompt(call.press("1"))
    tail = "".join("零幺二三四五六七八九"[int(d)] for d in call.number[-4:])
    # This stack mounts no SMS channel, so the caller is told; with one, the list is sent.
    assert sent.startswith("抱歉，短信暂时无法发送") or sent.startswith(f"已将深圳市居住证申领，含签注的材料清单发送到您尾号{tail}的手机")
    # The guide's own choices come first; recommendations (post-items, the scene) may follow.
    assert "按一，所需材料；按二，办理流程；按三，办理地点；按四，预约办理；" in sent and sent.endswith("人工服务请按零。")

    materials = prompt(call.press("1"))                             # menu option 1 through the gateway
    assert "所需材料" in materials and "居民身份证" in materials and "原件一份" in materials
    assert "需要把材料清单" not in materials                        # offered once per service and call
    assert prompt(call.press("*")) == materials                      # * repeats the last prompt
    more = prompt(call.press("9"))                                   # 9: the next part of a long answer
    assert more != materials and "按一，" in more

    assert prompt(call.press("7")).startswith("抱歉，没有这个选项。按一，")
    back = prompt(call.press("#"))                                   # # is the dialogue's 返回上一步
    assert "上一步" in back or "填写" in back or "帮您" in back


def test_acceptance_numbers_and_dates_are_read_digit_by_digit(stack):
    call = TwilioCall(stack)
    call.start()
    text = prompt(call.say("查询办件进度QR00120261102000101"))
    assert "受理编号Q R，零零幺，二零二六幺幺零二，零零零幺零幺" in text
    assert "申请人：陈某" in text
    # Stage times (seeded relative to today) as 二零二六年十一月二日十二点四十分.
    spoken = "".join(call.prompts + [prompt(call.press("9"))])
    assert re.search(r"申请时间：[零一二三四五六七八九]{4}年[一二三四五六七八九十]+月[一二三四五六七八九十]+日"
                     r"[零一二三四五六七八九十]+点", spoken)


def test_zero_transfers_to_the_staff_queue_and_back_if_unanswered(stack):
    call = TwilioCall(stack)
    call.start()
    root = call.press("0")
    assert root.find("Gather") is None
    assert root.find("Say").text == "正在为您转接人工服务，请稍候。"
    dial = root.find("Dial")
    assert dial.text == STAFF and dial.get("action") == f"{TWILIO}/dial"
    busy = call.twiml(f"{TWILIO}/dial", DialCallStatus="no-answer")
    assert prompt(busy).startswith("抱歉，人工坐席暂时无法接通") and "按一，办事指南" in prompt(busy)
    # Saying it works too, even misheard; and staff answering ends the call.
    assert call.say("转人公").find("Dial").text == STAFF
    done = call.twiml(f"{TWILIO}/dial", DialCallStatus="completed")
    assert done.find("Hangup") is not None


def test_no_input_reprompts_twice_then_offers_staff_then_says_goodbye(stack):
    call = TwilioCall(stack)
    call.start()
    first, second = prompt(call.silence()), prompt(call.silence())
    assert first == second and first.startswith("抱歉，没有听到您的声音。按一，办事指南")
    assert prompt(call.silence()).startswith("抱歉，没有听到您的声音。需要人工服务请按零")
    last = call.silence()
    assert last.find("Gather") is None and last.find("Hangup") is not None
    assert last.find("Say").text.startswith("感谢您的来电，再见")
    # An answer in between starts the count again.
    call = TwilioCall(stack)
    call.start()
    call.silence()
    call.silence()
    call.press("*")
    assert prompt(call.silence()).startswith("抱歉，没有听到您的声音。按一")


def test_misheard_progress_is_repaired_and_confirmed(stack):
    call = TwilioCall(stack)
    call.start()
    assert prompt(call.say("我想查半天坚度")) == "您是想查询办件进度吗？是请按一，不是请按二。"
    state = json.loads(redis.Redis(port=stack.redis_port).get(f"voicecall:voice_twilio:{call.sid}"))
    assert state["stage"] == "confirm" and state["pending"] == "我想查办件进度"
    asked = prompt(call.press("1"))
    assert "受理编号" in asked and "Q R，零零幺，二零二六幺幺零二" in asked

    call = TwilioCall(stack)
    call.start()
    call.say("半天坚度")
    assert prompt(call.press("2")) == "好的，请您再说一遍要办理的事情，人工服务请按零。"


def test_low_recogniser_confidence_is_confirmed_by_voice(stack):
    call = TwilioCall(stack)
    call.start()
    assert prompt(call.say("局住证在哪里办", confidence=0.31)) == "您是想说居住证在哪里办吗？是请按一，不是请按二。"
    answer = prompt(call.say("是的"))
    assert "深圳市居住证申领" in answer and "派出所" in "".join(call.prompts + [prompt(call.press("9"))])


def test_bad_signatures_are_refused(stack):
    call = TwilioCall(stack)
    assert call.request(TWILIO, {}, signature="")[0] == 403
    assert call.request(TWILIO, {}, signature="bm90IGEgc2lnbmF0dXJl")[0] == 403
    forged = TwilioCall(stack, token="some-other-token")
    status, body = forged.request(TWILIO, {})
    assert status == 403 and body == "签名校验失败"
    # A signature over other fields does not cover these.
    params = {"CallSid": call.sid, "From": call.number}
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(stack.url + TWILIO, params)
    assert call.request(TWILIO, {"From": "+8613800138001"}, signature=signature)[0] == 403
    assert redis.Redis(port=stack.redis_port).get(f"voicecall:voice_twilio:{call.sid}") is None
    status, body = TwilioCall(stack).request(TWILIO, {"CallSid": ""})
    assert status == 400 and "CallSid" in body


class JambonzCall:
    """One call as jambonz places it: JSON bodies signed "t=…,v1=HMAC-SHA256(t.body)"."""

    def __init__(self, stack, secret: str = JAMBONZ_SECRET):
        self.stack, self.secret = stack, secret
        self.sid, self.number = str(uuid.uuid4()), caller()

    def request(self, path: str, extra: dict | None = None, at: int | None = None) -> tuple[int, object]:
        payload = {"call_sid": self.sid, "direction": "inbound", "from": self.number, "to": "+8675512345",
                   "call_id": uuid.uuid4().hex, "sip_status": 200, "call_status": "in-progress",
                   "account_sid": str(uuid.UUID(int=1)), "application_sid": str(uuid.UUID(int=2)), **(extra or {})}
        body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
        at = at if at is not None else int(time.time())
        signature = hmac.new(self.secret.encode(), f"{at}.".encode() + body, hashlib.sha256).hexdigest()
        status, text = http_post(self.stack.url + path, body, {"Content-Type": "application/json",
                                                               "Jambonz-Signature": f"t={at},v1={signature}"})
        return status, json.loads(text)

    def verbs(self, path: str, extra: dict | None = None) -> list[dict]:
        status, verbs = self.request(path, extra)
        assert status == 200, verbs
        assert isinstance(verbs, list) and all("verb" in v for v in verbs)
        return verbs

    def gather(self, extra: dict) -> list[dict]:
        return self.verbs(f"{JAMBONZ}/gather", extra)


def said(verbs: list[dict]) -> str:
    """The prompt of a gather verb (the only verb of a listening step)."""
    assert len(verbs) == 1 and verbs[0]["verb"] == "gather", verbs
    gather = verbs[0]
    assert gather["input"] == ["speech", "digits"] and gather["actionHook"] == f"{JAMBONZ}/gather"
    assert gather["bargein"] is True and gather["dtmfBargein"] is True and gather["numDigits"] == 1
    assert gather["recognizer"]["language"] == "zh-CN"
    return gather["say"]["text"]


def speech(text: str, confidence: float = 0.9) -> dict:
    return {"reason": "speechDetected",
            "speech": {"is_final": True, "language_code": "zh-CN", "alternatives": [{"confidence": confidence, "transcript": text}]}}


def test_jambonz_call_flow(stack):
    call = JambonzCall(stack)
    greeting = said(call.verbs(JAMBONZ))
    assert "按一，办事指南" in greeting and "重听请按星号键" in greeting

    answer = said(call.gather(speech("公积金怎么提取")))
    assert "住房公积金提取" in answer and "四四零三零零，零零七，G F，零零零幺" in answer
    assert answer.endswith("需要把材料清单发送到您的手机吗？按一发送，按二跳过。")
    skipped = said(call.gather({"reason": "dtmfDetected", "digits": "2"}))
    assert skipped.startswith("好的。") and "按一，所需材料" in skipped
    assert said(call.gather({"reason": "timeout"})).startswith("抱歉，没有听到您的声音。按一，所需材料")
    assert said(call.gather({"reason": "dtmfDetected", "digits": "*"})) == skipped

    flow = said(call.gather({"reason": "dtmfDetected", "digits": "2"}))     # option 2: 办理流程
    assert "办理流程" in flow

    transfer = call.gather({"reason": "dtmfDetected", "digits": "0"})
    assert [v["verb"] for v in transfer] == ["say", "dial"]
    assert transfer[0]["text"] == "正在为您转接人工服务，请稍候。"
    assert transfer[1]["target"] == [{"type": "phone", "number": STAFF}] and transfer[1]["actionHook"] == f"{JAMBONZ}/dial"
    back = said(call.verbs(f"{JAMBONZ}/dial", {"dial_call_status": "no-answer", "dial_sip_status": 480}))
    assert back.startswith("抱歉，人工坐席暂时无法接通")

    r = redis.Redis(port=stack.redis_port)
    assert r.exists(f"voicecall:voice_jambonz:{call.sid}")
    assert call.verbs(f"{JAMBONZ}/status", {"call_status": "completed"}) == []
    assert not r.exists(f"voicecall:voice_jambonz:{call.sid}")


def test_jambonz_misheard_words_are_confirmed(stack):
    call = JambonzCall(stack)
    call.verbs(JAMBONZ)
    assert said(call.gather(speech("半天坚度"))) == "您是想查询办件进度吗？是请按一，不是请按二。"
    assert "受理编号" in said(call.gather(speech("是")))


def test_jambonz_requests_must_be_signed_recently_with_the_secret(stack):
    call = JambonzCall(stack)
    assert call.request(JAMBONZ, at=int(time.time()) - 3600)[0] == 403          # replayed an hour later
    status, body = JambonzCall(stack, secret="not-the-secret").request(JAMBONZ)
    assert status == 403 and body["message"] == "签名校验失败"
    body = json.dumps({"call_sid": call.sid, "from": call.number}).encode()
    at = int(time.time())
    signature = hmac.new(JAMBONZ_SECRET.encode(), f"{at}.".encode() + body, hashlib.sha256).hexdigest()
    tampered = body.replace(call.number.encode(), b"+8613800138001")
    assert http_post(stack.url + JAMBONZ, tampered, {"Jambonz-Signature": f"t={at},v1={signature}"})[0] == 403
    assert http_post(stack.url + JAMBONZ, body, {})[0] == 403
    not_json = b"call_sid=1"
    signature = hmac.new(JAMBONZ_SECRET.encode(), f"{at}.".encode() + not_json, hashlib.sha256).hexdigest()
    status, text = http_post(stack.url + JAMBONZ, not_json, {"Jambonz-Signature": f"t={at},v1={signature}"})
    assert status == 400 and "JSON" in json.loads(text)["message"]


def to_pinyin(text: str) -> tuple[str, int]:
    """Pinyin with tone numbers for espeak-ng's cmn-latn-pinyin voice, and the syllable count."""
    spoken = re.sub(r"[，。！？；：、]", ", ", text)
    syllables = lazy_pinyin(spoken, style=Style.TONE3, neutral_tone_with_five=True)
    pinyin = " ".join(syllables)
    assert not re.search(r"[^a-zA-Z0-9 ,]", pinyin), pinyin        # nothing the voice cannot read
    return pinyin, sum(1 for s in syllables if re.fullmatch(r"[a-z]+[1-5]", s))


def test_every_prompt_of_a_call_synthesises_as_mandarin(stack, tmp_path):
    """Every prompt a call produced converts to pinyin and espeak-ng (voice cmn-latn-pinyin)
    turns it into audible speech whose length fits its syllables: the text is speakable."""
    call = TwilioCall(stack)
    call.start()
    call.say("居住证怎么办理")
    call.press("2")
    call.press("1")
    call.press("9")
    call.say("查询办件进度QR00120261102000101")
    call.say("我想查半天坚度")
    call.press("2")
    call.silence()
    call.press("0")
    assert len(call.prompts) >= 10
    measured = []
    for n, text in enumerate(call.prompts):
        assert SPEAKABLE.match(text), text
        pinyin, syllables = to_pinyin(text)
        wav = tmp_path / f"prompt{n}.wav"
        subprocess.run(["espeak-ng", "-v", "cmn-latn-pinyin", "-w", str(wav), pinyin], check=True, capture_output=True)
        stats = subprocess.run(["sox", str(wav), "-n", "stats"], check=True, capture_output=True, text=True).stderr
        rms_db = float(re.search(r"RMS lev dB\s+(-?[\d.]+|-inf)", stats).group(1))
        seconds = float(re.search(r"Length s\s+([\d.]+)", stats).group(1))
        assert rms_db > -35, (text, stats)                                   # not silence
        assert 0.1 * syllables <= seconds <= 1.0 * syllables + 1, (text, seconds, syllables)
        measured.append((syllables, seconds, rms_db))
    print(f"\n{len(measured)} prompts, {sum(m[0] for m in measured)} syllables, "
          f"{sum(m[1] for m in measured):.1f} s of espeak-ng speech; "
          f"{min(m[1] / m[0] for m in measured):.2f}–{max(m[1] / m[0] for m in measured):.2f} s per syllable; "
          f"RMS {min(m[2] for m in measured):.1f} to {max(m[2] for m in measured):.1f} dB")
