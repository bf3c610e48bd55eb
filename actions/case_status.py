"""办件进度 (standard 9.2.5): by acceptance number alone, or by ID number with the phone
registered on the case as an identity check."""
from __future__ import annotations

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import turn
from actions.answer_question import answer, is_service_question
from actions.appointment import RESCHEDULE_OR_CANCEL, manage
from actions.runtime import hall, knowledge
from common import records
from common.hall_client import HallRejected, HallUnavailable
from common.identity import CASE_RE, ID_RE, PHONE_RE, mask_id, mask_text, valid_id_number
from knowledge.base import SURE

# Words that show a status question ("办到哪了") rather than a question about a service.
PROGRESS_WORDS = ("进度", "办到", "到哪", "状态", "结果", "查询", "查一下", "查下", "审批", "办结", "受理了")
HALL_DOWN = "抱歉，办件查询系统暂时无法访问，请稍后再试，或拨打12345热线查询。"


def describe_case(case: dict) -> str:
    stages = "\n".join(f"· {s['at'].replace('T', ' ')} {s['stage']}（{s['handler']}）{('：' + s['note']) if s['note'] else ''}"
                       for s in case["stages"])
    current = case["stages"][-1]["stage"] if case["stages"] else "申办"
    return (f"受理编号 {case['number']}：{case['case_name']}\n"
            f"事项：{case['item_name']}（{case['item_code']}，{case['item_type']}）\n"
            f"申请人：{case['applicant_name']}；申请时间：{case['applied_at'].replace('T', ' ')}；受理部门：{case['department']}\n"
            f"当前环节：{current}\n办理过程：\n{stages}")


async def query(dispatcher: CollectingDispatcher, tracker: Tracker) -> list:
    message = turn.text(tracker)
    number = turn.entity(tracker, "case_number") or _first(CASE_RE, message)
    id_number = turn.entity(tracker, "id_number") or _first(ID_RE, message) or (
        tracker.get_slot("id_number") if tracker.get_slot("awaiting") == "case_phone" else None)
    phone = turn.entity(tracker, "phone_number") or _first(PHONE_RE, message)
    try:
        if number and number[:2].upper() == "YY" and RESCHEDULE_OR_CANCEL.search(message):
            return await manage(dispatcher, tracker, number.upper(), message)   # "改约YY…" heard as a status query
        if number and records.kind_of(number):
            return await query_record(dispatcher, number.upper())
        if number:
            try:
                case = await hall().case(number.upper())
            except HallRejected:         # unknown (404) or not a case number the hall accepts
                dispatcher.utter_message(text=f"没有查到受理编号为 {number.upper()} 的办件，请核对编号（两个字母加17位数字，"
                                              "在受理回执或短信中可以找到）后重新输入。")
                return [SlotSet("awaiting", "case_number")]
            dispatcher.utter_message(text=describe_case(case))
            return [SlotSet("awaiting", None), SlotSet("case_number", number.upper()), SlotSet("failed_turns", 0)]
        if id_number:
            id_number = id_number.upper()
            if not valid_id_number(id_number):
                dispatcher.utter_message(text="您输入的身份证号码校验不通过，请核对后重新输入18位身份证号码。")
                return [SlotSet("awaiting", "case_number")]
            if not phone:
                dispatcher.utter_message(text=f"为保护您的信息，按身份证号 {mask_id(id_number)} 查询需要核验身份，"
                                              "请输入办件时登记的手机号码。")
                return [SlotSet("id_number", id_number), SlotSet("awaiting", "case_phone")]
            cases = await hall().cases_by_identity(id_number, phone=phone)
            if not cases:
                dispatcher.utter_message(text="没有查到与该身份证号和手机号相符的办件。请核对信息，或改用受理编号查询。")
                return [SlotSet("awaiting", "case_number"), SlotSet("id_number", None)]
            dispatcher.utter_message(text=f"共查到{len(cases)}件办件：\n\n" + "\n\n".join(describe_case(c) for c in cases))
            return [SlotSet("awaiting", None), SlotSet("id_number", None), SlotSet("failed_turns", 0)]
    except HallUnavailable:
        dispatcher.utter_message(text=HALL_DOWN)
        return []
    if not any(w in message for w in PROGRESS_WORDS) and (
            is_service_question(tracker) or (hits := knowledge().search(message, k=1)) and hits[0].score >= SURE):
        return await answer(dispatcher, tracker)   # "身份证丢了能补吗" names an ID card, asks no status
    dispatcher.utter_message(text="请提供办件的受理编号（两个字母加17位数字，如 QR00120261102000101，见受理回执或短信），"
                                  "或者提供申请人身份证号码，我来为您查询办件进度。")
    return [SlotSet("awaiting", "case_number")]


STATUS = {"accepted": "已受理", "processing": "处理中", "closed": "已办结", "pending": "待答复", "answered": "已答复",
          "booked": "已预约", "cancelled": "已取消"}


def describe_record(kind: str, r: dict) -> str:
    status = STATUS.get(r.get("status", ""), r.get("status", ""))
    if kind == "complaint":
        result = f"\n处理结果：{r['result']}" if r.get("result") else f"\n将于{r.get('due_date', '')}前答复。"
        return f"投诉 {r['number']}（{r.get('department', '')}，{r.get('complaint_type', '')}）：{status}{result}"
    if kind == "consultation":
        answer = r.get("answer")                  # {text, staff, answered_at} once answered (9.3.1.3)
        if isinstance(answer, dict) and answer.get("text"):
            reply = f"\n答复（{str(answer.get('answered_at') or '')[:10]}）：{answer['text']}"
        else:
            reply = f"\n将于{r.get('answer_due', '')}前答复。"
        # Anyone holding the number sees this: the citizen's own words without ID or phone numbers.
        return f"咨询 {r['number']}（{mask_text(r.get('subject') or '')}）：{status}{reply}"
    return f"预约 {r['number']}：{r.get('date', '')} {r.get('start', '')}，{r.get('hall', '')}，{status}"


async def query_record(dispatcher: CollectingDispatcher, number: str) -> list:
    kind = records.kind_of(number)
    try:
        record = await hall().record(kind, number)
    except HallRejected:            # unknown (404) or not a number the hall accepts
        dispatcher.utter_message(text=f"没有查到编号为 {number} 的记录，请核对后重新输入。")
        return [SlotSet("awaiting", "case_number")]
    dispatcher.utter_message(text=describe_record(kind, record))
    return [SlotSet("awaiting", None), SlotSet("failed_turns", 0)]


def _first(pattern, text: str) -> str | None:
    m = pattern.search(text)
    return m.group() if m else None


class ActionQueryCaseStatus(Action):
    def name(self) -> str:
        return "action_query_case_status"

    async def run(self, dispatcher, tracker, domain):
        return await query(dispatcher, tracker)
