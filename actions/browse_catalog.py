"""Browsing the catalog by the classifications of standard 9.1.3 (topic, life event, special
group; business activity, special type), three taps at most from the top to an item."""
from __future__ import annotations

from rasa_sdk import Action
from rasa_sdk.events import SlotSet

from actions import render, turn
from actions.runtime import knowledge, scenes
from knowledge.classification import FACET_LABELS

# Long lists are split so each reply stays readable on a phone.
PAGE = 12
# Words that name a way of browsing rather than a category (the NLU tags them as category too).
FACET_WORDS = {"主题": "topics", "人生事件": "life_events", "特定对象": "special_groups",
               "经营活动": "business_activities", "特定类型": "special_types"}
ENTERPRISE_WORDS = ("企业", "公司", "法人", "经营", "商事")


def _facet_button(audience: str, facet: str) -> dict:
    label = FACET_LABELS[(audience, facet)]
    return {"title": label, "payload": render.payload("browse_catalog", category=label)}


class ActionBrowseCatalog(Action):
    def name(self) -> str:
        return "action_browse_catalog"

    async def run(self, dispatcher, tracker, domain):
        catalog = knowledge().catalog
        category = turn.entity(tracker, "category") or ""
        said = category or turn.text(tracker)
        audience = "enterprise" if any(w in said for w in ENTERPRISE_WORDS) else "personal" if "个人" in said else None

        # 1. A facet label from our own buttons ("个人办事·按人生事件") or a facet word ("人生事件").
        facet_key = next((key for key, label in FACET_LABELS.items() if label == category), None)
        if facet_key is None:
            facet = next((f for word, f in FACET_WORDS.items() if word in said), None)
            if facet:
                aud = "enterprise" if facet in ("business_activities", "special_types") else audience or "personal"
                facet_key = (aud, "topics" if (aud, facet) not in FACET_LABELS else facet)
        if facet_key:
            values = catalog.facet_values(*facet_key)
            dispatcher.utter_message(text=f"{FACET_LABELS[facet_key]}，请选择类别：",
                                     buttons=[{"title": v, "payload": render.payload("browse_catalog", category=v)}
                                              for v in values])
            return [SlotSet("failed_turns", 0)]

        # 2. A category value (生小孩, 社保, 开办企业…): list its items.
        hits = catalog.find_category(said)
        if audience:
            hits = [h for h in hits if h[0] == audience] or hits
        if hits:
            aud, facet, value = hits[0]
            items = catalog.in_facet(aud, facet, value)
            lines = [f"{n}. {i.name}（{i.code}）" for n, i in enumerate(items[:PAGE], 1)]
            # A life event or business activity with a guided scene: offer it first (9.4.4).
            for scene in scenes().values():
                if (scene.audience, scene.classification) == (aud, value) and facet in ("life_events", "business_activities"):
                    dispatcher.utter_message(text=f"“{scene.title}一件事”可一步步引导您理清全部事项：{scene.summary}",
                                             buttons=[{"title": f"开始“{scene.title}一件事”",
                                                       "payload": render.payload("start_scene", scene=scene.id)}])
            dispatcher.utter_message(
                text=f"{FACET_LABELS[(aud, facet)]}「{value}」共有{len(items)}个事项：\n" + "\n".join(lines)
                + "\n请选择或直接说出事项名称查看办事指南。",
                buttons=[render.item_button(i) for i in items[:PAGE]])
            return [SlotSet("failed_turns", 0)]

        # 3. Nothing specific: offer the ways of browsing.
        buttons = [_facet_button(aud, f) for (aud, f) in FACET_LABELS
                   if audience in (None, aud) and catalog.facet_values(aud, f)]
        dispatcher.utter_message(
            text="办事事项分个人办事和企业办事，可按主题、人生事件（如生小孩、结婚、退休）、特定对象或经营活动浏览。"
                 "请选择分类方式，或直接说出您要办的事，例如“生小孩要办什么”。",
            buttons=buttons)
        return [SlotSet("failed_turns", 0)]
