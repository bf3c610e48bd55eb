"""Appointment confirmations by SMS (standard 9.2.2): queued as notifications with a carrier
template, sent by the SMS channel from whichever gateway process takes them."""
from __future__ import annotations

import redis.asyncio as aioredis

from common import notifications


async def booked(redis: aioredis.Redis, conversation: str, result: dict) -> None:
    if result.get("phone"):
        await notifications.enqueue(redis, conversation, "", sms_phone=result["phone"], sms_template="appointment_booked",
                                    sms_vars={k: str(result.get(k, "")) for k in ("name", "date", "start", "hall", "number")}
                                    | {"service": result.get("service_name") or result.get("service_code", "")})


async def rescheduled(redis: aioredis.Redis, conversation: str, number: str, date: str, start: str, phone: str) -> None:
    if phone:
        await notifications.enqueue(redis, conversation, "", sms_phone=phone, sms_template="appointment_rescheduled",
                                    sms_vars={"number": number, "date": date, "start": start})
