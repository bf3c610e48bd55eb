"""The hall's calendar: working days (for time limits and appointments), morning and afternoon
sessions in half-hour slots, and a fixed number of citizens per slot and service. The hall
runs on Shenzhen time whatever the machine's time zone."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta

from common import clock

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


def next_bookable_day(after: date, now: datetime) -> date:
    """The first day after `after` that takes appointments; when `after` is beyond the booking
    window, the first bookable day from today."""
    for start in (max(after, now.date()), now.date()):
        d = start
        for _ in range(BOOKABLE_DAYS + 1):
            d += timedelta(days=1)
            if bookable(d, now):
                return d
    return next_open_day(now.date())


def now() -> datetime:
    """The current time in Shenzhen (aware, +08:00)."""
    return clock.now().replace(microsecond=0)


def add_working_days(start: date, days: int) -> date:
    """The day `days` working days after `start` (start itself not counted): weekends and the
    statutory holidays above are skipped. 5 working days from a Friday is the next Friday."""
    d = start
    for _ in range(days):
        d = next_open_day(d)
    return d


def slot_end(start: str) -> str:
    t = datetime.combine(date(2000, 1, 1), time.fromisoformat(start)) + timedelta(minutes=SLOT_MINUTES)
    return t.strftime("%H:%M")
