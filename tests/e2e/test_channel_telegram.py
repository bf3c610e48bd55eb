"""The Telegram channel through the real stack, with the Telegram Bot API emulated locally
(tests/fakes/telegram_api.py). Two extra gateway processes join the stack's Rasa, action
server, hall and redis: one in webhook mode, one polling getUpdates, each with its own bot."""
from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest
import redis
import redis.asyncio as aioredis

from assistant.engine import RasaEngine
from assistant.gateway import Gateway
from common.delivery import Delivery
from common.reply import Reply
from common.sessions import Sessions, conversation_id
from channels.telegram import (BUTTON_EXPIRED, GROUP_ONLY_PRIVATE, NOT_TEXT, UNKNOWN_COMMAND, TelegramChannel,
                               TelegramSettings)
from tests.conftest import ROOT
from tests.fakes.telegram_api import BotState, TelegramApi, utf16_len

pytestmark = pytest.mark.e2e
WEBHOOK_TOKEN = "7100000001:AAH-webhook-test-token_0123456789abcdef"
POLLING_TOKEN = "7100000002:AAH-polling-test-token_0123456789abcdef"
SECRET = "test-webhook-secret_0123456789"
GREETING = "网上办事大厅智能助手"
RESIDENCE = "440300-001-QR-0001"
_chats = itertools.count(int(time.time()) % 10**6 * 1000)


def new_chat() -> int:
    return next(_chats)


@pytest.fixture(scope="module")
def api(stack):
    server = TelegramApi(stack.base + 40).start()
    server.webhook_bot = server.add_bot(WEBHOOK_TOKEN, "sz_hall_bot")
    server.polling_bot = server.add_bot(POLLING_TOKEN, "sz_hall_dev_bot")
    yield server
    server.stop()


def start_gateway(stack, port: int, log_path, **telegram_env) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(ROOT), ASSISTANT_PORT=str(port), RASA_URL=stack.rasa_url,
               HALL_URL=stack.hall_url, ACTION_SERVER_URL=f"http://127.0.0.1:{stack.base + 2}",
               REDIS_PORT=str(stack.redis_port), **telegram_env)
    proc = subprocess.Popen([sys.executable, "-m", "assistant"], env=env, cwd=ROOT,
                            stdout=open(log_path, "w"), stderr=subprocess.STDOUT)
    for _ in range(240):
        if stack.get(f"http://127.0.0.1:{port}/healthz")[0] == 200:
            return proc
        if proc.poll() is not None:
            break
        time.sleep(0.5)
    proc.terminate()
    pytest.fail(f"telegram gateway on {port} did not start:\n{log_path.read_text()[-3000:]}")


def stop_gateway(proc: subprocess.Popen) -> None:
    proc.terminate()
    proc.wait(timeout=30)


@pytest.fixture(scope="module")
def webhook(stack, api, tmp_path_factory):
    """A gateway in webhook mode; it registers its webhook with the emulated Telegram itself."""
    port = stack.base + 41
    log_path = tmp_path_factory.mktemp("telegram") / "gateway-webhook.log"
    proc = start_gateway(stack, port, log_path, TELEGRAM_TOKEN=WEBHOOK_TOKEN, TELEGRAM_MODE="webhook",
                         TELEGRAM_WEBHOOK_SECRET=SECRET, TELEGRAM_API_BASE=api.base_url,
                         TELEGRAM_PUBLIC_URL=f"http://127.0.0.1:{port}")
    api.wait(lambda: api.webhook_bot.webhook_url)
    yield log_path
    stop_gateway(proc)


@pytest.fixture(scope="module")
def polling(stack, api, tmp_path_factory):
    log_path = tmp_path_factory.mktemp("telegram") / "gateway-polling.log"
    proc = start_gateway(stack, stack.base + 42, log_path, TELEGRAM_TOKEN=POLLING_TOKEN, TELEGRAM_MODE="polling",
                         TELEGRAM_API_BASE=api.base_url)
    yield log_path
    stop_gateway(proc)


def say(api: TelegramApi, bot: BotState, chat: int, text: str, **kw) -> list[dict]:
    """The citizen sends a message; returns what the bot sent back for it."""
    before = len(api.sent_to(bot, chat))
    update_id = api.send_text(bot, chat, text, **kw)
    assert api.wait_handled(bot, update_id) == 200
    return api.sent_to(bot, chat)[before:]


def click(api: TelegramApi, bot: BotState, chat: int, message: dict, title: str) -> list[dict]:
    before = len(api.sent_to(bot, chat))
    update_id = api.click(bot, chat, message["message_id"], title)
    assert api.wait_handled(bot, update_id) == 200
    return api.sent_to(bot, chat)[before:]


def buttons(message: dict) -> dict[str, str]:
    """title -> callback_data of a sent message's inline keyboard."""
    rows = (message.get("reply_markup") or {}).get("inline_keyboard") or []
    return {b["text"]: b["callback_data"] for row in rows for b in row}


def with_button(messages: list[dict], title: str) -> dict:
    return next(m for m in messages if title in buttons(m))


def text_of(messages: list[dict]) -> str:
    return "\n".join(m["text"] for m in messages)


def post_webhook(url: str, body: bytes, secret: str | None) -> tuple[int, dict]:
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers["X-Telegram-Bot-Api-Secret-Token"] = secret
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=body, headers=headers), timeout=60) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def turns(stack, chat: int) -> int:
    r = redis.Redis(port=stack.redis_port)
    try:
        return int(r.hget(f"session:{conversation_id('telegram', str(chat))}", "turns") or 0)
    finally:
        r.close()


def test_webhook_question_gets_an_answer_with_an_inline_keyboard(stack, api, webhook):
    bot, chat = api.webhook_bot, new_chat()
    assert bot.webhook_secret == SECRET and bot.allowed_updates == ["message", "callback_query"]
    welcome = say(api, bot, chat, "/start")
    assert GREETING in text_of(welcome)
    # The greeting's own choices (大家都在问 may follow them once questions have been asked).
    assert list(buttons(welcome[-1]))[:4] == ["办事指南", "办件进度查询", "预约办理", "大厅地址和时间"]
    answer = say(api, bot, chat, "深圳居住证怎么申请")
    assert RESIDENCE in text_of(answer) and "所需材料" in text_of(answer)
    keyboard = buttons(with_button(answer, "预约办理"))
    # A short payload rides in callback_data; a long one (over 64 bytes) is a Redis key.
    assert keyboard["预约办理"] == 'p:/book_appointment{"service_code": "440300-001-QR-0001"}'
    assert keyboard["所需材料"].startswith("k:") and len(keyboard["所需材料"].encode()) <= 64
    assert all(m["parse_mode"] is None for m in welcome + answer)          # plain text, nothing to escape
    assert any(c["chat_id"] == chat and c["action"] == "typing" for c in api.calls_of(bot, "sendChatAction"))


def test_button_clicks_are_answered_and_lead_on(stack, api, webhook):
    bot, chat = api.webhook_bot, new_chat()
    menu = say(api, bot, chat, "按人生事件看看有哪些事项")
    listing = click(api, bot, chat, with_button(menu, "生小孩"), "生小孩")
    assert all(q["answered"] for q in bot.queries.values() if q["chat_id"] == chat)
    assert "reply_markup" not in bot.messages[(chat, with_button(menu, "生小孩")["message_id"])]   # menu used up
    item = next(title for m in listing for title, data in buttons(m).items() if "ask_service_guide" in data)
    guide = click(api, bot, chat, with_button(listing, item), item)
    assert "所需材料" in text_of(guide) and "事项编码" in text_of(guide)
    stored = with_button(guide, "所需材料")
    assert buttons(stored)["所需材料"].startswith("k:")
    materials = click(api, bot, chat, stored, "所需材料")
    assert "材料" in text_of(materials)
    assert len(api.calls_of(bot, "answerCallbackQuery")) >= 3


def test_an_expired_long_button_gets_a_hint(stack, api, webhook):
    bot, chat = api.webhook_bot, new_chat()
    answer = say(api, bot, chat, "深圳居住证怎么申请")
    r = redis.Redis(port=stack.redis_port)
    try:
        key = "telegram:button:" + buttons(with_button(answer, "办理流程"))["办理流程"][2:]
        assert r.delete(key) == 1                                   # as if its 30 days had passed
    finally:
        r.close()
    before = turns(stack, chat)
    assert text_of(click(api, bot, chat, with_button(answer, "办理流程"), "办理流程")) == BUTTON_EXPIRED
    assert turns(stack, chat) == before


def test_webhook_refuses_a_wrong_secret(stack, api, webhook):
    bot, chat = api.webhook_bot, new_chat()
    url = bot.webhook_url
    update = json.dumps({"update_id": 1, "message": {"message_id": 1, "date": int(time.time()), "text": "护照怎么办理",
                         "chat": {"id": chat, "type": "private"},
                         "from": {"id": chat, "is_bot": False, "first_name": "x"}}}).encode()
    for target, secret in ((url, "wrong-secret"), (url, None), (url.rsplit("/", 1)[0] + "/guessed", SECRET)):
        status, body = post_webhook(target, update, secret)
        assert status == 403 and "密钥" in body["message"]
    status, body = post_webhook(url, b"not json", SECRET)
    assert status == 400 and "JSON" in body["message"]
    assert api.sent_to(bot, chat) == [] and turns(stack, chat) == 0     # nothing reached the dialogue


def test_a_redelivered_update_is_handled_once(stack, api, webhook):
    bot, chat = api.webhook_bot, new_chat()
    update_id = api.send_text(bot, chat, "护照怎么办理")
    assert api.wait_handled(bot, update_id) == 200
    first = api.sent_to(bot, chat)
    assert "护照" in text_of(first) and turns(stack, chat) == 1
    api.deliver_again(bot, update_id)
    assert api.wait_handled(bot, update_id) == 200
    assert [d for d in bot.deliveries if d[0] == update_id] == [(update_id, 200), (update_id, 200)]
    assert api.sent_to(bot, chat) == first and turns(stack, chat) == 1


def test_stickers_photos_groups_commands_and_edits(stack, api, webhook):
    bot, chat = api.webhook_bot, new_chat()
    sticker = {"sticker": {"file_id": "CAACAgIAAxk", "file_unique_id": "AgAD", "type": "regular", "width": 512,
                           "height": 512, "is_animated": False, "is_video": False, "emoji": "👍"}}
    photo = {"photo": [{"file_id": "AgACAgUAAxk", "file_unique_id": "AQAD", "width": 90, "height": 67}],
             "caption": "这是我的身份证"}
    for fields in (sticker, photo):
        before = len(api.sent_to(bot, chat))
        assert api.wait_handled(bot, api.send_message(bot, chat, fields)) == 200
        assert text_of(api.sent_to(bot, chat)[before:]) == NOT_TEXT
    assert text_of(say(api, bot, chat, "/foo")) == UNKNOWN_COMMAND
    assert turns(stack, chat) == 0
    group = -1_000_000_000_000 - chat
    assert text_of(say(api, bot, group, "居住证怎么办", chat_type="supergroup", from_id=chat)) == GROUP_ONLY_PRIVATE
    assert say(api, bot, group, "有人知道吗", chat_type="supergroup", from_id=chat) == []      # told once, not flooded
    # Edited messages are not asked for; should one come anyway, it is not answered again.
    asked = say(api, bot, chat, "护照怎么办理")
    edited = {"update_id": 999_000_001, "edited_message": {
        "message_id": asked[0]["message_id"] - 1, "date": int(time.time()), "edit_date": int(time.time()),
        "text": "驾驶证怎么换", "chat": {"id": chat, "type": "private"},
        "from": {"id": chat, "is_bot": False, "first_name": "x"}}}
    assert post_webhook(bot.webhook_url, json.dumps(edited).encode(), SECRET)[0] == 200
    assert api.sent_to(bot, chat)[-len(asked):] == asked and turns(stack, chat) == 1


def test_polling_end_to_end(stack, api, polling):
    bot, chat = api.polling_bot, new_chat()
    welcome = say(api, bot, chat, "/start")
    assert api.calls_of(bot, "deleteWebhook") and GREETING in text_of(welcome)
    hall = click(api, bot, chat, with_button(welcome, "大厅地址和时间"), "大厅地址和时间")
    assert "地址" in text_of(hall)
    assert all(q["answered"] for q in bot.queries.values())
    answer = say(api, bot, chat, "深圳居住证怎么申请")
    assert RESIDENCE in text_of(answer)
    materials = click(api, bot, chat, with_button(answer, "所需材料"), "所需材料")
    assert "材料" in text_of(materials) and turns(stack, chat) == 4


async def test_push_reaches_the_citizen_and_platform_errors_lose_nothing(stack, api, webhook):
    bot, chat = api.webhook_bot, new_chat()
    say(api, bot, chat, "你好")                       # the citizen's session names the channel
    conv = conversation_id("telegram", str(chat))
    r = aioredis.Redis(port=stack.redis_port)
    cfg = TelegramSettings(token=WEBHOOK_TOKEN, mode="webhook", webhook_secret=SECRET, api_base=api.base_url,
                           public_url="")
    channel = TelegramChannel(Gateway(RasaEngine(stack.rasa_url, 20), Sessions(r, 3600), 1000), cfg)
    delivery = Delivery(r, {"telegram": channel})
    await channel.start()
    try:
        notice = Reply("您的咨询已受理，受理编号ZX20261127000000001，我们将在5个工作日内答复。",
                       [{"title": "查询进度", "payload": "查询ZX20261127000000001"}])
        assert await delivery.send(conv, [notice]) == "pushed"
        assert api.sent_to(bot, chat)[-1]["text"] == notice.text and "查询进度" in buttons(api.sent_to(bot, chat)[-1])

        # 429: waited out once (the emulator refuses a retry that comes early), then delivered.
        api.flood(bot, chat, retry_after=1, times=1)
        assert await delivery.send(conv, [Reply("预约提醒：您明天上午09:00在市民中心办理居住证。")]) == "pushed"
        assert api.sent_to(bot, chat)[-1]["text"].startswith("预约提醒")
        assert [e for e in bot.errors if e[1] == 429] == [("sendMessage", 429, "Too Many Requests: retry after 1")]
        # Refused again after the retry, or asked to wait too long: kept in the outbox.
        api.flood(bot, chat, retry_after=1, times=2)
        assert await delivery.send(conv, [Reply("第一条待送消息")]) == "queued"
        api.flood(bot, chat, retry_after=3600, times=1)
        assert await delivery.send(conv, [Reply("第二条待送消息")]) == "queued"
        api.flood(bot, chat, retry_after=0, times=0)
        # 403: the citizen blocked the bot; the messages wait for their next message.
        api.block(bot, chat)
        assert await delivery.send(conv, [Reply("第三条待送消息")]) == "queued"
        assert await r.llen(f"outbox:{conv}") == 3
        api.block(bot, chat, blocked=False)
        back = say(api, bot, chat, "谢谢")
        assert [m["text"] for m in back[:3]] == ["第一条待送消息", "第二条待送消息", "第三条待送消息"]
        assert await r.llen(f"outbox:{conv}") == 0

        # Over Telegram's 4096 UTF-16 units (emoji count twice) but under 4096 characters.
        long = "\n".join(f"第{i:02d}行：" + "😀" * 40 + "居住证办理须知" for i in range(60))
        assert len(long) < 4096 < utf16_len(long)
        before = len(api.sent_to(bot, chat))
        assert await channel.push(str(chat), [Reply(long)])
        pieces = [m["text"] for m in api.sent_to(bot, chat)[before:]]
        assert len(pieces) == 2 and "\n".join(pieces) == long
        assert not await channel.push("not-a-chat", [Reply("x")])
    finally:
        await channel.stop()
        await r.aclose()


def test_the_bot_token_never_reaches_the_logs(webhook, polling):
    for log_path, token in ((webhook, WEBHOOK_TOKEN), (polling, POLLING_TOKEN)):
        text = log_path.read_text()
        assert "telegram" in text and token.split(":")[1] not in text
