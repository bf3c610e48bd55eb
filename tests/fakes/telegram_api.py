"""A local Telegram Bot API for tests: an aiohttp server speaking the Bot API's HTTP contract
(https://core.telegram.org/bots/api) for the methods a bot needs to converse.

Requests go to /bot<token>/<method> (GET or POST; parameters in the query string, a JSON,
form-urlencoded or multipart body, objects JSON-encoded in form fields, as the real API takes
them) and get {"ok": true, "result": ...} or {"ok": false, "error_code", "description"
[, "parameters"]} with the matching HTTP status. Checked as Telegram checks: unknown token 401,
unknown method 404, unknown chat, empty or over-long text, bad callback_data, unknown callback
query, unchanged markup (400), a user who blocked the bot (403), flood limits (429 with
retry_after, refused again when retried early), getUpdates while a webhook is set or when a
newer getUpdates arrives (409).

A test plays the citizens: it injects updates (a message, a button press, a sticker...), which
are queued for getUpdates (long polling with offset/timeout/limit/allowed_updates) or, once a
webhook is set, POSTed to it one at a time with the X-Telegram-Bot-Api-Secret-Token header and
retried until answered 2xx. Everything the bot sends is captured.

Deviations: webhooks may be plain http on any port (Telegram requires https on 443/80/88/8443);
parse_mode is accepted but its markup is not parsed; no files, inline mode, payments or chat
administration.

The server runs on its own event loop in a thread; the test-facing methods are synchronous."""
from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import aiohttp
from aiohttp import web

CHAT_ACTIONS = {"typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice",
                "upload_document", "choose_sticker", "find_location", "record_video_note", "upload_video_note"}
UPDATE_TYPES = ("message", "edited_message", "channel_post", "edited_channel_post", "callback_query",
                "inline_query", "chosen_inline_result", "my_chat_member", "chat_member")
# The default when allowed_updates was never given: everything but chat_member (and reactions).
DEFAULT_ALLOWED = [t for t in UPDATE_TYPES if t != "chat_member"]
_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
# Form and query-string values are strings; these parameters hold JSON objects or numbers.
_JSON_PARAMS = {"reply_markup", "allowed_updates", "entities", "link_preview_options", "reply_parameters"}
_INT_PARAMS = {"offset", "limit", "timeout", "message_id", "max_connections", "cache_time", "message_thread_id"}
_BOOL_PARAMS = {"drop_pending_updates", "disable_notification", "protect_content", "show_alert"}


class ApiError(Exception):
    def __init__(self, code: int, description: str, parameters: dict | None = None):
        super().__init__(description)
        self.code, self.description, self.parameters = code, description, parameters


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


@dataclass
class Flood:
    retry_after: int
    times: int                 # requests still refused regardless of the clock
    until: float = 0.0         # and every request before this moment


@dataclass
class BotState:
    """One bot's account at the emulated Telegram. Read its fields under `api.lock`."""
    token: str
    username: str
    id: int = 0
    webhook_url: str = ""
    webhook_secret: str = ""
    allowed_updates: list[str] = field(default_factory=lambda: list(DEFAULT_ALLOWED))
    pending: list[dict] = field(default_factory=list)         # not yet confirmed / delivered
    all_updates: dict[int, dict] = field(default_factory=dict)
    handled: dict[int, int] = field(default_factory=dict)     # update_id -> 200 (polled) or webhook status
    deliveries: list[tuple[int, int]] = field(default_factory=list)   # webhook (update_id, status)
    next_update_id: int = 100_000_001
    chats: dict[int, dict] = field(default_factory=dict)
    users: dict[int, dict] = field(default_factory=dict)
    messages: dict[tuple[int, int], dict] = field(default_factory=dict)
    next_message_id: dict[int, int] = field(default_factory=dict)
    sent: list[dict] = field(default_factory=list)            # every message the bot sent, in order
    calls: list[tuple[str, dict]] = field(default_factory=list)
    errors: list[tuple[str, int, str]] = field(default_factory=list)   # (method, code, description)
    queries: dict[str, dict] = field(default_factory=dict)    # callback_query id -> {answered, ...}
    blocked: set[int] = field(default_factory=set)
    floods: dict[int, Flood] = field(default_factory=dict)
    poll_generation: int = 0

    def __post_init__(self):
        self.id = int(self.token.split(":", 1)[0])

    def user(self) -> dict:
        return {"id": self.id, "is_bot": True, "first_name": "网上办事大厅助手", "username": self.username}


class TelegramApi:
    def __init__(self, port: int, host: str = "127.0.0.1"):
        self.host, self.port = host, port
        self.base_url = f"http://{host}:{port}/bot"     # PTB's base_url: the token is appended
        self.bots: dict[str, BotState] = {}
        self.lock = threading.Condition()       # guards every BotState; notified on any change
        self._loop: asyncio.AbstractEventLoop | None = None
        self._changed: asyncio.Condition | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._webhook_tasks: dict[str, asyncio.Task] = {}

    # --- lifecycle -----------------------------------------------------------------------

    def start(self) -> "TelegramApi":
        started = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            self._loop = asyncio.new_event_loop()
            try:
                self._loop.run_until_complete(self._serve())
            except BaseException as exc:    # reported to start()'s caller
                failure.append(exc)
                started.set()
                return
            started.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, name="telegram-api", daemon=True)
        self._thread.start()
        started.wait()
        if failure:
            raise failure[0]
        return self

    async def _serve(self) -> None:
        self._changed = asyncio.Condition()
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._endpoint)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()
        self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120))

    def stop(self) -> None:
        async def shutdown() -> None:
            for task in self._webhook_tasks.values():
                task.cancel()
            await self._http.close()
            await self._runner.cleanup()

        asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()

    def add_bot(self, token: str, username: str) -> BotState:
        with self.lock:
            bot = self.bots[token] = BotState(token, username)
        return bot

    # --- the test side: citizens and their clients ---------------------------------------

    def send_text(self, bot: BotState, chat_id: int, text: str, chat_type: str = "private",
                  from_id: int | None = None) -> int:
        """A user types a message; returns the update_id."""
        fields: dict[str, Any] = {"text": text}
        if text.startswith("/"):
            fields["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        return self.send_message(bot, chat_id, fields, chat_type, from_id=from_id)

    def send_message(self, bot: BotState, chat_id: int, fields: dict, chat_type: str = "private",
                     kind: str = "message", from_id: int | None = None) -> int:
        """Any message from a user (fields such as {"sticker": {...}}); `kind` "edited_message"
        edits instead (give the message_id in fields). In a private chat the user is the chat."""
        def make() -> dict:
            chat = self._chat(bot, chat_id, chat_type)
            user = self._user(bot, from_id or chat_id)
            message = {"message_id": fields.get("message_id") or self._message_id(bot, chat_id),
                       "from": user, "chat": chat, "date": int(time.time()), **fields}
            if kind == "edited_message":
                message["edit_date"] = int(time.time())
            bot.messages[(chat_id, message["message_id"])] = message
            return {kind: message}
        return self._inject(bot, make)

    def click(self, bot: BotState, chat_id: int, message_id: int, title: str) -> int:
        """A user presses the inline button titled `title` on a message the bot sent."""
        def make() -> dict:
            message = bot.messages.get((chat_id, message_id))
            rows = ((message or {}).get("reply_markup") or {}).get("inline_keyboard") or []
            button = next((b for row in rows for b in row if b["text"] == title), None)
            if button is None:
                raise AssertionError(f"no button {title!r} on message {message_id}")
            query_id = f"{bot.id}{len(bot.queries) + 1:010d}"
            bot.queries[query_id] = {"answered": False, "message_id": message_id, "chat_id": chat_id}
            return {"callback_query": {"id": query_id, "from": self._user(bot, chat_id), "message": message,
                                       "chat_instance": str(chat_id * 7919), "data": button["callback_data"]}}
        return self._inject(bot, make)

    def deliver_again(self, bot: BotState, update_id: int) -> None:
        """Telegram delivers an update once more (it does, when unsure the bot got it)."""
        def requeue() -> None:
            bot.handled.pop(update_id, None)
            bot.pending.append(bot.all_updates[update_id])
        self._on_loop(requeue)

    def block(self, bot: BotState, chat_id: int, blocked: bool = True) -> None:
        with self.lock:
            (bot.blocked.add if blocked else bot.blocked.discard)(chat_id)

    def flood(self, bot: BotState, chat_id: int, retry_after: int, times: int = 1) -> None:
        """The next `times` requests for the chat get 429 retry_after, and so does any request
        sooner than retry_after seconds after a refusal. times=0 lifts the limit."""
        with self.lock:
            if times:
                bot.floods[chat_id] = Flood(retry_after, times)
            else:
                bot.floods.pop(chat_id, None)

    def wait(self, predicate: Callable[[], Any], timeout: float = 120) -> Any:
        """Waits until predicate() (called under the lock) is truthy; returns its value."""
        with self.lock:
            value = self.lock.wait_for(predicate, timeout)
        if not value:
            raise AssertionError("the emulated Telegram did not see what the test waited for")
        return value

    def wait_handled(self, bot: BotState, update_id: int) -> int:
        """Waits until the bot took the update (webhook answered 2xx, or getUpdates confirmed it
        with a higher offset); returns the webhook's HTTP status (200 for polling)."""
        return self.wait(lambda: bot.handled.get(update_id))

    def sent_to(self, bot: BotState, chat_id: int) -> list[dict]:
        with self.lock:
            return [m for m in bot.sent if m["chat"]["id"] == chat_id]

    def calls_of(self, bot: BotState, method: str) -> list[dict]:
        with self.lock:
            return [params for name, params in bot.calls if name == method.lower()]

    # --- state helpers (called on the loop, or under the lock) ---------------------------

    def _on_loop(self, fn: Callable[[], Any]) -> Any:
        async def run():
            with self.lock:
                value = fn()
                self.lock.notify_all()
            async with self._changed:
                self._changed.notify_all()
            return value
        return asyncio.run_coroutine_threadsafe(run(), self._loop).result()

    def _inject(self, bot: BotState, make: Callable[[], dict]) -> int:
        def add() -> int:
            # A copy: later edits of a message must not change an update already queued.
            update = json.loads(json.dumps({"update_id": bot.next_update_id, **make()}))
            bot.next_update_id += 1
            bot.all_updates[update["update_id"]] = update
            bot.pending.append(update)
            return update["update_id"]
        return self._on_loop(add)

    def _chat(self, bot: BotState, chat_id: int, chat_type: str) -> dict:
        if chat_id not in bot.chats:
            bot.chats[chat_id] = ({"id": chat_id, "type": "private", "first_name": f"市民{chat_id % 1000}"}
                                  if chat_type == "private" else {"id": chat_id, "type": chat_type, "title": "办事交流群"})
        return bot.chats[chat_id]

    def _user(self, bot: BotState, user_id: int) -> dict:
        return bot.users.setdefault(user_id, {"id": user_id, "is_bot": False, "first_name": f"市民{user_id % 1000}",
                                              "language_code": "zh-hans"})

    def _message_id(self, bot: BotState, chat_id: int) -> int:
        # One sequence per chat, shared by both sides, as in a private chat.
        bot.next_message_id[chat_id] = bot.next_message_id.get(chat_id, 0) + 1
        return bot.next_message_id[chat_id]

    # --- the Bot API side ----------------------------------------------------------------

    async def _endpoint(self, request: web.Request) -> web.Response:
        try:
            with self.lock:
                bot = self.bots.get(request.match_info["token"])
            if bot is None:
                raise ApiError(401, "Unauthorized")
            method = request.match_info["method"].lower()
            handler = getattr(self, f"_api_{method}", None)
            if handler is None:
                raise ApiError(404, "Not Found")
            params = await self._params(request)
            with self.lock:
                bot.calls.append((method, params))
            result = await handler(bot, params)
        except ApiError as err:
            body = {"ok": False, "error_code": err.code, "description": err.description}
            if err.parameters:
                body["parameters"] = err.parameters
            if bot is not None:
                with self.lock:
                    bot.errors.append((request.match_info["method"], err.code, err.description))
                    self.lock.notify_all()
            return web.json_response(body, status=err.code)
        with self.lock:
            self.lock.notify_all()
        async with self._changed:
            self._changed.notify_all()
        return web.json_response({"ok": True, "result": result})

    async def _params(self, request: web.Request) -> dict:
        params: dict[str, Any] = dict(request.query)
        if request.method == "POST" and request.can_read_body:
            if request.content_type == "application/json":
                try:
                    body = await request.json()
                except ValueError:
                    raise ApiError(400, "Bad Request: can't parse JSON object") from None
                if not isinstance(body, dict):
                    raise ApiError(400, "Bad Request: can't parse JSON object")
                params.update(body)
            else:   # application/x-www-form-urlencoded or multipart/form-data
                params.update({k: v for k, v in (await request.post()).items() if isinstance(v, str)})
        for name, value in list(params.items()):
            if not isinstance(value, str):
                continue
            try:
                if name in _JSON_PARAMS:
                    params[name] = json.loads(value)
                elif name in _INT_PARAMS or name in ("chat_id", "user_id") and re.fullmatch(r"-?\d+", value):
                    params[name] = int(value)
                elif name in _BOOL_PARAMS:
                    params[name] = value.lower() == "true"
            except ValueError:
                raise ApiError(400, f"Bad Request: can't parse {name}") from None
        return params

    def _known_chat(self, bot: BotState, params: dict) -> int:
        chat_id = params.get("chat_id")
        if chat_id is None or chat_id == "":
            raise ApiError(400, "Bad Request: chat_id is empty")
        if not isinstance(chat_id, int) or chat_id not in bot.chats:
            raise ApiError(400, "Bad Request: chat not found")
        if chat_id in bot.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        flood = bot.floods.get(chat_id)
        now = time.monotonic()
        if flood and (flood.times > 0 or now < flood.until):
            if now >= flood.until:
                flood.times -= 1
                flood.until = now + flood.retry_after
            wait = max(1, int(flood.until - now + 0.999))
            raise ApiError(429, f"Too Many Requests: retry after {wait}", {"retry_after": wait})
        return chat_id

    @staticmethod
    def _check_markup(markup) -> dict | None:
        if markup is None:
            return None
        rows = markup.get("inline_keyboard") if isinstance(markup, dict) else None
        if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
            raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
        for button in (b for row in rows for b in row):
            if not isinstance(button, dict) or not button.get("text"):
                raise ApiError(400, "Bad Request: text buttons are unallowed in the inline keyboard")
            data = button.get("callback_data")
            if data is None and not button.get("url"):
                raise ApiError(400, "Bad Request: text buttons are unallowed in the inline keyboard")
            if data is not None and not 1 <= len(str(data).encode()) <= 64:
                raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
        return markup

    async def _api_getme(self, bot: BotState, params: dict) -> dict:
        return {**bot.user(), "can_join_groups": True, "can_read_all_group_messages": False,
                "supports_inline_queries": False, "can_connect_to_business": False, "has_main_web_app": False}

    async def _api_sendmessage(self, bot: BotState, params: dict) -> dict:
        with self.lock:
            chat_id = self._known_chat(bot, params)
            text = params.get("text")
            if not isinstance(text, str) or not text.strip():
                raise ApiError(400, "Bad Request: message text is empty")
            if utf16_len(text) > 4096:
                raise ApiError(400, "Bad Request: message is too long")
            if params.get("parse_mode") not in (None, "", "HTML", "Markdown", "MarkdownV2"):
                raise ApiError(400, f"Bad Request: unsupported parse_mode {params['parse_mode']}")
            markup = self._check_markup(params.get("reply_markup"))
            message = {"message_id": self._message_id(bot, chat_id), "from": bot.user(), "chat": bot.chats[chat_id],
                       "date": int(time.time()), "text": text}
            if markup:
                message["reply_markup"] = markup
            bot.messages[(chat_id, message["message_id"])] = message
            bot.sent.append({**message, "parse_mode": params.get("parse_mode")})
            return message

    async def _api_sendchataction(self, bot: BotState, params: dict) -> bool:
        with self.lock:
            self._known_chat(bot, params)
            if params.get("action") not in CHAT_ACTIONS:
                raise ApiError(400, "Bad Request: wrong parameter action in request")
            return True

    async def _api_answercallbackquery(self, bot: BotState, params: dict) -> bool:
        with self.lock:
            query = bot.queries.get(str(params.get("callback_query_id") or ""))
            if query is None or query["answered"]:
                raise ApiError(400, "Bad Request: query is too old and response timeout expired or query ID is invalid")
            if len(str(params.get("text") or "")) > 200:
                raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
            query["answered"] = True
            return True

    async def _api_editmessagereplymarkup(self, bot: BotState, params: dict) -> dict:
        with self.lock:
            chat_id = self._known_chat(bot, params)
            message = bot.messages.get((chat_id, params.get("message_id")))
            if message is None:
                raise ApiError(400, "Bad Request: message to edit not found")
            if message["from"]["id"] != bot.id:
                raise ApiError(400, "Bad Request: message can't be edited")
            markup = self._check_markup(params.get("reply_markup"))
            if (markup or None) == (message.get("reply_markup") or None):
                raise ApiError(400, "Bad Request: message is not modified: specified new message content and "
                                    "reply markup are exactly the same as a current content and reply markup of the message")
            if markup:
                message["reply_markup"] = markup
            else:
                message.pop("reply_markup", None)
            return {**message, "edit_date": int(time.time())}

    async def _api_setwebhook(self, bot: BotState, params: dict) -> bool:
        url = str(params.get("url") or "")
        secret = str(params.get("secret_token") or "")
        if url and not re.match(r"^https?://[^/\s]+", url):
            raise ApiError(400, "Bad Request: bad webhook: invalid URL")
        if secret and not _SECRET.match(secret):
            raise ApiError(400, "Bad Request: secret token contains unallowed characters")
        with self.lock:
            bot.webhook_url, bot.webhook_secret = url, secret
            if "allowed_updates" in params:
                bot.allowed_updates = list(params["allowed_updates"] or DEFAULT_ALLOWED)
            if params.get("drop_pending_updates"):
                bot.pending.clear()
        self._restart_webhook(bot)
        return True

    async def _api_deletewebhook(self, bot: BotState, params: dict) -> bool:
        with self.lock:
            bot.webhook_url = bot.webhook_secret = ""
            if params.get("drop_pending_updates"):
                bot.pending.clear()
        self._restart_webhook(bot)
        return True

    async def _api_getwebhookinfo(self, bot: BotState, params: dict) -> dict:
        with self.lock:
            return {"url": bot.webhook_url, "has_custom_certificate": False, "pending_update_count": len(bot.pending),
                    "allowed_updates": bot.allowed_updates}

    async def _api_getupdates(self, bot: BotState, params: dict) -> list[dict]:
        offset, limit = params.get("offset", 0), params.get("limit", 100)
        timeout = params.get("timeout", 0)
        if not 1 <= limit <= 100:
            limit = 100
        with self.lock:
            if bot.webhook_url:
                raise ApiError(409, "Conflict: can't use getUpdates method while webhook is active; "
                                    "use deleteWebhook to delete the webhook first")
            if "allowed_updates" in params:
                bot.allowed_updates = list(params["allowed_updates"] or DEFAULT_ALLOWED)
            bot.poll_generation += 1
            generation = bot.poll_generation
            # An offset confirms every update below it; a negative one keeps only the last -offset.
            if offset > 0:
                for update in bot.pending:
                    if update["update_id"] < offset:
                        bot.handled[update["update_id"]] = 200
                bot.pending[:] = [u for u in bot.pending if u["update_id"] >= offset]
            elif offset < 0:
                bot.pending[:] = bot.pending[offset:]
            self.lock.notify_all()

        def ready() -> list[dict] | None:
            with self.lock:
                if generation != bot.poll_generation:
                    raise ApiError(409, "Conflict: terminated by other getUpdates request; "
                                        "make sure that only one bot instance is running")
                # Update types the bot did not ask for are never sent.
                bot.pending[:] = [u for u in bot.pending if next(k for k in u if k != "update_id") in bot.allowed_updates]
                return bot.pending[:limit] or None

        async with self._changed:
            self._changed.notify_all()      # wakes an older poller, which then ends with 409
            try:
                batch = await asyncio.wait_for(self._changed.wait_for(ready), timeout) if timeout > 0 else ready()
            except asyncio.TimeoutError:
                batch = None
        return batch or []

    # --- webhook delivery ----------------------------------------------------------------

    def _restart_webhook(self, bot: BotState) -> None:
        task = self._webhook_tasks.pop(bot.token, None)
        if task:
            task.cancel()
        if bot.webhook_url:
            self._webhook_tasks[bot.token] = asyncio.get_running_loop().create_task(self._deliver(bot))

    async def _deliver(self, bot: BotState) -> None:
        """Sends pending updates to the webhook one at a time, in order, until each gets a 2xx."""
        def next_update() -> dict | None:
            with self.lock:
                bot.pending[:] = [u for u in bot.pending if next(k for k in u if k != "update_id") in bot.allowed_updates]
                return bot.pending[0] if bot.pending else None

        while True:
            async with self._changed:
                update = await self._changed.wait_for(next_update)
            headers = {"X-Telegram-Bot-Api-Secret-Token": bot.webhook_secret} if bot.webhook_secret else {}
            try:
                async with self._http.post(bot.webhook_url, json=update, headers=headers) as resp:
                    status = resp.status
            except aiohttp.ClientError:
                status = 0
            with self.lock:
                bot.deliveries.append((update["update_id"], status))
                if 200 <= status < 300:
                    bot.pending.remove(update)
                    bot.handled[update["update_id"]] = status
                self.lock.notify_all()
            if not 200 <= status < 300:
                await asyncio.sleep(1)      # Telegram retries a failed delivery later
