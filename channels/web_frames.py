"""The web chat's JSON frames, checked before anything acts on them.

Client -> gateway: {"type": "message", "text"}, {"type": "ping"}, {"type": "ack", "id"} (a pushed
reply was shown). Gateway -> client: {"type": "reply", "text", "buttons", "image"?, "last"?, "id"?}
("last" on the final reply to a message, "id" on pushed replies, which the client acknowledges),
{"type": "typing"} (a message is being answered), {"type": "pong"},
{"type": "ready"} (the socket can now receive pushes) and {"type": "error", "code", "message"}
with a Chinese message. The REST fallback takes {"user", "text"} and answers reply frames."""
from __future__ import annotations

import json
import re

from common.reply import Reply

BAD_JSON = "消息格式错误：需要 JSON，例如 {\"type\": \"message\", \"text\": \"你好\"}"
TOO_LARGE = "消息过大（超过{limit}字节），请精简后分几条发送。"
NO_TEXT = "消息格式错误：需要 type 为 \"message\"，text 为文本。"
UNKNOWN_TYPE = "消息格式错误：不支持的消息类型，只接受 message、ping、ack。"
BAD_ACK = "消息格式错误：ack 需要带上所确认消息的 id。"
BINARY = "消息格式错误：只接受文本（JSON）消息，不接受二进制数据。"
BAD_USER = "用户标识无效：需为1到128位的字母、数字或 ._@:+- 符号，请刷新页面后重试。"
NO_USER = "请求格式错误：需要 JSON，例如 {\"user\": \"web-123\", \"text\": \"你好\"}"
TOO_FAST = "您发送得太快了，请等上一条回复后再发送。"
INTERNAL = "抱歉，系统出现异常，请稍后再试。您也可以拨打12345政务服务便民热线咨询。"
FORBIDDEN = "此网站未获准接入智能助手。"
NOT_A_SOCKET = "请求格式错误：此地址只接受 WebSocket 连接。"

_PUSH_ID = re.compile(r"^[0-9a-f]{32}$")


class BadFrame(ValueError):
    """A frame the gateway refuses; `frame()` is the Chinese error frame sent back."""

    def __init__(self, code: str, message: str):
        super().__init__(code)
        self.code, self.message = code, message

    def frame(self) -> dict:
        return error(self.code, self.message)


def error(code: str, message: str) -> dict:
    return {"type": "error", "code": code, "message": message}


def _json_object(raw: str | bytes, max_bytes: int) -> dict:
    size = len(raw) if isinstance(raw, bytes) else len(raw.encode("utf-8"))
    if size > max_bytes:
        raise BadFrame("too_large", TOO_LARGE.format(limit=max_bytes))
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise BadFrame("bad_json", BAD_JSON) from None
    if not isinstance(body, dict):
        raise BadFrame("bad_json", BAD_JSON)
    return body


def parse(raw: str, max_bytes: int) -> dict:
    """One client frame from the socket, normalised; raises BadFrame."""
    frame = _json_object(raw, max_bytes)
    kind = frame.get("type")
    if kind == "message":
        if not isinstance(frame.get("text"), str):
            raise BadFrame("bad_frame", NO_TEXT)
        return {"type": "message", "text": frame["text"]}
    if kind == "ping":
        return {"type": "ping"}
    if kind == "ack":
        if not isinstance(frame.get("id"), str) or not _PUSH_ID.match(frame["id"]):
            raise BadFrame("bad_frame", BAD_ACK)
        return {"type": "ack", "id": frame["id"]}
    raise BadFrame("unknown_type", UNKNOWN_TYPE)


def parse_rest(raw: bytes, max_bytes: int) -> tuple[str, str]:
    """(user id, text) of a REST fallback request; raises BadFrame."""
    body = _json_object(raw, max_bytes)
    if not isinstance(body.get("user"), str) or not isinstance(body.get("text"), str):
        raise BadFrame("bad_request", NO_USER)
    return body["user"], body["text"]


def reply(r: Reply, push_id: str = "", last: bool = False) -> dict:
    out: dict = {"type": "reply", "text": r.text,
                 "buttons": [{"title": str(b.get("title", "")), "payload": str(b.get("payload", ""))}
                             for b in r.buttons if b.get("payload")]}
    if r.image:
        out["image"] = r.image
    if push_id:
        out["id"] = push_id
    if last:
        out["last"] = True
    return out
