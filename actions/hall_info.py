"""The hall's own information (standard 9.1.1): addresses, hours, transport, parking, hotline."""
from __future__ import annotations

from rasa_sdk import Action
from rasa_sdk.events import SlotSet

from actions import render, turn
from actions.runtime import knowledge
from knowledge.base import SURE

TOPICS = {
    "hours": ("几点", "时间", "上班", "下班", "开门", "关门", "营业", "周末", "周六", "周日", "节假日", "午休", "中午"),
    "transport": ("怎么去", "怎么走", "地铁", "公交", "路线", "交通", "坐车", "到达"),
    "parking": ("停车", "车位", "开车"),
    "hotline": ("电话", "热线", "号码", "联系"),
    "address": ("地址", "在哪", "哪里", "位置", "地方"),
}


HALL_WORDS = ("大厅", "服务中心", "政务", "窗口", "办事", "热线", "电话", "市民中心")


def about_the_hall(text: str) -> bool:
    """A question about the hall itself, even when not classified as one ("投诉电话多少")."""
    return topic_of(text) is not None and any(w in text for w in HALL_WORDS)


def topic_of(text: str) -> str | None:
    for topic, words in TOPICS.items():
        if any(w in text for w in words):
            return topic
    return None


def branch_for(hall: dict, text: str, district: str | None) -> dict:
    branches = hall["branches"]
    for b in branches:
        d = b.get("district", "")
        if district and (district in d or d.rstrip("区") in district):
            return b
        if d and (d in text or d.rstrip("区") in text):
            return b
    return branches[0]


def describe(hall: dict, branch: dict, topic: str | None) -> str:
    name = branch["name"]
    transport = "；".join(branch.get("transport") or [])
    parts = {
        "address": f"{name}地址：{branch['address']}",
        "hours": f"{name}办公时间：{branch['hours']}",
        "transport": f"{name}（{branch['address']}）交通：{transport}",
        "parking": f"{name}停车：{branch.get('parking') or '请尽量乘坐公共交通前往'}",
        "hotline": f"政务服务便民热线：{hall['hotline']}；{name}电话：{branch.get('phone', hall['hotline'])}",
    }
    if topic:
        return parts[topic]
    return "\n".join(parts[k] for k in ("address", "hours", "transport", "hotline"))


class ActionHallInfo(Action):
    def name(self) -> str:
        return "action_hall_info"

    async def run(self, dispatcher, tracker, domain):
        hall = knowledge().catalog.hall
        text = turn.text(tracker)
        if not turn.is_button(tracker) and not about_the_hall(text):
            # "在深圳上班一年了，户口怎么迁" says 上班 but asks about a service.
            hits = knowledge().search(text, k=1)
            if hits and hits[0].code and hits[0].score >= SURE:
                from actions.answer_question import answer   # imports this module
                return await answer(dispatcher, tracker)
        district = turn.entity(tracker, "district") or tracker.get_slot("district")
        branch = branch_for(hall, text, district)
        topic = topic_of(text)
        others = [b for b in hall["branches"] if b is not branch][:4]
        dispatcher.utter_message(
            text=describe(hall, branch, topic),
            buttons=[{"title": b["name"], "payload": render.payload("ask_hall_info", district=b.get("district", ""))}
                     for b in others])
        return [SlotSet("failed_turns", 0), SlotSet("awaiting", None)]
