"""A local stand-in for WeChat's API server (api.weixin.qq.com), speaking its endpoints and
JSON: /cgi-bin/token, /cgi-bin/message/custom/send and /cgi-bin/menu/create. It checks what
WeChat checks (appid and secret, access token, message shape and size), answers with WeChat's
errcodes, and records every call so tests can assert what the gateway sent. Tests can make it
refuse a user's messages (e.g. 45015, outside the 48-hour window) or expire its tokens.

It runs an aiohttp server on its own event loop in a thread, so synchronous tests can use it."""
from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
from dataclasses import dataclass

from aiohttp import web

# The test account the gateway is configured with (see gateway_env) and the platform plays.
ACCOUNT_ID = "gh_5a6c1b2d3e4f"          # the account's original id: ToUserName of inbound messages
APPID = "wx5c3a1f0e9d8b7a61"
SECRET = "3f1e2d4c5b6a79880f1e2d3c4b5a6978"
TOKEN = "hallAssistantTestToken2024"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
PORT_OFFSET = 10                        # the fake listens on the test port base + 10

ERRMSG = {
    40001: "invalid credential, access_token is invalid or not latest",
    40003: "invalid openid",
    40008: "invalid message type",
    40013: "invalid appid",
    40016: "invalid button size",
    40125: "invalid appsecret",
    41001: "access_token missing",
    43004: "require subscribe",
    45002: "content size out of limit",
    45008: "article size out of limit",
    45015: "response out of time limit or subscription is canceled",
    45047: "out of response count limit",
    47001: "data format error",
}


def gateway_env(port_base: int) -> dict[str, str]:
    """The WECHAT_* settings of a test stack's gateway: this account, its API at the fake."""
    return {"WECHAT_TOKEN": TOKEN, "WECHAT_APPID": APPID, "WECHAT_APPSECRET": SECRET, "WECHAT_AES_KEY": AES_KEY,
            "WECHAT_API_BASE": f"http://127.0.0.1:{port_base + PORT_OFFSET}"}


@dataclass
class Call:
    path: str
    query: dict
    body: dict | None
    errcode: int


def _error(errcode: int) -> web.Response:
    return web.json_response({"errcode": errcode, "errmsg": ERRMSG.get(errcode, "error")})


class FakeWeChatApi:
    def __init__(self, port: int, appid: str = APPID, secret: str = SECRET):
        self.port, self.appid, self.secret = port, appid, secret
        self.calls: list[Call] = []
        self.refusals: dict[str, int] = {}       # openid -> errcode for customer-service messages
        self._tokens: set[str] = set()
        self._serial = itertools.count(1)
        self._changed = threading.Condition()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    # --- what tests use ---------------------------------------------------------------

    def refuse(self, openid: str, errcode: int) -> None:
        """Customer-service messages to this user get `errcode` from now on."""
        self.refusals[openid] = errcode

    def expire_tokens(self) -> None:
        """Every access token issued so far stops working (as after a fetch elsewhere)."""
        self._tokens.clear()

    def calls_to(self, path: str) -> list[Call]:
        with self._changed:
            return [c for c in self.calls if c.path == path]

    def attempts_to(self, openid: str) -> list[Call]:
        """Customer-service messages to a user, delivered or refused."""
        return [c for c in self.calls_to("/cgi-bin/message/custom/send") if (c.body or {}).get("touser") == openid]

    def sent_to(self, openid: str) -> list[dict]:
        """Customer-service messages delivered to a user, oldest first."""
        return [c.body for c in self.attempts_to(openid) if c.errcode == 0]

    def wait_attempts(self, openid: str, count: int, timeout: float = 90) -> list[Call]:
        """Waits until at least `count` customer-service calls for the user have arrived."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self.attempts_to(openid)) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{count} customer-service message(s) to {openid} expected, "
                                         f"got {len(self.attempts_to(openid))}")
                self._changed.wait(left)
            return self.attempts_to(openid)

    # --- the server -------------------------------------------------------------------

    def _record(self, request: web.Request, body: dict | None, errcode: int) -> None:
        with self._changed:
            self.calls.append(Call(request.path, dict(request.query), body, errcode))
            self._changed.notify_all()

    async def token(self, request: web.Request) -> web.Response:
        q = request.query
        if q.get("grant_type") != "client_credential" or q.get("appid") != self.appid:
            errcode = 40013
        elif q.get("secret") != self.secret:
            errcode = 40125
        else:
            errcode = 0
        self._record(request, None, errcode)
        if errcode:
            return _error(errcode)
        token = f"FAKE_ACCESS_TOKEN_{next(self._serial)}_{int(time.time())}"
        self._tokens.add(token)
        return web.json_response({"access_token": token, "expires_in": 7200})

    async def _authorised_json(self, request: web.Request) -> tuple[dict | None, int]:
        token = request.query.get("access_token")
        try:
            body = json.loads(await request.read())
        except (ValueError, UnicodeDecodeError):
            return None, 47001
        if not isinstance(body, dict):
            return None, 47001
        if not token:
            return body, 41001
        return body, 0 if token in self._tokens else 40001

    async def custom_send(self, request: web.Request) -> web.Response:
        body, errcode = await self._authorised_json(request)
        if not errcode:
            errcode = self._check_message(body)
        self._record(request, body, errcode)
        return _error(errcode)

    def _check_message(self, body: dict) -> int:
        openid, kind = body.get("touser"), body.get("msgtype")
        if not isinstance(openid, str) or not openid:
            return 40003
        if kind == "text":
            content = (body.get("text") or {}).get("content")
            if not isinstance(content, str) or not content:
                return 47001
            if len(content.encode()) > 2048:
                return 45002
        elif kind == "news":
            articles = (body.get("news") or {}).get("articles")
            if not isinstance(articles, list) or len(articles) != 1:
                return 45008
            if not all(isinstance(articles[0].get(k), str) for k in ("title", "description", "url", "picurl")):
                return 47001
        else:
            return 40008
        return self.refusals.get(openid, 0)

    async def menu_create(self, request: web.Request) -> web.Response:
        body, errcode = await self._authorised_json(request)
        if not errcode:
            buttons = body.get("button")
            if not isinstance(buttons, list) or not 1 <= len(buttons) <= 3:
                errcode = 40016
        self._record(request, body, errcode)
        return _error(errcode)

    def _app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/cgi-bin/token", self.token)
        app.router.add_post("/cgi-bin/message/custom/send", self.custom_send)
        app.router.add_post("/cgi-bin/menu/create", self.menu_create)
        return app

    def start(self) -> "FakeWeChatApi":
        ready = threading.Event()
        self._loop = asyncio.new_event_loop()

        def serve() -> None:
            asyncio.set_event_loop(self._loop)
            runner = web.AppRunner(self._app())
            self._loop.run_until_complete(runner.setup())
            self._loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", self.port).start())
            ready.set()
            self._loop.run_forever()
            self._loop.run_until_complete(runner.cleanup())
            self._loop.close()

        self._thread = threading.Thread(target=serve, name="fake-wechat-api", daemon=True)
        self._thread.start()
        if not ready.wait(30):
            raise RuntimeError(f"fake WeChat API did not start on port {self.port}")
        return self

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(30)
