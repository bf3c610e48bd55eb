"""Office hours of the staff desks, written like "1-5 09:00-18:00" (ISO weekdays, Beijing time);
several ranges may be joined with ";" ("1-5 09:00-12:00;1-5 14:00-18:00;6 09:00-12:00")."""
from __future__ import annotations

from datetime import datetime

from common.clock import TZ as BEIJING


def is_open(spec: str, now: datetime | None = None) -> bool:
    now = (now or datetime.now(BEIJING)).astimezone(BEIJING)
    minute = now.hour * 60 + now.minute
    for part in filter(None, (p.strip() for p in spec.split(";"))):
        days, hours = part.split()
        first, _, last = days.partition("-")
        start, end = (int(h) * 60 + int(m) for h, m in (t.split(":") for t in hours.split("-")))
        if int(first) <= now.isoweekday() <= int(last or first) and start <= minute < end:
            return True
    return False
