"""Channel adapters. `enabled(gateway, settings)` lists the ones this deployment mounts.

The gateway (assistant/app.py) imports this package and hands each adapter what it needs
(channels/base.py); no module here imports the gateway."""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from channels.base import Channel, Gateway
    from common.config import Settings


def enabled(gateway: "Gateway", cfg: "Settings") -> list["Channel"]:
    from channels.rest import RestChannel
    from channels.sms import SmsChannel
    from channels.sms_settings import SmsSettings
    from channels.telegram_settings import TelegramSettings
    from channels.voice_jambonz import JambonzVoiceChannel
    from channels.voice_twilio import TwilioVoiceChannel
    from channels.web import WebChannel
    from channels.wechat import WeChatChannel
    found: list[Channel] = [RestChannel(gateway)]
    # WeChat official account: always mounted (dev settings by default, WECHAT_* in production).
    found.append(WeChatChannel(gateway))
    # Hotline voice (issue 5): both webhook contracts, on dev secrets unless VOICE_* are set.
    found += [TwilioVoiceChannel(gateway), JambonzVoiceChannel(gateway)]
    if TelegramSettings().token:         # only with a bot: spares the others PTB's 20 MB
        from channels.telegram import TelegramChannel
        found.append(TelegramChannel(gateway))
    if (sms := SmsSettings()).enabled:   # on by default: `make run` starts Kannel and an SMSC
        found.append(SmsChannel(gateway, sms))
    found.append(WebChannel(gateway))          # web chat widget: needs nothing but the gateway
    return found
