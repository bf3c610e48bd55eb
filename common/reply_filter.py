"""The last check before an assistant reply reaches any channel (standard 8.1.2): a reply with
a sensitive word is replaced by a safe apology, logged and queued for review. Words the
citizen wrote in this conversation are not the assistant's own: the summary of a consultation
repeats what the citizen typed, and that goes back only to them (a public consultation is
checked on its own, see actions/filing.py)."""
from __future__ import annotations

import logging

import redis.asyncio as aioredis

from common import safety_review, sensitive, transcript
from common.identity import mask_text
from common.reply import Reply

log = logging.getLogger(__name__)

SAFE_APOLOGY = "抱歉，这条回复暂时无法显示，已转交工作人员核查。您可以换个问法，或输入“转人工”咨询人工服务。"
CITIZEN_CONTEXT = 100            # the citizen's messages searched for the words they wrote themselves


def reply_text(reply: Reply) -> str:
    return "\n".join([reply.text, *(str(b.get("title", "")) for b in reply.buttons)])


class ReplyFilter:
    def __init__(self, redis: aioredis.Redis, words: sensitive.SensitiveWords | None = None):
        self.redis = redis
        self.words = words or sensitive.default()

    async def _citizen_said(self, conv: str) -> str:
        said = [m["text"] for m in await transcript.read(self.redis, conv, CITIZEN_CONTEXT) if m["who"] == "citizen"]
        return sensitive.normalise("\n".join(said))[0]

    async def flagged(self, conv: str, text: str) -> list[str]:
        """Sensitive words in a text about to be sent (staff replies), other than the citizen's own."""
        matches = self.words.find(text)
        said = await self._citizen_said(conv) if matches else ""
        return sorted({m.key for m in matches if m.key not in said})

    async def screen(self, conv: str, channel: str, replies: list[Reply]) -> list[Reply]:
        out, said = [], None
        for reply in replies:
            text = reply_text(reply)
            matches = self.words.find(text)
            if matches and said is None:
                said = await self._citizen_said(conv)
            own = [m for m in matches if m.key not in (said or "")]
            if not own:
                out.append(reply)
                continue
            log.warning("reply withheld conv=%s channel=%s words=%s text=%s", conv, channel,
                        sensitive.summary(own), mask_text(text[:300]))
            await safety_review.add(self.redis, "bot_reply", text, own, conversation=conv, channel=channel)
            out.append(Reply(SAFE_APOLOGY))
        return out
