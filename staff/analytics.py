"""Service analytics (standard 6.2.6 统计分析, 9.4.5 数据分析) for a report period, computed from
the stack's real records (staff/analytics_sources.py). The report is a plain JSON-able dict
that the admin API serves, the charts draw (staff/analytics_charts.py) and the CSV exports.

Definitions:
- conversation: one Rasa session (a new one after an hour of silence), counted in the period it
  began in; a user is one channel identity (conversation id), so one person on two channels is two.
- messages: citizen, assistant and staff messages; turns per conversation: citizen messages.
  Transcripts are kept 30 days: older conversations are counted from the tracker, which never
  sees the messages exchanged with staff. New users: channel identities first seen in the
  period whose gateway session is still kept (30 days after their last message).
- containment: share of conversations that ended without the citizen asking for a person
  (转人工 or a callback) and without a handoff to live staff.
- handoff wait: from queued (or transferred to another department's queue) to claimed;
  abandoned: left the queue before any staff claimed it.
- region: only the district a citizen named or chose (slot "district"); nothing is guessed.
- unanswered: turns the assistant could not answer (the "unanswered" stream), masked."""
from __future__ import annotations

import os
import statistics
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from functools import lru_cache

import redis.asyncio as aioredis

from common import popularity
from common.config import Settings
from common.report_periods import KINDS, Period
from staff import analytics_sources as sources

TOP = 15
# A handoff's claim or end may come after its period: history is read this far beyond it.
FOLLOW_UP_S = 7 * 86400
WAIT_BUCKETS = [(60, "1分钟内"), (180, "1-3分钟"), (300, "3-5分钟"), (600, "5-10分钟"), (1800, "10-30分钟"),
                (float("inf"), "30分钟以上")]
CHANNELS = {"rest": "REST接口", "web": "网页", "wechat": "微信公众号", "sms": "短信", "telegram": "Telegram",
            "voice": "语音热线", "unknown": "未知渠道"}
INTENTS = {
    "greet": "问候", "goodbye": "道别", "thanks": "致谢", "affirm": "肯定", "deny": "否定", "help": "使用帮助",
    "restart": "重新开始", "ask_service_guide": "办事指南", "ask_faq": "常见问题", "browse_catalog": "浏览事项",
    "ask_hall_info": "大厅信息", "query_case_status": "办件查询", "file_complaint": "投诉", "file_consultation": "咨询留言",
    "book_appointment": "预约办理", "request_human": "转人工", "inform": "补充信息", "go_back": "返回上一步",
    "give_opinion": "意见征集", "start_scene": "一件事引导", "resume_scene": "继续一件事", "set_reminder": "设置提醒",
    "scene_control": "引导操作", "rate_service": "服务评价", "request_callback": "预约回电",
    "ask_hot_questions": "热门问题", "out_of_scope": "超出范围", "nlu_fallback": "未能识别",
}
REASONS = {"not_in_knowledge": "知识库无答案", "not_understood": "未能理解"}


@dataclass(frozen=True)
class AnalyticsSettings:
    # Rasa's tracker store: the same Redis as the gateway, its own database (scripts/stack.py).
    tracker_db: int = field(default_factory=lambda: int(os.environ.get("REDIS_TRACKER_DB", "1")))
    # A computed report is reused this long: a page asks for it once per chart.
    cache_s: int = field(default_factory=lambda: int(os.environ.get("ANALYTICS_CACHE_S", "60")))


def tracker_store(cfg: Settings, analytics: AnalyticsSettings) -> aioredis.Redis:
    return aioredis.Redis(host=cfg.redis_host, port=cfg.redis_port, db=analytics.tracker_db)


@lru_cache(maxsize=1)
def _catalog():
    from knowledge.catalog import load_catalog
    return load_catalog()


def service_name(code: str) -> tuple[str, str]:
    item = _catalog().get(code)
    return (item.name, item.department) if item else (code, "")


def _rate(part: float, whole: float) -> float:
    return round(part / whole, 4) if whole else 0.0


def _mean(values: list[float]) -> float:
    return round(statistics.fmean(values), 1) if values else 0.0


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return round(ordered[min(int(q * len(ordered)), len(ordered) - 1)], 1)


def handoff_outcomes(history: list[dict], since: float, until: float) -> list[dict]:
    """Each time a conversation entered a queue in [since, until): its department, wait and outcome
    (claimed, abandoned or waiting), and for claimed ones the handling time if it has ended."""
    out: list[dict] = []
    open_: dict[str, dict] = {}
    for e in sorted(history, key=lambda e: e["at"]):
        conv, kind = e["conversation"], e["kind"]
        requeued = kind == "transferred" and not e.get("staff")
        if kind == "queued" or requeued:
            entry = {"conversation": conv, "department": e["department"], "channel": e.get("channel", ""),
                     "queued_at": e["at"], "requested": kind == "queued", "outcome": "waiting", "wait_s": None,
                     "handling_s": None}
            open_[conv] = entry
            if since <= e["at"] < until:
                out.append(entry)
        elif kind in ("claimed", "cancelled") and conv in open_ and open_[conv]["outcome"] == "waiting":
            entry = open_[conv]
            entry["outcome"] = "claimed" if kind == "claimed" else "abandoned"
            entry["wait_s"] = e["at"] - entry["queued_at"]
            entry["claimed_at"] = e["at"]
            if kind == "cancelled":
                del open_[conv]
        elif kind == "ended" and conv in open_ and open_[conv]["outcome"] == "claimed":
            open_[conv]["handling_s"] = e["at"] - open_[conv]["claimed_at"]
            del open_[conv]
    return out


def _wait_buckets(waits: list[float]) -> list[dict]:
    counts = Counter(next(label for limit, label in WAIT_BUCKETS if w < limit) for w in waits)
    return [{"bucket": label, "count": counts.get(label, 0)} for _, label in WAIT_BUCKETS]


def _in(ts: float, start: float, end: float) -> bool:
    return start <= ts < end


async def compute(gateway: aioredis.Redis, trackers: aioredis.Redis, period: Period, now: float | None = None) -> dict:
    now = now or time.time()
    since, until = period.start, period.end
    convs = await sources.conversations(trackers, gateway, since, until)
    history = await sources.handoff_history(gateway, since, min(until + FOLLOW_UP_S, now + 1))
    handoffs = handoff_outcomes(history, since, until)
    queued_at = defaultdict(list)
    for h in handoffs:
        queued_at[h["conversation"]].append(h["queued_at"])
    for c in convs:
        c.handed_off = any(c.window[0] <= t < c.window[1] for t in queued_at.get(c.conversation, []))
    ratings = await sources.ratings(gateway, since, until)
    missed = await sources.unanswered_turns(gateway, since, until)
    fresh = await sources.new_users(gateway, since, until)
    hot = await popularity.hot_questions(gateway, since, until, limit=TOP)
    ranking = await popularity.service_ranking(gateway, since, until, limit=TOP)

    requested = [h for h in handoffs if h["requested"]]
    waits = [h["wait_s"] for h in handoffs if h["outcome"] == "claimed"]
    handling = [h["handling_s"] for h in handoffs if h["handling_s"] is not None]
    scores = [int(r["rating"]) for r in ratings if r.get("rating", "").isdigit()]
    citizen = sum(c.citizen_messages for c in convs)
    users = {c.conversation for c in convs}
    summary = {
        "conversations": len(convs), "unique_users": len(users), "new_users": sum(fresh.values()),
        "messages": sum(c.citizen_messages + c.bot_messages + c.staff_messages for c in convs),
        "citizen_messages": citizen, "bot_messages": sum(c.bot_messages for c in convs),
        "staff_messages": sum(c.staff_messages for c in convs),
        "avg_duration_s": _mean([c.duration for c in convs]),
        "avg_turns": _mean([c.citizen_messages for c in convs]),
        "escalated": sum(c.escalated for c in convs),
        "containment_rate": _rate(sum(not c.escalated for c in convs), len(convs)),
        "handoffs": len(requested), "handoff_rate": _rate(sum(c.handed_off for c in convs), len(convs)),
        "handoffs_claimed": sum(h["outcome"] == "claimed" for h in handoffs),
        "handoffs_abandoned": sum(h["outcome"] == "abandoned" for h in handoffs),
        "handoffs_waiting": sum(h["outcome"] == "waiting" for h in handoffs),
        "avg_wait_s": _mean(waits), "p90_wait_s": _percentile(waits, 0.9), "max_wait_s": round(max(waits, default=0), 1),
        "avg_handling_s": _mean(handling),
        "unanswered": len(missed), "unanswered_rate": _rate(len(missed), citizen),
        "ratings": len(scores), "avg_rating": round(statistics.fmean(scores), 2) if scores else 0.0,
        "satisfied_rate": _rate(sum(s >= 4 for s in scores), len(scores)),
    }

    trend = []
    for b in period.buckets():
        inside = [c for c in convs if _in(c.start, b.start, b.end)]
        trend.append({"label": b.label, "conversations": len(inside),
                      "users": len({c.conversation for c in inside}),
                      "citizen_messages": sum(c.citizen_messages for c in inside),
                      "handoffs": sum(_in(h["queued_at"], b.start, b.end) for h in requested),
                      "unanswered": sum(_in(m["at"], b.start, b.end) for m in missed)})

    by_channel = defaultdict(list)
    for c in convs:
        by_channel[c.channel].append(c)
    channels = sorted(({"channel": ch, "name": CHANNELS.get(ch, ch), "conversations": len(cs),
                        "users": len({c.conversation for c in cs}), "citizen_messages": sum(c.citizen_messages for c in cs),
                        "new_users": fresh.get(ch, 0), "share": _rate(len(cs), len(convs))}
                       for ch, cs in by_channel.items()), key=lambda r: (-r["conversations"], r["channel"]))

    services = Counter(code for c in convs for code in c.services)
    service_rows = []
    for code, n in sorted(services.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP]:
        name, dept = service_name(code)
        service_rows.append({"service_code": code, "service_name": name, "department": dept, "conversations": n})

    intents = Counter(i for c in convs for i in c.intents if i)
    intent_rows = [{"intent": i, "name": INTENTS.get(i, i), "count": n}
                   for i, n in sorted(intents.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP]]

    regions = Counter(d for c in convs for d in c.districts)
    region_rows = [{"district": d, "conversations": n} for d, n in sorted(regions.items(), key=lambda kv: (-kv[1], kv[0]))]

    by_dept = defaultdict(list)
    for r in ratings:
        if r.get("rating", "").isdigit():
            by_dept[r.get("department") or "未知部门"].append(int(r["rating"]))
    rating_rows = {"distribution": [{"score": s, "count": scores.count(s)} for s in range(1, 6)],
                   "departments": [{"department": d, "ratings": len(v), "avg_rating": round(statistics.fmean(v), 2)}
                                   for d, v in sorted(by_dept.items())]}

    per_dept = defaultdict(list)
    for h in handoffs:
        per_dept[h["department"]].append(h)
    handoff_rows = [{"department": d, "queued": len(hs), "claimed": sum(h["outcome"] == "claimed" for h in hs),
                     "abandoned": sum(h["outcome"] == "abandoned" for h in hs),
                     "avg_wait_s": _mean([h["wait_s"] for h in hs if h["outcome"] == "claimed"])}
                    for d, hs in sorted(per_dept.items())]

    grouped: dict[str, dict] = {}
    for m in missed:
        key = " ".join(m["question"].split())
        row = grouped.setdefault(key, {"question": key, "count": 0, "channels": Counter(), "reasons": Counter()})
        row["count"] += 1
        row["channels"][CHANNELS.get(m.get("channel", ""), m.get("channel", ""))] += 1
        row["reasons"][REASONS.get(m.get("reason", ""), m.get("reason", ""))] += 1
    unanswered_rows = [{"question": r["question"], "count": r["count"], "channels": "、".join(sorted(r["channels"])),
                        "reasons": "、".join(sorted(r["reasons"]))}
                       for r in sorted(grouped.values(), key=lambda r: (-r["count"], r["question"]))[:TOP * 2]]

    return {
        "period": {"kind": period.kind, "kind_name": KINDS[period.kind], "label": period.label,
                   "first": period.first.isoformat(), "last": period.last.isoformat(), "slug": period.slug},
        "generated_at": round(now, 3),
        "summary": summary, "trend": trend, "channels": channels, "services": service_rows,
        "intents": intent_rows, "regions": region_rows, "ratings": rating_rows,
        "handoffs": {"departments": handoff_rows, "waits": _wait_buckets(waits)},
        "unanswered": unanswered_rows,
        "hot_questions": [{k: h[k] for k in ("rank", "question", "service_code", "service_name", "count")} for h in hot],
        "service_ranking": ranking,
    }
