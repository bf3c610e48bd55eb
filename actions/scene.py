"""Scene-mode guided services (standard 9.4.4) in the dialogue: starting a scene (named by a
button or matched from the message), resuming one by its code, the scene form that asks the
questions, and the plan at the end. The scene logic is scenes/runner.py; its state lives in Redis
(scenes/store.py) under the code kept in the `scene_code` slot.

The form has one slot, `scene_answer`, filled only when the scene is finished ("done") or left
("left"): every other turn the validation reads the message — an answer, 上一步, 修改X, 重新开始,
稍后再办, or a question about a service in between — and asks the next question."""
from __future__ import annotations

import re

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction

from actions import render, scene_render, turn
from actions.answer_question import answer, is_service_question
from actions.dates import beijing_today, parse_date
from actions.runtime import knowledge, scene_matcher, scene_store, scenes
from scenes import matcher, runner
from scenes.runner import State
from scenes.scene import Scene
from scenes.store import CODE_RE

BACK_RE = re.compile(r"上一步|上一个|返回|退回|回到上")
RESTART_RE = re.compile(r"重新开始|从头|重来|重新来|重新填")
LEAVE_RE = re.compile(r"稍后再办|以后再说|先不办|不办了|退出|暂停|先这样|晚点再")
GENERIC_RE = re.compile(r"一件事|场景|引导|一步步|人生大事")
CHANGE_RE = re.compile(r"修改|更改|改一下|改成|改为|改下|选错|填错|重选")


def find_scene(tracker: Tracker) -> tuple[Scene | None, float, bool]:
    """The scene a button names, else the best match for the message: (scene, score, whether
    a single service matches the message clearly better than the scene)."""
    named = turn.entity(tracker, "scene")
    if named in scenes():
        return scenes()[named], 1.0, False
    text = turn.text(tracker)
    if not text or turn.is_button(tracker):
        return None, 0.0, False
    kb = knowledge()
    hit = scene_matcher().best(text, kb.retriever.query_vector(text))
    if hit is None:
        return None, 0.0, False
    top = kb.search(text, k=1)
    service_better = bool(top) and top[0].score - hit.score > matcher.MARGIN
    return hit.scene, hit.score, service_better


def scene_buttons(audience: str | None = None) -> list[dict]:
    return [{"title": f"{s.title}一件事", "payload": render.payload("start_scene", scene=s.id)}
            for s in scenes().values() if audience in (None, s.audience)]


def recommend(item_code: str) -> dict | None:
    """Smart recommendation (9.4.3): the scene a service belongs to, as a button — preferring
    the scene whose life event or business activity the item itself is classified under."""
    item = knowledge().item(item_code)
    own = set(item.classification.get("life_events", ()) + item.classification.get("business_activities", ())) if item else set()
    holding = [s for s in scenes().values() if any(step.item == item_code for step in s.steps)]
    if not holding:
        return None
    best = next((s for s in holding if s.classification in own), holding[0])
    return {"title": f"一件事办理：{best.title}", "payload": render.payload("start_scene", scene=best.id)}


async def open_form(dispatcher: CollectingDispatcher, code: str, state: State, conversation: str) -> list:
    """Continues a scene: the form asks the next question, or the plan shows when all are answered."""
    await scene_store().save(code, state, conversation)
    scene = scenes()[state.scene]
    if runner.next_question(scene, state.answers) is None:
        return [SlotSet("scene_code", code), SlotSet("scene_answer", "done"), FollowupAction("action_scene_finish")]
    return [SlotSet("scene_code", code), SlotSet("scene_answer", None), SlotSet("awaiting", None),
            FollowupAction("scene_form")]


class ActionStartScene(Action):
    def name(self) -> str:
        return "action_start_scene"

    async def run(self, dispatcher, tracker, domain):
        scene, score, service_better = find_scene(tracker)
        if scene is None or score < matcher.SURE or service_better:
            if GENERIC_RE.search(turn.text(tracker)) or turn.is_button(tracker):
                dispatcher.utter_message(text="我可以一步步引导您办理这些“一件事”，请选择：", buttons=scene_buttons())
                return []
            # Not clearly a whole life event: answer it as a question, and offer a near scene.
            events = await answer(dispatcher, tracker)
            if scene is not None and score >= matcher.UNSURE:
                dispatcher.utter_message(text=f"如果您想一次理清“{scene.title}”要办的全部事项，可以用“一件事”引导：",
                                         buttons=[{"title": f"开始“{scene.title}一件事”",
                                                   "payload": render.payload("start_scene", scene=scene.id)}])
            return events
        store = scene_store()
        code = await store.latest(tracker.sender_id, scene.id)
        state = await store.load(code) if code else None
        if state and state.answers and runner.next_question(scene, state.answers) is not None:
            dispatcher.utter_message(text=f"欢迎回来，继续“{scene.title}一件事”（已回答{len(state.answers)}个问题）。"
                                          "如需从头开始，请说“重新开始”。")
        else:
            code, state = await store.create(scene.id, tracker.sender_id)
            dispatcher.utter_message(text=scene_render.intro(scene))
        return await open_form(dispatcher, code, state, tracker.sender_id)


class ActionResumeScene(Action):
    """继续办理CJ123456: a scene left earlier, on this channel or another."""

    def name(self) -> str:
        return "action_resume_scene"

    async def run(self, dispatcher, tracker, domain):
        m = CODE_RE.search(turn.entity(tracker, "scene_code") or turn.text(tracker))
        state = await scene_store().load(m.group(0)) if m else None
        if state is None or state.scene not in scenes():
            dispatcher.utter_message(text="没有找到这个恢复码对应的进度（恢复码为CJ加6位数字，保存90天）。"
                                          "您可以重新开始：", buttons=scene_buttons())
            return []
        scene = scenes()[state.scene]
        dispatcher.utter_message(text=f"已恢复“{scene.title}一件事”的进度。")
        return await open_form(dispatcher, m.group(0).upper(), state, tracker.sender_id)


class ActionAskSceneAnswer(Action):
    def name(self) -> str:
        return "action_ask_scene_answer"

    async def run(self, dispatcher, tracker, domain):
        code = tracker.get_slot("scene_code")
        state = await scene_store().load(code) if code else None
        if state is None:
            dispatcher.utter_message(text="抱歉，这次引导的进度已失效，请重新开始。", buttons=scene_buttons())
            return [ActiveLoop(None), SlotSet("requested_slot", None), SlotSet("scene_code", None)]
        scene = scenes()[state.scene]
        q = runner.next_question(scene, state.answers)
        if q is None:
            return []
        text, buttons = scene_render.question(scene, q, state.answers)
        dispatcher.utter_message(text=text, buttons=buttons)
        return []


class ValidateSceneForm(FormValidationAction):
    def name(self) -> str:
        return "validate_scene_form"

    async def run(self, dispatcher, tracker, domain):
        if tracker.get_slot("requested_slot") is None:
            return []                                  # the form's first turn: nothing to read yet
        if turn.intent(tracker) == "request_human" and (tracker.latest_message.get("intent") or {}).get("confidence", 0) >= 0.6:
            return []                                  # rejected: the human rule takes over (and ends the form)
        code = tracker.get_slot("scene_code")
        store = scene_store()
        state = await store.load(code) if code else None
        if state is None:
            return [SlotSet("scene_answer", "left")]
        scene = scenes()[state.scene]
        outcome = await self.read(dispatcher, tracker, scene, state)
        await store.save(code, state, tracker.sender_id)
        if outcome == "left":
            dispatcher.utter_message(text=f"好的，进度已保存。恢复码：{code}，90天内在任何渠道发送“继续办理{code}”即可接着办。")
            return [SlotSet("scene_answer", "left")]
        done = runner.next_question(scene, state.answers) is None
        return [SlotSet("scene_answer", "done" if done else None)]

    async def read(self, dispatcher, tracker: Tracker, scene: Scene, state: State) -> str | None:
        """Applies the message to the scene; 'left' when the citizen leaves it."""
        text = "" if turn.is_button(tracker) else turn.text(tracker)
        op = turn.entity(tracker, "scene_op")
        q = runner.next_question(scene, state.answers)
        option = runner.match_option(q, text) if q is not None and q.type == "choice" and text else None
        if option is None and (op == "leave" or LEAVE_RE.search(text)):
            return "left"
        if option is None and (op == "restart" or RESTART_RE.search(text)):
            state.restart()
            dispatcher.utter_message(text="好的，从头开始。")
            return None
        if option is None and (op == "back" or BACK_RE.search(text)):
            if state.back() is None:
                dispatcher.utter_message(text="已经是第一个问题了。")
            return None
        if option is None and CHANGE_RE.search(text):
            target = next((x for x in scene.questions if x.id in state.answers and x.name in text), None)
            if target is None:
                names = "、".join(x.name for x in scene.questions if x.id in state.answers)
                dispatcher.utter_message(text=f"请说明要修改哪一项，例如“修改{names.split('、')[0]}”。" if names
                                         else "还没有可以修改的回答。")
                return None
            state.change(target.id)
            dispatcher.utter_message(text=f"好的，请重新回答“{target.name}”。")
            return None
        if q is None:
            return None
        if q.type == "date":
            when = parse_date(text, beijing_today(), nearest=True) if text else None
            if when is None:
                dispatcher.utter_message(text="没能识别这个日期，请按“2026-11-01”或“11月1日”的格式回复。")
                return None
            state.set(q.id, when.isoformat())
            return None
        if option is not None:
            state.set(q.id, option.value)
            return None
        if text and is_service_question(tracker):       # a question in between: answer, then ask again
            await answer(dispatcher, tracker)
            dispatcher.utter_message(text=f"我们继续“{scene.title}一件事”。")
            return None
        labels = "、".join(f"“{o.label}”" for o in q.options)
        dispatcher.utter_message(text=f"没能识别您的选择，请回复{labels}之一，或直接点选。")
        return None


class ActionSceneFinish(Action):
    """After the form: the plan when the scene is done (nothing more when it was left)."""

    def name(self) -> str:
        return "action_scene_finish"

    async def run(self, dispatcher, tracker, domain):
        code = tracker.get_slot("scene_code")
        if tracker.get_slot("scene_answer") != "done" or not code:
            return [SlotSet("scene_answer", None)]
        state = await scene_store().load(code)
        if state is None:
            return [SlotSet("scene_answer", None)]
        scene = scenes()[state.scene]
        for text, buttons in scene_render.plan(scene, state.answers, knowledge().catalog.items, code):
            dispatcher.utter_message(text=text, buttons=buttons)
        return [SlotSet("scene_answer", None)]


class ActionSceneControl(Action):
    """上一步 / 重新开始 / 稍后再办 from a button when no scene form runs (e.g. under the plan)."""

    def name(self) -> str:
        return "action_scene_control"

    async def run(self, dispatcher, tracker, domain):
        code = tracker.get_slot("scene_code")
        state = await scene_store().load(code) if code else None
        if state is None:
            dispatcher.utter_message(text="当前没有正在进行的引导。可以选择要办的事：", buttons=scene_buttons())
            return []
        text = turn.text(tracker)
        op = turn.entity(tracker, "scene_op") or (
            "restart" if RESTART_RE.search(text) else "back" if BACK_RE.search(text) else "leave")
        if op == "leave":
            dispatcher.utter_message(text=f"好的。恢复码：{code}，随时发送“继续办理{code}”即可接着办。")
            return []
        if op == "restart":
            state.restart()
            dispatcher.utter_message(text="好的，从头开始。")
        elif op == "back":
            state.back()
        return await open_form(dispatcher, code, state, tracker.sender_id)
