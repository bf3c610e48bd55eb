"""Filings through the hall (standard 9.3.1 consultations, 9.3.2 complaints, 9.2.2 appointments,
9.3.1.3 opinions): what follows once the hall has taken one, in one place for both paths — the
action that files directly and the gateway worker that files a queued one later.

Filings the hall could not take right now (down or slow) wait in a Redis stream until they land
(the enqueue side is here, the worker is assistant/filing_worker.py). Each carries its
idempotency key, so a retry after a lost answer never files twice.

Redis keys:
- `filings` (stream, consumer group `filers`): queued filings, fields kind, record (JSON), key, conversation
- `filings:{conversation}` (list, FILED_TTL_S): the numbers filed in a conversation, shown to
  window staff who take it over and proving that a conversation filed a record
"""
from __future__ import annotations

import json

import redis.asyncio as aioredis

from common import appointment_sms, audit

STREAM, GROUP = "filings", "filers"
CLAIM_IDLE_MS = 15_000              # a queued filing not acknowledged for this long is tried again
FILED_TTL_S = 180 * 86400           # how long a conversation's filed numbers are kept


def _key(conversation: str) -> str:
    return f"filings:{conversation}"


async def enqueue(redis: aioredis.Redis, kind: str, record: dict, key: str, conversation: str) -> None:
    await redis.xadd(STREAM, {"kind": kind, "record": json.dumps(record, ensure_ascii=False), "key": key,
                              "conversation": conversation})


async def numbers(redis: aioredis.Redis, conversation: str, last: int = 0) -> list[str]:
    """The numbers filed in a conversation, oldest first (the last `last` ones when given)."""
    return [n.decode() for n in await redis.lrange(_key(conversation), -last if last else 0, -1)]


async def filed_here(redis: aioredis.Redis, conversation: str, number: str) -> bool:
    return number in await numbers(redis, conversation)


async def landed(redis: aioredis.Redis, conversation: str, kind: str, record: dict, result: dict,
                 service_name: str = "", queued: bool = False) -> None:
    """Every step after the hall took a filing: the number remembered for the conversation, an
    appointment's confirmation SMS (to the phone given: the hall answers it masked), the audit entry."""
    number = result.get("number", "")
    if number:
        pipe = redis.pipeline()
        pipe.rpush(_key(conversation), number)
        pipe.expire(_key(conversation), FILED_TTL_S)
        await pipe.execute()
    if kind == "appointment":
        await appointment_sms.booked(redis, conversation, {
            **record, **result, "phone": record.get("phone", ""), "name": record.get("name", ""),
            "service_name": service_name or result.get("service_name") or record.get("service_code", "")})
    extra = {"queued": True} if queued else {}
    await audit.record(redis, conversation, "citizen", "filing", number, "", kind=kind,
                       channel=record.get("channel", ""), **extra)


def filed_text(kind: str, result: dict) -> str:
    """What the citizen is told once a filing has landed: its number, the time limit and how to
    check the result."""
    number = result.get("number", "")
    if kind == "complaint":
        return (f"您的投诉已受理，受理编号：{number}。我们将在{result.get('time_limit_days', 5)}个工作日内"
                f"（{result.get('due_date', '')}前）处理并答复您。凭受理编号可随时查询处理结果，"
                f"例如发送“查询{number}”。")
    if kind == "consultation":
        return (f"您的咨询已提交，受理编号：{number}。工作人员将在{result.get('answer_due', '3个工作日内')}前答复，"
                f"答复后会短信通知您，也可发送“查询{number}”查看答复。")
    if kind == "appointment":
        return (f"预约成功！预约编号：{number}。{result.get('date', '')} {result.get('start', '')}，"
                f"{result.get('hall', '')}，办理{result.get('service_name') or result.get('service_code', '')}。"
                f"请携带所需材料提前10分钟到达。如需改约或取消，请发送“改约{number}”或“取消预约{number}”。")
    if kind == "opinion":
        return (f"感谢您的意见！已提交至“{result.get('topic_title', '')}”，编号：{number}。"
                f"相关部门将在{result.get('respond_within_days', 10)}个工作日内（{result.get('respond_by', '')}前）"
                f"汇总研究并公开反馈。")
    return f"已受理，编号：{number}。"


def landed_text(kind: str, result: dict) -> str:
    """The same words as a direct filing, introduced as news about an earlier one."""
    return "您之前提交的内容已成功受理。\n" + filed_text(kind, result)
