"""Client of Kannel's sendsms HTTP interface (smsbox): one MT message per call, Chinese text
as UCS-2 (coding=2) from UTF-8 (charset=UTF-8); Kannel splits a long text into concatenated
parts with a UDH, up to the sendsms user's max-messages."""
from __future__ import annotations

import asyncio
import logging
from urllib.parse import quote, urlencode

import aiohttp
from yarl import URL

from channels.phone import mask
from channels.sms_settings import SmsSettings

log = logging.getLogger(__name__)
UCS2 = 2
# Kannel answers 202 with "0: Accepted for delivery" or "3: Queued for later delivery"
# (kept in its store until the SMSC takes it); both mean Kannel owns the message now.
ACCEPTED = ("0:", "3:")
RETRY_DELAYS_S = (0.5, 2.0)   # smsbox restarting: a couple of quick retries, then give up


class KannelSendSms:
    def __init__(self, settings: SmsSettings):
        self.settings = settings
        self.timeout = aiohttp.ClientTimeout(total=settings.sendsms_timeout_s)
        self._session: aiohttp.ClientSession | None = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self.timeout)
        return self._session

    def _url(self, to: str, text: str) -> URL:
        s = self.settings
        # Encoded here, not by aiohttp: every byte of the text must reach Kannel as
        # UTF-8 percent-escapes ('+' included, which would otherwise read as a space).
        query = urlencode({"username": s.sendsms_user, "password": s.sendsms_password, "from": s.sender,
                           "to": to, "text": text, "coding": UCS2, "charset": "UTF-8"}, quote_via=quote)
        return URL(f"{s.sendsms_url}?{query}", encoded=True)

    async def send(self, to: str, text: str) -> bool:
        """True once Kannel has accepted the message; False (logged) when it refused or is down."""
        for delay in (*RETRY_DELAYS_S, None):
            try:
                async with self._http().get(self._url(to, text)) as resp:
                    answer = (await resp.text(errors="replace")).strip()
                    if resp.status in (200, 202) and answer.startswith(ACCEPTED):
                        return True
                    # Kannel's answer names the problem and never echoes the text or number.
                    log.error("sendsms to %s refused: %d %s", mask(to), resp.status, answer[:200])
                    return False
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                if delay is None:
                    log.error("sendsms to %s failed: %s", mask(to), exc or type(exc).__name__)
                    return False
                await asyncio.sleep(delay)
        return False

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
