"""The gateway's replies as SMS: plain text, buttons as numbered options ("回复1：…", the
citizen answers with the digit), and no more than a few segments per message. What does not
fit waits in pages the citizen asks for with "0" (or "更多").

Sizes are in UTF-16 code units, as UCS-2 counts them: one segment holds 70, and each part of a
concatenated message 67 (6 of its 140 octets carry the UDH)."""
from __future__ import annotations

import math
import re

from channels import menus
from common.reply import Reply

SINGLE_SEGMENT_UNITS, PART_UNITS = 70, 67
MORE = "回复0：查看后续内容"
MORE_WORDS = ("0", "０", "更多")

_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")
# Bold markers, but never the stars of a masked number (138****5678): no digit or star beside them.
_BOLD = re.compile(r"(?<![*\d])(\*\*|__)(?=\S)(.+?)(?<=\S)\1(?![*\d])")
_CODE = re.compile(r"`([^`\n]+)`")
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+", re.MULTILINE)
_BULLET = re.compile(r"^\s*[-*+]\s+", re.MULTILINE)
_BREAK = re.compile(r"<br\s*/?>", re.IGNORECASE)
_TAG = re.compile(r"</?[A-Za-z][^>]*>")
_BLANK_LINES = re.compile(r"\n\s*\n+")


def units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def segments(text: str) -> int:
    n = units(text)
    return 1 if n <= SINGLE_SEGMENT_UNITS else math.ceil(n / PART_UNITS)


def page_units(max_segments: int) -> int:
    """The longest text that still goes out in max_segments segments."""
    return SINGLE_SEGMENT_UNITS if max_segments <= 1 else max_segments * PART_UNITS


def plain(text: str) -> str:
    """Markdown and HTML reduced to the words: a link keeps its text, bold and headings lose
    their marks, bullets become "·", blank lines go (every character costs). Bare URLs stay."""
    text = _BREAK.sub("\n", text.replace("\r\n", "\n"))
    text = _TAG.sub("", text)
    text = _IMAGE.sub(r"\1", text)
    text = _LINK.sub(r"\1", text)
    text = _BOLD.sub(r"\2", text)
    text = _CODE.sub(r"\1", text)
    text = _HEADING.sub("", text)
    text = _BULLET.sub("· ", text)
    text = _BLANK_LINES.sub("\n", text)
    return "\n".join(line.rstrip() for line in text.strip().split("\n"))


def numbered_options(replies: list[Reply]) -> list[str]:
    """One line per button, numbered as channels/menus.py resolves the digits."""
    return [f"回复{n}：{plain(b.get('title') or '')}" for n, b in enumerate(menus.options(replies), 1)]


def _cut(text: str, room: int) -> tuple[str, str]:
    """(head that fits in room units, rest); cut at a line end when one is in the second half."""
    if units(text) <= room:
        return text, ""
    end, used = 0, 0
    for ch in text:   # the longest prefix within room, never splitting a surrogate pair
        size = 2 if ord(ch) > 0xFFFF else 1
        if used + size > room:
            break
        used += size
        end += 1
    line_end = text.rfind("\n", 0, end + 1)
    if line_end >= end // 2:
        return text[:line_end].rstrip(), text[line_end + 1:].lstrip("\n")
    return text[:end], text[end:].lstrip("\n")


def _pages_of(text: str, room: int) -> list[str]:
    pages = []
    while units(text) > room:
        head, text = _cut(text, room - units(MORE) - 1)
        pages.append(f"{head}\n{MORE}")
    return pages + ([text] if text else [])


def pages(replies: list[Reply], max_segments: int) -> list[str]:
    """The replies as SMS texts: the first to send now, the rest on request. The options go on
    the first page when they take at most half of it, so the citizen can act at once."""
    body = "\n".join(p for p in (plain(r.text) for r in replies) if p)
    options = "\n".join(numbered_options(replies))
    room = page_units(max_segments)
    whole = "\n".join(p for p in (body, options) if p)
    if units(whole) <= room:
        return [whole] if whole else []
    if options and units(options) <= room // 2:
        head, rest = _cut(body, room - units(options) - units(MORE) - 2)
        return [f"{head}\n{options}\n{MORE}"] + _pages_of(rest, room)
    return _pages_of(whole, room)
