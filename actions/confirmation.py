"""是/不是 after the assistant offered something (a human, another service)."""
from __future__ import annotations

from rasa_sdk import Action
from rasa_sdk.events import SlotSet

from actions import turn
from actions.human import ActionRequestHuman


class ActionHandleConfirmation(Action):
    def name(self) -> str:
        return "action_handle_confirmation"

    async def run(self, dispatcher, tracker, domain):
        awaiting = tracker.get_slot("awaiting")
        yes = turn.intent(tracker) == "affirm"
        if awaiting == "offer_human" and yes:
            return await ActionRequestHuman().run(dispatcher, tracker, domain)
        if awaiting == "offer_human":
            dispatcher.utter_message(text="好的。请换个说法描述您要办的事，或说出事项名称，我再帮您找找。")
            return [SlotSet("awaiting", None), SlotSet("failed_turns", 0)]
        dispatcher.utter_message(response="utter_anything_else")
        return [SlotSet("awaiting", None)]
