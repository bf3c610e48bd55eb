"""Understands the dates citizens write: 今天/明天/后天, 周三/下周一, 12月3号, 2026-12-03."""
from __future__ import annotations

import re
from datetime import date, timedelta

from common import clock

_WEEKDAYS = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6, "1": 0, "2": 1,
             "3": 2, "4": 3, "5": 4, "6": 5, "7": 6}
_RELATIVE = {"今天": 0, "今日": 0, "明天": 1, "明日": 1, "后天": 2, "大后天": 3}
_ISO = re.compile(r"(20\d\d)[-/.年](\d{1,2})[-/.月](\d{1,2})")
_MONTH_DAY = re.compile(r"(\d{1,2})\s*[月/.-]\s*(\d{1,2})\s*[日号]?")
_WEEK = re.compile(r"(下下|下个?|这个?|本)?(?:周|星期|礼拜)([一二三四五六日天1-7])")


def beijing_today() -> date:
    """Today in Beijing, whatever the host's time zone (the hall's calendar is Beijing time)."""
    return clock.today()


def parse_date(text: str, today: date | None = None, nearest: bool = False) -> date | None:
    """A date the citizen wrote. A month and day without a year is the next such day (an
    appointment), or with `nearest` the closest one, past or coming (a birth or a contract
    date in a scene: "11月1日" written on 27 November is 1 November, not next year's)."""
    today = today or beijing_today()
    if m := _ISO.search(text):
        try:
            return date(int(m[1]), int(m[2]), int(m[3]))
        except ValueError:
            return None
    if m := _MONTH_DAY.search(text):
        if nearest:
            near = []
            for year in (today.year - 1, today.year, today.year + 1):
                try:
                    near.append(date(year, int(m[1]), int(m[2])))
                except ValueError:
                    continue
            return min(near, key=lambda d: abs(d - today), default=None)
        try:
            d = date(today.year, int(m[1]), int(m[2]))
        except ValueError:
            return None
        return d if d >= today else date(today.year + 1, d.month, d.day)
    for word in sorted(_RELATIVE, key=len, reverse=True):
        if word in text:
            return today + timedelta(days=_RELATIVE[word])
    if m := _WEEK.search(text):
        weeks = {"下下": 2, "下": 1, "下个": 1}.get(m[1] or "", 0)
        target = _WEEKDAYS[m[2]]
        monday = today - timedelta(days=today.weekday())
        d = monday + timedelta(weeks=weeks, days=target)
        if not m[1] and d < today:
            d += timedelta(weeks=1)
        return d
    return None


def part_of_day(text: str) -> str | None:
    if "上午" in text or "早上" in text:
        return "morning"
    if "下午" in text:
        return "afternoon"
    return None
