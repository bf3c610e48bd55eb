"""Greetings, thanks, goodbyes and help: the domain's canned replies, unless the message in
fact names a service, which is then answered. The greeting and the help also offer the week's
hot questions (大家都在问) when there are any."""
from __future__ import annotations

from rasa_sdk import Action

from actions import popularity, turn
from actions.answer_question import answer, is_service_question

RESPONSES = {"greet": "utter_greet", "goodbye": "utter_goodbye", "thanks": "utter_thanks", "help": "utter_help"}


class ActionSmallTalk(Action):
    def name(self) -> str:
        return "action_small_talk"

    async def run(self, dispatcher, tracker, domain):
        if is_service_question(tracker):
            return await answer(dispatcher, tracker)
        response = RESPONSES.get(turn.intent(tracker), "utter_help")
        if response in ("utter_greet", "utter_help"):
            await popularity.greeting(dispatcher, domain, response)
        else:
            dispatcher.utter_message(response=response)
        return []
