"""预约 (standard 9.2.2): finds the service and day the citizen means and shows the free slots."""
from __future__ import annotations

from datetime import date, timedelta

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import render, turn
from actions.case_status import HALL_DOWN
from actions.dates import parse_date, part_of_day
from actions.runtime import hall, knowledge
from assistant.hall_client import HallUnavailable
from knowledge.base import UNSURE

WEEKDAYS = "一二三四五六日"


def day_text(d: date) -> str:
    return f"{d.month}月{d.day}日（周{WEEKDAYS[d.weekday()]}）"


async def offer_slots(dispatcher: CollectingDispatcher, tracker: Tracker) -> list:
    kb = knowledge()
    message = turn.text(tracker)
    code = turn.entity(tracker, "service_code")
    if not code and not turn.is_button(tracker):
        mentioned = kb.retriever.mentioned_items(message)
        ranked = kb.rank_items(message, k=1) if message and not mentioned else []
        code = mentioned[0] if mentioned else ranked[0].code if ranked and ranked[0].score >= UNSURE else None
    code = code or tracker.get_slot("service_code")
    item = kb.item(code)
    if item is None:
        dispatcher.utter_message(text="请问您要预约办理哪项业务？例如“预约办居住证”“预约换驾驶证”。")
        return [SlotSet("awaiting", "appointment_service")]
    day = parse_date(message) or date.today() + timedelta(days=1)
    try:
        result = await hall().free_slots(item.code, day)
    except HallUnavailable:
        dispatcher.utter_message(text=HALL_DOWN)
        return []
    if not result["slots"]:
        nxt = date.fromisoformat(result.get("next_open_day") or (day + timedelta(days=1)).isoformat())
        reason = "大厅不对外办公" if not result.get("open", True) else "已约满或不在可预约范围（可预约未来14天）"
        dispatcher.utter_message(text=f"预约办理【{item.name}】：{day_text(day)}{reason}。最近可预约的日期是{day_text(nxt)}，需要为您查看这天的时段吗？",
                                 buttons=[{"title": f"查看{day_text(nxt)}",
                                           "payload": render.payload("book_appointment", service_code=item.code,
                                                                     date=nxt.isoformat())}])
        return [SlotSet("service_code", item.code)]
    half = part_of_day(message)
    slots = [s for s in result["slots"] if half is None or (s["start"] < "12:00") == (half == "morning")] or result["slots"]
    times = "、".join(f"{s['start']}（余{s['free']}个）" for s in slots[:8])
    dispatcher.utter_message(
        text=f"预约办理【{item.name}】，{result['hall']}{day_text(day)}可预约的时段有：{times}。"
             f"请回复您要预约的时间段。预约需提供姓名和手机号码，办理当天请携带所需材料按时到达。",
        buttons=[render.item_button(item, "查看所需材料", "材料")])
    return [SlotSet("service_code", item.code), SlotSet("awaiting", "appointment_slot"), SlotSet("failed_turns", 0)]


class ActionBookAppointment(Action):
    def name(self) -> str:
        return "action_book_appointment"

    async def run(self, dispatcher, tracker, domain):
        return await offer_slots(dispatcher, tracker)
