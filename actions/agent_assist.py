"""Agent assist for window staff: the knowledge base's best answers to what the citizen asked,
offered in the staff console as suggested replies. The gateway calls this action directly on
the action server's webhook (it is not part of the dialogue), so the knowledge stays in one place."""
from __future__ import annotations

from rasa_sdk import Action

from actions import render
from actions.runtime import knowledge
from knowledge.base import UNSURE

MAX_SUGGESTIONS = 3


class ActionSuggestAnswers(Action):
    def name(self) -> str:
        return "action_suggest_answers"

    async def run(self, dispatcher, tracker, domain):
        question = (tracker.latest_message.get("text") or "").strip()
        kb = knowledge()
        seen: set[str] = set()
        for hit in kb.search(question, k=8) if question else []:
            if hit.score < UNSURE or len(seen) >= MAX_SUGGESTIONS or hit.key in seen:
                continue
            seen.add(hit.key)
            item = kb.item(hit.code)
            if hit.kind == "faq":
                text = render.faq_answer(kb.faq[hit.key], item)
            else:
                text = render.guide(item)
            dispatcher.utter_message(text=text, json_message={"kind": hit.kind, "code": hit.code or "",
                                                              "score": round(hit.score, 3)})
        return []
