"""Report periods (standard 9.4.5: weekly, monthly and yearly statistics) and the local calendar
they follow: Shenzhen time, whatever the server's clock zone, so a day, a week (Monday to
Sunday) and a month end at local midnight."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from common.clock import TZ, local
KINDS = {"week": "周报", "month": "月报", "year": "年报"}


def local_date(ts: float) -> date:
    return local(ts).date()


def day_key(ts: float) -> str:
    """The local day of a moment as YYYYMMDD (the suffix of the daily counters' keys)."""
    return local_date(ts).strftime("%Y%m%d")


def midnight(day: date) -> float:
    return datetime(day.year, day.month, day.day, tzinfo=TZ).timestamp()


def parse_day(text: str) -> date:
    """A YYYY-MM-DD date; ValueError for anything else."""
    return datetime.strptime(text.strip(), "%Y-%m-%d").date()


def _next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


@dataclass(frozen=True)
class Bucket:
    label: str
    start: float
    end: float


@dataclass(frozen=True)
class Period:
    kind: str           # week | month | year
    first: date         # first day
    after: date         # the day after the last day

    @classmethod
    def containing(cls, kind: str, day: date) -> "Period":
        if kind == "week":
            first = day - timedelta(days=day.weekday())
            return cls(kind, first, first + timedelta(days=7))
        if kind == "month":
            first = day.replace(day=1)
            return cls(kind, first, _next_month(first))
        if kind == "year":
            return cls(kind, date(day.year, 1, 1), date(day.year + 1, 1, 1))
        raise ValueError(f"unknown period {kind!r}")

    @property
    def start(self) -> float:
        return midnight(self.first)

    @property
    def end(self) -> float:
        return midnight(self.after)

    @property
    def last(self) -> date:
        return self.after - timedelta(days=1)

    @property
    def slug(self) -> str:
        return f"{self.kind}-{self.first.isoformat()}"

    @property
    def label(self) -> str:
        if self.kind == "week":
            week = self.first.isocalendar()
            return (f"{week.year}年第{week.week}周（{self.first.month}月{self.first.day}日—"
                    f"{self.last.month}月{self.last.day}日）")
        if self.kind == "month":
            return f"{self.first.year}年{self.first.month}月"
        return f"{self.first.year}年"

    def days(self) -> list[date]:
        return [self.first + timedelta(days=n) for n in range((self.after - self.first).days)]

    def buckets(self) -> list[Bucket]:
        """The trend's steps: days for a week or a month, months for a year."""
        if self.kind == "year":
            months, day = [], self.first
            while day < self.after:
                nxt = _next_month(day)
                months.append(Bucket(f"{day.month}月", midnight(day), midnight(nxt)))
                day = nxt
            return months
        return [Bucket(f"{d.month}月{d.day}日", midnight(d), midnight(d + timedelta(days=1))) for d in self.days()]
