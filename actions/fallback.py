"""The reply when the assistant cannot help: never silence. Rephrase tips, the three closest
services, and after two failed turns in a row an offer of a human (standard 6.1.2.2). Every such
turn is kept, masked, in the "unanswered" stream (common/unanswered.py) for knowledge upkeep."""
from __future__ import annotations

import logging

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from redis.exceptions import RedisError

from actions import render, turn
from actions.hall_info import about_the_hall
from actions.runtime import knowledge, redis
from common import unanswered
from common.identity import CASE_RE
from knowledge.base import SURE, UNSURE

# Below this the "closest" services are noise and are not suggested.
SUGGEST_MIN = UNSURE - 0.01
# An unclear intent with a clearly matching service is answered instead of apologised for.
ANSWER_ANYWAY = SURE
log = logging.getLogger(__name__)


async def apologise(dispatcher: CollectingDispatcher, tracker: Tracker, reason: str = "not_understood") -> list:
    kb = knowledge()
    failed = int(tracker.get_slot("failed_turns") or 0) + 1
    message = turn.text(tracker)
    candidates = [h for h in kb.rank_items(message, k=3) if h.score >= SUGGEST_MIN] if message else []
    text = ("抱歉，我没能理解您的问题。您可以换个说法，说出要办的事项名称，例如“居住证怎么办理”“公积金怎么提取”，"
            "或输入“帮助”查看我能做什么。")
    buttons = [render.item_button(kb.item(h.code)) for h in candidates]
    if buttons:
        text += "\n您是不是想了解以下事项？"
    events = [SlotSet("failed_turns", failed)]
    if failed >= 2 or turn.is_upset(tracker):
        text += "\n如果还是没有找到答案，我可以为您转接人工服务。需要转人工吗？"
        buttons.append({"title": "转人工", "payload": "/request_human"})
        events.append(SlotSet("awaiting", "offer_human"))
    dispatcher.utter_message(text=text, buttons=buttons)
    if message and not turn.is_button(tracker):
        await keep_unanswered(tracker, message, reason, tuple(h.code for h in candidates))
    return events


async def keep_unanswered(tracker: Tracker, message: str, reason: str, candidates: tuple[str, ...]) -> None:
    try:
        await unanswered.record(redis(), message, tracker.sender_id, reason, turn.intent(tracker),
                                candidates)
    except (RedisError, OSError) as exc:        # the citizen still gets the reply
        log.warning("unanswered turn not kept: %s", exc)


class ActionFallback(Action):
    def name(self) -> str:
        return "action_fallback"

    async def run(self, dispatcher, tracker, domain):
        if CASE_RE.search(turn.text(tracker)) or about_the_hall(turn.text(tracker)):
            # A number to look up or a question about the hall is never out of scope.
            from actions.answer_question import not_in_knowledge
            return await not_in_knowledge(dispatcher, tracker, turn.text(tracker))
        from actions.answer_question import answer, follows_up
        if follows_up(tracker):                     # "要多久" about the service under discussion
            return await answer(dispatcher, tracker)
        if turn.intent(tracker) == "nlu_fallback" and not turn.is_button(tracker):
            hits = knowledge().search(turn.text(tracker), k=1)
            if hits and hits[0].score >= ANSWER_ANYWAY:
                return await answer(dispatcher, tracker)
        return await apologise(dispatcher, tracker)
