"""Hot questions and service ranking in the dialogue (standard 9.4.1, 9.4.2): answered questions
are counted by the FAQ entry or item they were answered with, filings by their item
(common/popularity.py); the greeting and the help show the top three questions as buttons,
and "大家都在问什么" gets the list. Counting is best effort, never at the citizen's cost."""
from __future__ import annotations

import logging

from rasa_sdk import Action, Tracker
from redis.exceptions import RedisError

from actions import turn
from actions.runtime import knowledge, redis
from common import popularity as counters
from knowledge.catalog import Item
from knowledge.faq import FaqEntry

log = logging.getLogger(__name__)
DAYS = 7                 # "hot" means asked in the last week
IN_GREETING = 3
IN_LIST = 5


async def count(tracker: Tracker, item: Item | None, entry: FaqEntry | None = None) -> None:
    """A question the citizen typed was answered with this item or FAQ entry."""
    if turn.is_button(tracker) or (item is None and entry is None):
        return
    code, name, dept = (item.code, item.name, item.department) if item else ("", "", "")
    if entry is not None:
        member, title = f"faq:{entry.id}", counters.faq_title(entry.question, code, name, dept)
    else:
        member, title = f"item:{code}", counters.item_title(code, name, dept)
    try:
        await counters.count_answer(redis(), member, title)
    except (RedisError, OSError) as exc:
        log.warning("popularity not counted: %s", exc)


async def count_filing(code: str | None) -> None:
    """A filing (appointment, consultation) about a catalog item."""
    item = knowledge().item(code)
    if item is None:
        return
    try:
        await counters.count_filing(redis(), item.code, item.name, item.department)
    except (RedisError, OSError) as exc:
        log.warning("filing not counted: %s", exc)


async def top(limit: int) -> list[dict]:
    try:
        return await counters.hot_questions(redis(), *counters.last_days(DAYS), limit=limit)
    except (RedisError, OSError) as exc:
        log.warning("hot questions unavailable: %s", exc)
        return []


def buttons(hot: list[dict]) -> list[dict]:
    return [{"title": h["question"], "payload": h["payload"]} for h in hot]


async def greeting(dispatcher, domain: dict, response: str) -> None:
    """The greeting or help with 大家都在问 folded into the same message, so every channel shows
    one message (one numbered menu on SMS and voice)."""
    hot = await top(IN_GREETING)
    template = ((domain.get("responses") or {}).get(response) or [{}])[0]
    if not hot or not template.get("text"):
        dispatcher.utter_message(response=response)
        return
    dispatcher.utter_message(text=template["text"] + "\n大家都在问：",
                             buttons=(template.get("buttons") or []) + buttons(hot))


class ActionHotQuestions(Action):
    def name(self) -> str:
        return "action_hot_questions"

    async def run(self, dispatcher, tracker, domain):
        hot = await top(IN_LIST)
        if not hot:
            dispatcher.utter_message(text="最近还没有足够的提问可以统计热门问题。您可以直接告诉我要办的事，"
                                          "例如“居住证怎么办理”，或按类别浏览办事事项。",
                                     buttons=[{"title": "浏览办事事项", "payload": "/browse_catalog"}])
            return []
        lines = [f"{h['rank']}. {h['question']}" for h in hot]
        dispatcher.utter_message(text=f"近{DAYS}天大家都在问：\n" + "\n".join(lines) + "\n点选问题即可查看解答。",
                                 buttons=buttons(hot))
        return []
