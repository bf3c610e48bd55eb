"""Turns the assistant's written replies into text a Mandarin text-to-speech engine reads well
on a phone line: numbers and codes spelled out in Chinese the way a hotline agent says them,
no URLs or symbols, short parts, and the reply's buttons as a keypad menu.

Numbers are written out in characters rather than left to the TTS engine, because engines read
"12345" as a quantity (一万两千…) and a caller needs it digit by digit (幺二三四五)."""
from __future__ import annotations

import re

DIGITS = "零一二三四五六七八九"
# Digits read one by one (phone numbers, codes) say 1 as 幺, as hotline agents do, so it is
# not confused with 7.
PHONE_DIGITS = "零幺二三四五六七八九"
KEY_NAMES = {"*": "星号键", "#": "井号键", **{str(d): DIGITS[d] for d in range(10)}}
# Keypad options read in a menu: keys 1..8; 9 is "continue", 0 staff, * repeat, # back.
MAX_OPTIONS = 8
# Counters before which 2 is read 两 (两份, 两个), not 二.
_LIANG_BEFORE = "个份张件本次名位项种户套间条"
# Units after which a long number is a quantity (一万元), not a code to spell.
_QUANTITY_UNITS = "元万亿个份张件本次天日岁人名位项种户套间条米"
_SPOKEN_PUNCT = "，。！？；：、"
_CJK = r"\u4e00-\u9fff"

_URL = re.compile(r"(?:https?://|www\.)[A-Za-z0-9._~:/?#\[\]@!$&'()*+,;=%-]+", re.I)
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
_MASKED_PHONE = re.compile(r"\d{3}\*{4}(\d{4})")
_MASKED_ID = re.compile(r"\d{6}\*{8}(\d{3}[\dXx])")
# A masked name (陈**) is read 陈某.
_MASKED_NAME = re.compile(r"(?<=[\u4e00-\u9fff])\*+")
_ITEM_CODE = re.compile(r"(\d{6})-(\d{3})-([A-Z]{2})-(\d{4})")
_CASE_NUMBER = re.compile(r"(?<![0-9A-Za-z])([A-Za-z]{2})(\d{3})(\d{8})(\d{6})(?![0-9A-Za-z])")
_ALNUM_CODE = re.compile(r"(?<![0-9A-Za-z])([A-Za-z]{1,4})(\d{4,})(?![0-9A-Za-z])")
_LANDLINE = re.compile(r"(?<!\d)(0\d{2,3})-(\d{7,8})(?!\d)")
_MOBILE = re.compile(r"(?<!\d)(1[3-9]\d)(\d{4})(\d{4})(?!\d)")
_ISO_DATETIME = re.compile(r"(?<!\d)(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::\d{2})?)?(?!\d)")
_BRACKET_YEAR = re.compile(r"[〔\[（(](\d{4})[〕\]）)]")
_YEAR = re.compile(r"(?<!\d)(\d{4})(?=年)")
_TIME_RANGE = re.compile(r"(?<!\d)(\d{1,2}):(\d{2})\s*[-~～—–至到]\s*(\d{1,2}):(\d{2})(?!\d)")
_TIME = re.compile(r"(?<!\d)(\d{1,2}):(\d{2})(?!\d)")
_PERCENT = re.compile(r"(\d+(?:\.\d+)?)\s*[%％]")
_DECIMAL = re.compile(r"(?<![\d.])(\d+)\.(\d+)(?![\d.])")
_NUMBER_RANGE = re.compile(r"(?<!\d)(\d{1,4})\s*[-~～—–]\s*(\d{1,4})(?!\d)")
_HOUSE_NUMBER = re.compile(r"(?<!\d)(\d{3,})(?=号)")
_LIST_MARKER = re.compile(r"(?m)^\s*(\d{1,2})[.、．](?!\d)\s*")
_NUMBER = re.compile(r"\d+")
_TILDE_RANGE = re.compile(r"(?<=[\u4e00-\u9fffA-Za-z])\s*[~～]\s*(?=[\u4e00-\u9fffA-Za-z])")
_CIRCLED = {chr(0x2460 + i): f"第{DIGITS[i + 1] if i < 9 else '十'}，" for i in range(10)}
_SYMBOLS = str.maketrans({
    "【": "，", "】": "，", "（": "，", "）": "，", "(": "，", ")": "，", "〔": "", "〕": "", "[": "", "]": "",
    "《": "", "》": "", "“": "", "”": "", "‘": "", "’": "", '"': "", "'": "", "「": "", "」": "",
    "『": "", "』": "", "·": "，", "•": "，", "…": "，", "—": "，", "～": "", "~": "", "/": "或", "&": "和",
    "+": "加", "|": "，", "*": "", "#": "", "_": "", "=": "", "<": "", ">": "", "^": "", "`": "", "\\": "",
    ",": "，", ";": "；", ":": "：", "!": "！", "?": "？", "-": "，", "@": "", "$": "", "%": "",
    "{": "", "}": "",
})
_FULL_WIDTH = str.maketrans({chr(0xFF10 + i): str(i) for i in range(10)}
                            | {chr(0xFF21 + i): chr(0x41 + i) for i in range(26)}
                            | {chr(0xFF41 + i): chr(0x61 + i) for i in range(26)}
                            | {"\u3000": " ", "．": ".", "：": "：", "％": "%"})
_NOT_SPEAKABLE = re.compile(rf"[^{_CJK}A-Za-z {_SPOKEN_PUNCT}]")


def cardinal(n: int) -> str:
    """A quantity in Chinese: 10 → 十, 1010 → 一千零一十, 20000 → 二万."""
    if n < 0:
        return "负" + cardinal(-n)
    if n < 10000:
        text = _below_10000(n) or "零"
        text = text[1:] if 10 <= n < 20 else text
    elif n < 10 ** 8:
        high, low = divmod(n, 10000)
        text = cardinal(high) + "万"
        if low:
            text += ("零" if low < 1000 else "") + _below_10000(low)
    else:
        return spell(str(n))
    # 2000 is 两千 and 20000 两万 in speech.
    return "两" + text[1:] if text[:2] in ("二千", "二万") else text


def _below_10000(n: int) -> str:
    text, gap = "", False
    for size, unit in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
        d = n // size % 10
        if d == 0:
            gap = bool(text)
            continue
        if gap:
            text += "零"
            gap = False
        text += DIGITS[d] + unit
    return text


def spell(code: str, digits: str = PHONE_DIGITS) -> str:
    """Digit by digit (幺二三四五); letters spelled one by one, spaced so engines say each."""
    out = []
    for ch in code:
        if ch.isdigit():
            out.append(digits[int(ch)])
        elif ch.isascii() and ch.isalpha():
            out.append(f" {ch.upper()} ")
    return re.sub(r"\s+", " ", "".join(out)).strip()


def _groups(*parts: str) -> str:
    return "，".join(spell(p) for p in parts if p)


def _spell_in_fours(digits: str) -> str:
    """Long runs in groups of four, as a caller writes them down; never a lone last digit."""
    if len(digits) <= 6:
        return spell(digits)
    groups = [digits[i:i + 4] for i in range(0, len(digits), 4)]
    if len(groups[-1]) < 3:
        groups[-2:] = [groups[-2] + groups[-1]]
    return _groups(*groups)


def _date(year: str, month: str, day: str) -> str:
    return f"{spell(year, DIGITS)}年{cardinal(int(month))}月{cardinal(int(day))}日"


def _clock(hour: str, minute: str) -> str:
    return f"{cardinal(int(hour))}点" + (f"{cardinal(int(minute))}分" if int(minute) else "")


def _iso_datetime(m: re.Match) -> str:
    text = _date(m[1], m[2], m[3])
    return text + (_clock(m[4], m[5]) if m[4] else "")


def _plain_number(m: re.Match) -> str:
    run, after = m.group(), m.string[m.end():m.end() + 1]
    quantity = bool(after) and after in _QUANTITY_UNITS
    if (len(run) > 1 and run[0] == "0") or (len(run) >= 5 and not quantity):
        return _spell_in_fours(run)
    if run == "2" and after and after in _LIANG_BEFORE:
        return "两"
    return cardinal(int(run))


def speakable(text: str) -> str:
    """The words of `text` as a Mandarin TTS engine should say them; only Chinese characters,
    Latin letters, spaces and Chinese pauses (，。！？；：、) remain."""
    text = (text or "").translate(_FULL_WIDTH)
    text = _URL.sub("", text)
    text = _EMAIL.sub("", text)
    text = _LIST_MARKER.sub(lambda m: f"第{cardinal(int(m[1]))}，", text)
    text = _MASKED_PHONE.sub(lambda m: f"尾号{spell(m[1])}", text)
    text = _MASKED_ID.sub(lambda m: f"尾号{spell(m[1])}", text)
    text = _MASKED_NAME.sub("某", text)
    text = _ITEM_CODE.sub(lambda m: _groups(m[1], m[2], m[3], m[4]), text)
    text = _CASE_NUMBER.sub(lambda m: _groups(m[1], m[2], m[3], m[4]), text)
    text = _ALNUM_CODE.sub(lambda m: spell(m[1]) + "，" + _spell_in_fours(m[2]), text)
    text = _LANDLINE.sub(lambda m: _groups(m[1], m[2][:-4], m[2][-4:]), text)
    text = _MOBILE.sub(lambda m: _groups(m[1], m[2], m[3]), text)
    text = _ISO_DATETIME.sub(_iso_datetime, text)
    text = _BRACKET_YEAR.sub(lambda m: spell(m[1], DIGITS) + "，", text)
    text = _YEAR.sub(lambda m: spell(m[1], DIGITS), text)
    text = _TIME_RANGE.sub(lambda m: f"{_clock(m[1], m[2])}到{_clock(m[3], m[4])}", text)
    text = _TIME.sub(lambda m: _clock(m[1], m[2]), text)
    text = _PERCENT.sub(lambda m: "百分之" + _decimal(m[1]), text)
    text = _DECIMAL.sub(lambda m: _decimal(m.group()), text)
    text = _NUMBER_RANGE.sub(lambda m: f"{cardinal(int(m[1]))}到{cardinal(int(m[2]))}", text)
    text = _HOUSE_NUMBER.sub(lambda m: spell(m[1]), text)
    text = _NUMBER.sub(_plain_number, text)
    for circled, spoken in _CIRCLED.items():
        text = text.replace(circled, spoken)
    text = _TILDE_RANGE.sub("到", text)
    text = text.translate(_SYMBOLS)
    # A line break ends a sentence; a speaker pauses there.
    text = re.sub(r"\s*\n+\s*", "。", text)
    text = _NOT_SPEAKABLE.sub("", text)
    return _tidy(text)


def _decimal(value: str) -> str:
    whole, _, frac = value.partition(".")
    return cardinal(int(whole)) + ("点" + spell(frac, DIGITS) if frac else "")


def _tidy(text: str) -> str:
    text = re.sub(rf"(?<=[{_CJK}{_SPOKEN_PUNCT}]) +| +(?=[{_CJK}{_SPOKEN_PUNCT}])", "", text)
    text = re.sub(r" {2,}", " ", text)
    # Runs of pauses collapse to the strongest one (a full stop wins over a comma).
    text = re.sub(rf"[{_SPOKEN_PUNCT}]{{2,}}", lambda m: _strongest(m.group()), text)
    text = text.lstrip(" " + _SPOKEN_PUNCT).rstrip(" ，、：；")
    return text + "。" if text and text[-1] not in "。！？" else text


def _strongest(run: str) -> str:
    for mark in "？！。；：、，":
        if mark in run:
            return mark
    return run[0]


def sentences(text: str) -> list[str]:
    """Speakable text cut after each 。！？；, every piece ending in its mark."""
    pieces = re.findall(r"[^。！？；]+[。！？；]?", text)
    return [p if p[-1] in "。！？；" else p + "。" for p in (p.strip() for p in pieces) if p.strip("，、： ")]


def parts(text: str, limit: int) -> list[str]:
    """Speakable text in parts of at most `limit` characters, so a caller hears one short part
    at a time. Parts end between sentences; a sentence is cut between its clauses only when it
    is longer than a part or when the part so far is too short to stand alone."""
    out: list[str] = []
    current = ""
    for sentence in sentences(text):
        if len(current) + len(sentence) <= limit:
            current += sentence
            continue
        clauses = _clauses(sentence)
        if len(current) >= limit // 2 or len(sentence) <= limit and len(current) + len(clauses[0]) > limit:
            out.append(current)
            current = ""
        for clause in clauses if len(current) + len(sentence) > limit else [sentence]:
            if current and len(current) + len(clause) > limit:
                out.append(current)
                current = ""
            current += clause
    if current:
        out.append(current)
    return [p for p in out if p]


def _clauses(sentence: str) -> list[str]:
    return re.findall(r"[^，、：]+[，、：]?", sentence)


def menu(titles: list[str]) -> str:
    """The keypad menu of a reply's buttons: 按一，所需材料；按二，办理流程；人工服务请按零。"""
    options = [f"按{KEY_NAMES[str(n)]}，{speakable(title).rstrip('。')}" for n, title in enumerate(titles[:MAX_OPTIONS], 1)]
    return ("；".join(options) + "；" if options else "") + "人工服务请按零。"
