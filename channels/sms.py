"""SMS channel through Kannel. Kannel's smsbox calls GET /channels/sms for every message a
citizen texts (its sms-service get-url, with the shared secret); the gateway accepts at once
and answers later through Kannel's sendsms interface, so a slow turn never holds smsbox.

The citizen's phone number, normalised, is the user id. Replies are plain text with numbered
options (channels/menus.py maps the digit back), at most a few segments; the rest waits for
"0". Notifications go out as carrier templates (send_template)."""
from __future__ import annotations

import asyncio
import hmac
import json
import logging
from collections import defaultdict
from urllib.parse import parse_qsl

from aiohttp import web

from channels import menus, sms_render
from channels.base import Channel, Gateway
from channels.kannel_sendsms import KannelSendSms
from channels.phone import BadPhoneNumber, mask, normalize_phone
from channels.sms_settings import SmsSettings
from channels.sms_templates import SmsTemplates, TemplateError
from common import outbox
from common.reply import Reply
from common.sessions import conversation_id

log = logging.getLogger(__name__)

FORBIDDEN = "禁止访问：请求来源或密钥不正确。"
BAD_SENDER = "请求格式错误：from 需为手机号码。"
UNREADABLE = "抱歉，无法识别您短信的文字编码，请重新发送。"
NO_MORE = "没有更多内容了。请直接发送您要咨询的事项，例如“居住证怎么办”。"
FAILED = "抱歉，系统出现异常，请稍后再试，或拨打12345政务服务便民热线。"
PAGES_TTL_S = 24 * 3600
SEEN_TTL_S = 24 * 3600
# Kannel's %c: 0 = 7-bit/text (already UTF-8), 1 = 8-bit data, 2 = UCS-2.
UCS2 = "2"
# Charsets a GB-family name may arrive as; GB18030 decodes all of them (standard 6.3.2.1).
_GB = {"gb18030", "gbk", "gb2312", "cp936", "euc-cn"}


def decode_text(raw: bytes, coding: str, charset: str) -> str:
    """The text of an MO as Kannel passed it (%b bytes, %c coding, %C charset). 8-bit data
    without a charset is taken as UTF-8, else GB18030. Raises ValueError when undecodable
    or the charset is unknown."""
    name = charset.strip().lower()
    if name in _GB:
        return raw.decode("gb18030")
    if name and name != "8-bit":
        try:
            return raw.decode(name)
        except LookupError:
            raise ValueError(f"unknown charset {charset!r}") from None
    if coding == UCS2:
        return raw.decode("utf-16-be")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("gb18030")


def _pages_key(conversation: str) -> str:
    return f"sms:pages:{conversation}"


class SmsChannel(Channel):
    name = "sms"

    def __init__(self, gateway: Gateway, settings: SmsSettings | None = None):
        super().__init__(gateway)
        self.settings = settings or SmsSettings()
        self.sendsms = KannelSendSms(self.settings)
        self.templates = SmsTemplates.load()
        self.redis = gateway.redis
        self.tasks: set[asyncio.Task] = set()
        # One turn at a time per citizen, so answers go out in the order the questions came;
        # a citizen's lock lives while any of their messages is waiting for it.
        self.turn_locks: dict[str, asyncio.Lock] = {}
        self.turns_waiting: defaultdict[str, int] = defaultdict(int)

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/channels/sms", self.receive)]

    async def stop(self) -> None:
        if self.tasks:   # turns under way still answer
            await asyncio.wait(self.tasks, timeout=self.settings.sendsms_timeout_s * 2)
        for task in self.tasks:
            task.cancel()
        await self.sendsms.close()

    # -- inbound ------------------------------------------------------------------------------
    async def receive(self, request: web.Request) -> web.Response:
        # Latin-1 keeps every byte of %b: the text is decoded by its own coding and charset.
        query = dict(parse_qsl(request.rel_url.raw_query_string, keep_blank_values=True, encoding="latin-1"))
        secret = query.get("secret", "").encode("latin-1")
        if request.remote not in self.settings.allowed_ips or \
                not hmac.compare_digest(secret, self.settings.inbound_secret.encode()):
            log.warning("sms inbound refused from %s", request.remote)
            return web.Response(status=403, text=FORBIDDEN)
        try:
            phone = normalize_phone(query.get("from", ""))
        except BadPhoneNumber:
            return web.Response(status=400, text=BAD_SENDER)
        message_id = query.get("id", "")
        # smsbox retries a get-url that failed; the same message must not make two turns.
        if message_id and not await self.redis.set(f"sms:seen:{message_id}", 1, nx=True, ex=SEEN_TTL_S):
            return web.Response(status=202, text="")
        try:
            text = decode_text(query.get("text", "").encode("latin-1"), query.get("coding", ""),
                               query.get("charset", ""))
        except ValueError:
            log.warning("sms from %s undecodable (coding %s, charset %s)", mask(phone), query.get("coding"),
                        query.get("charset"))
            self._spawn(self.sendsms.send(phone, UNREADABLE))
            return web.Response(status=202, text="")
        self._spawn(self.answer(phone, text))
        return web.Response(status=202, text="")

    def _spawn(self, coro) -> None:
        task = asyncio.create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def answer(self, phone: str, text: str) -> None:
        """One turn: the next page when asked for, else the gateway's replies, sent by SMS."""
        lock = self.turn_locks.setdefault(phone, asyncio.Lock())
        self.turns_waiting[phone] += 1
        try:
            async with lock:
                conv = conversation_id(self.name, phone)
                if text.strip() in sms_render.MORE_WORDS:
                    page = await self.redis.lpop(_pages_key(conv))
                    texts = [page.decode() if page else NO_MORE]
                else:
                    replies = await self.gateway.handle(self.name, phone, text, numbered=True)
                    texts = await self._paged(conv, replies, replace=True)
                if texts and not await self.sendsms.send(phone, texts[0]):
                    # Kannel is down: the answer waits in the outbox and comes with the next message.
                    await outbox.push(self.redis, conv, Reply(texts[0]))
        except Exception:
            log.exception("sms turn for %s failed", mask(phone))
            await self.sendsms.send(phone, FAILED)
        finally:
            self.turns_waiting[phone] -= 1
            if not self.turns_waiting[phone]:
                del self.turns_waiting[phone], self.turn_locks[phone]

    async def _paged(self, conv: str, replies: list[Reply], replace: bool) -> list[str]:
        """The replies as SMS pages; the ones after the first wait for "0". A turn's pages
        replace earlier ones; a push's only when it has more than one."""
        texts = sms_render.pages(replies, self.settings.max_segments)
        if replace or len(texts) > 1:
            pipe = self.redis.pipeline(transaction=True)
            pipe.delete(_pages_key(conv))
            if len(texts) > 1:
                pipe.rpush(_pages_key(conv), *texts[1:])
                pipe.expire(_pages_key(conv), PAGES_TTL_S)
            await pipe.execute()
        return texts

    # -- outbound outside a turn ---------------------------------------------------------------
    async def push(self, user_id: str, replies: list[Reply]) -> bool:
        """A late filing number or a reminder, by SMS; its options answer like a turn's."""
        try:
            phone = normalize_phone(user_id)
        except BadPhoneNumber:
            return False
        conv = conversation_id(self.name, phone)
        if menus.options(replies):
            await menus.remember(self.redis, conv, replies)
        texts = await self._paged(conv, replies, replace=False)
        return not texts or await self.sendsms.send(phone, texts[0])

    async def send_template(self, phone: str, template: str, variables: dict) -> bool:
        """A carrier template with its variables; False (and a log line) when the number, the
        template or a variable is wrong, or Kannel does not take it. Never raises."""
        try:
            to = normalize_phone(phone)
            text = self.templates.render(template, variables if isinstance(variables, dict) else {})
        except BadPhoneNumber:
            log.error("sms template %s not sent: %s is not a phone number", template, mask(str(phone)))
            return False
        except TemplateError as exc:
            log.error("sms template not sent to %s: %s", mask(str(phone)), exc)
            return False
        if sms_render.segments(text) > self.settings.kannel_max_segments:
            log.error("sms template %s not sent to %s: %d segments, Kannel takes %d", template, mask(to),
                      sms_render.segments(text), self.settings.kannel_max_segments)
            return False
        sent = await self.sendsms.send(to, text)
        log.info("sms template %s to %s %s (%s)", template, mask(to), "accepted" if sent else "refused",
                 json.dumps(sorted(variables), ensure_ascii=False) if isinstance(variables, dict) else "")
        return sent
