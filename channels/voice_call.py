"""The hotline's call flow, the same whichever gateway carries the call (Twilio-style TwiML or
jambonz JSON verbs): what to say next and whether to listen, transfer or hang up, given what
the caller said or pressed. The platform adapters only translate requests and `Step`s.

Keys: 1..8 pick an option of the spoken menu (the gateway's numbered menu), 9 hears the next
part of a long answer, 0 transfers to staff, * repeats the last prompt, # goes one step back.
Per call, in Redis (keyed by the platform's call id): the last prompt, the menu, the parts
still to read, a pending guess or SMS offer, and how many reprompts in a row were needed."""
from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Awaitable
from dataclasses import asdict, dataclass, field
from functools import cache

import redis.asyncio as aioredis

from channels import menus, voice_render
from channels.asr_repair import AsrRepairer
from channels.base import BUSY, Gateway
from common.delivery import Delivery
from common.env import env
from common.handoff import Handoff
from common.reply import Reply
from common.sessions import conversation_id
from common.text import normalize
from knowledge.catalog import Catalog, load_catalog

log = logging.getLogger(__name__)

CALL_TTL_S = 4 * 3600
SMS_TEMPLATE = "service_details"
_ITEM_CODE = re.compile(r"440300-\d{3}-(?:XK|QR|GF|ZS|GG|QT)-\d{4}")
_MOBILE = re.compile(r"1[3-9]\d{9}")
# Platform call ids (Twilio CA…, 34 characters; jambonz UUIDs); short enough that "call-<id>"
# is still a valid gateway user id.
_CALL_ID = re.compile(r"^[\w.:@-]{1,100}$")
_STAFF_PHRASES = ("转人工", "人工服务", "人工客服", "人工坐席", "找人工")
_YES = {"是", "是的", "对", "对的", "好", "好的", "要", "需要", "发送", "可以", "嗯", "确认"}
_NO = {"不是", "不对", "不", "不用", "不需要", "不要", "跳过", "算了", "错了"}

GREETING_KEYS = "重听请按星号键，返回上一步请按井号键。"
MORE = "继续收听请按九。"
OFFER_SMS = "需要把材料清单发送到您的手机吗？按一发送，按二跳过。"
CONFIRM_KEYS = "是请按一，不是请按二。"
SAY_AGAIN = "好的，请您再说一遍要办理的事情，人工服务请按零。"
ASK_ANYTHING = "请说出您要办理的事情，人工服务请按零。"
NO_INPUT = "抱歉，没有听到您的声音。"
NO_MATCH = "抱歉，我没有听清。"
NO_OPTION = "抱歉，没有这个选项。"
OFFER_STAFF = "需要人工服务请按零，您也可以直接说出要办理的事情。"
GOODBYE = "感谢您的来电，再见。如需帮助请再次拨打本热线。"
TRANSFERRING = "正在为您转接人工服务，请稍候。"
STAFF_BUSY = "抱歉，人工坐席暂时无法接通，请稍后再试。"
SMS_SENT = "已将{service}的材料清单发送到您尾号{tail}的手机，请注意查收。"
SMS_FAILED = "抱歉，短信暂时无法发送，您可以在深圳市网上办事大厅查看材料清单。"
SYSTEM_ERROR = "抱歉，系统出现异常，请稍后再拨。"



@dataclass(frozen=True)
class VoiceSettings:
    # The staff queue a caller is transferred to (key 0, or "转人工").
    staff_number: str = field(default_factory=lambda: env("VOICE_STAFF_NUMBER", "12345"))
    # Recognition and synthesis language passed to the platform.
    language: str = field(default_factory=lambda: env("VOICE_LANGUAGE", "zh-CN"))
    # Below this recogniser confidence (0..1) the heard words are confirmed before acting.
    min_confidence: float = field(default_factory=lambda: float(env("VOICE_MIN_ASR_CONFIDENCE", "0.5")))
    # Characters per spoken part of a long answer (about 25 seconds of speech).
    part_chars: int = field(default_factory=lambda: int(env("VOICE_PART_CHARS", "120")))
    # Seconds of silence before a prompt counts as unanswered.
    gather_timeout_s: int = field(default_factory=lambda: int(env("VOICE_GATHER_TIMEOUT_S", "6")))
    # Longest wait for the assistant's answer: platforms give a webhook 10 (jambonz) to 15
    # (Twilio) seconds before they drop the call, so the caller hears "busy" instead.
    turn_timeout_s: float = field(default_factory=lambda: float(env("VOICE_TURN_TIMEOUT_S", "8")))


@dataclass(frozen=True)
class Step:
    """What the platform does next: say `text`, then listen for speech or a key, transfer
    the call to `number`, or hang up."""
    text: str
    action: str = "listen"        # listen | transfer | hangup
    number: str = ""


@dataclass
class CallState:
    user: str                       # the gateway user id: the caller's number, else the call id
    mobile: str = ""                # where an SMS can go; "" for landlines and hidden numbers
    prompt: str = ""                # the last prompt spoken, for *
    tail: str = ""                  # what the caller is asked at the end of it (menu, offer…)
    titles: list[str] = field(default_factory=list)   # options of the spoken menu, 1..N
    parts: list[str] = field(default_factory=list)    # parts of the answer not read yet
    stage: str = "menu"             # menu | offer (SMS offer pending) | confirm (guess pending)
    offer: str = ""                 # item code offered by SMS
    offered: list[str] = field(default_factory=list)  # item codes offered in this call: once each
    pending: str = ""               # the repaired text awaiting the caller's yes
    misses: int = 0                 # reprompts in a row (no input, no match)


class BadCall(ValueError):
    """A request without a usable call id."""


def normalise_caller(raw: str) -> str:
    """The caller's number as Chinese numbering writes it (+86 and 0086 removed; landlines keep
    their 0 area code); "" for a hidden or non-numeric caller id."""
    value = re.sub(r"^(?:tel:|sip:)", "", (raw or "").strip(), flags=re.I).split("@")[0]
    value = re.sub(r"[\s()-]", "", value)
    if value.startswith("+86"):
        value = value[3:]
    elif value.startswith("0086"):
        value = value[4:]
    elif len(value) == 13 and value.startswith("861"):
        value = value[2:]
    if re.fullmatch(r"[1-9]\d{9,10}", value) and not value.startswith("1"):
        value = "0" + value       # +86 755 xxxxxxxx: the area code's trunk 0 comes back
    if re.fullmatch(r"\+?\d{3,20}", value):
        return value
    return ""


@cache
def catalog() -> Catalog:
    return load_catalog()


@cache
def repairer() -> AsrRepairer:
    return AsrRepairer.from_catalog(catalog())


def sms_variables(code: str) -> dict[str, str] | None:
    """Variables of the service_details SMS template for a catalog item, None if unknown."""
    item = catalog().get(code)
    if item is None:
        return None
    return {"service": item.name, "code": item.code, "materials": "；".join(m.describe() for m in item.materials)}


class VoiceCalls:
    """Call flow of one platform's calls; `channel` names the conversations (voice_twilio…)."""

    def __init__(self, gateway: Gateway, channel: str, cfg: VoiceSettings | None = None):
        self.gateway, self.channel = gateway, channel
        self.cfg = cfg or VoiceSettings()
        self.redis: aioredis.Redis = gateway.redis

    def warm_up(self) -> None:
        """Loads the catalog and the repair lexicon before the first call needs them."""
        repairer()

    async def guarded(self, step: Awaitable[Step]) -> Step:
        """The step, or an apology and a hang-up when something behind it broke: a caller
        never hears silence or a platform error tone."""
        try:
            return await step
        except BadCall:
            raise
        except Exception:
            log.exception("voice call step failed on %s", self.channel)
            return Step(SYSTEM_ERROR, "hangup")

    # --- state ---------------------------------------------------------------------------
    def _key(self, call_id: str) -> str:
        return f"voicecall:{self.channel}:{call_id}"

    async def _load(self, call_id: str) -> CallState | None:
        raw = await self.redis.get(self._key(call_id))
        return CallState(**json.loads(raw)) if raw else None

    async def _save(self, call_id: str, state: CallState) -> None:
        await self.redis.set(self._key(call_id), json.dumps(asdict(state), ensure_ascii=False), ex=CALL_TTL_S)

    @staticmethod
    def _check(call_id: str) -> str:
        if not _CALL_ID.match(call_id or ""):
            raise BadCall(call_id)
        return call_id

    def _new_state(self, call_id: str, caller: str) -> CallState:
        number = normalise_caller(caller)
        return CallState(user=number or f"call-{call_id}", mobile=number if _MOBILE.fullmatch(number) else "")

    # --- platform events -----------------------------------------------------------------
    async def start(self, call_id: str, caller: str) -> Step:
        """A call came in: the assistant's greeting with its menu and the key hints."""
        state = self._new_state(self._check(call_id), caller)
        replies = await self._ask(call_id, state, "/greet")
        return await self._answer(call_id, state, replies, extra=GREETING_KEYS)

    async def hear(self, call_id: str, caller: str, speech: str = "", confidence: float | None = None,
                   digits: str = "", delivery: Delivery | None = None) -> Step:
        """The result of listening: recognised speech (with the recogniser's confidence when
        the platform gives one), a key, or neither (silence)."""
        state = await self._load(self._check(call_id)) or self._new_state(call_id, caller)
        speech, digits = (speech or "").strip(), (digits or "").strip()
        if digits:
            return await self._key_pressed(call_id, state, digits[0], delivery)
        if speech:
            return await self._speech(call_id, state, speech, confidence, delivery)
        return await self._miss(call_id, state, NO_INPUT)

    async def transfer_ended(self, call_id: str, connected: bool) -> Step:
        """The staff transfer finished: the call is done if staff took it, else back to the menu."""
        state = await self._load(self._check(call_id))
        if connected or state is None:
            await self.end(call_id)
            return Step(GOODBYE, "hangup")
        return await self._prompt(call_id, state, STAFF_BUSY + (state.tail or ASK_ANYTHING))

    async def end(self, call_id: str) -> None:
        await self.redis.delete(self._key(self._check(call_id)))

    # --- input ---------------------------------------------------------------------------
    async def _key_pressed(self, call_id: str, state: CallState, key: str, delivery: Delivery | None) -> Step:
        if key == "0":
            return await self._transfer(call_id, state)
        if key == "*":
            state.misses = 0
            return await self._prompt(call_id, state, state.prompt or ASK_ANYTHING)
        if key == "#":
            return await self._turn(call_id, state, "返回上一步")
        if state.stage == "confirm" and key in "12":
            return await self._confirmed(call_id, state, key == "1")
        if state.stage == "offer" and key in "12":
            return await self._offer_answered(call_id, state, key == "1", delivery)
        if key == "9" and state.parts:
            return await self._next_part(call_id, state)
        # While a question of the call's own is open, only its keys count: the menu has not
        # been read yet.
        if state.stage == "menu" and key.isdigit() and 1 <= int(key) <= len(state.titles):
            conv = conversation_id(self.channel, state.user)
            if await menus.resolve(self.redis, conv, key) == "/request_human":
                return await self._transfer(call_id, state)
            return await self._turn(call_id, state, key)
        return await self._miss(call_id, state, NO_OPTION)

    async def _speech(self, call_id: str, state: CallState, heard: str, confidence: float | None,
                      delivery: Delivery | None) -> Step:
        said = re.sub(r"[\s，。！？,.!?]", "", heard)
        if state.stage in ("confirm", "offer") and (said in _YES or said in _NO):
            if state.stage == "confirm":
                return await self._confirmed(call_id, state, said in _YES)
            return await self._offer_answered(call_id, state, said in _YES, delivery)
        if not re.search(r"[\u4e00-\u9fffA-Za-z0-9]", heard):
            return await self._miss(call_id, state, NO_MATCH)
        # A leading "/" would reach the dialogue as an intent payload; callers only speak words.
        repair = repairer().repair(normalize(heard, lower=False).lstrip("/"))
        if repair.changed:
            log.info("asr repair call=%s fixes=%s", call_id, [(f.heard, f.phrase.text, round(f.score, 2)) for f in repair.fixes])
        unsure = confidence is not None and confidence < self.cfg.min_confidence
        if repair.needs_confirmation or unsure:
            state.stage, state.pending, state.misses = "confirm", repair.text, 0
            question = repair.question() if repair.needs_confirmation else f"您是想说“{repair.text}”吗？"
            state.tail = voice_render.speakable(question) + CONFIRM_KEYS
            return await self._prompt(call_id, state, state.tail)
        return await self._turn(call_id, state, repair.text)

    async def _confirmed(self, call_id: str, state: CallState, yes: bool) -> Step:
        text, state.pending, state.stage = state.pending, "", "menu"
        if yes and text:
            return await self._turn(call_id, state, text)
        state.misses, state.tail = 0, SAY_AGAIN
        return await self._prompt(call_id, state, SAY_AGAIN)

    async def _offer_answered(self, call_id: str, state: CallState, yes: bool, delivery: Delivery | None) -> Step:
        code, state.offer, state.stage, state.misses = state.offer, "", "menu", 0
        said = await self._send_details(state, code, delivery) if yes else "好的。"
        state.tail = voice_render.menu(state.titles) if state.titles else ASK_ANYTHING
        return await self._prompt(call_id, state, said + (MORE if state.parts else "") + state.tail)

    async def _send_details(self, state: CallState, code: str, delivery: Delivery | None) -> str:
        variables = sms_variables(code)
        sent = False
        if variables and state.mobile and delivery is not None:
            try:
                sent = await delivery.sms(state.mobile, SMS_TEMPLATE, variables)
            except Exception:   # an SMS failure must not end the call
                log.exception("service details SMS failed")
        if not sent:
            return SMS_FAILED
        return SMS_SENT.format(service=voice_render.speakable(variables["service"]).rstrip("。"),
                               tail=voice_render.spell(state.mobile[-4:]))

    async def _next_part(self, call_id: str, state: CallState) -> Step:
        state.misses = 0
        part = state.parts.pop(0)
        return await self._prompt(call_id, state, part + (MORE if state.parts else "") + state.tail)

    async def _miss(self, call_id: str, state: CallState, why: str) -> Step:
        """No input or nothing usable: reprompt twice, then offer staff, then say goodbye."""
        state.misses += 1
        if state.misses > 3:
            await self.end(call_id)
            return Step(GOODBYE, "hangup")
        if state.misses == 3:
            return await self._prompt(call_id, state, why + OFFER_STAFF, remember=False)
        return await self._prompt(call_id, state, why + (state.tail or ASK_ANYTHING), remember=False)

    async def _transfer(self, call_id: str, state: CallState) -> Step:
        state.misses = 0
        if not self.cfg.staff_number:     # no staff queue configured: say so, keep the caller
            return await self._prompt(call_id, state, STAFF_BUSY + (state.tail or ASK_ANYTHING), remember=False)
        await self._save(call_id, state)
        # The console shows staff this caller's transcript as the call rings through.
        await Handoff(self.gateway.redis).phone_transfer(conversation_id(self.channel, state.user), self.channel,
                                                         state.user, state.user)
        return Step(TRANSFERRING, "transfer", self.cfg.staff_number)

    # --- the assistant -------------------------------------------------------------------
    async def _turn(self, call_id: str, state: CallState, text: str) -> Step:
        if any(p in text for p in _STAFF_PHRASES):
            return await self._transfer(call_id, state)
        replies = await self._ask(call_id, state, text)
        return await self._answer(call_id, state, replies)

    async def _ask(self, call_id: str, state: CallState, text: str) -> list[Reply]:
        try:
            return await asyncio.wait_for(self.gateway.handle(self.channel, state.user, text, {"call_id": call_id},
                                                              numbered=True), self.cfg.turn_timeout_s)
        except asyncio.TimeoutError:
            log.error("assistant did not answer call %s within %.0f s", call_id, self.cfg.turn_timeout_s)
            return [Reply(BUSY)]

    async def _answer(self, call_id: str, state: CallState, replies: list[Reply], extra: str = "") -> Step:
        """Reads the first part of the replies, then the SMS offer (when they name a service
        and the caller has a mobile) or the menu of their buttons."""
        body = "".join(voice_render.speakable(r.text) for r in replies if r.text)
        parts = voice_render.parts(body, self.cfg.part_chars) or [""]
        state.titles = [b.get("title", "") for b in menus.options(replies)][:voice_render.MAX_OPTIONS]
        state.parts, state.misses, state.pending = parts[1:], 0, ""
        code = next((m.group() for r in replies for m in [_ITEM_CODE.search(r.text or "")] if m), "")
        if code and state.mobile and code not in state.offered and catalog().get(code):
            state.stage, state.offer, state.tail = "offer", code, OFFER_SMS
            state.offered.append(code)
        else:
            state.stage, state.offer = "menu", ""
            state.tail = voice_render.menu(state.titles) if state.titles else ""
        return await self._prompt(call_id, state, parts[0] + (MORE if state.parts else "") + state.tail + extra)

    async def _prompt(self, call_id: str, state: CallState, text: str, remember: bool = True) -> Step:
        """Says `text` and listens; remembered for * unless it is a reprompt."""
        if remember:
            state.prompt = text
        await self._save(call_id, state)
        return Step(text)
