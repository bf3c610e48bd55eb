"""Hot search and service ranking (standard 9.4.1 热点搜索, 9.4.2 服务排行) from real use.

The action server counts, per local day, every question a citizen asked in their own words that
was answered, by the FAQ entry or catalog item it was answered with, and every filing by its
catalog item. Taps on buttons carrying an intent payload ("/ask_service_guide{…}") are not
counted: they repeat an option the assistant offered. A hot FAQ question offered as a button is
sent as its own text and is counted like a typed one.

- `popular:questions:{YYYYMMDD}`  sorted set "faq:{id}" | "item:{code}" -> questions answered
- `popular:items:{YYYYMMDD}`      sorted set item code -> questions answered about the item
- `popular:filings:{YYYYMMDD}`    sorted set item code -> filings (appointments, consultations)
- `popular:titles`                hash member -> what to show: the FAQ question or the item's name

Only knowledge-base wording is ever shown, never what a citizen typed."""
from __future__ import annotations

import json
import time
from datetime import timedelta

import redis.asyncio as aioredis

from common.report_periods import day_key, local_date, midnight

TITLES = "popular:titles"
KEEP_S = 400 * 86400            # a year of days for the yearly report, and some
MAX_DAYS = 366


def questions_key(day: str) -> str:
    return f"popular:questions:{day}"


def items_key(day: str) -> str:
    return f"popular:items:{day}"


def filings_key(day: str) -> str:
    return f"popular:filings:{day}"


def item_title(code: str, name: str, department: str) -> dict:
    return {"question": f"{name}怎么办理？", "service_code": code, "service_name": name, "department": department,
            "payload": "/ask_service_guide" + json.dumps({"service_code": code}, ensure_ascii=False)}


def faq_title(question: str, code: str, name: str, department: str) -> dict:
    # The FAQ's own question as the button's message: it is answered by that entry.
    return {"question": question, "service_code": code, "service_name": name, "department": department,
            "payload": question}


async def count_answer(redis: aioredis.Redis, member: str, title: dict, now: float | None = None) -> None:
    """One question answered with `member` ("faq:{id}" or "item:{code}")."""
    day = day_key(now or time.time())
    pipe = redis.pipeline()
    pipe.zincrby(questions_key(day), 1, member)
    pipe.expire(questions_key(day), KEEP_S)
    if title.get("service_code"):
        pipe.zincrby(items_key(day), 1, title["service_code"])
        pipe.expire(items_key(day), KEEP_S)
        pipe.hset(TITLES, f"item:{title['service_code']}",
                  json.dumps(item_title(title["service_code"], title["service_name"], title["department"]),
                             ensure_ascii=False))
    pipe.hset(TITLES, member, json.dumps(title, ensure_ascii=False))
    await pipe.execute()


async def count_filing(redis: aioredis.Redis, code: str, name: str, department: str, now: float | None = None) -> None:
    day = day_key(now or time.time())
    pipe = redis.pipeline()
    pipe.zincrby(filings_key(day), 1, code)
    pipe.expire(filings_key(day), KEEP_S)
    pipe.hset(TITLES, f"item:{code}", json.dumps(item_title(code, name, department), ensure_ascii=False))
    await pipe.execute()


def day_keys(since: float, until: float) -> list[str]:
    """The YYYYMMDD of every local day from `since` up to (not including) `until`."""
    first, out = local_date(since), []
    while midnight(first) < until and len(out) <= MAX_DAYS:
        out.append(first.strftime("%Y%m%d"))
        first += timedelta(days=1)
    return out


def last_days(days: int, now: float | None = None) -> tuple[float, float]:
    """The last `days` local days, today included."""
    today = local_date(now or time.time())
    return midnight(today - timedelta(days=days - 1)), midnight(today + timedelta(days=1))


async def _totals(redis: aioredis.Redis, key, since: float, until: float) -> list[tuple[str, float]]:
    keys = [key(d) for d in day_keys(since, until)]
    rows = await redis.zunion(keys, withscores=True) if keys else []
    return sorted(((m.decode(), s) for m, s in rows), key=lambda r: (-r[1], r[0]))


async def _titles(redis: aioredis.Redis, members: list[str]) -> list[dict | None]:
    raw = await redis.hmget(TITLES, members) if members else []
    return [json.loads(r) if r else None for r in raw]


async def hot_questions(redis: aioredis.Redis, since: float, until: float, limit: int = 10) -> list[dict]:
    """大家都在问: the most asked questions, shown by the knowledge base's own wording."""
    rows = await _totals(redis, questions_key, since, until)
    titles = await _titles(redis, [m for m, _ in rows[:limit]])
    return [{**t, "count": int(score), "rank": n}
            for n, ((member, score), t) in enumerate(((r, t) for r, t in zip(rows, titles) if t), 1)]


async def service_ranking(redis: aioredis.Redis, since: float, until: float, limit: int = 10) -> list[dict]:
    """Catalog items by volume: questions answered about them plus filings."""
    answered = dict(await _totals(redis, items_key, since, until))
    filed = dict(await _totals(redis, filings_key, since, until))
    codes = sorted(set(answered) | set(filed), key=lambda c: (-(answered.get(c, 0) + filed.get(c, 0)), c))[:limit]
    titles = await _titles(redis, [f"item:{c}" for c in codes])
    out = []
    for code, title in zip(codes, titles):
        a, f = int(answered.get(code, 0)), int(filed.get(code, 0))
        out.append({"rank": len(out) + 1, "service_code": code, "service_name": (title or {}).get("service_name", code),
                    "department": (title or {}).get("department", ""), "questions": a, "filings": f, "total": a + f})
    return out
