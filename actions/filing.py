"""Filing through the hall (standard 9.3.1 consultations, 9.3.2 complaints, 9.2.2 appointments):
starting each form, the summary and confirmation before anything is filed (9.4.7: a serious
action needs a warning and a confirmation), cancelling, going back a step, and the filing itself
— directly when the hall answers, else through the durable queue (common/filings.py)."""
from __future__ import annotations

import hashlib
import json
import re

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import popularity, public_content, turn
from actions.answer_question import answer, is_service_question
from actions.runtime import hall, knowledge, redis
from common import appointment_sms, attachments, audit, filings
from common.filings import filed_text
from common.hall_client import HallRejected, HallUnavailable
from common.identity import PHONE_RE, mask_phone

FORMS = {
    "complaint": ("complaint_form", ["complaint_content", "complaint_department", "complaint_type",
                                     "respondent_name", "citizen_name", "citizen_phone"]),
    "consultation": ("consultation_form", ["consult_content", "consult_department", "consult_type",
                                           "consult_public", "citizen_name", "citizen_phone"]),
    "appointment": ("appointment_form", ["service_code", "appt_date", "appt_time", "citizen_name", "citizen_phone"]),
    "opinion": ("opinion_form", ["opinion_content", "citizen_phone"]),
}
KIND_OF_FORM = {form: kind for kind, (form, _) in FORMS.items()}
LABELS = {"complaint_content": "投诉内容", "complaint_department": "被投诉部门", "complaint_type": "投诉类型",
          "respondent_name": "被投诉人", "consult_content": "咨询内容", "consult_department": "咨询部门",
          "consult_type": "咨询类型", "consult_public": "是否公开", "service_code": "预约事项", "appt_date": "预约日期",
          "appt_time": "预约时段", "citizen_name": "姓名", "citizen_phone": "手机号码", "opinion_content": "意见建议"}
# A citizen calling off what is in progress, whatever intent the classifier heard
# ("算了不投诉了" mentions 投诉 but is no new complaint).
CANCEL_RE = re.compile(r"^(算了|取消|不用了|不要了|不办了|不投诉了|不咨询了|不约了|不预约了)|算了|不投诉了|不咨询了|不预约了|取消吧")
# Words that make a message a complaint even when it names a service ("办居住证的窗口态度差").
COMPLAINT_WORDS = ("投诉", "举报", "态度", "不满", "刁难", "乱收费", "差评")
# Words that show the citizen wants to leave a consultation, not just ask.
LEAVE_WORDS = ("咨询", "留言", "提交", "问题", "提问", "答复")
CONFIRM_BUTTONS = [{"title": "确认提交", "payload": "/affirm"}, {"title": "返回修改", "payload": "/go_back"},
                   {"title": "取消", "payload": "/deny"}]


def clear(kind: str) -> list:
    keep = {"service_code"}   # the service under discussion outlives an appointment form
    return [SlotSet(s, None) for s in FORMS[kind][1] if s not in keep] + [SlotSet("awaiting", None)]


def filing_kind(tracker: Tracker) -> str | None:
    """The filing in progress: the active form's, or the one whose summary awaits confirmation."""
    awaiting = tracker.get_slot("awaiting") or ""
    kind = KIND_OF_FORM.get(tracker.active_loop.get("name") or "")
    if kind is None and awaiting.startswith("confirm_") and awaiting[8:] in FORMS:
        kind = awaiting[8:]
    return kind


def shown(slot: str, value: str) -> str:
    if slot == "service_code":
        item = knowledge().item(value)
        return f"{item.name}（{value}）" if item else value
    if slot == "citizen_phone":
        return mask_phone(value)
    return value


def record_for(kind: str, tracker: Tracker) -> dict:
    s = tracker.get_slot
    # The gateway's conversation ids start with the channel name ("rest-…", "wechat-…").
    channel = tracker.sender_id.split("-", 1)[0] or "rest"
    if kind == "complaint":
        return {"department": s("complaint_department"), "complaint_type": s("complaint_type"),
                "respondent_name": "" if s("respondent_name") == "不详" else s("respondent_name"),
                "content": s("complaint_content"), "name": s("citizen_name"), "phone": s("citizen_phone"),
                "channel": channel, "attachments": []}
    if kind == "consultation":
        content = s("consult_content")
        return {"department": s("consult_department"), "consultation_type": s("consult_type"),
                "public": s("consult_public") == "是", "subject": content[:30], "content": content,
                "attachments": [], "name": s("citizen_name"), "phone": s("citizen_phone"), "channel": channel,
                "item_code": s("service_code") or ""}
    if kind == "opinion":
        return {"topic_id": s("opinion_topic"), "content": s("opinion_content"), "name": "",
                "phone": s("citizen_phone"), "channel": channel}
    return {"service_code": s("service_code"), "hall": "市行政服务大厅", "date": s("appt_date"),
            "start": s("appt_time"), "name": s("citizen_name"), "phone": s("citizen_phone"), "channel": channel}


def idempotency_key(tracker: Tracker, kind: str, record: dict) -> str:
    """The same confirmed filing in the same conversation always gets the same key."""
    raw = json.dumps([tracker.sender_id, kind, record], ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(raw.encode()).hexdigest()[:40]


async def redirected(dispatcher, tracker: Tracker, domain, own_words: tuple[str, ...]) -> list | None:
    """What a message that was heard as "file X" really is, if not that: calling off a filing in
    progress, or a question about a service without X's own words. None: it does start X."""
    text = tracker.latest_message.get("text", "")
    if CANCEL_RE.search(text) and (tracker.active_loop.get("name") or tracker.get_slot("awaiting")):
        return await ActionCancelFiling().run(dispatcher, tracker, domain)
    if is_service_question(tracker) and not any(w in text for w in own_words):
        return await answer(dispatcher, tracker)
    return None


class ActionFileComplaint(Action):
    def name(self) -> str:
        return "action_file_complaint"

    async def run(self, dispatcher, tracker, domain):
        if (events := await redirected(dispatcher, tracker, domain, COMPLAINT_WORDS)) is not None:
            return events
        # A complaint is often said in anger: a person is offered alongside the form.
        dispatcher.utter_message(text="好的，我来帮您登记投诉。投诉受理后会给您受理编号，5个工作日内答复。"
                                      "如果希望直接与工作人员沟通，也可以选择转人工。",
                                 buttons=[{"title": "转人工", "payload": "/request_human"}])
        return [*clear("complaint"), FollowupAction("complaint_form")]


class ActionFileConsultation(Action):
    def name(self) -> str:
        return "action_file_consultation"

    async def run(self, dispatcher, tracker, domain):
        if (events := await redirected(dispatcher, tracker, domain, LEAVE_WORDS)) is not None:
            return events
        hotline = knowledge().catalog.hall["hotline"]
        dispatcher.utter_message(text="好的，我来帮您提交咨询，由部门工作人员在3个工作日内答复。"
                                      f"大部分办事问题也可以直接问我，或拨打{hotline}热线。")
        return [*clear("consultation"), FollowupAction("consultation_form")]


class ActionFilingSummary(Action):
    """After a form: everything collected, and a confirmation before filing."""

    def name(self) -> str:
        return "action_filing_summary"

    async def run(self, dispatcher, tracker, domain):
        kind = KIND_OF_FORM.get(tracker.active_loop.get("name") or "") or _last_form_kind(tracker)
        if kind is None:
            return []
        lines = [f"{LABELS[s]}：{shown(s, tracker.get_slot(s))}" for s in FORMS[kind][1] if tracker.get_slot(s)]
        title = {"complaint": "投诉", "consultation": "咨询", "appointment": "预约", "opinion": "意见建议"}[kind]
        dispatcher.utter_message(text=f"请核对您的{title}信息：\n" + "\n".join(lines) +
                                      "\n确认无误后提交，提交后将生成受理编号。",
                                 buttons=CONFIRM_BUTTONS)
        return [SlotSet("awaiting", f"confirm_{kind}")]


def _last_form_kind(tracker: Tracker) -> str | None:
    for event in reversed(tracker.events):
        if event.get("event") == "active_loop" and event.get("name") in KIND_OF_FORM:
            return KIND_OF_FORM[event["name"]]
    return None


class ActionCancelFiling(Action):
    def name(self) -> str:
        return "action_cancel_filing"

    async def run(self, dispatcher, tracker, domain):
        kind = filing_kind(tracker)
        dispatcher.utter_message(text="好的，已取消，没有提交任何内容。还有其他可以帮您的吗？")
        events = clear(kind) if kind else [SlotSet("awaiting", None)]
        return [ActiveLoop(None), SlotSet("requested_slot", None), *events]


class ActionFormBack(Action):
    """返回上一步: forget the last answer and ask it again."""

    def name(self) -> str:
        return "action_form_back"

    async def run(self, dispatcher, tracker, domain):
        form = tracker.active_loop.get("name")
        kind = filing_kind(tracker)
        if kind is None:
            if is_service_question(tracker):         # "下一步怎么办" about a service is a question
                return await answer(dispatcher, tracker)
            dispatcher.utter_message(text="当前没有正在填写的内容。请问有什么可以帮您？")
            return []
        slots = FORMS[kind][1]
        requested = tracker.get_slot("requested_slot") if form else None
        filled = [s for s in slots[: slots.index(requested) if requested in slots else len(slots)] if tracker.get_slot(s)]
        if not filled:
            dispatcher.utter_message(text="已经是第一步了。")
            return [FollowupAction(FORMS[kind][0])]
        dispatcher.utter_message(text=f"好的，请重新填写“{LABELS[filled[-1]]}”。")
        # Re-entering the form asks for the cleared field; after the summary this re-opens it.
        return [SlotSet(filled[-1], None), SlotSet("awaiting", None), FollowupAction(FORMS[kind][0])]


class ActionSubmitFiling(Action):
    def name(self) -> str:
        return "action_submit_filing"

    async def run(self, dispatcher, tracker, domain):
        kind = filing_kind(tracker)
        record = record_for(kind, tracker)
        if kind == "appointment" and tracker.get_slot("appointment_number"):
            return await reschedule(dispatcher, tracker, record)
        if kind in ("complaint", "consultation"):
            record["attachments"] = await attachments.pending(redis(), tracker.sender_id)
        withheld = public_content.withheld(kind, record)
        key = idempotency_key(tracker, kind, record)
        try:
            result = await hall().file(kind, record, key)
        except HallUnavailable:
            await filings.enqueue(redis(), kind, record, key, tracker.sender_id)
            await attachments.clear(redis(), tracker.sender_id)   # the queued record carries them
            await popularity.count_filing(record.get("service_code") or record.get("item_code"))
            dispatcher.utter_message(text="办事大厅系统暂时繁忙，您提交的内容已安全保存，系统会自动重试提交，"
                                          "受理后会把受理编号发给您，无需重复提交。")
            await public_content.hold(dispatcher, redis(), tracker.sender_id, record, withheld)
            return clear(kind)
        except HallRejected as exc:
            if exc.code == "slot_full":
                dispatcher.utter_message(text="抱歉，这个时段刚刚约满了，请重新选择时段。")
                return [SlotSet("appt_time", None), SlotSet("awaiting", None), FollowupAction("appointment_form")]
            dispatcher.utter_message(text="抱歉，提交未成功：信息有误或不完整，请重新填写，或拨打12345热线。")
            return clear(kind)
        service_name = ""
        if kind == "appointment":
            item = knowledge().item(record["service_code"])
            service_name = item.name if item else record["service_code"]
            result = {**record, **result, "service_name": service_name}
        if record.get("attachments"):
            await attachments.clear(redis(), tracker.sender_id)
        await filings.landed(redis(), tracker.sender_id, kind, record, result, service_name)
        await popularity.count_filing(record.get("service_code") or record.get("item_code"))
        dispatcher.utter_message(text=filed_text(kind, result))
        await public_content.hold(dispatcher, redis(), tracker.sender_id, record, withheld, result.get("number", ""))
        return clear(kind)


async def reschedule(dispatcher: CollectingDispatcher, tracker: Tracker, record: dict) -> list:
    number = tracker.get_slot("appointment_number")
    try:
        await hall().reschedule(number, record["date"], record["start"])
    except HallUnavailable:
        dispatcher.utter_message(text="抱歉，预约系统暂时无法访问，原预约保持不变，请稍后再试。")
        return [*clear("appointment"), SlotSet("appointment_number", None)]
    except HallRejected as exc:
        text = "抱歉，这个时段刚刚约满了，请重新选择时段。" if exc.code == "slot_full" else "抱歉，改约未成功，原预约保持不变。"
        dispatcher.utter_message(text=text)
        return [*clear("appointment"), SlotSet("appointment_number", None)]
    # The phone slot holds what the hall answered for the appointment (appointment.start_reschedule),
    # which is masked ("138****8000"): no SMS can go to that, only to a whole number.
    if PHONE_RE.fullmatch(record["phone"] or ""):
        await appointment_sms.rescheduled(redis(), tracker.sender_id, number, record["date"], record["start"],
                                          record["phone"])
    await audit.record(redis(), tracker.sender_id, "citizen", "filing_rescheduled", number, "", kind="appointment",
                       channel=record["channel"], date=record["date"], start=record["start"])
    dispatcher.utter_message(text=f"改约成功！预约 {number} 已改为 {record['date']} {record['start']}，请按新时间携带材料到达。")
    return [*clear("appointment"), SlotSet("appointment_number", None)]


class ActionGiveOpinion(Action):
    """Opinion collection (standard 9.3.3): the current topics, then the opinion on one of them."""

    def name(self) -> str:
        return "action_give_opinion"

    async def run(self, dispatcher, tracker, domain):
        try:
            topics = await hall().opinion_topics()
        except (HallUnavailable, HallRejected):
            dispatcher.utter_message(text="抱歉，意见征集系统暂时无法访问，请稍后再试。")
            return []
        chosen = turn.entity(tracker, "opinion_topic")
        topic = next((t for t in topics if t["id"] == chosen), None)
        if topic:
            dispatcher.utter_message(text=f"议题：{topic['title']}\n{topic.get('summary', '')}\n"
                                          f"征集截止：{topic.get('closes_on', '')}；"
                                          f"提交后{topic['respond_within_days']}个工作日内反馈。")
            return [*clear("opinion"), SlotSet("opinion_topic", topic["id"]), FollowupAction("opinion_form")]
        if not topics:
            dispatcher.utter_message(text="目前没有正在征集意见的议题。您也可以通过“我要咨询”提交建议。")
            return []
        lines = [f"{n}. {t['title']}（截止{t.get('closes_on', '')}，{t['respond_within_days']}个工作日内反馈）"
                 for n, t in enumerate(topics, 1)]
        dispatcher.utter_message(text="正在征求意见的议题有：\n" + "\n".join(lines) + "\n请选择您要发表意见的议题。",
                                 buttons=[{"title": t["title"][:20],
                                           "payload": "/give_opinion" + json.dumps({"opinion_topic": t["id"]},
                                                                                  ensure_ascii=False)}
                                          for t in topics])
        return []
