"""Telegram channel: a bot on the Telegram Bot API, through python-telegram-bot's plain `Bot`.

Updates arrive either on a webhook (POST /channels/telegram/<path secret>, with Telegram's
X-Telegram-Bot-Api-Secret-Token header) or by long polling getUpdates in a background task,
chosen by TELEGRAM_MODE. A citizen is a private chat: the chat id is the user id. Replies are
plain text (no parse_mode, so nothing needs escaping) cut into pieces Telegram accepts, and a
reply's buttons become an inline keyboard whose callback_data carries the payload, or a short
Redis key for payloads longer than Telegram's 64 bytes.

Polling is for development and single-process deployments: Telegram lets one poller per bot
at a time. Several gateway processes share one webhook."""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import warnings
from datetime import timedelta

from aiohttp import web
from telegram import Bot, CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ChatAction, ChatType
from telegram.error import RetryAfter, TelegramError
from telegram.warnings import PTBDeprecationWarning

from channels.base import Channel, Gateway
from channels.telegram_settings import TelegramSettings
from common import outbox
from common.reply import Reply
from common.sessions import conversation_id

log = logging.getLogger(__name__)
# httpx logs every request URL at INFO, and a Bot API URL carries the bot token.
logging.getLogger("httpx").setLevel(logging.WARNING)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_TEXT = 4096               # longest message text, in UTF-16 code units (how Telegram counts)
MAX_CALLBACK_DATA = 64        # bytes
INLINE, STORED = "p:", "k:"   # callback_data: the payload itself, or the Redis key holding it
PAYLOAD_TTL_S = 30 * 24 * 3600
# Telegram re-delivers an unconfirmed update for up to a day; remember seen ones longer.
SEEN_TTL_S = 2 * 24 * 3600
GROUP_HINT_TTL_S = 24 * 3600
# A flood limit longer than this is not waited out inside a turn or a push: the message goes
# to the outbox instead of holding the caller.
MAX_RETRY_WAIT_S = 30
POLL_TIMEOUT_S = 25
RETRY_BACKOFF_MAX_S = 30
# Edited messages are not asked for: the answer to the first version stands.
ALLOWED_UPDATES = ["message", "callback_query"]

# Commands become the dialogue's own intents; any other "/..." text must not reach Rasa,
# which would read it as an intent payload.
COMMANDS = {"start": "/greet", "help": "/help"}
UNKNOWN_COMMAND = "暂不支持这个指令。请直接用一句话说明您要办的事，例如“居住证怎么办理”；发送 /start 可回到主菜单。"
NOT_TEXT = "目前我只能看懂文字消息。请用文字描述您的问题，例如“护照怎么办理”。"
GROUP_ONLY_PRIVATE = "您好！为保护您的个人信息，我只在私聊中提供办事咨询，请点击我的头像发起私聊。"
BUTTON_EXPIRED = "这个按钮已过期，请重新提问，或发送 /start 回到主菜单。"
CHOOSE = "请选择："
BAD_UPDATE = "请求格式错误：需要 Telegram Update 的 JSON"
FORBIDDEN = "禁止访问：密钥不正确"


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Pieces of at most `limit` UTF-16 code units, cut after a line break where one falls in
    the second half of a piece; blank pieces are dropped (Telegram refuses empty messages)."""
    pieces = []
    while text:
        units, end = 0, len(text)
        for i, ch in enumerate(text):
            units += 2 if ord(ch) > 0xFFFF else 1
            if units > limit:
                end = max(i, 1)
                break
        cut = text.rfind("\n", 0, end) + 1 if end < len(text) else end
        if cut <= end // 2:
            cut = end
        pieces.append(text[:cut])
        text = text[cut:]
    return [p for p in (p.strip("\n") for p in pieces) if p.strip()]


def _retry_after_s(exc: RetryAfter) -> float:
    with warnings.catch_warnings():     # PTB 22 warns that the int form will become a timedelta
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class BadUpdate(ValueError):
    pass


class TelegramChannel(Channel):
    name = "telegram"

    def __init__(self, gateway: Gateway, cfg: TelegramSettings | None = None):
        super().__init__(gateway)
        self.cfg = cfg or TelegramSettings()
        self.redis = gateway.redis
        self.bot = Bot(self.cfg.token, base_url=self.cfg.api_base)
        self._background: asyncio.Task | None = None   # the poller or the webhook registration

    def _safe(self, exc: BaseException) -> str:
        """An error for the log, never with the token (PTB puts it in InvalidToken's text)."""
        return f"{type(exc).__name__}: {exc}".replace(self.cfg.token, "<token>")

    # --- gateway hooks -------------------------------------------------------------------

    def routes(self) -> list[web.RouteDef]:
        if self.cfg.mode != "webhook":
            return []
        return [web.post("/channels/telegram/{path_secret}", self.receive)]

    async def start(self) -> None:
        try:
            await self.bot.initialize()     # getMe: checks the token early
        except TelegramError as exc:        # Telegram down must not stop the other channels
            log.error("telegram: Bot API not reachable at start: %s", self._safe(exc))
        if self.cfg.mode == "polling":
            self._background = asyncio.create_task(self._poll())
        elif self.cfg.public_url:
            self._background = asyncio.create_task(self._register_webhook())

    async def stop(self) -> None:
        if self._background is not None:
            self._background.cancel()
            try:
                await self._background
            except asyncio.CancelledError:
                pass
        await self.bot.shutdown()

    async def push(self, user_id: str, replies: list[Reply]) -> bool:
        try:
            chat_id = int(user_id)
        except ValueError:
            return False
        delivered = await self._send(chat_id, replies)
        if delivered == 0 and replies:
            return False
        await self._keep(chat_id, replies[delivered:])   # only the part that did not go out
        return True

    # --- receiving -----------------------------------------------------------------------

    async def receive(self, request: web.Request) -> web.Response:
        path_ok = hmac.compare_digest(request.path.encode(), self.cfg.webhook_path.encode())
        header_ok = hmac.compare_digest(request.headers.get(SECRET_HEADER, "").encode(), self.cfg.webhook_secret.encode())
        if not (path_ok and header_ok):
            return web.json_response({"error": "forbidden", "message": FORBIDDEN}, status=403)
        try:
            update = self.parse(await request.json())
        except (ValueError, UnicodeDecodeError):
            return web.json_response({"error": "bad_request", "message": BAD_UPDATE}, status=400)
        # Answered after the turn: a crash before that makes Telegram deliver it again.
        await self.handle_update(update)
        return web.json_response({"ok": True})

    def parse(self, data) -> Update:
        if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
            raise BadUpdate("no update_id")
        try:
            return Update.de_json(data, self.bot)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise BadUpdate(str(exc)) from exc

    async def _register_webhook(self) -> None:
        """setWebhook, retried until Telegram takes it (it may be unreachable at start)."""
        url = self.cfg.public_url.rstrip("/") + self.cfg.webhook_path
        backoff = 1.0
        while True:
            try:
                await self._call(self.bot.set_webhook, url=url, secret_token=self.cfg.webhook_secret,
                                 allowed_updates=ALLOWED_UPDATES)
                log.info("telegram: webhook registered under %s", self.cfg.public_url)
                return
            except TelegramError as exc:
                log.error("telegram: setWebhook failed (%s); retrying in %.0f s", self._safe(exc), backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, RETRY_BACKOFF_MAX_S)

    async def _poll(self) -> None:
        offset, backoff = None, 1.0
        webhook_cleared = False
        while True:
            try:
                if not webhook_cleared:      # getUpdates is refused while a webhook is set
                    await self.bot.delete_webhook()
                    webhook_cleared = True
                updates = await self.bot.get_updates(offset=offset, timeout=POLL_TIMEOUT_S,
                                                     allowed_updates=ALLOWED_UPDATES)
                backoff = 1.0
            except RetryAfter as exc:
                await asyncio.sleep(_retry_after_s(exc))
                continue
            except TelegramError as exc:
                log.warning("telegram: getUpdates failed (%s); retrying in %.0f s", self._safe(exc), backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, RETRY_BACKOFF_MAX_S)
                continue
            if updates:
                # The next getUpdates confirms these: a batch is fully handled before that.
                offset = updates[-1].update_id + 1
                await self._handle_batch(updates)

    async def _handle_batch(self, updates: list[Update]) -> None:
        """Chats in parallel, each chat's updates in the order they came."""
        by_chat: dict[int, list[Update]] = {}
        for update in updates:
            by_chat.setdefault(update.effective_chat.id if update.effective_chat else 0, []).append(update)

        async def in_order(chat_updates: list[Update]) -> None:
            for update in chat_updates:
                try:
                    await self.handle_update(update)
                except Exception:   # one bad update must not stop the poller
                    log.exception("telegram: update %s failed", update.update_id)

        await asyncio.gather(*(in_order(u) for u in by_chat.values()))

    async def handle_update(self, update: Update) -> None:
        seen = f"telegram:update:{self.cfg.bot_id}:{update.update_id}"
        if not await self.redis.set(seen, 1, nx=True, ex=SEEN_TTL_S):
            log.info("telegram: update %s delivered again; already handled", update.update_id)
            return
        try:
            if update.callback_query is not None:
                await self._on_button(update.callback_query)
            elif update.message is not None:
                await self._on_message(update.message)
            # Edited messages (should a webhook registered elsewhere ask for them), channel posts
            # and the rest need no answer.
        except BaseException:
            # Not handled: the delivery Telegram makes again (webhook) must not be taken for a repeat.
            await self.redis.delete(seen)
            raise

    async def _on_message(self, message: Message) -> None:
        chat_id = message.chat.id
        if message.chat.type != ChatType.PRIVATE:
            await self._hint_group(chat_id)
            return
        text = message.text
        if text is None:
            if message.effective_attachment is not None:     # stickers, photos, voice, files...
                await self._send(chat_id, [Reply(NOT_TEXT)])
            return
        if text.startswith("/"):
            command = text[1:].split(maxsplit=1)[0].split("@")[0].lower() if text[1:].strip() else ""
            if command not in COMMANDS:
                await self._send(chat_id, [Reply(UNKNOWN_COMMAND)])
                return
            text = COMMANDS[command]
        await self._turn(chat_id, text)

    async def _on_button(self, query: CallbackQuery) -> None:
        try:
            await self.bot.answer_callback_query(query.id)   # stops the button's spinner
        except TelegramError as exc:
            log.info("telegram: answerCallbackQuery failed: %s", self._safe(exc))
        message = query.message
        if message is None or message.chat.type != ChatType.PRIVATE:
            return
        if isinstance(message, Message) and message.reply_markup is not None:
            # A menu is answered once: a stale option would answer a question the dialogue
            # is no longer asking (e.g. a form slot already filled).
            try:
                await self.bot.edit_message_reply_markup(chat_id=message.chat.id, message_id=message.message_id,
                                                         reply_markup=None)
            except TelegramError as exc:
                log.info("telegram: keyboard not removed: %s", self._safe(exc))
        payload = await self._payload(query.data or "")
        if payload is None:
            await self._send(message.chat.id, [Reply(BUTTON_EXPIRED)])
            return
        await self._turn(message.chat.id, payload)

    async def _turn(self, chat_id: int, text: str) -> None:
        typing = asyncio.create_task(self._typing(chat_id))
        replies = await self.gateway.handle(self.name, str(chat_id), text)
        await typing
        await self._deliver(chat_id, replies)

    async def _typing(self, chat_id: int) -> None:
        try:
            await self.bot.send_chat_action(chat_id, ChatAction.TYPING)
        except TelegramError:
            pass    # only a courtesy

    async def _hint_group(self, chat_id: int) -> None:
        """Once a day per group at most, so a group is told where to ask but not flooded."""
        if await self.redis.set(f"telegram:group-hint:{self.cfg.bot_id}:{chat_id}", 1, nx=True, ex=GROUP_HINT_TTL_S):
            await self._send(chat_id, [Reply(GROUP_ONLY_PRIVATE)])

    # --- buttons -------------------------------------------------------------------------

    async def _callback_data(self, payload: str) -> str:
        inline = INLINE + payload
        if len(inline.encode()) <= MAX_CALLBACK_DATA:
            return inline
        # Content-addressed: the same payload always gets the same key, so keys do not pile up.
        key = hashlib.sha256(payload.encode()).hexdigest()[:24]
        await self.redis.set(f"telegram:button:{key}", payload, ex=PAYLOAD_TTL_S)
        return STORED + key

    async def _payload(self, data: str) -> str | None:
        if data.startswith(INLINE):
            return data[len(INLINE):] or None
        if data.startswith(STORED):
            raw = await self.redis.get(f"telegram:button:{data[len(STORED):]}")
            return raw.decode() if raw else None
        return None

    async def _keyboard(self, buttons: list[dict]) -> InlineKeyboardMarkup | None:
        rows = [[InlineKeyboardButton(str(b.get("title") or b["payload"]), callback_data=await self._callback_data(b["payload"]))]
                for b in buttons if b.get("payload")]
        return InlineKeyboardMarkup(rows) if rows else None

    # --- sending -------------------------------------------------------------------------

    async def _messages(self, reply: Reply) -> list[tuple[str, InlineKeyboardMarkup | None]]:
        """(text, keyboard) per Telegram message of one reply; the keyboard goes on the last."""
        text = reply.text + (f"\n图片：{reply.image}" if reply.image else "")
        keyboard = await self._keyboard(reply.buttons)
        pieces = split_text(text) or ([CHOOSE] if keyboard else [])
        return [(p, keyboard if i == len(pieces) - 1 else None) for i, p in enumerate(pieces)]

    async def _call(self, method, **kwargs):
        """A Bot API call; on a flood limit, waits the stated time and tries once more."""
        try:
            return await method(**kwargs)
        except RetryAfter as exc:
            wait = _retry_after_s(exc)
            if wait > MAX_RETRY_WAIT_S:
                raise
            log.info("telegram: flood limit, retrying in %.0f s", wait)
            await asyncio.sleep(wait)
            return await method(**kwargs)

    async def _send(self, chat_id: int, replies: list[Reply]) -> int:
        """Sends replies in order; returns how many went out before the first failure."""
        for done, reply in enumerate(replies):
            try:
                for text, keyboard in await self._messages(reply):
                    await self._call(self.bot.send_message, chat_id=chat_id, text=text, reply_markup=keyboard)
            except TelegramError as exc:    # blocked (403), flood (429), network, chat gone...
                log.warning("telegram: sending to %s failed: %s", conversation_id(self.name, str(chat_id)),
                            self._safe(exc))
                return done
        return len(replies)

    async def _deliver(self, chat_id: int, replies: list[Reply]) -> None:
        """Answers within a turn; what could not go out waits for the citizen's next message."""
        delivered = await self._send(chat_id, replies)
        await self._keep(chat_id, replies[delivered:])

    async def _keep(self, chat_id: int, replies: list[Reply]) -> None:
        conv = conversation_id(self.name, str(chat_id))
        for reply in replies:
            await outbox.push(self.redis, conv, reply)
