"""Channel adapters. `enabled(gateway, settings)` lists the ones this deployment mounts."""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from assistant.config import Settings
    from assistant.gateway import Gateway
    from channels.base import Channel


def enabled(gateway: "Gateway", cfg: "Settings") -> list["Channel"]:
    from channels.rest import RestChannel
    found: list[Channel] = [RestChannel(gateway)]
    import os
    if os.environ.get("TELEGRAM_TOKEN"):    # only with a bot: spares the others PTB's 20 MB
        from channels.telegram import TelegramChannel
        found.append(TelegramChannel(gateway))
    return found
