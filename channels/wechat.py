"""WeChat official account channel (公众号, server mode) at /channels/wechat.

WeChat POSTs every message and event as XML, in plain, compatible or safe (AES) mode, and
waits 5 s for the answer; without one it retries up to 3 times. So:
- every request is signed (and in the encrypted modes sealed) with the account's token and
  EncodingAESKey; anything that does not check out gets a 403 and is not processed;
- each message is processed once: its MsgId (FromUserName+CreateTime for events) is claimed in
  Redis, and a retry gets the answer the first request gave, or "success";
- a turn that is ready within the passive budget (~4 s) is answered in the HTTP reply; a
  slower one is answered "success" at once and delivered, when ready, as customer-service
  messages (客服消息), which WeChat allows for 48 h after the user's last message and within a
  daily number per user. What cannot be sent waits in the outbox for the user's next message.
`push` (late filing numbers, reminders, notifications) follows the same rules."""
from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from aiohttp import web
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.messages import BaseMessage
from wechatpy.utils import WeChatSigner

from channels import menus, nearest_branch, wechat_menu
from channels.base import Channel, Gateway
from channels.wechat_api import NOT_FOLLOWING, OUT_OF_WINDOW, WeChatApi, WeChatApiError
from channels.wechat_render import Outgoing, menu_choice, payload_checksum, render, wants_handoff
from common import attachments, outbox
from common.env import env
from common.handoff import Handoff
from common.reply import Reply
from common.sessions import conversation_id

log = logging.getLogger(__name__)

PATH = "/channels/wechat"
WINDOW_S = 48 * 3600          # customer-service messages are allowed this long after the user's last message
CLAIM_TTL_S = 3600            # outlives WeChat's retries (about 15 s) and the accepted clock skew
STOP_GRACE_S = 10             # on shutdown, turns still running get this long to be delivered
# Events that open (or renew) the 48-hour window, per WeChat's customer-service message rules.
WINDOW_EVENTS = {"subscribe", "subscribe_scan", "scan", "click", "scancode_push", "scancode_waitmsg"}

WELCOME = ("感谢关注深圳政务服务！我是网上办事大厅智能助手。在这里您可以直接用文字或语音提问；"
           "发送位置，我会告诉您最近的政务服务中心；发送材料照片，会随您接下来提交的咨询或投诉一并提交。")
VOICE_UNCLEAR = "抱歉，没有听清您的语音。请再说一遍，或者直接输入文字。"
IMAGE_KEPT = "已收到您的图片（共{count}张，最多{limit}张），将作为附件随您接下来提交的咨询或投诉一并提交。如需提交，请发送“我要咨询”或“我要投诉”。"
IMAGE_LIMIT = "您已发送{limit}张图片，已达附件上限，这张未保存。请先提交咨询或投诉，再发送其他图片。"
IMAGE_BAD = "抱歉，图片没有接收成功，请重新发送。"
LOCATION_BAD = "抱歉，无法识别您发送的位置，请重新发送，或直接告诉我您所在的区。"
MENU_UNKNOWN = "该菜单暂不可用。请直接发送文字或语音，告诉我您要办理的事。"
UNSUPPORTED = "暂不支持这类消息。请发送文字、语音、图片或位置，告诉我您要办理的事。"
FAILED = "抱歉，系统出现异常，请稍后再试。您也可以拨打12345政务服务便民热线咨询。"



@dataclass(frozen=True)
class WeChatSettings:
    # The account's server configuration (服务器配置): Token and EncodingAESKey; AppID and
    # AppSecret for the API. The defaults are for development only.
    token: str = field(default_factory=lambda: env("WECHAT_TOKEN", "dev-wechat-token-change-me"))
    appid: str = field(default_factory=lambda: env("WECHAT_APPID", "wx0000000000000dev"))
    appsecret: str = field(default_factory=lambda: env("WECHAT_APPSECRET", "dev-wechat-secret-change-me"))
    # Empty: plain mode only; set: compatible and safe mode as well.
    aes_key: str = field(default_factory=lambda: env("WECHAT_AES_KEY", "ZGV2LXdlY2hhdC1hZXMta2V5LWNoYW5nZS1tZS0xMjM"))
    api_base: str = field(default_factory=lambda: env("WECHAT_API_BASE", "https://api.weixin.qq.com"))
    # Seconds a turn may take to be answered in the HTTP reply; WeChat gives up after 5.
    passive_budget_s: float = field(default_factory=lambda: float(env("WECHAT_PASSIVE_BUDGET_S", "4")))
    # 1: the account uses WeChat's own staff system, so a request for a person is transferred there.
    kf_transfer: bool = field(default_factory=lambda: env("WECHAT_KF_TRANSFER", "0") == "1")
    # Customer-service messages sent to one user per day at most (beyond: the outbox).
    daily_messages_per_user: int = field(default_factory=lambda: int(env("WECHAT_DAILY_MESSAGES_PER_USER", "20")))
    # Requests whose timestamp is further off are refused, so a captured request cannot be replayed later.
    max_clock_skew_s: int = field(default_factory=lambda: int(env("WECHAT_MAX_CLOCK_SKEW_S", "600")))


class BadEnvelope(Exception):
    """A request that is not from WeChat, or not for this account."""


def _crypto(cfg: WeChatSettings) -> WeChatCrypto | None:
    if not cfg.aes_key:
        return None
    try:
        key_ok = len(base64.b64decode(cfg.aes_key + "=")) == 32
    except (binascii.Error, ValueError):
        key_ok = False
    if not key_ok:
        raise ValueError("WECHAT_AES_KEY must be the account's 43-character EncodingAESKey")
    return WeChatCrypto(cfg.token, cfg.aes_key, cfg.appid)


def _is_event(message: BaseMessage) -> bool:
    return message._data.get("MsgType") == "event"


def _window_key(openid: str) -> str:
    return f"wechat:inbound:{openid}"


class WeChatChannel(Channel):
    name = "wechat"

    def __init__(self, gateway: Gateway, cfg: WeChatSettings | None = None):
        super().__init__(gateway)
        self.cfg = cfg or WeChatSettings()
        self.redis = gateway.redis
        self.crypto = _crypto(self.cfg)
        self.api = WeChatApi(self.cfg.api_base, self.cfg.appid, self.cfg.appsecret, self.redis)
        self.menu = wechat_menu.load()
        self.branches = nearest_branch.load_branches()
        self._tasks: set[asyncio.Task] = set()

    def routes(self) -> list[web.RouteDef]:
        return [web.get(PATH, self.verify), web.post(PATH, self.receive)]

    async def stop(self) -> None:
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=STOP_GRACE_S)
        for task in list(self._tasks):
            task.cancel()
        await self.api.close()

    def _spawn(self, coro) -> asyncio.Task:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # --- the envelope -------------------------------------------------------------------

    def _signed(self, query: Mapping[str, str]) -> bool:
        signature, timestamp, nonce = (query.get(k, "") for k in ("signature", "timestamp", "nonce"))
        if not (signature and timestamp.isdigit() and nonce):
            return False
        if abs(time.time() - int(timestamp)) > self.cfg.max_clock_skew_s:
            return False
        signer = WeChatSigner()
        signer.add_data(self.cfg.token, timestamp, nonce)
        return hmac.compare_digest(signer.signature, signature)

    def _open(self, query: Mapping[str, str], body: bytes) -> tuple[BaseMessage, bool]:
        """The message inside a POST, and whether it came encrypted. Raises on anything amiss."""
        if not self._signed(query):
            raise BadEnvelope("bad signature")
        mode = query.get("encrypt_type", "raw")
        if mode == "raw":
            xml, encrypted = body.decode(), False
        elif mode == "aes" and self.crypto is not None:
            # Compatible mode carries the plain fields too; only the sealed copy is trusted.
            xml, encrypted = self.crypto.decrypt_message(body, query.get("msg_signature", ""), query["timestamp"],
                                                         query["nonce"]), True
        else:
            raise BadEnvelope(f"encrypt_type {mode} not configured")
        message = parse_message(xml)
        if message is None or not message.source:
            raise BadEnvelope("no FromUserName")
        conversation_id(self.name, message.source)      # raises BadUserId for a malformed openid
        return message, encrypted

    async def verify(self, request: web.Request) -> web.Response:
        """WeChat's check of the server URL: echo `echostr` when the signature is right."""
        echostr = request.query.get("echostr", "")
        if not echostr or not self._signed(request.query):
            return web.Response(status=403, text="forbidden")
        return web.Response(text=echostr)

    async def receive(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        try:
            message, encrypted = self._open(request.query, body)
        except Exception as exc:    # whatever fails in an untrusted envelope is a refusal, not a 500
            log.warning("wechat request refused: %s %s", type(exc).__name__, exc)
            return web.Response(status=403, text="forbidden")
        xml, rest = await self._answer(message)
        if xml is None:
            return web.Response(text="success")     # WeChat's "received, nothing to say"
        if encrypted:
            xml = self.crypto.encrypt_message(xml, request.query["nonce"], str(int(time.time())))
        response = web.Response(text=xml, content_type="application/xml")
        if rest:
            # The passive reply goes out first; what did not fit in it follows as customer-service messages.
            await response.prepare(request)
            await response.write_eof()
            self._spawn(self._deliver(message.source, rest))
        return response

    # --- once, and within the 5 seconds ---------------------------------------------------

    def _claim_key(self, message: BaseMessage) -> str:
        if message.id:
            return f"wechat:seen:{self.cfg.appid}:{message.id}"
        # Events have no MsgId: a retry repeats sender, time, event and key; two events of one second differ.
        data = message._data
        return f"wechat:seen:{self.cfg.appid}:{message.source}:{message.time}:{data.get('Event')}:{data.get('EventKey')}"

    async def _answer(self, message: BaseMessage) -> tuple[str | None, list[Outgoing]]:
        """(passive reply XML or None for "success", messages to send after it)."""
        claim = self._claim_key(message)
        if not await self.redis.set(claim, "", nx=True, ex=CLAIM_TTL_S):
            earlier = await self.redis.get(claim)
            log.info("wechat retry of an already claimed message (%s)", "answered" if earlier else "in progress")
            return (earlier.decode() if earlier else None), []
        if not _is_event(message) or getattr(message, "event", "") in WINDOW_EVENTS:
            await self.redis.set(_window_key(message.source), int(time.time()), ex=WINDOW_S)
        work = self._spawn(self._replies_for(message))
        done, _ = await asyncio.wait({work}, timeout=self.cfg.passive_budget_s)
        if not done:
            self._spawn(self._deliver_late(message.source, work))
            return None, []
        replies = work.result()
        if self.cfg.kf_transfer and wants_handoff(replies):
            # The account's own WeChat staff take the citizen: leave our staff queue.
            await Handoff(self.redis).cancel(conversation_id(self.name, message.source))
        messages = render(replies, transfer=self.cfg.kf_transfer)
        if not messages:
            return None, []         # nothing to say (an event), or replies with nothing WeChat can show
        xml = messages[0].passive_reply(message)
        await self.redis.set(claim, xml, xx=True, keepttl=True)   # a retry gets the same answer
        return xml, messages[1:]

    async def _deliver_late(self, openid: str, work: asyncio.Task) -> None:
        replies = await work
        if replies:
            await self._deliver(openid, render(replies))

    # --- what each kind of message gets ---------------------------------------------------

    async def _replies_for(self, message: BaseMessage) -> list[Reply]:
        conv = conversation_id(self.name, message.source)
        try:
            return await self._dispatch(message, conv)
        except Exception:
            log.exception("wechat %s message of %s failed", message.type, conv)
            return [Reply(FAILED)]

    async def _turn(self, openid: str, text: str) -> list[Reply]:
        return await self.gateway.handle(self.name, openid, text, numbered=True)

    async def _local(self, conv: str, replies: list[Reply]) -> list[Reply]:
        """Replies made here rather than by the engine; what waits in the outbox comes first, as
        with a turn, and a menu among them becomes the one numbers refer to."""
        replies = await outbox.drain(self.redis, conv) + replies
        if menus.options(replies):
            await menus.remember(self.redis, conv, replies)
        return replies

    async def _dispatch(self, message: BaseMessage, conv: str) -> list[Reply]:
        openid, kind, event = message.source, message.type, getattr(message, "event", "")
        if kind == "text":
            return await self._turn(openid, await self._menu_tap(message, conv))
        if kind == "voice":
            heard = (message.recognition or "").strip()
            return await self._turn(openid, heard) if heard else await self._local(conv, [Reply(VOICE_UNCLEAR)])
        if kind == "image":
            return await self._local(conv, [Reply(await self._keep_image(message, conv))])
        if kind == "location":
            return await self._local(conv, [Reply(self._nearest(message))])
        if event in ("subscribe", "subscribe_scan"):
            return [Reply(WELCOME)] + await self._turn(openid, "/help")
        if event == "unsubscribe":
            # Open filings, attachments and the conversation stay: they follow the citizen if
            # they come back. Only customer-service messages are no longer possible.
            await self.redis.delete(_window_key(openid))
            log.info("wechat user of %s unsubscribed", conv)
            return []
        if event == "click":
            say = self.menu.says.get(message.key or "")
            return await self._turn(openid, say) if say else await self._local(conv, [Reply(MENU_UNKNOWN)])
        if _is_event(message):
            return []       # VIEW (the user opens a link), location reports, picker events: nothing to say
        return await self._local(conv, [Reply(UNSUPPORTED)])

    async def _menu_tap(self, message: BaseMessage, conv: str) -> str:
        """A tapped in-text menu link sends its title and id: the option's number when it is
        still the current menu's option (its payload checksum matches), else the title."""
        text = message.content or ""
        choice = menu_choice(str(message._data.get("bizmsgmenuid") or ""))
        if choice:
            number, checksum = choice
            payload = await menus.resolve(self.redis, conv, str(number))
            if payload != str(number) and payload_checksum(payload) == checksum:
                return str(number)
        return text

    async def _keep_image(self, message: BaseMessage, conv: str) -> str:
        url = message.image or ""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc or len(url) > 500:
            return IMAGE_BAD
        name = f"微信图片-{message.id or message.time}.jpg"
        count = await attachments.add(self.redis, conv, name, "image/jpeg", url)
        if count is None:
            return IMAGE_LIMIT.format(limit=attachments.MAX_FILES)
        return IMAGE_KEPT.format(count=count, limit=attachments.MAX_FILES)

    def _nearest(self, message: BaseMessage) -> str:
        try:
            found = nearest_branch.nearest(self.branches, float(message.location_x), float(message.location_y))
        except (TypeError, ValueError):
            found = None
        return nearest_branch.describe(found) if found else LOCATION_BAD

    # --- customer-service messages ------------------------------------------------------

    async def _may_send(self, openid: str) -> bool:
        """Inside the user's 48-hour window and under today's number for them."""
        if not await self.redis.exists(_window_key(openid)):
            return False
        day = time.strftime("%Y%m%d")
        pipe = self.redis.pipeline()
        pipe.incr(f"wechat:sent:{openid}:{day}")
        pipe.expire(f"wechat:sent:{openid}:{day}", 2 * 86400)
        count, _ = await pipe.execute()
        return count <= self.cfg.daily_messages_per_user

    async def _send(self, openid: str, messages: list[Outgoing]) -> int:
        """Sends in order until one cannot be sent; returns how many were."""
        for sent, message in enumerate(messages):
            if not await self._may_send(openid):
                log.info("wechat: outside the window or over today's number; %d message(s) wait", len(messages) - sent)
                return sent
            try:
                await self.api.send_custom(message.custom_message(openid))
            except WeChatApiError as exc:
                if exc.errcode in (OUT_OF_WINDOW, NOT_FOLLOWING):
                    await self.redis.delete(_window_key(openid))
                log.warning("wechat customer-service message not sent: %s", exc)
                return sent
        return len(messages)

    async def _keep(self, openid: str, messages: list[Outgoing]) -> None:
        conv = conversation_id(self.name, openid)
        for message in messages:
            for reply in message.kept:
                await outbox.push(self.redis, conv, reply)

    async def _deliver(self, openid: str, messages: list[Outgoing]) -> None:
        """Customer-service messages now, or the outbox: nothing is dropped."""
        try:
            sent = await self._send(openid, messages)
            await self._keep(openid, messages[sent:])
        except Exception:
            log.exception("wechat delivery failed")

    async def push(self, user_id: str, replies: list[Reply]) -> bool:
        messages = render(replies)
        if not messages:
            return True             # nothing WeChat can show
        sent = await self._send(user_id, messages)
        if not sent:
            return False            # the caller keeps them all in the outbox
        await self._keep(user_id, messages[sent:])
        return True
