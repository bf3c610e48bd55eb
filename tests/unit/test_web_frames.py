"""The web chat's frames: what a browser may send, and the Chinese error each bad frame gets."""
from __future__ import annotations

import json

import pytest

from channels import web_frames as frames
from channels.web import WebSettings
from common.reply import Reply

LIMIT = 8192


def refused(raw, parse=frames.parse) -> frames.BadFrame:
    with pytest.raises(frames.BadFrame) as caught:
        parse(raw, LIMIT)
    return caught.value


def test_good_frames_are_normalised():
    assert frames.parse('{"type": "message", "text": "居住证怎么办", "extra": 1}', LIMIT) == \
        {"type": "message", "text": "居住证怎么办"}
    assert frames.parse('{"type": "ping"}', LIMIT) == {"type": "ping"}
    assert frames.parse(json.dumps({"type": "ack", "id": "a" * 32}), LIMIT) == {"type": "ack", "id": "a" * 32}


@pytest.mark.parametrize("raw, code", [
    ("not json", "bad_json"),
    ("[1, 2]", "bad_json"),
    ('"居住证怎么办"', "bad_json"),
    ('{"type": "message"}', "bad_frame"),
    ('{"type": "message", "text": ["a"]}', "bad_frame"),
    ('{"type": "ack", "id": "../../etc"}', "bad_frame"),
    ('{"type": "subscribe", "user": "someone-else"}', "unknown_type"),
    ('{"text": "你好"}', "unknown_type"),
])
def test_bad_frames_get_a_chinese_error(raw, code):
    bad = refused(raw)
    assert bad.code == code
    frame = bad.frame()
    assert frame["type"] == "error" and frame["code"] == code
    assert any("\u4e00" <= ch <= "\u9fff" for ch in frame["message"])
    assert raw not in frame["message"]              # never echoes what was sent


def test_size_limit_counts_bytes_not_characters():
    fits = json.dumps({"type": "message", "text": "办" * 1000}, ensure_ascii=False)     # ~3 KB of UTF-8
    assert frames.parse(fits, LIMIT)["text"] == "办" * 1000
    too_big = json.dumps({"type": "message", "text": "办" * 3000}, ensure_ascii=False)  # ~9 KB
    bad = refused(too_big)
    assert bad.code == "too_large" and str(LIMIT) in bad.message


def test_rest_fallback_body():
    assert frames.parse_rest(b'{"user": "web-1", "text": "\xe4\xbd\xa0\xe5\xa5\xbd"}', LIMIT) == ("web-1", "你好")
    assert refused(b'{"sender": "web-1", "message": "hi"}', frames.parse_rest).code == "bad_request"
    assert refused(b"\xff\xfe", frames.parse_rest).code == "bad_json"


def test_reply_frames_carry_only_usable_buttons():
    r = Reply("第一行\n第二行", buttons=[{"title": "预约办理", "payload": "/book_appointment"}, {"title": "无效"}])
    assert frames.reply(r) == {"type": "reply", "text": "第一行\n第二行",
                               "buttons": [{"title": "预约办理", "payload": "/book_appointment"}]}
    pushed = frames.reply(Reply("已受理"), push_id="b" * 32, last=True)
    assert pushed["id"] == "b" * 32 and pushed["last"] is True


def test_allowed_origins(monkeypatch):
    monkeypatch.setenv("WEB_ALLOWED_ORIGINS", "https://www.sz.gov.cn, https://ba.sz.gov.cn/")
    cfg = WebSettings()
    assert cfg.allows("https://www.sz.gov.cn") and cfg.allows("https://ba.sz.gov.cn")
    assert not cfg.allows("https://evil.example")
    assert cfg.allows(None)                         # not a browser page
    monkeypatch.delenv("WEB_ALLOWED_ORIGINS")
    assert WebSettings().allows("https://anything.example")
