"""是/不是 after the assistant asked for a confirmation (file this? cancel that appointment?)
or offered something (a human)."""
from __future__ import annotations

import re

from rasa_sdk import Action
from rasa_sdk.events import FollowupAction, SlotSet

from actions import turn
from actions.appointment import cancel
from actions.fallback import apologise
from actions.filing import ActionCancelFiling, ActionSubmitFiling, KIND_OF_FORM
from actions.human import ActionRequestHuman


class ActionHandleConfirmation(Action):
    def name(self) -> str:
        return "action_handle_confirmation"

    async def run(self, dispatcher, tracker, domain):
        awaiting = tracker.get_slot("awaiting") or ""
        yes = turn.intent(tracker) == "affirm"
        form = tracker.active_loop.get("name")
        if form in KIND_OF_FORM:   # 是/不是 the form could not use: "不" cancels, "好" carries on
            if yes:
                return [FollowupAction(form)]
            return await ActionCancelFiling().run(dispatcher, tracker, domain)
        if awaiting == "confirm_cancel_appointment":
            if yes:
                return await cancel(dispatcher, tracker)
            dispatcher.utter_message(text="好的，预约保持不变。")
            return [SlotSet("awaiting", None), SlotSet("appointment_number", None)]
        if awaiting.startswith("confirm_"):
            if yes:
                return await ActionSubmitFiling().run(dispatcher, tracker, domain)
            return await ActionCancelFiling().run(dispatcher, tracker, domain)
        if awaiting == "offer_human" and yes:
            return await ActionRequestHuman().run(dispatcher, tracker, domain)
        if awaiting == "offer_human":
            dispatcher.utter_message(text="好的。请换个说法描述您要办的事，或说出事项名称，我再帮您找找。")
            return [SlotSet("awaiting", None), SlotSet("failed_turns", 0)]
        if not re.search(r"\w", turn.text(tracker)):     # "……" is no answer to anything
            return await apologise(dispatcher, tracker)
        dispatcher.utter_message(response="utter_anything_else")
        return [SlotSet("awaiting", None)]
