"""Answers a question about a service: the 办事指南 of the item, one aspect of it, or the best
FAQ entry, always citing the item code and name (ask_service_guide, ask_faq, and bare service
names). Score bands come from knowledge/base.py, where they were measured."""
from __future__ import annotations

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import popularity, render, turn
from actions.fallback import apologise
from actions.runtime import knowledge
from common.identity import CASE_RE, ID_RE
from knowledge.base import SURE, UNSURE
from knowledge.catalog import Item

# A message this short that names no service is a follow-up ("那要多久"): too little text for
# retrieval to outweigh the conversation's context.
FOLLOW_UP_CHARS = 12
# A service-guide question is answered from an FAQ entry only when that entry matches clearly
# better than the item itself (e.g. "港澳签注能在网上办吗" rather than "港澳通行证怎么办").
FAQ_MARGIN = 0.02


async def answer(dispatcher: CollectingDispatcher, tracker: Tracker) -> list:
    kb = knowledge()
    aspect = render.canonical_aspect(turn.entity(tracker, "guide_aspect"))
    code = turn.entity(tracker, "service_code")
    if code and kb.item(code):                    # a button named the item exactly
        return show_guide(dispatcher, kb.item(code), aspect)
    message = "" if turn.is_button(tracker) else turn.text(tracker)
    aspect = aspect or render.canonical_aspect(message)
    previous = kb.item(tracker.get_slot("service_code"))
    mentioned = kb.retriever.mentioned_items(message)
    hits = kb.search(message, k=8) if message else []
    top = hits[0] if hits else None

    # A follow-up like "那要带什么材料" names an aspect but no service: stay with the last one.
    if previous and aspect and not mentioned and (top is None or top.score < SURE or follows_up(tracker)):
        await popularity.count(tracker, previous)
        return show_guide(dispatcher, previous, aspect)
    if top is None or top.score < UNSURE:
        return await not_in_knowledge(dispatcher, tracker, message)

    own = next((h for h in hits if h.kind == "item"), None)
    if top.kind == "faq" and not aspect and (turn.intent(tracker) == "ask_faq" or not top.code or own is None
                                             or top.score - own.score >= FAQ_MARGIN):
        await popularity.count(tracker, kb.item(top.code), kb.faq[top.key])
        return show_faq(dispatcher, kb.faq[top.key], kb.item(top.code), previous)

    ranked = kb.rank_items(message, k=3)
    best = kb.item(ranked[0].code)
    await popularity.count(tracker, best)
    events = show_guide(dispatcher, best, aspect)
    others = [kb.item(h.code) for h in ranked[1:] if h.score >= UNSURE]
    if others and ranked[0].score < SURE:
        dispatcher.utter_message(text="您要找的也可能是：" + render.related_items_text(others),
                                 buttons=[render.item_button(i) for i in others])
    return events


async def not_in_knowledge(dispatcher: CollectingDispatcher, tracker: Tracker, message: str) -> list:
    """A message the knowledge base cannot answer may still carry a number to look up
    ("ZX…答复了吗") or ask about the hall itself ("投诉电话多少"), whatever intent it was heard as."""
    from actions.case_status import query        # imports this module
    from actions.hall_info import ActionHallInfo, about_the_hall

    if CASE_RE.search(message) or ID_RE.search(message):
        return await query(dispatcher, tracker)
    if about_the_hall(message):
        return await ActionHallInfo().run(dispatcher, tracker, {})
    return await apologise(dispatcher, tracker, "not_in_knowledge")


def names_a_service(tracker: Tracker) -> bool:
    """True when the citizen's own words name a catalog service and retrieval agrees."""
    if turn.is_button(tracker):
        return False
    message = turn.text(tracker)
    kb = knowledge()
    hits = kb.search(message, k=1) if kb.retriever.mentioned_items(message) else []
    return bool(hits) and hits[0].score >= UNSURE


def follows_up(tracker: Tracker) -> bool:
    """A short message asking for one part of the guide of the service being discussed."""
    message = "" if turn.is_button(tracker) else turn.text(tracker)
    return (bool(tracker.get_slot("service_code")) and len(message) <= FOLLOW_UP_CHARS
            and render.canonical_aspect(message) is not None and not knowledge().retriever.mentioned_items(message))


def is_service_question(tracker: Tracker) -> bool:
    """Such a message is answered from the knowledge base even when the intent classifier heard
    something else ("营业执照不见了" is not "再见", "要交钱吗" is not a greeting)."""
    return names_a_service(tracker) or follows_up(tracker)


def show_guide(dispatcher: CollectingDispatcher, item: Item, aspect: str | None) -> list:
    text, buttons = render.guide(item, aspect), render.guide_buttons(item, aspect)
    if aspect is None:                       # the whole guide: what usually comes next, too
        more, extra = recommend(item)
        text, buttons = (text + "\n" + more if more else text), buttons + extra
    dispatcher.utter_message(text=text, buttons=buttons)
    return [SlotSet("service_code", item.code), SlotSet("failed_turns", 0), SlotSet("awaiting", None)]


def show_faq(dispatcher: CollectingDispatcher, entry, item: Item | None, previous: Item | None) -> list:
    buttons = [render.item_button(item, "查看办事指南")] if item else []
    dispatcher.utter_message(text=render.faq_answer(entry, item), buttons=buttons)
    current = item or previous
    return [SlotSet("service_code", current.code if current else None), SlotSet("failed_turns", 0),
            SlotSet("awaiting", None)]


def recommend(item: Item) -> tuple[str, list[dict]]:
    """Smart recommendation (standard 9.4.3): what usually comes next — the item's post-items
    and the scene ("一件事") it belongs to — as a line of text and buttons."""
    from actions.scene import recommend as scene_of     # imports this module

    kb = knowledge()
    after = [kb.item(c) for c in item.post_items if kb.item(c)][:2]
    buttons = [render.item_button(i) for i in after]
    scene = scene_of(item.code)
    if scene:
        buttons.append(scene)
    text = ("办完后通常还需要办理：" + render.related_items_text(after) + "。") if after else ""
    if scene:
        text += "也可以用“一件事”引导，一次理清相关的全部事项。"
    return text, buttons


class ActionAnswerQuestion(Action):
    def name(self) -> str:
        return "action_answer_question"

    async def run(self, dispatcher, tracker, domain):
        return await answer(dispatcher, tracker)
