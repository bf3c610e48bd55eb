"""预约 (standard 9.2.2): book through the appointment form, and reschedule (改约) or cancel an
existing appointment by its number; cancelling asks for a confirmation first."""
from __future__ import annotations

import re
from datetime import date

from rasa_sdk import Action, Tracker
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import turn
from actions.forms import _slots
from actions.runtime import hall, knowledge, redis
from common import filings
from common.hall_client import HallNotFound, HallRejected, HallUnavailable

WEEKDAYS = "一二三四五六日"
APPOINTMENT_RE = re.compile(r"YY\d{17}", re.IGNORECASE)
HALL_DOWN = "抱歉，预约系统暂时无法访问，请稍后再试，或拨打12345热线预约。"


def day_text(d: date) -> str:
    return f"{d.month}月{d.day}日（周{WEEKDAYS[d.weekday()]}）"


class ActionBookAppointment(Action):
    def name(self) -> str:
        return "action_book_appointment"

    async def run(self, dispatcher, tracker, domain):
        text = turn.text(tracker)
        number = m.group().upper() if (m := APPOINTMENT_RE.search(text)) else None
        if number:
            return await manage(dispatcher, tracker, number, text)
        return [SlotSet("appointment_number", None), SlotSet("appt_date", None), SlotSet("appt_time", None),
                SlotSet("awaiting", None), FollowupAction("appointment_form")]


async def manage(dispatcher: CollectingDispatcher, tracker: Tracker, number: str, text: str) -> list:
    """An existing appointment named by number: cancel it (after a confirmation) or move it —
    only by whoever booked it: in the conversation that booked it, or with the booking phone's
    last four digits (numbers are sequential, so a number alone proves nothing)."""
    if not await booked_here(tracker.sender_id, number):
        appt = await active_appointment(dispatcher, number)
        if appt is None:
            return []
        tail = str(appt.get("phone") or "")[-4:]
        said = re.sub(r"YY\d{17}", "", text, flags=re.IGNORECASE)
        if not tail or tail not in re.findall(r"(?<!\d)\d{4}(?!\d)", said) + [p[-4:] for p in re.findall(r"1\d{10}", said)]:
            dispatcher.utter_message(text=f"为保护您的预约，请连同预约时所留手机号的后四位一起发送，"
                                          f"例如“改约{number} 尾号1234”或“取消预约{number} 尾号1234”。")
            return []
    if re.search(r"取消|不去了|退掉|退约", text):
        return await ask_cancel(dispatcher, number)
    return await start_reschedule(dispatcher, number)


async def booked_here(conversation: str, number: str) -> bool:
    return await filings.filed_here(redis(), conversation, number)


RESCHEDULE_OR_CANCEL = re.compile(r"改约|改期|改时间|换个时间|换时间|调整|取消|不去了|退掉|退约")


async def active_appointment(dispatcher: CollectingDispatcher, number: str) -> dict | None:
    """The booked appointment with this number, or None after telling the citizen why not."""
    try:
        appt = await hall().record("appointment", number)
    except HallUnavailable:
        dispatcher.utter_message(text=HALL_DOWN)
        return None
    except HallNotFound:
        appt = None
    if appt is None or appt.get("status") == "cancelled":
        dispatcher.utter_message(text=f"没有找到有效的预约 {number}，请核对预约编号。")
        return None
    return appt


async def ask_cancel(dispatcher: CollectingDispatcher, number: str) -> list:
    if (appt := await active_appointment(dispatcher, number)) is None:
        return []
    dispatcher.utter_message(
        text=f"确认取消预约 {number}（{appt['date']} {appt['start']}，{appt['hall']}）吗？取消后该时段将释放给其他市民。",
        buttons=[{"title": "确认取消", "payload": "/affirm"}, {"title": "不取消", "payload": "/deny"}])
    return [SlotSet("appointment_number", number), SlotSet("awaiting", "confirm_cancel_appointment")]


async def start_reschedule(dispatcher: CollectingDispatcher, number: str) -> list:
    if (appt := await active_appointment(dispatcher, number)) is None:
        return []
    dispatcher.utter_message(text=f"好的，为预约 {number}（原定{appt['date']} {appt['start']}）改约。")
    return [SlotSet("appointment_number", number), SlotSet("service_code", appt["service_code"]),
            SlotSet("citizen_name", appt.get("name") or "（原预约人）"), SlotSet("citizen_phone", appt.get("phone")),
            SlotSet("appt_date", None), SlotSet("appt_time", None), FollowupAction("appointment_form")]


async def cancel(dispatcher: CollectingDispatcher, tracker: Tracker) -> list:
    number = tracker.get_slot("appointment_number")
    try:
        await hall().cancel_appointment(number)
    except HallUnavailable:
        dispatcher.utter_message(text=HALL_DOWN)
        return []
    except HallRejected:
        dispatcher.utter_message(text=f"预约 {number} 无法取消（可能已取消或已过期）。")
        return [SlotSet("awaiting", None), SlotSet("appointment_number", None)]
    dispatcher.utter_message(text=f"预约 {number} 已取消。如需重新预约，随时告诉我。")
    return [SlotSet("awaiting", None), SlotSet("appointment_number", None)]


class ActionAskApptTime(Action):
    """Asks for the time with the day's free slots as choices (from the hall, live)."""

    def name(self) -> str:
        return "action_ask_appt_time"

    async def run(self, dispatcher, tracker, domain):
        code, day = tracker.get_slot("service_code"), tracker.get_slot("appt_date")
        result = await _slots(code, date.fromisoformat(day)) if code and day else None
        if not result or not result.get("slots"):
            dispatcher.utter_message(text="这一天已经约满了，请说“返回上一步”换一天。")
            return []
        item = knowledge().item(code)
        starts = [s["start"] for s in result["slots"]]
        dispatcher.utter_message(
            text=f"预约办理【{item.name if item else code}】，{result.get('hall', '')}{day_text(date.fromisoformat(day))}"
                 f"可预约的时段有：{'、'.join(starts)}。请选择预约时段。",
            buttons=[{"title": s, "payload": s} for s in starts[:8]])
        return []
