"""The web chat channel through the real stack: the embeddable widget in Debian's Chromium
(driven by Playwright, never a downloaded browser) on the demo hall page, and the websocket
protocol, REST fallback and pushes without a browser."""
from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import uuid

import aiohttp
import pytest
import redis.asyncio as aioredis
from PIL import Image

from assistant.engine import RasaEngine
from assistant.gateway import Gateway
from channels.web import WebChannel, WebSettings
from common import notifications, outbox
from common.delivery import Delivery
from common.reply import Reply
from common.sessions import Sessions, conversation_id
from tests.conftest import ROOT

pytestmark = pytest.mark.e2e
GUIDE_CODE = "440300-001-QR-0001"             # 深圳市居住证申领
WAIT_MS = 60_000                              # longest wait for a reply (Rasa on a busy machine)

# In-page helpers. The widget lives in an open shadow root; Playwright's CSS locators pierce it.
FOCUSED = """() => { const a = document.activeElement;
  return a && a.shadowRoot && a.shadowRoot.activeElement ? a.shadowRoot.activeElement.className : (a ? a.tagName : ""); }"""
CONTRAST = """(el) => {
  const rgb = (c) => (c.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => { const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
                               return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b); };
  let node = el, bg = null;
  while (node && !bg) {
    const c = rgb(getComputedStyle(node).backgroundColor);
    if (c.length === 3 || (c.length === 4 && c[3] > 0)) bg = c.slice(0, 3);
    node = node.parentElement || (node.getRootNode() && node.getRootNode().host) || null;
  }
  const [a, b] = [lum(rgb(getComputedStyle(el).color)), lum(bg || [255, 255, 255])].sort((x, y) => y - x);
  return (a + 0.05) / (b + 0.05); }"""


def fresh() -> str:
    return "w-" + uuid.uuid4().hex[:12]


async def until(check, timeout_s: float = WAIT_MS / 1000) -> None:
    """Waits until check() (sync or async) is true; fails the test after timeout_s."""
    async def poll():
        while True:
            result = check()
            if asyncio.iscoroutine(result):
                result = await result
            if result:
                return
            await asyncio.sleep(0.1)
    await asyncio.wait_for(poll(), timeout_s)


async def fonts_rendering(page, selector: str) -> set[str]:
    """The platform fonts Chromium really drew the element's text with (DevTools protocol)."""
    cdp = await page.context.new_cdp_session(page)
    await cdp.send("DOM.enable")
    await cdp.send("CSS.enable")
    await cdp.send("DOM.getDocument", {"depth": -1, "pierce": True})
    found = await cdp.send("Runtime.evaluate", {"expression":
        f"document.querySelector('#hall-assistant-widget').shadowRoot.querySelector('{selector}')"})
    node = await cdp.send("DOM.requestNode", {"objectId": found["result"]["objectId"]})
    fonts = await cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node["nodeId"]})
    await cdp.detach()
    return {f["familyName"] for f in fonts["fonts"]}


class SocketGate:
    """Stands between the page and the gateway's websocket (Playwright's routeWebSocket), like a
    flaky mobile network: it can hold the gateway's replies, drop the connection and refuse new ones."""

    def __init__(self):
        self.holding = self.refusing = False
        self.held: list[tuple[object, str]] = []
        self.connections: list[object] = []

    async def route(self, page_side) -> None:
        if self.refusing:
            await page_side.close(code=1013, reason="network down")
            return
        server_side = page_side.connect_to_server()

        def from_gateway(message):
            if self.holding and json.loads(message).get("type") == "reply":
                self.held.append((page_side, message))
            else:
                page_side.send(message)

        server_side.on_message(from_gateway)
        self.connections.append(page_side)

    def release(self) -> None:
        self.holding = False
        for page_side, message in self.held:
            page_side.send(message)
        self.held.clear()

    async def drop_all(self) -> None:
        for page_side in self.connections:
            await page_side.close(code=1012, reason="network lost")
        self.connections.clear()


class Widget:
    """The widget on the demo hall page, as a citizen sees it."""

    def __init__(self, page):
        self.page = page
        self.host = page.locator("#hall-assistant-widget")
        self.launcher = page.locator(".launcher")
        self.panel = page.locator(".panel")
        self.log = page.locator(".log")
        self.bot = page.locator(".msg.bot")
        self.user = page.locator(".msg.user")
        self.input = page.locator("textarea.input")
        self.typing = page.locator(".typing")
        self.elderly = page.locator("button.elderly")

    async def bot_count_reaches(self, n: int) -> None:
        await self.page.wait_for_function(
            "(n) => document.querySelector('#hall-assistant-widget').shadowRoot.querySelectorAll('.msg.bot').length >= n",
            arg=n, timeout=WAIT_MS)

    async def say(self, text: str) -> str:
        """Types a message and presses Enter; returns the text of the replies to it."""
        before = await self.bot.count()
        await self.input.focus()
        await self.page.keyboard.type(text)
        await self.page.keyboard.press("Enter")
        await self.bot_count_reaches(before + 1)
        await self.page.wait_for_function(
            "() => document.querySelector('#hall-assistant-widget').shadowRoot.querySelector('.ha').dataset.typing === 'false'",
            timeout=WAIT_MS)
        return "\n".join((await self.bot.all_inner_texts())[before:])

    async def last_said(self) -> str:
        return await self.page.locator(".msg.user .text").last.inner_text()

    async def user_id(self) -> str:
        return json.loads(await self.page.evaluate("() => localStorage.getItem('hall-assistant:user')"))

    async def wait_state(self, state: str) -> None:
        await self.page.wait_for_function(
            "(s) => document.querySelector('#hall-assistant-widget').dataset.state === s", arg=state, timeout=WAIT_MS)


@pytest.fixture
async def page(browser):
    context = await browser.new_context(viewport={"width": 1280, "height": 860}, locale="zh-CN")
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    def on_dialog(dialog):
        errors.append(f"dialog: {dialog.message}")
        asyncio.ensure_future(dialog.dismiss())

    page.on("dialog", on_dialog)
    yield page
    await context.close()
    assert not errors, errors                   # no script error, and no injected alert() ran


@pytest.fixture
async def redis(stack):
    client = aioredis.Redis(port=stack.redis_port, db=0)
    yield client
    await client.aclose()


async def test_widget_by_keyboard_buttons_typing_elderly_mode_and_reload(stack, page, tmp_path):
    gate = SocketGate()
    await page.route_web_socket("**/channels/web/ws*", gate.route)
    await page.goto(stack.url + "/chat/")
    widget = Widget(page)
    assert await page.locator('script[src="/static/widget.js"]').count() == 1   # all the hall page embeds

    # Keyboard only: Tab reaches the launcher, Enter opens the panel and puts the cursor in the input.
    for _ in range(30):
        if await page.evaluate(FOCUSED) == "launcher":
            break
        await page.keyboard.press("Tab")
    assert await page.evaluate(FOCUSED) == "launcher"
    await page.keyboard.press("Enter")
    await widget.panel.wait_for(state="visible")
    assert await widget.launcher.get_attribute("aria-expanded") == "true"
    assert await page.evaluate(FOCUSED) == "input"
    await widget.bot_count_reaches(1)                                      # the assistant greets
    assert "智能助手" in await widget.bot.first.inner_text()

    # Screen-reader labels.
    assert await widget.log.get_attribute("role") == "log"
    assert await widget.log.get_attribute("aria-live") == "polite"
    assert await widget.log.get_attribute("aria-label") == "对话记录"
    assert await widget.panel.get_attribute("role") == "dialog"
    assert await page.locator("label[for=ha-input]").inner_text() != ""
    for b in await page.locator(".header button, .launcher").all():
        assert (await b.get_attribute("aria-label") or "").strip()

    # While the answer is pending the typing state shows; it goes when the answer is in.
    gate.holding = True
    await widget.input.focus()
    await page.keyboard.type("深圳居住证怎么申请")
    await page.keyboard.press("Enter")
    await page.wait_for_function("() => document.querySelector('#hall-assistant-widget').shadowRoot"
                                 ".querySelector('.typing').textContent.includes('正在输入')", timeout=WAIT_MS)
    assert await widget.typing.get_attribute("role") == "status"
    assert await widget.last_said() == "深圳居住证怎么申请"
    await until(lambda: gate.held)
    assert await widget.bot.count() == 1                                   # held back: nothing shown yet
    gate.release()
    await widget.bot_count_reaches(2)
    await page.wait_for_function("() => document.querySelector('#hall-assistant-widget').shadowRoot"
                                 ".querySelector('.typing').textContent === ''", timeout=WAIT_MS)
    guide = await widget.bot.nth(1).inner_text()
    assert GUIDE_CODE in guide and "受理条件：\n1." in guide                # line breaks kept

    # A button sends its payload; the citizen sees its title as their message.
    choice = widget.bot.nth(1).locator("button.choice", has_text="办理流程")
    await choice.click()
    await widget.bot_count_reaches(3)
    assert await widget.last_said() == "办理流程"
    assert "ask_service_guide" not in await widget.log.inner_text()
    assert "办理流程：" in await widget.bot.nth(2).inner_text()
    assert await page.evaluate(FOCUSED) == "input"                        # focus back where typing goes

    # Markup is shown as text, never run.
    await widget.say("<img src=x onerror=alert(1)>我的居住证")
    assert await widget.last_said() == "<img src=x onerror=alert(1)>我的居住证"
    assert await widget.log.locator("img").count() == 0

    # 长辈模式: large text, announced as pressed, kept across visits.
    small = await widget.bot.first.evaluate("el => parseFloat(getComputedStyle(el).fontSize)")
    await widget.elderly.focus()
    await page.keyboard.press("Enter")
    assert await widget.elderly.get_attribute("aria-pressed") == "true"
    large = await widget.bot.first.evaluate("el => parseFloat(getComputedStyle(el).fontSize)")
    assert large >= 20 and large > small * 1.25

    # Contrast (standard 6.1.2.3) and Chinese fonts.
    for selector in (".msg.bot .text", ".msg.user .text", "button.choice", ".title", "button.send", "button.elderly",
                     ".launcher-text"):
        ratio = await page.locator(selector).first.evaluate(CONTRAST)
        assert ratio >= 4.5, (selector, ratio)
    assert (await widget.host.evaluate("el => getComputedStyle(el).fontFamily")).startswith('"WenQuanYi Zen Hei"')
    assert "WenQuanYi Zen Hei" in await fonts_rendering(page, ".msg.bot .text")

    # The panel as a citizen sees it: not blank, with text in it.
    shot = tmp_path / "web-chat-panel.png"
    await widget.panel.screenshot(path=str(shot), animations="disabled")
    image = Image.open(shot).convert("RGB")
    pixels = image.width * image.height
    colours = image.getcolors(maxcolors=pixels)
    dark = sum(n for n, rgb in colours if max(rgb) < 110)                  # glyph strokes
    assert len(colours) >= 200 and dark / pixels >= 0.01, (len(colours), dark / pixels)

    # Esc closes and gives the focus back to the launcher.
    await widget.input.focus()
    await page.keyboard.press("Escape")
    await widget.panel.wait_for(state="hidden")
    assert await page.evaluate(FOCUSED) == "launcher"

    # Reload: same citizen id, the conversation on screen, elderly mode kept, and the
    # assistant still knows which service we are talking about.
    me = await widget.user_id()
    await page.reload()
    widget = Widget(page)
    await widget.launcher.click()
    assert await widget.user_id() == me
    assert await widget.elderly.get_attribute("aria-pressed") == "true"
    assert GUIDE_CODE in await widget.log.inner_text()
    follow = await widget.say("那大概要多久能办好")
    assert GUIDE_CODE in follow and "办理时限" in follow


async def test_push_appears_live_in_the_open_page(stack, page, redis):
    await page.goto(stack.url + "/chat/")
    widget = Widget(page)
    await widget.launcher.click()
    await widget.bot_count_reaches(1)
    await widget.wait_state("open")
    conv = conversation_id("web", await widget.user_id())
    before = await widget.bot.count()
    text = ("您预约的居住证业务已受理，受理编号 YY20260101000000001。\n详情：https://www.gdzwfw.gov.cn/detail?id=1。"
            "<b>请按时到场</b> javascript:alert(1)")
    await notifications.enqueue(redis, conv, text)                          # as the action server does
    await widget.bot_count_reaches(before + 1)
    shown = widget.bot.last
    assert "受理编号 YY20260101000000001" in await shown.inner_text()
    assert "<b>请按时到场</b>" in await shown.inner_text()                    # markup stays text
    assert await shown.locator("b").count() == 0
    links = shown.locator("a")
    assert await links.count() == 1
    assert await links.first.get_attribute("href") == "https://www.gdzwfw.gov.cn/detail?id=1"
    assert "noopener" in await links.first.get_attribute("rel")
    assert await redis.llen(f"outbox:{conv}") == 0                          # delivered, not kept


async def test_reconnect_and_rest_fallback_keep_one_conversation(stack, page, redis):
    gate = SocketGate()
    await page.route_web_socket("**/channels/web/ws*", gate.route)
    await page.goto(stack.url + "/chat/")
    widget = Widget(page)
    await widget.launcher.click()
    await widget.wait_state("open")
    assert GUIDE_CODE in await widget.say("深圳居住证怎么申请")
    conv = conversation_id("web", await widget.user_id())

    # The network drops and stays down for the socket: the widget says so and keeps trying.
    gate.refusing = True
    await gate.drop_all()
    await widget.wait_state("offline")
    assert "正在重新连接" in await page.locator(".status").inner_text()

    # Meanwhile messages go by the REST fallback, into the same conversation...
    fallback: list[str] = []
    page.on("request", lambda r: fallback.append(r.url) if r.url.endswith("/channels/web/message") else None)
    follow = await widget.say("那大概要多久能办好")
    assert fallback and GUIDE_CODE in follow and "办理时限" in follow

    # ...and a push is not acknowledged (the gateway's end of the lost socket may look open until
    # its heartbeat notices), so it waits in the outbox and comes with the next message.
    await notifications.enqueue(redis, conv, "您的咨询已有答复，受理编号 ZX20260101000000002。")
    await until(lambda: redis.llen(f"outbox:{conv}"))
    assert await redis.llen(f"outbox:{conv}") == 1
    assert "ZX20260101000000002" in await widget.say("要交钱吗")

    # No network at all: the message is kept (on screen and in localStorage) ...
    await page.context.set_offline(True)
    before = await widget.bot.count()
    await widget.input.focus()
    await page.keyboard.type("在哪里办理")
    await page.keyboard.press("Enter")
    await page.wait_for_function("() => document.querySelector('#hall-assistant-widget').shadowRoot"
                                 ".querySelector('.status').textContent.includes('恢复连接后自动发送')", timeout=WAIT_MS)
    queued = await page.evaluate("() => JSON.parse(localStorage.getItem('hall-assistant:outgoing'))")
    assert [m["text"] for m in queued] == ["在哪里办理"] and await widget.bot.count() == before

    # ... and sent over the socket once the widget has reconnected by itself.
    sent_by_rest = len(fallback)
    gate.refusing = False
    await page.context.set_offline(False)
    await widget.wait_state("open")
    await widget.bot_count_reaches(before + 1)
    assert GUIDE_CODE in await widget.bot.last.inner_text() and "办理地点" in await widget.bot.last.inner_text()
    assert await page.evaluate("() => JSON.parse(localStorage.getItem('hall-assistant:outgoing'))") == []
    again = await widget.say("需要什么材料")
    assert len(fallback) == sent_by_rest and GUIDE_CODE in again and "所需材料" in again


# -- without a browser ----------------------------------------------------------------------

async def receive(ws) -> dict:
    msg = await asyncio.wait_for(ws.receive(), timeout=WAIT_MS / 1000)
    assert msg.type == aiohttp.WSMsgType.TEXT, msg
    return json.loads(msg.data)


async def replies_until_last(ws) -> list[dict]:
    out = []
    while not out or not out[-1].get("last"):
        frame = await receive(ws)
        if frame["type"] != "typing":
            out.append(frame)
    return out


async def test_socket_protocol_and_bad_frames(stack):
    url = stack.url.replace("http", "ws") + "/channels/web/ws"
    me = fresh()
    async with aiohttp.ClientSession() as http:
        async with http.ws_connect(f"{url}?user={me}") as ws:
            assert await receive(ws) == {"type": "ready"}
            bad = [("not json", "bad_json"), (json.dumps({"type": "message"}), "bad_frame"),
                   (json.dumps({"type": "subscribe", "user": "someone-else"}), "unknown_type"),
                   (json.dumps({"type": "message", "text": "办" * 3000}, ensure_ascii=False), "too_large")]
            for raw, code in bad:
                await ws.send_str(raw)
                frame = await receive(ws)
                assert frame["type"] == "error" and frame["code"] == code
                assert any("\u4e00" <= ch <= "\u9fff" for ch in frame["message"]) and "Traceback" not in frame["message"]
            await ws.send_bytes(b"\x00\x01")
            assert (await receive(ws))["code"] == "bad_frame"
            await ws.send_json({"type": "ping"})
            assert await receive(ws) == {"type": "pong"}                    # still open after bad frames
            await ws.send_json({"type": "message", "text": "深圳居住证怎么申请"})
            assert await receive(ws) == {"type": "typing"}
            answer = await replies_until_last(ws)
            assert all(f["type"] == "reply" for f in answer) and GUIDE_CODE in answer[0]["text"]
            assert any(b["title"] == "办理流程" and b["payload"].startswith("/") for b in answer[-1]["buttons"])
            await ws.send_json({"type": "message", "text": " "})
            assert "请输入" in (await replies_until_last(ws))[0]["text"]

        # The REST fallback continues the socket's conversation (same channel, same user id).
        async with http.post(stack.url + "/channels/web/message", json={"user": me, "text": "那大概要多久能办好"},
                             headers={"Origin": "https://www.sz.gov.cn"}) as resp:
            assert resp.status == 200 and resp.headers["Access-Control-Allow-Origin"] == "https://www.sz.gov.cn"
            follow = await resp.json()
            assert GUIDE_CODE in follow[0]["text"] and follow[-1]["last"] is True
        async with http.options(stack.url + "/channels/web/message",
                                headers={"Origin": "https://www.sz.gov.cn", "Access-Control-Request-Method": "POST"}) as resp:
            assert resp.status == 204 and "POST" in resp.headers["Access-Control-Allow-Methods"]
        for body, status, code in [(b"not json", 400, "bad_json"), (b'{"user": "a b/c", "text": "hi"}', 400, "bad_user"),
                                   (b'{"sender": "x", "message": "hi"}', 400, "bad_request"),
                                   (json.dumps({"user": me, "text": "办" * 5000}).encode(), 413, "too_large")]:
            async with http.post(stack.url + "/channels/web/message", data=body) as resp:
                error = await resp.json()
                assert resp.status == status and error["code"] == code and "Traceback" not in error["message"]

        # Bad user id: a Chinese error, then the socket is closed. Not a socket at all: a Chinese 400.
        async with http.ws_connect(f"{url}?user=a%20b/c") as ws:
            frame = await receive(ws)
            assert frame["code"] == "bad_user" and "用户标识" in frame["message"]
            assert (await ws.receive()).type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
        async with http.get(url) as resp:
            assert resp.status == 400 and "WebSocket" in (await resp.json())["message"]
        # A frame over the hard limit is never read: the socket is closed as "message too big".
        async with http.ws_connect(f"{url}?user={fresh()}") as ws:
            await receive(ws)
            await ws.send_str("x" * 70_000)
            closing = await ws.receive()
            assert closing.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED) and ws.close_code == 1009


async def test_push_from_another_process_needs_the_browsers_acknowledgement(stack, redis):
    """The pushing process (this test) is not the one holding the socket (the stack's gateway):
    the push crosses processes through Redis, and counts as delivered only once acknowledged."""
    gateway = Gateway(RasaEngine(stack.rasa_url, 30), Sessions(redis, 3600), 1000)
    channel = WebChannel(gateway, WebSettings(push_ack_timeout_s=2))
    delivery = Delivery(redis, {"web": channel})
    url = stack.url.replace("http", "ws") + "/channels/web/ws"
    me = fresh()
    conv = conversation_id("web", me)
    assert await channel.push(me, [Reply("没有打开的页面")]) is False          # nobody there: outbox

    async with aiohttp.ClientSession() as http:
        async with http.ws_connect(f"{url}?user={me}") as ws:
            assert await receive(ws) == {"type": "ready"}
            await ws.send_json({"type": "message", "text": "你好"})          # the session Delivery looks up
            await replies_until_last(ws)

            # A browser that shows the push and acknowledges it: delivered live.
            sending = asyncio.create_task(delivery.send(conv, [Reply("您的投诉已受理", [{"title": "查询进度", "payload": "/query_case_status"}])]))
            frame = await receive(ws)
            assert frame["text"] == "您的投诉已受理" and frame["buttons"][0]["title"] == "查询进度" and len(frame["id"]) == 32
            await ws.send_json({"type": "ack", "id": frame["id"]})
            assert await sending == "pushed"
            assert await redis.llen(f"outbox:{conv}") == 0

            # A socket that takes the frame but never shows it (a dead page): kept in the outbox.
            sending = asyncio.create_task(delivery.send(conv, [Reply("预约提醒：明天上午9:00")]))
            assert (await receive(ws))["text"] == "预约提醒：明天上午9:00"
            assert await sending == "queued"
            assert [r.text for r in await outbox.drain(redis, conv)] == ["预约提醒：明天上午9:00"]
        # Socket closed: the gateway forgot it at once, so a push is not even tried.
        assert await channel.push(me, [Reply("x")]) is False
    await gateway.engine.close()


async def test_gateway_shutdown_closes_sockets_as_going_away(stack):
    """An open chat socket must not hold a stopping gateway: it is closed with 1001 so the
    browser reconnects (to another gateway process, when there is one)."""
    port = stack.base + 10
    env = dict(os.environ, PYTHONPATH=str(ROOT), ASSISTANT_PORT=str(port), RASA_URL=stack.rasa_url,
               HALL_URL=stack.hall_url, ACTION_SERVER_URL=f"http://127.0.0.1:{stack.base + 2}",
               REDIS_PORT=str(stack.redis_port))
    proc = subprocess.Popen([sys.executable, "-m", "assistant"], env=env, cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        async with aiohttp.ClientSession() as http:
            for _ in range(120):
                try:
                    async with http.get(f"http://127.0.0.1:{port}/healthz") as resp:
                        if resp.status == 200:
                            break
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.5)
            async with http.ws_connect(f"ws://127.0.0.1:{port}/channels/web/ws?user={fresh()}") as ws:
                assert await receive(ws) == {"type": "ready"}
                proc.send_signal(signal.SIGTERM)
                closing = await asyncio.wait_for(ws.receive(), timeout=30)
                assert closing.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
                assert ws.close_code == 1001
        assert await asyncio.to_thread(proc.wait, 30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
