"""REST channel in Rasa's REST convention: POST {"sender", "message"} and get back a JSON list of
{"recipient_id", "text", "buttons"?}, for integrations (and the benchmark); the web chat page has
its own channel, channels/web.py."""
from __future__ import annotations

import json

from aiohttp import web

from channels.base import Channel
from common.sessions import BadUserId


def _bad_request(message: str) -> web.Response:
    return web.json_response({"error": "bad_request", "message": message}, status=400)


class RestChannel(Channel):
    name = "rest"

    def routes(self) -> list[web.RouteDef]:
        return [web.post("/webhooks/rest/webhook", self.receive)]

    async def receive(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            return _bad_request("请求格式错误：需要 JSON，例如 {\"sender\": \"u1\", \"message\": \"你好\"}")
        if not isinstance(body, dict) or not isinstance(body.get("message"), str):
            return _bad_request("请求格式错误：缺少 message 字段（文本）")
        sender = str(body.get("sender") or "")
        try:
            replies = await self.gateway.handle(self.name, sender, body["message"])
        except BadUserId:
            return _bad_request("请求格式错误：sender 需为1到128位的字母、数字或 ._@:+- 符号")
        return web.json_response([r.as_rest(sender) for r in replies])
