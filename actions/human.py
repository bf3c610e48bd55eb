"""A citizen asks for a person (转人工, standard 9.3.1.2): queued for the window staff of the
department owning the service in question (or one they choose). Outside office hours, or with
nobody online, they are offered a callback or a consultation ticket filed through the hall
(9.3.1.3) instead. The queue itself is common/handoff.py; the gateway takes over from here."""
from __future__ import annotations

from rasa_sdk import Action
from rasa_sdk.events import ActiveLoop, FollowupAction, SlotSet

from actions import render, turn
from actions.filing import clear
from actions.runtime import knowledge, redis
from common.config import settings
from common.handoff import Handoff
from common.office_hours import is_open

GENERAL = "综合窗口"
# Offered when the conversation names no service: the busiest departments, then the general desk.
CHOICES = ["深圳市公安局", "深圳市人力资源和社会保障局", "深圳市社会保险基金管理局", "深圳市市场监督管理局",
           "国家税务总局深圳市税务局", GENERAL]
ASKING_FOR_A_PERSON = {"request_human", "request_callback"}
WEEKDAY_NAMES = "一二三四五六日"


def hours_text(spec: str) -> str:
    """HANDOFF_HOURS in words: "1-5 09:00-18:00;6 09:00-12:00" -> "周一至周五09:00-18:00；周六09:00-12:00"."""
    parts = []
    for part in filter(None, (p.strip() for p in spec.split(";"))):
        days, hours = part.split()
        first, _, last = days.partition("-")
        last = last or first
        if (first, last) == ("1", "7"):
            named = "每天"
        else:
            named = f"周{WEEKDAY_NAMES[int(first) - 1]}" + (f"至周{WEEKDAY_NAMES[int(last) - 1]}" if last != first else "")
        parts.append(named + hours)
    return "；".join(parts)


def citizen_question(tracker) -> tuple[str, str]:
    """(text, intent) of the citizen's last own words that are not the request for a person
    ("转人工") nor a button: what the staff should see as the question."""
    for event in reversed(tracker.events):
        if event.get("event") != "user":
            continue
        text = event.get("text") or ""
        intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name") or ""
        if text and not text.startswith("/") and intent not in ASKING_FOR_A_PERSON:
            return text, intent
    return "", ""


def _ends_form(tracker) -> list:
    return [ActiveLoop(None), SlotSet("requested_slot", None)] if tracker.active_loop.get("name") else []


class ActionRequestHuman(Action):
    def name(self) -> str:
        return "action_request_human"

    async def run(self, dispatcher, tracker, domain):
        events = [SlotSet("failed_turns", 0), SlotSet("awaiting", None), *_ends_form(tracker)]
        item = knowledge().item(tracker.get_slot("service_code"))
        department = turn.entity(tracker, "department") if turn.is_button(tracker) else None
        department = department or (item.department if item else None)
        if department is None:
            dispatcher.utter_message(text="好的，为您转人工服务。请问您要咨询哪个部门的业务？", buttons=[
                {"title": d, "payload": render.payload("request_human", department=d)} for d in CHOICES])
            return events
        handoff = Handoff(redis())
        online = await handoff.online(department)
        if not online and department != GENERAL and await handoff.online(GENERAL):
            department, online = GENERAL, True
        if not is_open(settings().handoff_hours) or not online:
            return events + self.offer_later(dispatcher, department)
        channel = tracker.sender_id.split("-", 1)[0]
        question, intent = citizen_question(tracker)
        position = await handoff.request(tracker.sender_id, department, channel, question=question,
                                         intent=intent or turn.intent(tracker), service_code=item.code if item else "")
        wait = await handoff.estimated_wait_s(position, department)
        # `handoff` lets a channel with a staff system of its own (WeChat customer service) take over.
        dispatcher.utter_message(text=f"正在为您转接{department}的人工服务，您前面还有{position - 1}位，"
                                      f"预计等待约{max(1, round(wait / 60))}分钟。排队期间发送“取消排队”可返回智能助手。",
                                 json_message={"handoff": {"department": department}})
        return events

    @staticmethod
    def offer_later(dispatcher, department: str) -> list:
        hall = knowledge().catalog.hall
        dispatcher.utter_message(
            text=f"抱歉，{department}的人工服务现在无人值守（在线服务时间：{hours_text(settings().handoff_hours)}）。您可以留下咨询，"
                 f"工作人员会在3个工作日内答复并给您受理编号；也可以请工作人员回电，或拨打{hall['hotline']}热线。",
            buttons=[{"title": "留言咨询", "payload": "/file_consultation"},
                     {"title": "请工作人员回电", "payload": render.payload("request_callback", department=department)}])
        return [SlotSet("consult_department", department)]


class ActionRequestCallback(Action):
    """A callback request is a consultation of type 预约回电 (9.3.1.3): filed through the hall
    with the usual summary and confirmation, so it gets a number and is answered by phone."""

    def name(self) -> str:
        return "action_request_callback"

    async def run(self, dispatcher, tracker, domain):
        department = turn.entity(tracker, "department") or tracker.get_slot("consult_department") or GENERAL
        topic = citizen_question(tracker)[0] or "未说明"
        dispatcher.utter_message(text="好的，请留下您的姓名和手机号码，工作人员会在工作时间回电。")
        return [*clear("consultation"), SlotSet("consult_department", department), SlotSet("consult_type", "预约回电"),
                SlotSet("consult_public", "否"), SlotSet("consult_content", f"请工作人员回电。问题：{topic}"[:500]),
                FollowupAction("consultation_form")]


class ActionRateService(Action):
    """The satisfaction rating after a staff conversation (standard 10: 群众满意度)."""

    def name(self) -> str:
        return "action_rate_service"

    async def run(self, dispatcher, tracker, domain):
        rating = turn.entity(tracker, "rating")
        if rating not in {"1", "2", "3", "4", "5"}:
            dispatcher.utter_message(text="请用1到5分为本次人工服务评分（5分为非常满意）。")
            return []
        await Handoff(redis()).rate(tracker.sender_id, rating, tracker.sender_id.split("-", 1)[0])
        dispatcher.utter_message(text="感谢您的评价！" + ("我们会改进服务。" if int(rating) <= 2 else "") + "还有其他可以帮您的吗？")
        return []
