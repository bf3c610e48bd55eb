"""A bare answer (a number, a district, a service name) outside a form is read for what it
names: a number is looked up, a district gets its hall, a service its guide."""
from __future__ import annotations

from rasa_sdk import Action

from actions import turn
from actions.answer_question import answer
from actions.case_status import query
from actions.fallback import apologise
from actions.hall_info import ActionHallInfo
from actions.runtime import knowledge
from common.identity import CASE_RE, ID_RE, PHONE_RE


class ActionHandleInform(Action):
    def name(self) -> str:
        return "action_handle_inform"

    async def run(self, dispatcher, tracker, domain):
        awaiting = tracker.get_slot("awaiting")
        message = turn.text(tracker)
        if CASE_RE.search(message) or ID_RE.search(message) or (awaiting == "case_phone" and PHONE_RE.search(message)):
            return await query(dispatcher, tracker)
        if turn.entity(tracker, "district") and not knowledge().retriever.mentioned_items(message):
            return await ActionHallInfo().run(dispatcher, tracker, domain)
        if message:
            return await answer(dispatcher, tracker)
        return await apologise(dispatcher, tracker)
