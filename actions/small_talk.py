"""Greetings, thanks, goodbyes and help: the domain's canned replies, unless the message in
fact names a service, which is then answered."""
from __future__ import annotations

from rasa_sdk import Action

from actions import turn
from actions.answer_question import answer, is_service_question

RESPONSES = {"greet": "utter_greet", "goodbye": "utter_goodbye", "thanks": "utter_thanks", "help": "utter_help"}


class ActionSmallTalk(Action):
    def name(self) -> str:
        return "action_small_talk"

    async def run(self, dispatcher, tracker, domain):
        if is_service_question(tracker):
            return await answer(dispatcher, tracker)
        dispatcher.utter_message(response=RESPONSES.get(turn.intent(tracker), "utter_help"))
        return []
