"""Content check of consultations the citizen asked to make public (standard 8.1.2): one with a
sensitive word is filed as not public and held in the review queue, and the citizen is told
why in plain words. Its answer is not affected; a reviewer may make it public later."""
from __future__ import annotations

import redis.asyncio as aioredis
from rasa_sdk.executor import CollectingDispatcher

from common import safety_review, sensitive
from common.unanswered import channel_of


def withheld(kind: str, record: dict) -> list[sensitive.Match]:
    """The sensitive words of a public consultation (none for anything else); a flagged record
    is switched to not public before it is filed."""
    if kind != "consultation" or not record.get("public"):
        return []
    matches = sensitive.default().find(f"{record.get('subject', '')}\n{record.get('content', '')}")
    if matches:
        record["public"] = False
    return matches


async def hold(dispatcher: CollectingDispatcher, redis: aioredis.Redis, conversation: str, record: dict,
               matches: list[sensitive.Match], number: str = "") -> None:
    """Queues a withheld consultation for review and tells the citizen (nothing when none)."""
    if not matches:
        return
    await safety_review.add(redis, "consultation", record.get("content", ""), matches, conversation=conversation,
                            channel=channel_of(conversation), number=number)
    categories = "、".join(dict.fromkeys(m.category for m in matches))
    dispatcher.utter_message(text=f"温馨提示：您的咨询内容含有不宜公开的词语（涉及：{categories}），已按“不公开”方式受理，"
                                  "不影响工作人员答复；内容经审核后再决定是否公开。")
