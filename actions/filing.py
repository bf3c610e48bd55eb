"""Complaints (投诉, standard 9.3.2) and consultations (咨询, 9.3.1): what the citizen needs to
know to file one, and where it goes."""
from __future__ import annotations

from rasa_sdk import Action
from rasa_sdk.events import SlotSet

from actions.answer_question import answer, is_service_question
from actions.runtime import knowledge

# Words that show the citizen wants to leave a consultation, not just ask.
LEAVE_WORDS = ("咨询", "留言", "提交", "问题", "提问", "答复")


class ActionFileComplaint(Action):
    def name(self) -> str:
        return "action_file_complaint"

    async def run(self, dispatcher, tracker, domain):
        hotline = knowledge().catalog.hall.get("supervision_hotline") or "12345"
        dispatcher.utter_message(
            text="您的投诉我们会认真受理。投诉需要说明：被投诉的部门或窗口、被投诉人姓名（如知道）、投诉类型（如服务态度、"
                 "办理超时、乱收费）和事情经过，并留下您的姓名和手机号码。投诉受理后会给您受理编号，一般在5个工作日内答复，"
                 f"凭受理编号可以查询处理结果。您也可以拨打监督投诉电话{hotline}。",
            buttons=[{"title": "转人工", "payload": "/request_human"}])
        return [SlotSet("failed_turns", 0)]


class ActionFileConsultation(Action):
    def name(self) -> str:
        return "action_file_consultation"

    async def run(self, dispatcher, tracker, domain):
        if is_service_question(tracker) and not any(w in tracker.latest_message.get("text", "") for w in LEAVE_WORDS):
            return answer(dispatcher, tracker)
        hall = knowledge().catalog.hall
        dispatcher.utter_message(
            text="您可以直接把问题发给我，大部分办事咨询我可以马上回答。需要部门工作人员答复的咨询，请说明咨询的部门、"
                 "事项和具体问题，并留下手机号码；咨询受理后会生成受理编号，工作人员一般在3个工作日内答复。"
                 f"也可以拨打政务服务便民热线{hall['hotline']}电话咨询。",
            buttons=[{"title": "浏览办事事项", "payload": "/browse_catalog"}, {"title": "转人工", "payload": "/request_human"}])
        return [SlotSet("failed_turns", 0)]
