"""When the hall receives appointments: working days, morning and afternoon sessions in
half-hour slots, a fixed number of citizens per slot and service."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta

SESSIONS = ((time(9, 0), time(12, 0)), (time(14, 0), time(18, 0)))
SLOT_MINUTES = 30
PER_SLOT = 4
BOOKABLE_DAYS = 14
# Statutory holidays the hall is closed on (the city publishes them yearly).
HOLIDAYS = {date(2026, 1, 1), date(2026, 10, 1), date(2026, 10, 2), date(2026, 10, 5), date(2026, 10, 6),
            date(2026, 10, 7), date(2027, 1, 1), date(2027, 2, 8), date(2027, 2, 9), date(2027, 2, 10),
            date(2027, 2, 11), date(2027, 2, 12)}


def is_open(day: date) -> bool:
    return day.weekday() < 5 and day not in HOLIDAYS


def slot_starts(day: date) -> list[str]:
    starts = []
    for begin, end in SESSIONS:
        t = datetime.combine(day, begin)
        while t.time() < end:
            starts.append(t.strftime("%H:%M"))
            t += timedelta(minutes=SLOT_MINUTES)
    return starts


def bookable(day: date, now: datetime) -> bool:
    return is_open(day) and now.date() < day <= now.date() + timedelta(days=BOOKABLE_DAYS)


def next_open_day(after: date) -> date:
    d = after + timedelta(days=1)
    while not is_open(d):
        d += timedelta(days=1)
    return d
