"""Turns catalog items and FAQ entries into channel-neutral replies (text + buttons).

Channels decide how buttons look (WeChat menu, SMS numbered options, voice DTMF menu);
here a reply is only words and choices.
"""
from __future__ import annotations

import json

from knowledge.catalog import Item
from knowledge.faq import FaqEntry

# guide_aspect entity value -> (title shown, renderer)
ASPECTS = ("材料", "条件", "时限", "费用", "地点", "流程", "网办", "电话", "依据", "表格", "结果")
ASPECT_SYNONYMS = {
    # Only words that, inside a question about a service, surely ask for that part of the guide.
    "材料": "材料", "资料": "材料", "带什么": "材料", "带啥": "材料", "要带": "材料", "手续": "流程",
    "条件": "条件", "要求": "条件", "资格": "条件", "时限": "时限", "多久": "时限", "多长时间": "时限",
    "几天": "时限", "费用": "费用", "收费": "费用", "多少钱": "费用", "交钱": "费用", "地点": "地点", "地址": "地点",
    "在哪": "地点", "哪里": "地点", "窗口": "地点", "流程": "流程", "步骤": "流程", "程序": "流程", "网办": "网办",
    "网上": "网办", "在线": "网办", "电话": "电话", "热线": "电话", "依据": "依据", "法规": "依据", "表格": "表格",
    "下载": "表格", "申请表": "表格", "办理结果": "结果",
}


def canonical_aspect(value: str | None) -> str | None:
    """The guide aspect an entity value or a whole message asks about, if any."""
    if not value:
        return None
    if value in ASPECTS:
        return value
    for word in sorted(ASPECT_SYNONYMS, key=len, reverse=True):
        if word in value:
            return ASPECT_SYNONYMS[word]
    return None


def payload(intent: str, **entities) -> str:
    return f"/{intent}" + (json.dumps(entities, ensure_ascii=False) if entities else "")


def item_button(item: Item, title: str | None = None, aspect: str | None = None) -> dict:
    entities = {"service_code": item.code}
    if aspect:
        entities["guide_aspect"] = aspect
    return {"title": title or item.name, "payload": payload("ask_service_guide", **entities)}


def heading(item: Item) -> str:
    return f"【{item.name}】（事项编码 {item.code}，{item.item_type}，实施主体：{item.department}）"


def materials(item: Item) -> str:
    return "所需材料：\n" + "\n".join(f"{n}. {m.describe()}" for n, m in enumerate(item.materials, 1))


def conditions(item: Item) -> str:
    return "受理条件：\n" + "\n".join(f"{n}. {c}" for n, c in enumerate(item.acceptance_conditions, 1))


def time_limits(item: Item) -> str:
    return f"办理时限：承诺{item.promised_time_limit}（法定{item.legal_time_limit}）"


def fee(item: Item) -> str:
    return f"收费：{item.fee_text()}"


def locations(item: Item) -> str:
    lines = [f"办理地点：{item.handling_unit}"]
    for loc in item.locations[:3]:
        parts = [str(loc.get(k)) for k in ("name", "address") if loc.get(k)]
        hours = f"（{loc['hours']}）" if loc.get("hours") else ""
        lines.append("· " + "，".join(dict.fromkeys(parts)) + hours)
    return "\n".join(lines)


def online(item: Item) -> str:
    return f"网上办理：{item.online}" if item.online else "网上办理：本事项暂不支持全程网办，请到现场窗口办理。"


def process(item: Item) -> str:
    return "办理流程：\n" + "\n".join(f"{n}. {s}" for n, s in enumerate(item.process, 1))


def phones(item: Item) -> str:
    return f"咨询电话：{item.hotline}；监督投诉电话：{item.supervision_hotline}"


def legal_basis(item: Item) -> str:
    lines = [f"· {b.get('name', '')}{b.get('article', '')}：{b.get('text', '')}".rstrip("：") for b in item.legal_basis]
    return "办理依据：\n" + "\n".join(lines)


def forms(item: Item) -> str:
    if not item.forms:
        return "本事项没有需要下载填写的表格，现场或网上填写即可。"
    return "表格下载：\n" + "\n".join(f"· {f['name']}：{f['url']}" for f in item.forms)


def result(item: Item) -> str:
    return f"办理结果：{item.result}"


ASPECT_RENDERERS = {"材料": materials, "条件": conditions, "时限": time_limits, "费用": fee, "地点": locations,
                    "流程": process, "网办": online, "电话": phones, "依据": legal_basis, "表格": forms,
                    "结果": result}


def guide(item: Item, aspect: str | None = None) -> str:
    """The 办事指南 answer: one aspect when asked for, else everything needed to get going."""
    if aspect in ASPECT_RENDERERS:
        body = ASPECT_RENDERERS[aspect](item)
        if aspect == "地点":
            body += "\n" + online(item)
        return f"{heading(item)}\n{body}"
    parts = [heading(item), item.summary, conditions(item), materials(item), time_limits(item), fee(item),
             locations(item), online(item), phones(item)]
    return "\n".join(parts)


def guide_buttons(item: Item, shown: str | None = None) -> list[dict]:
    choices = [("材料", "所需材料"), ("流程", "办理流程"), ("地点", "办理地点"), ("表格", "表格下载"),
               ("条件", "受理条件")]
    buttons = [item_button(item, title, aspect) for aspect, title in choices if aspect != shown][:3]
    buttons.append({"title": "预约办理", "payload": payload("book_appointment", service_code=item.code)})
    return buttons


def faq_answer(entry: FaqEntry, item: Item | None) -> str:
    source = f"\n（来源：{item.name}，事项编码 {item.code}）" if item else ""
    return f"{entry.answer}{source}"


def related_items_text(items: list[Item]) -> str:
    return "、".join(f"{i.name}" for i in items)
