"""Reading the current turn from the tracker: text, intent, entities, slots."""
from __future__ import annotations

import re

from rasa_sdk import Tracker

from common.text import normalize

# Words of an angry or exasperated citizen: they are offered a person at once (not after two
# failed turns).
UPSET_RE = re.compile(r"气死|太差|垃圾|什么破|破系统|投诉你们|态度恶劣|骗子|搞什么|烦死|无语|坑人|不负责任|听不懂人话|人工人工|[!！]{2,}")


def text(tracker: Tracker) -> str:
    return normalize(tracker.latest_message.get("text") or "", lower=False)


def intent(tracker: Tracker) -> str:
    return (tracker.latest_message.get("intent") or {}).get("name") or ""


def entity(tracker: Tracker, name: str) -> str | None:
    values = [e.get("value") for e in tracker.latest_message.get("entities") or [] if e.get("entity") == name]
    return str(values[0]) if values and values[0] is not None else None


def is_button(tracker: Tracker) -> bool:
    """Button payloads ("/intent{...}") bypass NLU; their text is not the citizen's words."""
    return (tracker.latest_message.get("text") or "").startswith("/")


def is_upset(tracker: Tracker) -> bool:
    return bool(UPSET_RE.search(text(tracker)))
