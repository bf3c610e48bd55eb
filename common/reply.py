"""One assistant message, channel-neutral: what the gateway hands a channel to render, what the
outbox keeps and what workers deliver. Channels render text and buttons their own way."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Reply:
    """One assistant message, channel-neutral: channels render text and buttons their own way."""
    text: str = ""
    buttons: list[dict] = field(default_factory=list)
    image: str = ""
    custom: dict | None = None

    def as_rest(self, recipient_id: str) -> dict:
        out = {"recipient_id": recipient_id, "text": self.text}
        if self.buttons:
            out["buttons"] = self.buttons
        if self.image:
            out["image"] = self.image
        if self.custom:
            out["custom"] = self.custom
        return out
