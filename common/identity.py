"""Checks and masks the personal identifiers citizens type: resident ID numbers (GB 11643),
mobile numbers and acceptance numbers."""
from __future__ import annotations

import re

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
ID_RE = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")
PHONE_RE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
# Two letters (QR, XK…; TS complaint, ZX consultation, YY appointment) + department(3) + date(8) + seq(6).
CASE_RE = re.compile(r"(?<![0-9A-Za-z])[A-Za-z]{2}\d{17}(?![0-9A-Za-z])")
# Only for masking: a mobile number typed in groups ("138 0013 8000", "138-0013-8000").
SPACED_PHONE_RE = re.compile(r"(?<!\d)1[3-9]\d[ -]\d{4}[ -]\d{4}(?!\d)")
# Only for masking: a mobile number with the country code as platforms send it ("+8613800138000",
# "008613800138000"), which PHONE_RE does not see (a digit comes before it).
PREFIXED_PHONE_RE = re.compile(r"(?<![\d+])(\+86|0086|86)([ -]?)(1[3-9]\d{9})(?!\d)")
# A name the citizen introduces ("我叫王芳", "姓名：李明"); over-masking a word is harmless in logs.
NAME_INTRO_RE = re.compile(r"(我叫|姓名[是为:：]?|名字[是叫]|名叫)\s*([\u4e00-\u9fa5]{2,4})")


def id_check_char(first17: str) -> str:
    return _CHECK[sum(int(c) * w for c, w in zip(first17, _WEIGHTS)) % 11]


def valid_id_number(value: str) -> bool:
    value = value.strip().upper()
    return bool(re.fullmatch(r"\d{17}[\dX]", value)) and id_check_char(value[:17]) == value[17]


def valid_phone(value: str) -> bool:
    return bool(re.fullmatch(r"1[3-9]\d{9}", value.strip()))


def mask_id(value: str) -> str:
    return value[:6] + "********" + value[-4:] if len(value) == 18 else "*" * len(value)


def mask_phone(value: str) -> str:
    return value[:3] + "****" + value[-4:] if len(value) == 11 else "*" * len(value)


def mask_name(value: str) -> str:
    return value[:1] + "*" * max(len(value) - 1, 1) if value else value


def mask_text(text: str) -> str:
    """Masks every ID and mobile number, and introduced names, inside free text (for logs,
    the audit trail and analytics)."""
    text = ID_RE.sub(lambda m: mask_id(m.group()), text)
    text = SPACED_PHONE_RE.sub(lambda m: mask_phone(re.sub(r"[ -]", "", m.group())), text)
    text = PREFIXED_PHONE_RE.sub(lambda m: m.group(1) + m.group(2) + mask_phone(m.group(3)), text)
    text = PHONE_RE.sub(lambda m: mask_phone(m.group()), text)
    return NAME_INTRO_RE.sub(lambda m: m.group(1) + mask_name(m.group(2)), text)
