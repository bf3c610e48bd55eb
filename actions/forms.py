"""Validation of the filing forms (Rasa forms: complaint, consultation, appointment).

Each turn the whole message is read for every field it may carry ("福田大厅窗口态度差，我叫张三，
13800138000" fills content, department, type, name and phone at once). A control request
("取消", "返回上一步", "转人工") fills nothing, so Rasa hands it to the rules in
nlu/data/rules/forms.yml. A value that fails its check is answered with a correction in
Chinese and asked for again (the slot is set to None, which makes the form repeat it)."""
from __future__ import annotations

import re
from datetime import date

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction

from actions import turn
from actions.dates import parse_date
from actions.parsing import find_complaint_type, find_name, find_phone, find_time, is_unknown
from actions.runtime import hall, knowledge
from common.hall_client import HallRejected, HallUnavailable
from knowledge.base import UNSURE

CONTROL_INTENTS = {"deny", "go_back", "restart", "request_human"}


def _control(tracker: Tracker) -> bool:
    intent = tracker.latest_message.get("intent") or {}
    return intent.get("name") in CONTROL_INTENTS and (intent.get("confidence") or 0) >= 0.6


DEPARTMENT_RE = re.compile(r"([\u4e00-\u9fa5]{2,14}(?:局|委员会|委|中心|窗口|大厅|派出所|车管所|办公室|处|所|联合会|残联))")


def find_department(tracker: Tracker, text: str, asked: bool) -> str | None:
    """A known department (lookup entity) anywhere; a department-like phrase only when asked."""
    found = turn.entity(tracker, "department")
    if found or not asked:
        return found
    m = DEPARTMENT_RE.search(text)
    return m.group(1) if m else None


class FilingForm:
    """Mixed into each form's FormValidationAction (a mixin, not an Action, so that rasa-sdk
    does not register it): reads every field of the form from each message."""

    def parse(self, tracker: Tracker, text: str, requested: str | None) -> tuple[dict, str | None]:
        """The form's fields found in `text` (None where absent) and a correction for the
        requested field when its answer is unusable."""
        raise NotImplementedError

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain) -> list:
        requested = tracker.get_slot("requested_slot")
        text = "" if turn.is_button(tracker) and requested != "service_code" else turn.text(tracker)
        if requested is None:                      # the form's first turn: read the opening message
            values, problem = await self.parse_async(tracker, text, None)
            if problem:
                dispatcher.utter_message(text=problem)
            return [SlotSet(k, v) for k, v in values.items() if v and not tracker.get_slot(k)]
        values, problem = await self.parse_async(tracker, text, requested)
        if values.get(requested) is None and _control(tracker):
            return []                              # let the rules handle 取消 / 返回上一步 / 转人工
        if values.get(requested) is None:
            dispatcher.utter_message(text=problem or "没能识别您的回答，请再说一遍。")
            values[requested] = None
        events = [SlotSet(k, v) for k, v in values.items() if k == requested or (v and not tracker.get_slot(k))]
        return events

    async def parse_async(self, tracker: Tracker, text: str, requested: str | None) -> tuple[dict, str | None]:
        return self.parse(tracker, text, requested)


def _contact(text: str, requested: str | None) -> tuple[dict, str | None]:
    values = {"citizen_name": find_name(text, requested == "citizen_name"), "citizen_phone": find_phone(text)}
    problem = None
    if requested == "citizen_phone" and not values["citizen_phone"]:
        problem = "手机号码应为11位数字、以1开头，请重新输入（例如13800138000）。"
    if requested == "citizen_name" and not values["citizen_name"]:
        problem = "请输入您的真实姓名（2到20个字，不含数字）。"
    return values, problem


class ValidateComplaintForm(FilingForm, FormValidationAction):
    def name(self) -> str:
        return "validate_complaint_form"

    def parse(self, tracker, text, requested):
        values, problem = _contact(text, requested)
        if requested == "complaint_content":
            if len(text) < 5:
                return values, "请把投诉的经过说得具体一些（至少5个字）：哪个部门或窗口、什么时间、发生了什么。"
            values["complaint_content"] = text
        if requested in (None, "complaint_content", "complaint_department"):
            values["complaint_department"] = find_department(tracker, text, requested == "complaint_department") or (
                text if requested == "complaint_department" and not is_unknown(text) and 2 <= len(text) <= 40 else None)
        if requested == "complaint_department" and is_unknown(text):
            values["complaint_department"] = "未指明（由大厅核实）"
        if requested in (None, "complaint_content", "complaint_type"):
            values["complaint_type"] = find_complaint_type(text)
        if requested == "complaint_type" and not values["complaint_type"]:
            problem = "请从服务态度、办理超时、乱收费、推诿刁难、其他中选择一项。"
        if requested == "respondent_name":
            values["respondent_name"] = "不详" if is_unknown(text) else (text if len(text) <= 30 else None)
            problem = problem or "被投诉人姓名或工号请控制在30字以内，不清楚可回复“不知道”。"
        return values, problem


class ValidateConsultationForm(FilingForm, FormValidationAction):
    def name(self) -> str:
        return "validate_consultation_form"

    def parse(self, tracker, text, requested):
        values, problem = _contact(text, requested)
        if requested == "consult_content":
            if len(text) < 5:
                return values, "请把要咨询的问题写得具体一些（至少5个字）。"
            values["consult_content"] = text
            mentioned = knowledge().retriever.mentioned_items(text)
            if mentioned:                          # the department owning the service asked about
                values["consult_department"] = knowledge().item(mentioned[0]).department
        if requested in (None, "consult_content", "consult_department") and not values.get("consult_department"):
            values["consult_department"] = find_department(tracker, text, requested == "consult_department") or (
                text if requested == "consult_department" and not is_unknown(text) and 2 <= len(text) <= 40 else None)
        if requested == "consult_department" and is_unknown(text):
            values["consult_department"] = "由大厅分派"
        if requested == "consult_type":
            values["consult_type"] = ("政策咨询" if "政策" in text else "办事咨询" if "办" in text else "其他咨询")
        if requested == "consult_public":
            values["consult_public"] = ("否" if re.search(r"不公开|不同意|不要|否|不行|不用", text)
                                        else "是" if re.search(r"公开|同意|可以|是|好", text) else None)
            problem = problem or "请回复“公开”或“不公开”。"
        return values, problem


class ValidateAppointmentForm(FilingForm, FormValidationAction):
    def name(self) -> str:
        return "validate_appointment_form"

    async def parse_async(self, tracker, text, requested):
        values, problem = _contact(text, requested)
        kb = knowledge()
        code = turn.entity(tracker, "service_code")
        if not code and text and requested in (None, "service_code"):
            mentioned = kb.retriever.mentioned_items(text)
            ranked = kb.rank_items(text, k=1) if not mentioned else []
            code = mentioned[0] if mentioned else (ranked[0].code if ranked and ranked[0].score >= UNSURE else None)
        values["service_code"] = code
        if requested == "service_code" and not code:
            problem = "没有找到这项业务，请说出要办理的事项名称，例如“居住证”“护照”。"
        day = parse_date(text) if text and requested in (None, "service_code", "appt_date") else None
        code = code or tracker.get_slot("service_code")
        if day is not None and code:
            # The hall owns its calendar: it says whether the day takes appointments.
            slots = await _slots(code, day)
            if slots is None:
                problem = "预约系统暂时无法访问，请稍后再试，或拨打12345热线预约。"
            elif slots.get("slots"):
                values["appt_date"] = day.isoformat()
            else:
                nxt = date.fromisoformat(slots.get("next_open_day") or day.isoformat())
                problem = (f"{day.month}月{day.day}日不能预约（可预约明天起14天内的工作日），"
                           f"最近可约{nxt.month}月{nxt.day}日，请重新选择日期。")
        elif requested == "appt_date":
            problem = "没能识别日期，请说“明天”“下周一”或“12月3日”这样的日期。"
        if requested == "appt_time":
            start = find_time(text)
            free = await _free_starts(tracker.get_slot("service_code"), tracker.get_slot("appt_date"))
            if start and start in free:
                values["appt_time"] = start
            else:
                problem = ("这个时段不可预约或已约满，" if start else "没能识别时间，") + \
                          ("请从以下时段中选择：" + "、".join(free[:8]) if free else "这一天已约满，请说“返回上一步”换一天。")
        return values, problem


async def _slots(service_code: str, day: date) -> dict | None:
    try:
        return await hall().free_slots(service_code, day)
    except (HallUnavailable, HallRejected):
        return None


async def _free_starts(service_code: str | None, day: str | None) -> list[str]:
    if not (service_code and day):
        return []
    result = await _slots(service_code, date.fromisoformat(day))
    return [s["start"] for s in (result or {}).get("slots", [])]


class ValidateOpinionForm(FilingForm, FormValidationAction):
    def name(self) -> str:
        return "validate_opinion_form"

    def parse(self, tracker, text, requested):
        values = {"citizen_phone": find_phone(text)}
        problem = None
        if requested == "opinion_content":
            if len(text) < 5:
                return values, "请把意见或建议写得具体一些（至少5个字）。"
            values["opinion_content"] = text
        if requested == "citizen_phone" and not values["citizen_phone"]:
            problem = "请留下11位手机号码，便于反馈时联系您。"
        return values, problem
