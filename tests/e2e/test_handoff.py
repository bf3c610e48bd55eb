"""Escalation to window staff (standard 9.3.1.2) through the real stack: citizens queue for a
department, staff log in, claim, reply, transfer and end through the staff API, the bot stays
silent meanwhile and takes over again afterwards, and the staff console works in a real browser.

The first test needs nobody online (it ends earlier tests' staff presence), so this module runs
in file order. The three citizens talk over the REST channel."""
from __future__ import annotations

import asyncio
import base64
import http.cookiejar
import json
import os
import re
import subprocess
import sys
import threading
import urllib.request
import uuid

import pytest
import redis

from common.sessions import conversation_id
from tests.conftest import CHROMIUM, ROOT, extra_gateway, reply_text

pytestmark = pytest.mark.e2e
POLICE = "深圳市公安局"
GENERAL = "综合窗口"
SOCIAL = "深圳市社会保险基金管理局"
PASSPORT = "440300-001-XK-0002"
QUEUED = re.compile(r"正在为您转接(\S+?)的人工服务，您前面还有(\d+)位，预计等待约(\d+)分钟")
CONSULTATION = re.compile(r"\bZX\d{17}\b")


class StaffClient:
    """One staff member's session without a browser: a cookie jar and the CSRF token."""

    def __init__(self, url: str):
        self.url, self.csrf = url, ""
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def call(self, method: str, path: str, body=None, csrf: bool = True, raw: bytes | None = None,
             url: str | None = None) -> tuple[int, object]:
        headers = {"Content-Type": "application/json"}
        if csrf and method == "POST":
            headers["X-CSRF-Token"] = self.csrf
        data = raw
        if data is None and method == "POST":
            data = json.dumps(body if body is not None else {}).encode()
        req = urllib.request.Request((url or self.url) + "/staff/api" + path, data=data, headers=headers, method=method)
        try:
            with self.opener.open(req, timeout=60) as resp:
                return resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read() or b"null")

    def login(self, username: str, password: str) -> tuple[int, object]:
        status, body = self.call("POST", "/login", {"username": username, "password": password}, csrf=False)
        if status == 200:
            self.csrf = body["csrf"]
        return status, body

    def ok(self, method: str, path: str, body=None) -> dict:
        status, answer = self.call(method, path, body)
        assert status == 200, (path, status, answer)
        return answer

    def queue(self, department: str = POLICE) -> list[dict]:
        return self.ok("GET", "/queue")["queues"].get(department, [])

    def conversation(self, conv: str) -> dict:
        return self.ok("GET", f"/conversations/{conv}")


def fresh(prefix: str = "h") -> tuple[str, str]:
    """A new REST citizen: (sender, conversation id)."""
    sender = f"{prefix}-{uuid.uuid4().hex[:12]}"
    return sender, conversation_id("rest", sender)


def texts(replies: list[dict]) -> list[str]:
    return [r.get("text") or "" for r in replies]


def button(replies: list[dict], title: str) -> str:
    return next(b["payload"] for r in replies for b in r.get("buttons") or [] if b["title"] == title)


def queue_for(stack, sender: str, question: str | None = None, department: str = POLICE) -> tuple[int, int]:
    """Asks for a person (after a question, or choosing the department): (citizens ahead, minutes)."""
    if question:
        stack.say(sender, question)
        replies = stack.say(sender, "转人工")
    else:
        offered = stack.say(sender, "转人工")
        replies = stack.say(sender, button(offered, department))
    found = QUEUED.search(reply_text(replies))
    assert found and found.group(1) == department, replies
    return int(found.group(2)), int(found.group(3))


@pytest.fixture(scope="module")
def desk(stack):
    staff = {name: StaffClient(stack.url) for name in ("police1", "police2", "inspector")}
    for name, client in staff.items():
        status, me = client.login(name, f"{name}-dev-pass")
        assert status == 200 and me["username"] == name, me
    yield staff
    for client in staff.values():
        client.call("POST", "/logout")


def online(*clients: StaffClient) -> None:
    for client in clients:
        client.ok("POST", "/heartbeat")


def test_nobody_online_offers_a_message_or_a_callback_filed_as_consultation(stack, desk):
    # Staff of earlier tests may still count as online for up to a minute: end their shift.
    redis.Redis(port=stack.redis_port).delete(f"staff:online:{POLICE}", f"staff:online:{GENERAL}")
    presence = desk["police1"].ok("GET", "/queue")["online"]
    assert presence == {POLICE: [], GENERAL: []}, f"nobody should be online now: {presence}"
    sender, conv = fresh()
    stack.say(sender, "护照怎么办")
    offered = stack.say(sender, "转人工")
    assert "无人值守" in reply_text(offered)
    assert button(offered, "留言咨询") == "/file_consultation"
    assert conv not in {r["conversation"] for r in desk["inspector"].queue()}

    asked = reply_text(stack.say(sender, button(offered, "请工作人员回电")))
    assert "姓名" in asked
    assert "手机" in reply_text(stack.say(sender, "我叫李明"))
    summary = reply_text(stack.say(sender, "13800138000"))
    assert "预约回电" in summary and "138****8000" in summary and POLICE in summary
    filed = reply_text(stack.say(sender, "确认"))
    number = CONSULTATION.search(filed).group()
    req = urllib.request.Request(f"{stack.hall_url}/api/v1/consultations/{number}",
                                 headers={"X-Hall-Key": "dev-hall-key-change-me"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        record = json.loads(resp.read())
    assert record["consultation_type"] == "预约回电" and record["department"] == POLICE
    assert "护照怎么办" in record["content"]            # the question, not the words "转人工"

    # Once a handler is online the same citizen is queued, and the console shows what they filed.
    online(desk["police1"])
    ahead, _ = queue_for(stack, sender, "护照怎么办")
    assert ahead == 0
    shown = desk["police1"].conversation(conv)
    assert [r["number"] for r in shown["records"]] == [number]
    assert shown["records"][0]["consultation_type"] == "预约回电"
    assert "已取消人工排队" in reply_text(stack.say(sender, "取消排队"))


def test_three_citizens_queue_and_staff_claim_reply_transfer_and_end(stack, desk):
    police1, police2, inspector = desk["police1"], desk["police2"], desk["inspector"]
    staff_names = {r["username"]: r["name"] for r in inspector.ok("GET", "/staff")["staff"]}
    online(police1, police2)
    (a, conv_a), (b, conv_b), (c, conv_c) = fresh("a"), fresh("b"), fresh("c")
    first, minutes = queue_for(stack, a, "护照怎么办")
    assert minutes >= 1
    assert queue_for(stack, b)[0] == first + 1
    assert queue_for(stack, c)[0] == first + 2

    rows = {r["conversation"]: r for r in police1.queue()}
    assert [r for r in rows if r in {conv_a, conv_b, conv_c}] == [conv_a, conv_b, conv_c]
    assert rows[conv_a]["question"] == "护照怎么办" and rows[conv_a]["service_code"] == PASSPORT
    assert rows[conv_a]["intent"] not in {"", "request_human"} and rows[conv_a]["channel"] == "rest"
    assert rows[conv_b]["question"] == ""                 # they only asked for a person
    assert all(rows[c_]["waiting_s"] >= 0 and rows[c_]["state"] == "queued" for c_ in (conv_a, conv_b, conv_c))

    # Both handlers claim the same citizen at once: exactly one gets them.
    results: dict[str, int] = {}
    start = threading.Barrier(2)

    def grab(name: str) -> None:
        start.wait()
        results[name] = desk[name].call("POST", f"/conversations/{conv_a}/claim")[0]

    threads = [threading.Thread(target=grab, args=(n,)) for n in ("police1", "police2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results.values()) == [200, 409], results
    holder = next(n for n, s in results.items() if s == 200)
    colleague = "police2" if holder == "police1" else "police1"
    assert conv_a not in {r["conversation"] for r in police1.queue()}
    assert desk[colleague].call("POST", f"/conversations/{conv_a}/reply", {"text": "我也来"})[0] == 409

    answer = "您好，护照需要本人带身份证到出入境办证大厅办理。"
    assert desk[holder].ok("POST", f"/conversations/{conv_a}/reply", {"text": answer})["delivered"] == "queued"
    # REST cannot push: the greeting and the reply wait in the outbox for the citizen's next message,
    # and the bot does not answer that message.
    got = texts(stack.say(a, "请问周六可以办吗"))
    assert len(got) == 2 and "工作人员" in got[0] and got[1].endswith(answer), got
    assert stack.say(a, "好的，我等一下") == []
    said = [(m["who"], m["text"]) for m in desk[holder].conversation(conv_a)["transcript"]]
    assert ("citizen", "请问周六可以办吗") in said and ("staff", answer) in said and ("citizen", "好的，我等一下") in said
    assert not any(who == "bot" for who, _ in said[said.index(("staff", answer)):])

    # A queued citizen leaves the queue and the bot answers them again.
    assert "已取消人工排队" in reply_text(stack.say(b, "取消排队"))
    assert conv_b not in {r["conversation"] for r in police1.queue()}
    assert PASSPORT in reply_text(stack.say(b, "护照怎么办"))

    # The inspector reads everything (personal data masked) but cannot act.
    assert conv_c in {r["conversation"] for r in inspector.queue()}
    assert inspector.conversation(conv_a)["staff"] == holder
    assert inspector.call("POST", f"/conversations/{conv_c}/claim")[0] == 403
    assert inspector.call("POST", f"/conversations/{conv_a}/reply", {"text": "监察"})[0] == 403
    assert inspector.call("POST", f"/conversations/{conv_a}/end")[0] == 403

    # Transfer to the colleague, with a note; not to someone who does not serve the department.
    assert desk[holder].call("POST", f"/conversations/{conv_a}/transfer", raw=b"[]")[0] == 400
    status, refused = desk[holder].call("POST", f"/conversations/{conv_a}/transfer", {"staff": "social1"})
    assert status == 400 and "不负责" in refused["message"]
    note = "市民问周六能否办理护照，请跟进"
    desk[holder].ok("POST", f"/conversations/{conv_a}/transfer", {"staff": colleague, "note": note})
    assert conv_a not in {r["conversation"] for r in desk[holder].ok("GET", "/conversations")["conversations"]}
    mine = {r["conversation"]: r for r in desk[colleague].ok("GET", "/conversations")["conversations"]}
    assert mine[conv_a]["note"] == note and mine[conv_a]["staff"] == colleague
    said = [m["text"] for m in desk[colleague].conversation(conv_a)["transcript"] if m["who"] == "system"]
    assert said[-1].endswith(f"转给{staff_names[colleague]}：{note}"), said
    assert desk[holder].call("POST", f"/conversations/{conv_a}/end")[0] == 409
    desk[colleague].ok("POST", f"/conversations/{conv_a}/reply", {"text": "周六上午可以办理。"})
    desk[colleague].ok("POST", f"/conversations/{conv_a}/end")
    assert desk[colleague].call("GET", f"/conversations/{conv_a}")[0] == 404

    # Back with the bot: the rating, then questions answered with the dialogue state intact.
    replies = stack.say(a, "明白了")
    joined = reply_text(replies)
    assert "已为您转接其他工作人员" in joined and "周六上午可以办理。" in joined and "人工服务已结束" in joined
    rating = button(replies, "5分（非常满意）")
    assert rating == '/rate_service{"rating":"5"}'
    assert "感谢您的评价" in reply_text(stack.say(a, rating))
    db = redis.Redis(port=stack.redis_port)
    last = db.xrevrange("ratings", count=20)
    assert any(f[b"conversation"].decode() == conv_a and f[b"rating"] == b"5" and f[b"staff"].decode() == colleague
               for _, f in last)
    again = reply_text(stack.say(a, "要多久"))
    assert "普通护照" in again and "办理时限" in again

    # Tidy: the third citizen is taken and let go.
    police1.ok("POST", f"/conversations/{conv_c}/claim")
    police1.ok("POST", f"/conversations/{conv_c}/end")


def test_a_gateway_restart_while_queued_loses_nothing(stack, desk):
    police1 = desk["police1"]
    online(police1)
    sender, conv = fresh("r")
    queue_for(stack, sender, "护照怎么办")
    with extra_gateway(stack, stack.base + 12) as other:
        # Another gateway process (as after a restart, or a second replica) has the same queue,
        # the same staff sessions and the same citizen.
        seen = police1.call("GET", "/queue", url=other.url)[1]["queues"][POLICE]
        assert conv in {r["conversation"] for r in seen}
        assert QUEUED.search(reply_text(other.say(sender, "还要等多久")))
    assert conv in {r["conversation"] for r in police1.queue()}
    assert QUEUED.search(reply_text(stack.say(sender, "还在排队吗")))
    said = [m["text"] for m in police1.conversation(conv)["transcript"] if m["who"] == "citizen"]
    assert "还要等多久" in said and "还在排队吗" in said
    assert "已取消人工排队" in reply_text(stack.say(sender, "不等了"))


def test_staff_sign_in_is_guarded(stack, desk):
    visitor = StaffClient(stack.url)
    assert visitor.call("GET", "/me")[0] == 401
    assert visitor.call("GET", "/queue")[0] == 401
    status, body = visitor.login("police1", "wrong-password")
    assert status == 401 and body["message"] == "用户名或密码错误。"

    police1 = desk["police1"]
    status, body = police1.call("POST", "/heartbeat", csrf=False)
    assert status == 403 and body["error"] == "csrf"
    police1.csrf, token = "forged", police1.csrf
    assert police1.call("POST", "/heartbeat")[0] == 403
    police1.csrf = token
    police1.ok("POST", "/heartbeat")

    # Five wrong passwords lock the name from this address, even for the right password.
    name = f"probe{uuid.uuid4().hex[:6]}"
    env = dict(os.environ, PYTHONPATH=str(ROOT), REDIS_PORT=str(stack.redis_port), STAFF_PASSWORD="probe-right-pass")
    subprocess.run([sys.executable, "-m", "staff.accounts", "add", name, "--role", "handler",
                    "--name", "测试窗口", "--department", GENERAL], env=env, cwd=ROOT, check=True, capture_output=True)
    probe = StaffClient(stack.url)
    for _ in range(5):
        assert probe.login(name, "probe-wrong-pass")[0] == 401
    status, body = probe.login(name, "probe-right-pass")
    assert status == 429 and "15分钟" in body["message"]
    status, _ = StaffClient(stack.url).login("police2", "police2-dev-pass")
    assert status == 200                                # others are not locked out

    # Logging out ends the session for good.
    leaving = StaffClient(stack.url)
    assert leaving.login("police2", "police2-dev-pass")[0] == 200
    leaving.ok("POST", "/logout")
    assert leaving.call("GET", "/me")[0] == 401


# --- the console in a browser -------------------------------------------------------------

COUNT_BEEPS = """
window.beeps = 0;
const start = OscillatorNode.prototype.start;
OscillatorNode.prototype.start = function (...args) { window.beeps += 1; return start.apply(this, args); };
"""

# Decodes the screenshot in the browser and counts distinct colours and non-white pixels.
PIXELS = """
async (png) => {
  const img = new Image();
  img.src = "data:image/png;base64," + png;
  await img.decode();
  const canvas = document.createElement("canvas");
  canvas.width = img.width; canvas.height = img.height;
  const ctx = canvas.getContext("2d");
  ctx.drawImage(img, 0, 0);
  const data = ctx.getImageData(0, 0, img.width, img.height).data;
  const colours = new Set();
  let inked = 0;
  for (let i = 0; i < data.length; i += 4) {
    colours.add((data[i] << 16) | (data[i + 1] << 8) | data[i + 2]);
    if (data[i] < 200 || data[i + 1] < 200 || data[i + 2] < 200) inked += 1;
  }
  return {width: img.width, height: img.height, colours: colours.size, inked: inked / (data.length / 4)};
}
"""


async def test_console_in_a_browser_claims_replies_and_ends(stack, desk, tmp_path):
    from playwright.async_api import async_playwright, expect

    say = lambda sender, text: asyncio.to_thread(stack.say, sender, text)     # noqa: E731
    async with async_playwright() as p:
        # --no-sandbox: the tests run as root, where Chromium's sandbox cannot start.
        browser = await p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        context = await browser.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN")
        await context.add_init_script(COUNT_BEEPS)
        page = await context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        await page.goto(stack.url + "/staff/")

        await expect(page.locator("#login-form")).to_be_visible()
        await page.get_by_label("用户名").fill("police1")
        await page.get_by_label("密码").fill("police1-dev-pass")
        await page.get_by_label("密码").press("Enter")
        await expect(page.locator("#who-name")).to_contain_text("公安窗口一号")
        await expect(page.locator("#conn")).to_have_attribute("data-state", "open")   # online from now on
        await expect(page.locator("#queues .dept").first).to_be_visible()              # the queue as it was
        await expect(page.locator("#readonly-badge")).to_be_hidden()

        # A citizen queues after the page is open: it shows up live, highlighted, with a badge and a beep.
        sender, conv = fresh("w")
        await say(sender, "护照怎么办")
        assert QUEUED.search(reply_text(await say(sender, "转人工")))
        item = page.locator(f'#queues .item[data-conv="{conv}"]')
        await expect(item).to_have_class(re.compile(r"\bfresh\b"))
        await expect(item).to_contain_text("护照怎么办")
        await expect(item).to_contain_text(PASSPORT)
        await expect(page).to_have_title(re.compile(r"^（\d+）新排队"))
        assert await page.evaluate("window.beeps") >= 1
        await expect(page.locator("#announce")).to_contain_text("新的排队")

        await item.get_by_role("button", name=re.compile("^接入")).click()
        await expect(page.locator("#reply-form")).to_be_visible()
        await expect(page.locator("#transcript")).to_contain_text("公安窗口一号已接入")
        await expect(page.locator("#transcript .who-citizen").first).to_contain_text("护照怎么办")
        await expect(page.locator(f'#mine .item[data-conv="{conv}"]')).to_be_visible()

        # A suggestion goes into the reply box; Shift+Enter is a new line, Enter sends.
        suggestion = page.locator("#suggestions button.suggestion").first
        await expect(suggestion).to_contain_text("护照")
        await suggestion.click()
        box = page.get_by_label("回复市民（Enter 发送，Shift+Enter 换行）")
        assert "护照" in await box.input_value()
        await box.fill("您好，护照请带身份证到出入境办证大厅办理。")
        await box.press("Shift+Enter")
        await box.press_sequentially("周六上午也可以办理。")
        await box.press("Enter")
        await expect(page.locator("#transcript .who-staff")).to_contain_text("周六上午也可以办理。")
        await expect(box).to_have_value("")

        got = texts(await say(sender, "谢谢，我周六去"))
        assert got[-1] == "【公安窗口一号】您好，护照请带身份证到出入境办证大厅办理。\n周六上午也可以办理。", got
        await expect(page.locator("#transcript .who-citizen").last).to_contain_text("谢谢，我周六去")

        shot = tmp_path / "console.png"
        await page.screenshot(path=str(shot))
        pixels = await page.evaluate(PIXELS, base64.b64encode(shot.read_bytes()).decode())
        print(f"console screenshot {shot}: {shot.stat().st_size} bytes, {pixels}")
        assert pixels["width"] == 1366 and pixels["height"] == 900
        assert pixels["colours"] > 50 and pixels["inked"] > 0.05, pixels

        await page.get_by_role("button", name="结束会话").click()
        await expect(page.locator("#conv-status")).to_contain_text("会话已结束")
        await expect(page.locator("#reply-form")).to_be_hidden()
        assert "人工服务已结束" in reply_text(await say(sender, "好的"))

        # The session ends behind the console's back: the next request (here, for the queue after a
        # citizen arrives) sends it to the login form, saying why.
        await context.clear_cookies()
        online(desk["police2"])
        watched, watched_conv = fresh("i")
        await say(watched, "护照怎么办")
        assert QUEUED.search(reply_text(await say(watched, "转人工")))
        await expect(page.locator("#login-message")).to_have_text("登录已过期，请重新登录。")
        await expect(page.locator("#console-view")).to_be_hidden()

        # The inspector sees the queue and the transcript, read-only.
        await page.get_by_label("用户名").fill("inspector")
        await page.get_by_label("密码").fill("inspector-dev-pass")
        await page.get_by_role("button", name="登录", exact=True).click()
        await expect(page.locator("#readonly-badge")).to_have_text("只读监察")
        queued = page.locator(f'#queues .item[data-conv="{watched_conv}"]')
        await expect(queued).to_be_visible()
        await expect(queued.locator(".claim")).to_have_count(0)
        await queued.locator(".open").click()
        await expect(page.locator("#transcript")).to_contain_text("护照怎么办")
        for hidden in ("#claim", "#transfer-open", "#end", "#reply-form"):
            await expect(page.locator(hidden)).to_be_hidden()
        await say(watched, "取消排队")
        await expect(queued).to_have_count(0)

        await page.get_by_role("button", name="退出登录").click()
        await expect(page.locator("#login-message")).to_have_text("您已退出登录。")
        assert errors == []
        await browser.close()


async def test_an_open_console_is_online_and_reconnects_after_a_gateway_restart(stack, desk):
    from playwright.async_api import async_playwright, expect

    port = stack.base + 13
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        page = await browser.new_page(viewport={"width": 1366, "height": 900})
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        conn = page.locator("#conn")
        (first, first_conv), (second, second_conv) = fresh("s"), fresh("g")
        with extra_gateway(stack, port) as gateway:
            await page.goto(gateway.url + "/staff/")
            await page.get_by_label("用户名").fill("social1")
            await page.get_by_label("密码").fill("social1-dev-pass")
            await page.get_by_role("button", name="登录", exact=True).click()
            await expect(conn).to_have_attribute("data-state", "open")
            await expect(page.locator("#queues .dept").first).to_be_visible()      # the queue as it was
            # social1 never sent a heartbeat: the open console alone makes the department staffed.
            await asyncio.to_thread(queue_for, stack, first, None, SOCIAL)
            await expect(page.locator(f'#queues .item[data-conv="{first_conv}"]')).to_have_class(re.compile(r"\bfresh\b"))
        await expect(conn).to_have_attribute("data-state", "retry")
        await expect(conn).to_contain_text("秒后重连")

        # A citizen queues at the general desk (which social1 also serves) while this console is cut off.
        online(desk["police1"])
        await asyncio.to_thread(queue_for, stack, second, None, GENERAL)
        with extra_gateway(stack, port):
            await expect(conn).to_have_attribute("data-state", "open", timeout=90_000)
            await expect(page.locator("#who-name")).to_contain_text("社保窗口一号")      # still signed in
            item = page.locator(f'#queues .item[data-conv="{second_conv}"]')
            await expect(item).to_have_class(re.compile(r"\bfresh\b"))
        for sender in (first, second):
            await asyncio.to_thread(stack.say, sender, "取消排队")
        assert errors == []
        await browser.close()
