"""The WeChat official account channel through the real stack. The tests play WeChat's
platform with wechatpy's own crypto (the signature algorithm of check_signature, AES envelopes
of WeChatCrypto) against the gateway at /channels/wechat, and WeChat's API is
tests/fakes/wechat_api.py, which records the customer-service messages the gateway sends.

A second gateway on the same stack, whose passive budget is 0, stands for a turn slower than
WeChat's 5 seconds: it answers "success" at once and delivers the turn's replies later."""
from __future__ import annotations

import asyncio
import importlib.util
import itertools
import json
import random
import re
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis
import xmltodict
from wechatpy.crypto import WeChatCrypto
from wechatpy.utils import WeChatSigner

from channels import wechat_menu
from channels.wechat import IMAGE_BAD, LOCATION_BAD, MENU_UNKNOWN, UNSUPPORTED, VOICE_UNCLEAR
from channels.wechat_api import WeChatApi
from common import notifications, outbox
from common.reply import Reply
from common.sessions import conversation_id
from channels.wechat_render import (TEXT_LIMIT_BYTES, menu_choice, menu_id, payload_checksum, render,
                                    split_text)
from tests.conftest import ROOT, need_env
from tests.fakes import wechat_api
from tests.fakes.wechat_api import ACCOUNT_ID, AES_KEY, APPID, FakeWeChatApi, SECRET, TOKEN

pytestmark = pytest.mark.e2e
LATE_GATEWAY_OFFSET = 11        # the zero-budget gateway's port: test port base + 11
NUMBER = re.compile(r"ZX\d{17}")
LINK = re.compile(r'(\d+)\. <a href="weixin://bizmsgmenu\?msgmenucontent=([^&"]+)&msgmenuid=(\d+)">([^<]+)</a>')
_msg_ids = itertools.count(random.randrange(6 * 10**18, 7 * 10**18))


def new_openid() -> str:
    return "o" + uuid.uuid4().hex[:27]          # 28 characters, like WeChat's openids


# --- WeChat's platform -------------------------------------------------------------------

def message_xml(openid: str, msg_type: str, fields: dict, msg_id: int | None = None, created: int | None = None) -> str:
    parts = [f"<ToUserName><![CDATA[{ACCOUNT_ID}]]></ToUserName>", f"<FromUserName><![CDATA[{openid}]]></FromUserName>",
             f"<CreateTime>{created or int(time.time())}</CreateTime>", f"<MsgType><![CDATA[{msg_type}]]></MsgType>"]
    parts += [f"<{k}><![CDATA[{v}]]></{k}>" for k, v in fields.items()]
    if msg_type != "event":
        parts.append(f"<MsgId>{msg_id or next(_msg_ids)}</MsgId>")
    return "<xml>" + "".join(parts) + "</xml>"


def text_xml(openid: str, content: str, msg_id: int | None = None, menu_id_: str | None = None) -> str:
    fields = {"Content": content}
    if menu_id_:
        fields["bizmsgmenuid"] = menu_id_
    return message_xml(openid, "text", fields, msg_id)


def event_xml(openid: str, event: str, key: str = "") -> str:
    return message_xml(openid, "event", {"Event": event, "EventKey": key})


class Platform:
    """WeChat's side of server mode: signs what it POSTs and, in compatible and safe mode,
    seals it with the account's EncodingAESKey; opens and checks sealed replies."""

    def __init__(self, base_url: str):
        self.url = base_url + "/channels/wechat"
        self.crypto = WeChatCrypto(TOKEN, AES_KEY, APPID)

    @staticmethod
    def signed(token: str = TOKEN, timestamp: int | None = None) -> dict:
        timestamp, nonce = str(timestamp or int(time.time())), str(random.randrange(10**9, 10**10))
        signer = WeChatSigner()         # check_signature's algorithm: sha1 of the sorted parts
        signer.add_data(token, timestamp, nonce)
        return {"signature": signer.signature, "timestamp": timestamp, "nonce": nonce}

    @staticmethod
    def _http(url: str, data: bytes | None = None) -> tuple[int, str]:
        req = urllib.request.Request(url, data=data, headers={"Content-Type": "text/xml"} if data else {})
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                return resp.status, resp.read().decode()
        except urllib.error.HTTPError as err:
            return err.code, err.read().decode()

    def verify(self, echostr: str, **signing) -> tuple[int, str]:
        query = {**self.signed(**signing), "echostr": echostr}
        return self._http(self.url + "?" + urllib.parse.urlencode(query))

    def post(self, xml: str, mode: str = "plain", token: str = TOKEN, crypto: WeChatCrypto | None = None,
             msg_signature: str | None = None) -> tuple[int, dict | str]:
        """(HTTP status, the reply's fields, or its text when it is not a message)."""
        query = self.signed(token)
        body = xml
        if mode != "plain":
            sealed = xmltodict.parse((crypto or self.crypto).encrypt_message(xml, query["nonce"], query["timestamp"]))["xml"]
            query.update(encrypt_type="aes", msg_signature=msg_signature or sealed["MsgSignature"])
            encrypted = f"<Encrypt><![CDATA[{sealed['Encrypt']}]]></Encrypt>"
            body = (f"<xml><ToUserName><![CDATA[{ACCOUNT_ID}]]></ToUserName>{encrypted}</xml>" if mode == "safe"
                    else xml.replace("</xml>", encrypted + "</xml>"))        # compatible: both copies
        status, text = self._http(self.url + "?" + urllib.parse.urlencode(query), body.encode())
        if status != 200 or text == "success":
            return status, text
        if mode != "plain":
            envelope = xmltodict.parse(text)["xml"]
            text = self.crypto.decrypt_message(text, envelope["MsgSignature"], envelope["TimeStamp"], envelope["Nonce"])
        return status, xmltodict.parse(text)["xml"]


def answer(platform: Platform, api: FakeWeChatApi, openid: str, xml: str, mode: str = "safe") -> str:
    """The assistant's answer: the passive reply, or the customer-service message that follows
    a "success" (a turn slower than the budget)."""
    before = len(api.attempts_to(openid))
    status, reply = platform.post(xml, mode)
    assert status == 200, reply
    if reply != "success":
        return reply["Content"]
    return api.wait_attempts(openid, before + 1)[before].body["text"]["content"]


def say(stack, api: FakeWeChatApi, openid: str, text: str) -> str:
    return answer(Platform(stack.url), api, openid, text_xml(openid, text))


def wait_for(predicate, what: str, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        assert time.monotonic() < deadline, f"waited for {what}"
        time.sleep(0.2)
    return value


def api_base(stack) -> str:
    return wechat_api.gateway_env(stack.base)["WECHAT_API_BASE"]


def hall_get(stack, path: str) -> dict:
    req = urllib.request.Request(stack.hall_url + path, headers={"X-Hall-Key": "dev-hall-key-change-me"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read())


# --- fixtures ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def api(stack) -> FakeWeChatApi:
    fake = FakeWeChatApi(stack.base + wechat_api.PORT_OFFSET).start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def store(stack) -> redis.Redis:
    client = redis.Redis(host="127.0.0.1", port=stack.redis_port, db=0)
    yield client
    client.close()


@pytest.fixture(scope="module")
def late_gateway(stack, api) -> str:
    """A second gateway on the stack with a passive budget of 0 s, like any turn over budget."""
    spec = importlib.util.spec_from_file_location("stack_runner", ROOT / "scripts" / "stack.py")
    runner = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = runner             # its dataclasses look their module up
    spec.loader.exec_module(runner)
    port = stack.base + LATE_GATEWAY_OFFSET
    env = runner.stack_env(runner.ports(stack.base), stack.var, need_env("HALL_E5_MODEL"))
    env.update(wechat_api.gateway_env(stack.base), ASSISTANT_PORT=str(port), WECHAT_PASSIVE_BUDGET_S="0")
    log = open(stack.var / "logs" / "gateway-wechat-late.log", "ab")
    proc = subprocess.Popen([need_env("HALL_APP_PYTHON"), "-m", "assistant"], env=env, cwd=ROOT, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: stack.get(url + "/healthz")[0] == 200 or proc.poll() is not None, "the late gateway", 120)
        assert proc.poll() is None, (stack.var / "logs" / "gateway-wechat-late.log").read_text()[-3000:]
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


# --- the envelope ------------------------------------------------------------------------

def test_url_check_echoes_echostr_only_when_signed(stack):
    platform = Platform(stack.url)
    assert platform.verify("7312987465102938471") == (200, "7312987465102938471")
    assert platform.verify("7312987465102938471", token="someone-else")[0] == 403
    assert platform.verify("7312987465102938471", timestamp=int(time.time()) - 3600)[0] == 403   # replayed
    assert Platform._http(platform.url + "?echostr=1")[0] == 403


def test_bad_signature_or_envelope_is_refused_and_nothing_processed(stack, api, store):
    platform, me, msg_id = Platform(stack.url), new_openid(), next(_msg_ids)
    xml = text_xml(me, "居住证怎么办理", msg_id)
    other_key = WeChatCrypto(TOKEN, "ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210zyxwvut", APPID)
    other_account = WeChatCrypto(TOKEN, AES_KEY, "wx0123456789abcdef")
    refused = [
        platform.post(xml, token="someone-else"),                              # plain, wrong token
        platform.post(xml, "safe", token="someone-else"),
        platform.post(xml, "safe", msg_signature="0" * 40),                    # envelope signature wrong
        platform.post(xml, "safe", crypto=other_key),                          # sealed with another key
        platform.post(xml, "compatible", crypto=other_account),                # sealed for another account
        platform.post("<xml><MsgType>text</MsgType><Content>", "plain"),       # not XML
        platform.post(text_xml("../../etc/passwd", "你好"), "plain"),          # not an openid
    ]
    assert [status for status, _ in refused] == [403] * len(refused)
    assert not store.exists(f"session:{conversation_id('wechat', me)}")
    # Nothing was claimed either: the same message, properly sent, is answered.
    status, reply = platform.post(xml, "safe")
    assert status == 200 and "居住证" in reply["Content"]


@pytest.mark.parametrize("mode", ["plain", "compatible", "safe"])
def test_a_question_is_answered_passively_in_each_mode(stack, api, mode):
    me = new_openid()
    status, reply = Platform(stack.url).post(text_xml(me, "居住证怎么办理"), mode)
    assert status == 200
    assert (reply["MsgType"], reply["ToUserName"], reply["FromUserName"]) == ("text", me, ACCOUNT_ID)
    assert "居住证" in reply["Content"] and len(reply["Content"].encode()) <= TEXT_LIMIT_BYTES
    content = reply["Content"]
    if not LINK.search(content):
        # A guide over WeChat's 2048 bytes: the rest follows as a customer-service message.
        [rest] = api.wait_attempts(me, 1)
        assert not set(content.splitlines()) & set(rest.body["text"]["content"].splitlines())   # not repeated
        content = rest.body["text"]["content"]
    assert "所需材料" in [m[3] for m in LINK.findall(content)] and len(content.encode()) <= TEXT_LIMIT_BYTES


# --- once, and within WeChat's 5 seconds -------------------------------------------------

def test_retries_of_one_message_make_one_turn(stack, api, store):
    platform, me = Platform(stack.url), new_openid()
    xml = text_xml(me, "你好")
    with ThreadPoolExecutor(4) as pool:          # WeChat's first try and its three retries
        results = list(pool.map(lambda _: platform.post(xml, "safe"), range(4)))
    assert [status for status, _ in results] == [200] * 4
    answered = {reply["Content"] for _, reply in results if reply != "success"}
    assert len(answered) == 1
    # A retry after the answer (WeChat did not get it) gets the same answer, not a new turn.
    status, again = platform.post(xml, "safe")
    assert again["Content"] in answered
    assert store.hget(f"session:{conversation_id('wechat', me)}", "turns") == b"1"


def test_a_slow_turn_is_answered_success_then_by_customer_service_message(late_gateway, api):
    platform, me = Platform(late_gateway), new_openid()
    assert platform.post(text_xml(me, "你好"), "safe") == (200, "success")
    [call] = api.wait_attempts(me, 1)
    assert call.errcode == 0 and call.query["access_token"].startswith("FAKE_ACCESS_TOKEN_")
    assert call.body["msgtype"] == "text" and "智能助手" in call.body["text"]["content"]
    # WeChat stops taking the token (another process fetched one): a new one is fetched, once.
    tokens = len(api.calls_to("/cgi-bin/token"))
    api.expire_tokens()
    assert platform.post(text_xml(me, "谢谢"), "safe") == (200, "success")
    refused, delivered = api.wait_attempts(me, 3)[1:]
    assert (refused.errcode, delivered.errcode) == (40001, 0) and "不客气" in delivered.body["text"]["content"]
    assert len(api.calls_to("/cgi-bin/token")) == tokens + 1


def test_a_message_refused_out_of_window_waits_in_the_outbox(stack, late_gateway, api, store):
    me = new_openid()
    api.refuse(me, 45015)
    assert Platform(late_gateway).post(text_xml(me, "你好"), "safe") == (200, "success")
    assert api.wait_attempts(me, 1)[0].errcode == 45015
    wait_for(lambda: store.llen(outbox._key(conversation_id("wechat", me))), "the reply in the outbox")
    del api.refusals[me]
    later = say(stack, api, me, "谢谢")
    assert 0 <= later.index("智能助手") < later.index("不客气")      # the kept reply comes first
    assert len(api.attempts_to(me)) == 1


def test_notifications_are_pushed_in_the_window_and_wait_outside_it(stack, api, store):
    inside, outside = new_openid(), new_openid()
    for me in (inside, outside):
        say(stack, api, me, "你好")
    Platform(stack.url).post(event_xml(outside, "unsubscribe"), "safe")
    for me in (inside, outside):
        store.xadd(notifications.STREAM, notifications.entry(conversation_id("wechat", me), f"预约提醒：{me[-6:]}明天上午9:00"))
    [call] = api.wait_attempts(inside, 1)
    assert call.body["text"]["content"] == f"预约提醒：{inside[-6:]}明天上午9:00"
    wait_for(lambda: store.llen(outbox._key(conversation_id("wechat", outside))), "the notification in the outbox")
    assert api.attempts_to(outside) == []        # outside the window WeChat is not even asked
    back = answer(Platform(stack.url), api, outside, event_xml(outside, "subscribe"))
    assert f"预约提醒：{outside[-6:]}明天上午9:00" in back


# --- message kinds -----------------------------------------------------------------------

def test_voice_is_answered_from_its_recognition(stack, api):
    platform, me = Platform(stack.url), new_openid()
    heard = answer(platform, api, me, message_xml(me, "voice", {"MediaId": "m1", "Format": "amr",
                                                                "Recognition": "居住证怎么办理。"}))
    assert "居住证" in heard
    _, reply = platform.post(message_xml(me, "voice", {"MediaId": "m2", "Format": "amr", "Recognition": ""}), "safe")
    assert reply["Content"] == VOICE_UNCLEAR
    _, reply = platform.post(message_xml(me, "video", {"MediaId": "m3", "ThumbMediaId": "t3"}), "safe")
    assert reply["Content"] == UNSUPPORTED


def test_an_image_is_carried_by_the_next_consultation(stack, api):
    platform, me = Platform(stack.url), new_openid()
    picture = "http://mmbiz.qpic.cn/mmbiz_jpg/hallAssistantTest0001/0"
    _, reply = platform.post(message_xml(me, "image", {"PicUrl": picture, "MediaId": "media-1"}), "safe")
    assert "已收到您的图片" in reply["Content"] and "咨询" in reply["Content"]
    _, reply = platform.post(message_xml(me, "image", {"PicUrl": "file:///etc/passwd", "MediaId": "x"}), "safe")
    assert reply["Content"] == IMAGE_BAD
    replies = [say(stack, api, me, m) for m in [
        "我想提交一个咨询", "我是非深户，想问下灵活就业人员能不能在深圳交社保，每个月最低交多少",
        "市社保局", "政策咨询", "不公开", "赵敏", "13600136000"]]
    assert "请核对" in replies[-1]
    number = NUMBER.search(say(stack, api, me, "确认提交")).group()
    record = hall_get(stack, f"/api/v1/consultations/{number}")
    assert [(a["content_type"], a["url"]) for a in record["attachments"]] == [("image/jpeg", picture)]


@pytest.mark.parametrize("latitude, longitude, branch", [
    (22.5333, 113.9365, "南山区政务服务中心"),      # 深圳大学
    (22.7196, 114.2470, "龙岗区政务服务中心"),      # 龙城广场
    (22.5410, 114.0570, "深圳市行政服务大厅"),      # 市民中心
])
def test_a_location_gets_the_nearest_branch(stack, api, latitude, longitude, branch):
    me = new_openid()
    _, reply = Platform(stack.url).post(message_xml(me, "location", {
        "Location_X": latitude, "Location_Y": longitude, "Scale": 15, "Label": "位置"}), "safe")
    assert reply["Content"].startswith(f"离您最近的是{branch}") and "地址：" in reply["Content"]


def test_a_location_out_of_range_is_asked_again(stack, api):
    me = new_openid()
    _, reply = Platform(stack.url).post(message_xml(me, "location", {"Location_X": "200", "Location_Y": "x"}), "safe")
    assert reply["Content"] == LOCATION_BAD


def test_subscribe_is_welcomed_with_what_the_assistant_can_do(stack, api):
    platform, me = Platform(stack.url), new_openid()
    welcome = answer(platform, api, me, event_xml(me, "subscribe"))
    assert welcome.startswith("感谢关注") and "查询办事指南" in welcome
    assert "转人工" in [m[3] for m in LINK.findall(welcome)]
    assert platform.post(event_xml(me, "unsubscribe"), "safe") == (200, "success")


def test_menu_clicks_and_menu_links(stack, api):
    platform, me = Platform(stack.url), new_openid()
    assert "请描述您要投诉的事情" in answer(platform, api, me, event_xml(me, "CLICK", "FILE_COMPLAINT"))
    assert "取消" in say(stack, api, me, "取消")
    assert platform.post(event_xml(me, "VIEW", "https://www.gdzwfw.gov.cn"), "safe") == (200, "success")
    assert platform.post(event_xml(me, "CLICK", "NO_SUCH_KEY"), "safe")[1]["Content"] == MENU_UNKNOWN
    # A tapped menu link sends its title and id, and picks that option of the current menu.
    help_links = LINK.findall(answer(platform, api, me, event_xml(me, "CLICK", "HELP")))
    greet_links = LINK.findall(say(stack, api, me, "你好"))
    _, title, tapped, _ = next(link for link in greet_links if link[1] == "办件进度查询")
    assert "受理编号" in answer(platform, api, me, text_xml(me, title, menu_id_=tapped))
    # A link of an earlier menu is taken by its title, not by its number in the current menu
    # (help's option 2 "转人工" is the greeting's option 2 "办件进度查询" now).
    say(stack, api, me, "你好")
    number, title, tapped, _ = next(link for link in help_links if link[1] == "转人工")
    assert number == "2" and "人工服务" in answer(platform, api, me, text_xml(me, title, menu_id_=tapped))
    # Typing the number works as well.
    number = next(link[0] for link in LINK.findall(say(stack, api, me, "你好")) if link[1] == "大厅地址和时间")
    assert "办公时间" in say(stack, api, me, number)


# --- rendering, the menu file and the API client without the stack -------------------------

def test_long_replies_are_split_within_the_text_limit():
    text = "\n".join(f"{n}. 申请人身份证原件及复印件，复印件需加盖公章并注明“与原件一致”。" * 3 for n in range(1, 40))
    chunks = split_text(text)
    assert len(chunks) > 1 and all(len(c.encode()) <= TEXT_LIMIT_BYTES for c in chunks)
    assert "\n".join(chunks) == text            # split between lines, nothing lost
    one_line = "办理须知。" * 600
    pieces = split_text(one_line)
    assert "".join(pieces) == one_line and all(p.endswith("。") for p in pieces)
    messages = render([Reply(text, buttons=[{"title": "预约办理", "payload": "/book_appointment"}])])
    assert all(len(m.content.encode()) <= TEXT_LIMIT_BYTES for m in messages)
    assert "预约办理</a>" in messages[-1].content and messages[-1].kept[-1].buttons


def test_short_replies_share_one_message_with_options_numbered_across_them():
    [message] = render([Reply("第一条", buttons=[{"title": "甲", "payload": "/a"}]),
                        Reply("第二条", buttons=[{"title": "乙", "payload": "/b"}])])
    assert [(n, t) for n, t, _, _ in LINK.findall(message.content)] == [("1", "甲"), ("2", "乙")]
    assert menu_choice(str(menu_id(2, "/b"))) == (2, payload_checksum("/b"))
    assert menu_choice("2") is None            # an id we did not make


def test_an_image_reply_becomes_a_news_card():
    [card] = render([Reply("居住证办理指南\n所需材料：身份证、居住登记凭证。网上办理：https://www.gdzwfw.gov.cn/jzz",
                           image="https://example.gov.cn/jzz.png")])
    assert card.custom_message("o1")["news"]["articles"] == [{
        "title": "居住证办理指南", "description": "所需材料：身份证、居住登记凭证。网上办理：https://www.gdzwfw.gov.cn/jzz",
        "url": "https://www.gdzwfw.gov.cn/jzz", "picurl": "https://example.gov.cn/jzz.png"}]


def test_a_request_for_a_person_is_transferred_to_wechat_staff_only_when_configured():
    from wechatpy import parse_message
    replies = [Reply("正在为您转接人工客服，请稍候。", custom={"handoff": {"reason": "citizen_asked"}})]
    incoming = parse_message(text_xml("o" + "1" * 27, "转人工"))
    transferred = render(replies, transfer=True)
    assert [m.kind for m in transferred] == ["transfer", "text"]
    assert "<MsgType><![CDATA[transfer_customer_service]]></MsgType>" in transferred[0].passive_reply(incoming)
    assert [m.kind for m in render(replies)] == ["text"]


def test_the_menu_file_is_within_wechats_limits_and_uploads(stack, api, tmp_path):
    menu = wechat_menu.load()
    assert {"FILE_COMPLAINT", "HELP"} <= set(menu.says)
    assert "say" not in json.dumps(menu.definition)

    async def upload():
        client = WeChatApi(api_base(stack), APPID, SECRET)
        try:
            await client.create_menu(menu.definition)
        finally:
            await client.close()

    asyncio.run(upload())
    assert api.calls_to("/cgi-bin/menu/create")[-1].body == menu.definition
    four = tmp_path / "menu.yaml"
    four.write_text("button:\n" + "".join(f"  - {{type: click, name: 菜单{n}, key: K{n}, say: 你好}}\n" for n in range(4)),
                    encoding="utf-8")
    with pytest.raises(wechat_menu.MenuError):
        wechat_menu.load(four)
