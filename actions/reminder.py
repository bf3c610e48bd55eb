"""Reminders of a scene's dated steps ("到期前提醒我：生育津贴申领"): scheduled in Redis
(common/reminders.py) and delivered by the gateway on the citizen's own channel — or by SMS
when they ask for it and give a number — at 9:00 (Beijing time) some days before the deadline."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta

from rasa_sdk import Action
from rasa_sdk.events import SlotSet

from actions import render, scene_render, turn
from actions.dates import beijing_today
from actions.parsing import find_phone
from actions.runtime import knowledge, redis, scene_store, scenes
from common import reminders
from common.clock import TZ as BEIJING
from common.identity import mask_phone
from scenes import runner

LEAD_DAYS = 7          # remind a week ahead, or as soon as possible when the deadline is nearer


def remind_at(due: date, today: date) -> datetime:
    day = max(due - timedelta(days=LEAD_DAYS), today + timedelta(days=1))
    return datetime.combine(day, time(9, 0), BEIJING)


class ActionSetReminder(Action):
    def name(self) -> str:
        return "action_set_reminder"

    async def run(self, dispatcher, tracker, domain):
        code = tracker.get_slot("scene_code")
        state = await scene_store().load(code) if code else None
        if state is None:
            dispatcher.utter_message(text="目前没有可以提醒的办事清单。完成一个“一件事”引导后，可以为有期限的事项设置提醒。")
            return []
        scene = scenes()[state.scene]
        items = knowledge().catalog.items
        today = beijing_today()
        steps = runner.plan(scene, state.answers)
        dated = [(n, s, d) for n, s in enumerate(steps, 1)
                 if (d := scene_render.due_date(s, state.answers)) and d > today]
        chosen = turn.entity(tracker, "reminder_step")
        picked = next(((n, s, d) for n, s, d in dated if str(n) == chosen), None)
        if picked is None:
            if not dated:
                dispatcher.utter_message(text="您的清单里没有尚未到期的限期事项，无需提醒。")
                return []
            dispatcher.utter_message(text="请选择要提醒的事项：", buttons=[
                {"title": f"{items[s.item].name}（{d.isoformat()}前）",
                 "payload": render.payload("set_reminder", reminder_step=str(n))} for n, s, d in dated])
            return []
        n, step, due = picked
        item = items[step.item]
        text = (f"办事提醒：您的“{scene.title}一件事”清单中，{item.name}（事项编码 {item.code}）"
                f"应在{due.isoformat()}前办理（{step.deadline.label}）。需要帮助可发送“{item.name}”查看办事指南。")
        phone = find_phone(turn.text(tracker)) if not turn.is_button(tracker) else None
        phone = phone or tracker.get_slot("citizen_phone")
        when = remind_at(due, today)
        sms = {"sms_phone": phone, "sms_template": "reminder", "sms_vars": {"text": text}} if phone else {}
        await reminders.schedule(redis(), when.timestamp(), tracker.sender_id, text, **sms)
        by = f"，并发短信到{mask_phone(phone)}" if phone else ""
        dispatcher.utter_message(text=f"好的，我会在{when.strftime('%Y-%m-%d %H:%M')}在这里提醒您{by}：{item.name}，"
                                      f"{due.isoformat()}前办理。")
        return [SlotSet("scene_answer", None)]
