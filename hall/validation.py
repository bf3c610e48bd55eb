"""Checks of request bodies. Each failure is a 400 naming the field:
{"error": "<code>", "message": "<field>: <what is wrong>", "field": "<field>"}.
Fields the hall does not know are ignored."""
from __future__ import annotations

import re
from datetime import date, time
from urllib.parse import urlsplit

from common.identity import valid_id_number, valid_phone
from hall.errors import bad_request

LANDLINE_RE = re.compile(r"0\d{2,3}-?\d{7,8}")
CHANNEL_RE = re.compile(r"[a-z][a-z0-9_-]{0,31}")
ITEM_CODE_RE = re.compile(r"440300-\d{3}-(XK|QR|GF|ZS|GG|QT)-\d{4}")
NUMBER_RE = re.compile(r"[A-Z]{2}\d{17}")
# Control characters other than tab and newline.
CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
ATTACHMENT_TYPES = {
    "image/jpeg", "image/png", "image/gif", "image/bmp", "image/webp", "application/pdf",
    "application/msword", "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.ms-excel", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/zip", "application/ofd", "text/plain", "audio/mpeg", "audio/amr", "video/mp4",
}
MAX_ATTACHMENTS = 10


def _fail(field: str, code: str, what: str):
    raise bad_request(code, f"{field}: {what}", field=field)


def require_object(body) -> dict:
    if not isinstance(body, dict):
        raise bad_request("bad_json", "the body must be a JSON object")
    return body


def text(body: dict, field: str, *, max_len: int, min_len: int = 1, required: bool = True,
         multiline: bool = False, label: str | None = None) -> str:
    label = label or field
    value = body.get(field)
    if value is None or (isinstance(value, str) and not value.strip() and not required):
        if required:
            _fail(label, "missing_field", "is required")
        return ""
    if not isinstance(value, str):
        _fail(label, "bad_type", "must be a string")
    value = value.strip()
    if not value:
        _fail(label, "missing_field", "is required")
    if not multiline:                      # one-line fields: line breaks and tabs become spaces
        value = re.sub(r"\s+", " ", value)
    if CONTROL_RE.search(value):
        _fail(label, "bad_value", "contains control characters")
    if len(value) < min_len:
        _fail(label, "too_short", f"must have at least {min_len} characters")
    if len(value) > max_len:
        _fail(label, "too_long", f"must have at most {max_len} characters (has {len(value)})")
    return value


def boolean(body: dict, field: str) -> bool:
    value = body.get(field)
    if value is None:
        _fail(field, "missing_field", "is required")
    if not isinstance(value, bool):
        _fail(field, "bad_type", "must be true or false")
    return value


def phone(body: dict, field: str = "phone", *, mobile_only: bool = False, required: bool = True) -> str:
    value = body.get(field)
    if value in (None, "") and not required:
        return ""
    if value in (None, ""):
        _fail(field, "missing_field", "is required")
    if not isinstance(value, str):
        _fail(field, "bad_type", "must be a string")
    value = re.sub(r"[\s]", "", value)
    if valid_phone(value):
        return value
    if not mobile_only and LANDLINE_RE.fullmatch(value):
        return value
    _fail(field, "bad_phone", "must be a mainland mobile number (11 digits starting with 13-19)"
          + ("" if mobile_only else " or a landline such as 0755-12345678"))


def id_number(body: dict, field: str = "id_number") -> str:
    """Optional resident ID number (GB 11643): checked, checksum included, when given."""
    value = body.get(field)
    if value in (None, ""):
        return ""
    if not isinstance(value, str) or not valid_id_number(value):
        _fail(field, "bad_id_number", "is not a valid resident ID number (18 characters, checksum)")
    return value.strip().upper()


def channel(body: dict, field: str = "channel") -> str:
    value = body.get(field)
    if value in (None, ""):
        _fail(field, "missing_field", "is required (the channel the citizen used, e.g. web, wechat)")
    if not isinstance(value, str) or not CHANNEL_RE.fullmatch(value):
        _fail(field, "bad_value", "must be a short lower-case channel name such as web, wechat, app")
    return value


def item_code(body: dict, field: str, *, required: bool) -> str:
    value = body.get(field)
    if value in (None, ""):
        if required:
            _fail(field, "missing_field", "is required")
        return ""
    if not isinstance(value, str) or not ITEM_CODE_RE.fullmatch(value.strip()):
        _fail(field, "bad_item_code", "must be an item code such as 440300-001-QR-0001")
    return value.strip()


def record_number(body: dict, field: str) -> str:
    value = body.get(field)
    if value in (None, ""):
        return ""
    if not isinstance(value, str) or not NUMBER_RE.fullmatch(value.strip().upper()):
        _fail(field, "bad_number", "must be an acceptance number: 2 letters and 17 digits")
    return value.strip().upper()


def day(value, field: str = "date") -> date:
    if value in (None, ""):
        _fail(field, "missing_field", "is required")
    try:
        if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            raise ValueError
        return date.fromisoformat(value)
    except ValueError:
        _fail(field, "bad_date", "must be a date YYYY-MM-DD")


def start(value, field: str = "start") -> str:
    if value in (None, ""):
        _fail(field, "missing_field", "is required")
    try:
        if not isinstance(value, str) or not re.fullmatch(r"\d{2}:\d{2}", value):
            raise ValueError
        time.fromisoformat(value)
    except ValueError:
        _fail(field, "bad_time", "must be a time HH:MM")
    return value


def attachments(body: dict, field: str = "attachments") -> list[dict]:
    value = body.get(field)
    if value is None:
        return []
    if not isinstance(value, list):
        _fail(field, "bad_type", "must be a list of {name, content_type, url}")
    if len(value) > MAX_ATTACHMENTS:
        _fail(field, "too_long", f"at most {MAX_ATTACHMENTS} attachments")
    out = []
    for i, item in enumerate(value):
        where = f"{field}[{i}]"
        if not isinstance(item, dict):
            _fail(where, "bad_type", "must be an object {name, content_type, url}")
        name = text(item, "name", max_len=100, label=f"{where}.name")
        ctype = item.get("content_type")
        if not isinstance(ctype, str) or ctype.lower() not in ATTACHMENT_TYPES:
            _fail(f"{where}.content_type", "bad_content_type",
                  "must be one of " + ", ".join(sorted(ATTACHMENT_TYPES)))
        url = item.get("url")
        parts = urlsplit(url) if isinstance(url, str) else None
        if not parts or parts.scheme not in ("http", "https") or not parts.netloc or len(url) > 500:
            _fail(f"{where}.url", "bad_url", "must be an http(s) URL of at most 500 characters")
        out.append({"name": name, "content_type": ctype.lower(), "url": url})
    return out
