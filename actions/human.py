"""A citizen asks for a person (转人工)."""
from __future__ import annotations

from rasa_sdk import Action
from rasa_sdk.events import ActiveLoop, SlotSet

from actions.runtime import knowledge


class ActionRequestHuman(Action):
    def name(self) -> str:
        return "action_request_human"

    async def run(self, dispatcher, tracker, domain):
        hall = knowledge().catalog.hall
        main = hall["branches"][0]
        dispatcher.utter_message(
            text=f"人工服务：请拨打政务服务便民热线{hall['hotline']}，由人工坐席为您服务；或在办公时间（{main['hours']}）"
                 f"到{main['name']}咨询窗口找工作人员。您也可以继续向我提问。")
        events = [SlotSet("failed_turns", 0), SlotSet("awaiting", None)]
        if tracker.active_loop.get("name"):        # asking for a person ends a form in progress
            events += [ActiveLoop(None), SlotSet("requested_slot", None)]
        return events
