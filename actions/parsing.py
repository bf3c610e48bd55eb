"""Reading form fields out of free Chinese text: names, mobile numbers, times, complaint types."""
from __future__ import annotations

import re

from common.identity import PHONE_RE

UNKNOWN = ("不知道", "不清楚", "不记得", "没注意", "不确定", "没看到", "忘了")
NAME_RE = re.compile(r"(?:我叫|姓名[:：]?|名字[:：]?)\s*([\u4e00-\u9fa5·]{2,6}|[A-Za-z][A-Za-z .]{1,30})")
COMPLAINT_TYPES = {"服务态度": ("态度", "凶", "不耐烦", "骂", "脸色", "不理"),
                   "办理超时": ("超时", "拖", "太慢", "一个月", "几个月", "没结果", "没有结果", "迟迟", "还没办好"),
                   "乱收费": ("乱收费", "多收", "收费", "收钱", "要钱"),
                   "推诿刁难": ("推诿", "刁难", "踢皮球", "推来推去", "故意为难", "让我来回跑")}
TIME_RE = re.compile(r"(上午|下午|早上|中午)?\s*(\d{1,2})\s*(?:[:：点](\d{2}|半)?)")


def is_unknown(text: str) -> bool:
    return any(w in text for w in UNKNOWN) and len(text) <= 12


def find_phone(text: str) -> str | None:
    m = PHONE_RE.search(re.sub(r"[\s-]", "", text))
    return m.group() if m else None


def find_name(text: str, asked: bool) -> str | None:
    if m := NAME_RE.search(text):
        return m.group(1).strip()
    bare = re.sub(r"^(我是|我叫|姓名|名字)[:：]?", "", text).strip(" 。，,.")
    if asked and 2 <= len(bare) <= 20 and not re.search(r"\d", bare):
        return bare
    return None


def find_complaint_type(text: str) -> str | None:
    for kind, words in COMPLAINT_TYPES.items():
        if kind in text or any(w in text for w in words):
            return kind
    return "其他" if text.strip() == "其他" else None


_HOURS = {"十二": "12", "十一": "11", "十": "10", "九": "9", "八": "8", "七": "7", "六": "6", "五": "5",
          "四": "4", "三": "3", "两": "2", "二": "2", "一": "1"}
_CN_HOUR = re.compile(r"(十二|十一|十|九|八|七|六|五|四|三|两|二|一)(?=点)")


def find_time(text: str) -> str | None:
    """"09:00", "9点", "下午2点半", "下午两点" -> "HH:MM"."""
    text = _CN_HOUR.sub(lambda m: _HOURS[m.group(1)], text)
    if m := re.search(r"\b(\d{1,2}):(\d{2})\b", text):
        return f"{int(m[1]):02d}:{m[2]}"
    if m := TIME_RE.search(text):
        hour = int(m[2])
        if m[1] in ("下午",) and hour < 12:
            hour += 12
        minute = "30" if m[3] == "半" else (m[3] or "00")
        return f"{hour:02d}:{minute}"
    return None
