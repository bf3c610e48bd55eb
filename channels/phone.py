"""Phone numbers as user ids: a carrier may present the same citizen as 13812345678,
8613812345678, +8613812345678 or 008613812345678; all of them become 13812345678, so one
person is one conversation whichever way the number came."""
from __future__ import annotations

import re

from common.identity import mask_phone

_SEPARATORS = re.compile(r"[\s\-()]")
_MAINLAND_MOBILE = re.compile(r"1[3-9]\d{9}")


class BadPhoneNumber(ValueError):
    pass


def normalize_phone(raw: str) -> str:
    """The number as digits, without the +86/0086/86 country prefix of a mainland mobile.
    Other numbers keep their international digits. Raises BadPhoneNumber."""
    digits = _SEPARATORS.sub("", raw or "")
    if digits.startswith("+"):
        digits = digits[1:]
    elif digits.startswith("00"):
        digits = digits[2:]
    if not digits.isascii() or not digits.isdigit() or not 5 <= len(digits) <= 20:
        raise BadPhoneNumber(mask(raw or ""))
    if len(digits) == 13 and digits.startswith("86") and _MAINLAND_MOBILE.fullmatch(digits[2:]):
        digits = digits[2:]
    return digits


def mask(number: str) -> str:
    """For logs: a mainland mobile as 138****5678, anything else down to its last 4 characters."""
    if _MAINLAND_MOBILE.fullmatch(number):
        return mask_phone(number)
    return "*" * max(len(number) - 4, 0) + number[-4:]
