"""Reading the current turn from the tracker: text, intent, entities, slots."""
from __future__ import annotations

from rasa_sdk import Tracker

from knowledge.text import normalize


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
