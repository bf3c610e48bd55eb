"""The WeChat official account API the assistant calls (asynchronously, with aiohttp): the
access token, customer-service messages (客服消息) and the custom menu.

wechatpy's client is synchronous and its token URL is fixed; this client takes its base URL
from the settings so a deployment behind a proxy, or the tests' fake, can be used. The access
token is shared by every gateway process through Redis: each fetch from WeChat invalidates
the previous token (after a few minutes' grace), so processes must not fetch one each."""
from __future__ import annotations

import asyncio
import json
import logging
import time

import aiohttp
import redis.asyncio as aioredis

log = logging.getLogger(__name__)

# errcodes of https://developers.weixin.qq.com/doc/offiaccount/Getting_Started/Global_Return_Code.html
TOKEN_INVALID = {40001, 40014, 42001}     # invalid, malformed, expired access token
OUT_OF_WINDOW = 45015                     # the user last wrote more than 48 hours ago
TOO_MANY_MESSAGES = 45047                 # customer-service messages to this user over the limit
NOT_FOLLOWING = 43004                     # the user does not follow the account (any more)
UNREACHABLE = -1                          # WeChat's "system busy"; also used when it cannot be reached
# A token is refreshed this long before WeChat says it expires.
TOKEN_MARGIN_S = 300


class WeChatApiError(Exception):
    def __init__(self, errcode: int, errmsg: str):
        super().__init__(f"{errcode} {errmsg}")
        self.errcode, self.errmsg = errcode, errmsg


class WeChatApi:
    def __init__(self, base_url: str, appid: str, secret: str, redis: aioredis.Redis | None = None,
                 timeout_s: float = 5.0):
        self.base_url, self.appid, self.secret, self.redis = base_url.rstrip("/"), appid, secret, redis
        self.timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session: aiohttp.ClientSession | None = None
        self._token: tuple[str, float] | None = None     # (token, expiry) when there is no Redis
        self._refreshing = asyncio.Lock()

    @property
    def _token_key(self) -> str:
        return f"wechat:token:{self.appid}"

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self.timeout)
        return self._session

    async def _cached_token(self) -> str | None:
        if self.redis is not None:
            raw = await self.redis.get(self._token_key)
            return raw.decode() if raw else None
        if self._token and self._token[1] > time.time():
            return self._token[0]
        return None

    async def access_token(self, stale: str | None = None) -> str:
        """The current token; `stale` is one WeChat just refused, so a new one is fetched."""
        async with self._refreshing:
            cached = await self._cached_token()
            if cached and cached != stale:
                return cached
            body = await self._json("GET", "/cgi-bin/token", params={
                "grant_type": "client_credential", "appid": self.appid, "secret": self.secret})
            if not body.get("access_token"):
                raise WeChatApiError(int(body.get("errcode", -1)), str(body.get("errmsg", "no access_token")))
            token, ttl = body["access_token"], max(int(body.get("expires_in", 7200)) - TOKEN_MARGIN_S, 60)
            if self.redis is not None:
                await self.redis.set(self._token_key, token, ex=ttl)
            else:
                self._token = (token, time.time() + ttl)
            return token

    async def _json(self, method: str, path: str, **kwargs) -> dict:
        try:
            async with self._http().request(method, f"{self.base_url}{path}", **kwargs) as resp:
                body = await resp.json(content_type=None)
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:
            raise WeChatApiError(UNREACHABLE, f"{path}: {exc or type(exc).__name__}") from exc
        if not isinstance(body, dict):
            raise WeChatApiError(UNREACHABLE, f"{path}: answer is not a JSON object")
        return body

    async def _post(self, path: str, data: bytes, token: str) -> dict:
        return await self._json("POST", path, params={"access_token": token}, data=data,
                                headers={"Content-Type": "application/json; charset=utf-8"})

    async def call(self, path: str, body: dict) -> dict:
        """POSTs JSON to an API path with the access token; a refused token is renewed once."""
        data = json.dumps(body, ensure_ascii=False).encode()    # WeChat shows escaped Chinese literally
        token = await self.access_token()
        answer = await self._post(path, data, token)
        if int(answer.get("errcode", 0)) in TOKEN_INVALID:
            log.info("wechat refused the access token (%s); fetching a new one", answer.get("errcode"))
            answer = await self._post(path, data, await self.access_token(stale=token))
        if int(answer.get("errcode", 0)):
            raise WeChatApiError(int(answer["errcode"]), str(answer.get("errmsg", "")))
        return answer

    async def send_custom(self, message: dict) -> None:
        """One customer-service message: {"touser", "msgtype", "<msgtype>": {...}}."""
        await self.call("/cgi-bin/message/custom/send", message)

    async def create_menu(self, menu: dict) -> None:
        await self.call("/cgi-bin/menu/create", menu)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
