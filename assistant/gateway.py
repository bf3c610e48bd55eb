"""The one path every channel takes: check the message, find the conversation, ask the engine,
and answer in Chinese even when something behind it fails."""
from __future__ import annotations

import logging
import re
import time

from assistant import rate_limit
from assistant.engine import EngineUnavailable, RasaEngine
from assistant.metrics import ENGINE_ERRORS, TURNS, TURN_SECONDS
from channels import menus
from channels.base import BUSY
from common import audit, outbox, transcript, turn_intent
from common.handoff import Handoff
from common.identity import mask_text
from common.reply import Reply
from common.reply_filter import ReplyFilter
from common.sessions import Sessions, conversation_id
from common.text import normalize

log = logging.getLogger(__name__)

EMPTY = "请输入您要咨询的内容，例如“居住证怎么办理”。"
TOO_LONG = "您的消息太长了（超过{limit}个字），请精简后分几条发送。"
SILENT = "抱歉，我暂时无法回答这个问题。您可以换个说法，或输入“转人工”。"
TOO_FAST = "您发送得太快了，请稍等一分钟再试。"
QUEUED = "正在为您转接{department}的人工服务，您前面还有{ahead}位，预计等待约{minutes}分钟。发送“取消排队”可返回智能助手。"
LEFT_QUEUE = "已取消人工排队，智能助手继续为您服务。请问还有什么可以帮您？"
LEAVE_QUEUE_RE = re.compile(r"取消排队|不等了|取消人工|返回智能助手|退出排队|算了")


class Gateway:
    def __init__(self, engine: RasaEngine, sessions: Sessions, max_chars: int, per_minute: int = 30):
        self.engine, self.sessions, self.max_chars, self.per_minute = engine, sessions, max_chars, per_minute
        self.redis = sessions.redis
        self.handoff = Handoff(self.redis)
        self.reply_filter = ReplyFilter(self.redis)

    async def handle(self, channel: str, user_id: str, text: str, metadata: dict | None = None,
                     numbered: bool = False) -> list[Reply]:
        """One citizen message in, the assistant's replies out. Raises BadUserId for a bad id.

        `numbered`: the channel shows buttons as numbered options (SMS, voice), so a bare digit
        picks option N of the previous replies (see channels/menus.py)."""
        conv = conversation_id(channel, user_id)
        text = (text or "").strip()
        if not text:
            return [Reply(EMPTY)]
        if len(text) > self.max_chars:
            return [Reply(TOO_LONG.format(limit=self.max_chars))]
        if not await rate_limit.allowed(self.redis, conv, self.per_minute):
            return [Reply(TOO_FAST)]
        await self.sessions.touch(channel, user_id, conv)
        handoff = await self.handoff.status(conv)
        if handoff:
            return await self.with_staff(conv, channel, text, handoff)
        if numbered:
            text = await menus.resolve(self.redis, conv, text)
        await transcript.append(self.redis, conv, "citizen", text, channel)
        started = time.monotonic()
        try:
            replies = await self.engine.turn(conv, normalize(text, lower=False), {"channel": channel, **(metadata or {})})
        except EngineUnavailable as exc:
            ENGINE_ERRORS.inc()
            log.error("engine unavailable for %s: %s", conv, exc)
            await self.audit_turn(conv, channel, text, error="engine_unavailable")
            return [Reply(BUSY)]
        elapsed = time.monotonic() - started
        TURNS.labels(channel).inc()
        TURN_SECONDS.labels(channel).observe(elapsed)
        log.info("turn channel=%s conv=%s chars=%d replies=%d ms=%.0f text=%s", channel, conv, len(text),
                 len(replies), elapsed * 1000, mask_text(text[:200]))
        await self.audit_turn(conv, channel, text, intent=await turn_intent.take(self.redis, conv))
        # Anything that arrived for this citizen since the last turn (e.g. the number of a
        # filing the hall took late) comes first.
        replies = await outbox.drain(self.redis, conv) + (replies or [Reply(SILENT)])
        replies = await self.reply_filter.screen(conv, channel, replies)      # standard 8.1.2
        for reply in replies:
            await transcript.append(self.redis, conv, "bot", reply.text, channel)
        if numbered:
            await menus.remember(self.redis, conv, replies)
        return replies

    async def with_staff(self, conv: str, channel: str, text: str, handoff: dict) -> list[Reply]:
        """A conversation queued for or held by staff: the bot stays silent; the message goes to
        the staff console. While queued the citizen sees their place and may leave the queue."""
        await transcript.append(self.redis, conv, "citizen", text, channel)
        await self.audit_turn(conv, channel, text, intent=handoff.get("intent", ""), handoff=handoff["state"])
        if handoff["state"] == "queued" and LEAVE_QUEUE_RE.search(text):
            if await self.handoff.cancel(conv):
                return [Reply(LEFT_QUEUE)]
            handoff = await self.handoff.status(conv) or handoff     # claimed meanwhile: staff see it
        await self.handoff.publish("message", conversation=conv, department=handoff["department"], who="citizen")
        waiting = await outbox.drain(self.redis, conv)           # staff replies for channels that cannot push
        if handoff["state"] == "queued":
            waiting.append(await self.queue_notice(conv, handoff["department"]))
        return waiting

    async def audit_turn(self, conv: str, channel: str, text: str, intent: str = "", **extra) -> None:
        """Standard 8.1.3: every turn in the audit trail (audit masks the text)."""
        await audit.record(self.redis, conv, "citizen", "turn", conv, "", channel=channel, intent=intent,
                           text=text[:200], **extra)

    async def queue_notice(self, conv: str, department: str) -> Reply:
        position = await self.handoff.position(conv) or 1
        wait = await self.handoff.estimated_wait_s(position, department)
        return Reply(QUEUED.format(department=department, ahead=position - 1, minutes=max(1, round(wait / 60))))
