"""The knowledge overlay (standard 9.3.1.4): FAQ entries and catalog item fields that
information publishers changed through the review workflow (knowledge/overlay_store.py).
Published entries live in Redis and override or extend the YAML base in knowledge/faq and
knowledge/catalog; the YAML files are never rewritten, so a rollback to the base is always
possible.

Redis layout (shared by the gateway, which writes, and the action server, which reads):
    kb:published   hash "faq:<id>" | "item:<code>" -> {"version": n, "fields": {...}}
    kb:version     counter, incremented by every publish and rollback
    kb:changed     pub/sub channel announcing a new counter value
"""
from __future__ import annotations

import dataclasses
import json
import logging

from knowledge.catalog import Catalog, Item, Material
from knowledge.faq import FaqEntry

log = logging.getLogger(__name__)

PUBLISHED = "kb:published"
VERSION = "kb:version"
CHANGED = "kb:changed"
KINDS = ("faq", "item")
# Item fields a publisher may change. Names and aliases stay in YAML: the NLU's lookup tables
# are generated from them.
ITEM_FIELDS = ("summary", "acceptance_conditions", "materials", "fees", "process", "promised_time_limit",
               "online", "hotline")
FAQ_FIELDS = ("question", "alt_questions", "answer", "item_code", "tags", "retired")


class OverlayError(ValueError):
    """Fields a publisher entered that cannot be published; the message is shown to them."""


def field_key(kind: str, target: str) -> str:
    return f"{kind}:{target}"


# --- validation -----------------------------------------------------------------------------
def _text(fields: dict, name: str, label: str, low: int, high: int, required: bool = True) -> str:
    value = fields.get(name, "")
    if not isinstance(value, str):
        raise OverlayError(f"“{label}”应为文字。")
    value = " ".join(value.split()) if "\n" not in value else value.strip()
    if (required or value) and not low <= len(value) <= high:
        raise OverlayError(f"“{label}”应为{low}到{high}个字。")
    return value


def _lines(fields: dict, name: str, label: str, most: int, high: int, least: int = 0) -> list[str]:
    value = fields.get(name) or []
    if isinstance(value, str):
        value = [line for line in value.splitlines()]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise OverlayError(f"“{label}”应为若干行文字。")
    value = [" ".join(v.split()) for v in value if v.strip()]
    if not least <= len(value) <= most or any(len(v) > high for v in value):
        raise OverlayError(f"“{label}”应为{least}到{most}行，每行不超过{high}个字。")
    return value


def clean_faq(fields: dict, known_codes: set[str]) -> dict:
    if fields.get("retired") is True:
        return {"retired": True}
    code = fields.get("item_code") or ""
    if code and code not in known_codes:
        raise OverlayError(f"事项编码 {code} 不在事项目录中。")
    return {"question": _text(fields, "question", "问题", 4, 200),
            "alt_questions": _lines(fields, "alt_questions", "其他问法", 20, 200),
            "answer": _text(fields, "answer", "答案", 10, 2000),
            "item_code": code, "tags": _lines(fields, "tags", "标签", 10, 20)}


def _materials(value) -> list[dict]:
    if not isinstance(value, list) or not 1 <= len(value) <= 30:
        raise OverlayError("“申请材料”应为1到30项。")
    out = []
    for m in value:
        if not isinstance(m, dict) or not isinstance(m.get("name"), str) or not 2 <= len(m["name"].strip()) <= 100:
            raise OverlayError("每项申请材料都要有2到100个字的名称。")
        try:
            originals, copies = int(m.get("originals", 0)), int(m.get("copies", 0))
        except (TypeError, ValueError):
            raise OverlayError(f"“{m['name']}”的原件、复印件份数应为数字。") from None
        if not (0 <= originals <= 20 and 0 <= copies <= 20):
            raise OverlayError(f"“{m['name']}”的原件、复印件份数应在0到20之间。")
        out.append({"name": m["name"].strip(), "originals": originals, "copies": copies,
                    "required": bool(m.get("required", True)), "note": str(m.get("note") or "").strip()[:200]})
    return out


def _fees(value) -> dict:
    if not isinstance(value, dict):
        raise OverlayError("“收费”格式不正确。")
    fees = {"charged": bool(value.get("charged")), "standard": _text(value, "standard", "收费标准", 2, 200),
            "basis": _text(value, "basis", "收费依据", 2, 200, required=False)}
    if fees["charged"] and not fees["basis"]:
        raise OverlayError("收费事项必须填写收费依据。")
    return fees


def clean_item(fields: dict) -> dict:
    unknown = set(fields) - set(ITEM_FIELDS)
    if unknown:
        raise OverlayError("这些字段不能在线修改：" + "、".join(sorted(unknown)))
    if not fields:
        raise OverlayError("请至少修改一个字段。")
    out: dict = {}
    for name in fields:
        if name == "summary":
            out[name] = _text(fields, name, "事项简介", 10, 500)
        elif name in ("acceptance_conditions", "process"):
            out[name] = _lines(fields, name, {"acceptance_conditions": "受理条件", "process": "办理流程"}[name], 30, 300, 1)
        elif name == "materials":
            out[name] = _materials(fields[name])
        elif name == "fees":
            out[name] = _fees(fields[name])
        elif name == "promised_time_limit":
            out[name] = _text(fields, name, "承诺时限", 2, 40)
        elif name == "online":
            out[name] = _text(fields, name, "网上办理", 0, 300, required=False)
        elif name == "hotline":
            out[name] = _text(fields, name, "咨询电话", 3, 40)
    return out


def clean(kind: str, fields, known_codes: set[str]) -> dict:
    if kind not in KINDS:
        raise OverlayError("只能修改常见问题（faq）或事项（item）。")
    if not isinstance(fields, dict):
        raise OverlayError("内容格式不正确。")
    return clean_faq(fields, known_codes) if kind == "faq" else clean_item(fields)


# --- applying the overlay to the base ---------------------------------------------------------
def faq_entry(entry_id: str, fields: dict) -> FaqEntry:
    return FaqEntry(id=entry_id, question=fields["question"], alt_questions=tuple(fields.get("alt_questions") or ()),
                    answer=" ".join(fields["answer"].split()), item_code=fields.get("item_code") or "",
                    tags=tuple(fields.get("tags") or ()))


def item_with(item: Item, fields: dict) -> Item:
    changes = {}
    for name, value in fields.items():
        if name == "materials":
            changes[name] = tuple(Material(m["name"], m["originals"], m["copies"], m["required"], m["note"]) for m in value)
        elif name in ("acceptance_conditions", "process"):
            changes[name] = tuple(value)
        else:
            changes[name] = value
    return dataclasses.replace(item, **changes)


def apply(catalog: Catalog, faq: dict[str, FaqEntry], published: dict[str, dict]) -> tuple[Catalog, dict[str, FaqEntry]]:
    """The base with every published entry applied. An entry that no longer fits the base (an
    item code gone from the YAML) is skipped and logged, never fatal."""
    items = dict(catalog.items)
    entries = dict(faq)
    for key, record in sorted(published.items()):
        kind, _, target = key.partition(":")
        fields = record.get("fields") or {}
        try:
            if kind == "item":
                if target not in items:
                    raise OverlayError(f"unknown item {target}")
                items[target] = item_with(items[target], clean_item(fields))
            elif kind == "faq":
                cleaned = clean_faq(fields, set(items))
                if cleaned.get("retired"):
                    entries.pop(target, None)
                else:
                    entries[target] = faq_entry(target, cleaned)
        except (OverlayError, KeyError, TypeError) as exc:
            log.error("knowledge overlay entry %s skipped: %s", key, exc)
    return Catalog(items=items, hall=catalog.hall), entries


def decode_published(raw: dict) -> dict[str, dict]:
    return {(k.decode() if isinstance(k, bytes) else k): json.loads(v) for k, v in raw.items()}


def read_published(redis) -> tuple[int, dict[str, dict]]:
    """(version, published entries) read together from a synchronous Redis client, so the
    version always describes exactly the entries returned."""
    pipe = redis.pipeline(transaction=True)
    pipe.get(VERSION)
    pipe.hgetall(PUBLISHED)
    version, raw = pipe.execute()
    return int(version or 0), decode_published(raw)
