"""Hotline voice over the Twilio webhook contract (TwiML), which Twilio and the TwiML-speaking
gateways in front of Asterisk or FreeSWITCH use: the platform POSTs form fields (CallSid,
From, SpeechResult, Confidence, Digits), signed in X-Twilio-Signature with the account's auth
token, and gets back <Response><Gather input="speech dtmf"><Say>…</Say></Gather></Response>.

Routes (configure the number's voice URL to the first, its status callback to the last):
  POST /webhooks/voice/twilio          a call comes in
  POST /webhooks/voice/twilio/gather   what the caller said or pressed (or silence)
  POST /webhooks/voice/twilio/dial     the staff transfer ended
  POST /webhooks/voice/twilio/status   the call ended"""
from __future__ import annotations

from dataclasses import dataclass, field

from aiohttp import web
from twilio.request_validator import SIGNATURE_SETTINGS_HEADER, RequestValidator, get_signature_algorithm
from twilio.twiml.voice_response import VoiceResponse

from channels.asr_repair import KEY_PHRASES
from channels.base import Gateway
from channels.voice_call import BadCall, Step, VoiceSettings
from channels.voice_channel import VoiceChannel
from common.env import env

PATH = "/webhooks/voice/twilio"
SIGNATURE_HEADER = "X-Twilio-Signature"
# DialCallStatus values meaning staff took the call.
CONNECTED = ("completed", "answered")
ENDED = ("completed", "busy", "failed", "no-answer", "canceled")



@dataclass(frozen=True)
class TwilioSettings:
    # The account's auth token: the key of X-Twilio-Signature.
    auth_token: str = field(default_factory=lambda: env("VOICE_TWILIO_AUTH_TOKEN", "dev-twilio-token-change-me"))
    # The SharedKey secret, for webhooks signed under a Webhooks Rule
    # (X-Twilio-Webhooks-Signature-Settings present); empty when none is set up.
    shared_key: str = field(default_factory=lambda: env("VOICE_TWILIO_SHARED_KEY", ""))
    # scheme://host[:port] the platform calls, when a proxy in front changes it: the signature
    # covers the URL exactly as the platform requested it.
    public_url: str = field(default_factory=lambda: env("VOICE_PUBLIC_URL", ""))
    # <Say voice=…> (e.g. Polly.Zhiyu); empty leaves the platform's default voice for the language.
    voice: str = field(default_factory=lambda: env("VOICE_TWILIO_VOICE", ""))


def _text(status: int, message: str) -> web.Response:
    return web.Response(status=status, text=message, content_type="text/plain", charset="utf-8")


class TwilioVoiceChannel(VoiceChannel):
    name = "voice_twilio"
    path = PATH

    def __init__(self, gateway: Gateway, cfg: TwilioSettings | None = None, voice: VoiceSettings | None = None):
        super().__init__(gateway, voice)
        self.cfg = cfg or TwilioSettings()

    # --- requests ------------------------------------------------------------------------
    async def incoming(self, request: web.Request) -> web.Response:
        return await self._handle(request, lambda p: self.calls.start(p.get("CallSid", ""), p.get("From", "")))

    async def gathered(self, request: web.Request) -> web.Response:
        def hear(p):
            confidence = p.get("Confidence")
            return self.calls.hear(p.get("CallSid", ""), p.get("From", ""), speech=p.get("SpeechResult", ""),
                                   confidence=float(confidence) if _is_number(confidence) else None,
                                   digits=p.get("Digits", ""), delivery=self.delivery)
        return await self._handle(request, hear)

    async def dialled(self, request: web.Request) -> web.Response:
        return await self._handle(request, lambda p: self.calls.transfer_ended(
            p.get("CallSid", ""), p.get("DialCallStatus", "") in CONNECTED))

    async def status(self, request: web.Request) -> web.Response:
        params = await self._verified(request)
        if params is None:
            return _text(403, "签名校验失败")
        if params.get("CallStatus") in ENDED:
            try:
                await self.calls.end(params.get("CallSid", ""))
            except BadCall:
                return _text(400, "请求格式错误：缺少有效的 CallSid")
        return web.Response(text=str(VoiceResponse()), content_type="text/xml", charset="utf-8")

    async def _handle(self, request: web.Request, step_of) -> web.Response:
        params = await self._verified(request)
        if params is None:
            return _text(403, "签名校验失败")
        try:
            step = await self.calls.guarded(step_of(params))
        except BadCall:
            return _text(400, "请求格式错误：缺少有效的 CallSid")
        return web.Response(text=self.twiml(step), content_type="text/xml", charset="utf-8")

    async def _verified(self, request: web.Request):
        """The form fields when X-Twilio-Signature is right for this URL and body, else None."""
        params = await request.post()
        signature = request.headers.get(SIGNATURE_HEADER, "")
        settings_header = request.headers.get(SIGNATURE_SETTINGS_HEADER)
        secret = self.cfg.shared_key if settings_header else self.cfg.auth_token
        if not signature or not secret:
            return None
        url = self.cfg.public_url.rstrip("/") + request.path_qs if self.cfg.public_url else str(request.url)
        valid = RequestValidator(secret).validate(url, params, signature, get_signature_algorithm(settings_header))
        return params if valid else None

    # --- TwiML ---------------------------------------------------------------------------
    def twiml(self, step: Step) -> str:
        cfg, voice = self.calls.cfg, {"voice": self.cfg.voice} if self.cfg.voice else {}
        response = VoiceResponse()
        if step.action == "listen":
            # One key ends the gather at once; finishOnKey="" so # arrives as a key (back)
            # instead of ending input. Speech or a key cuts the prompt short (barge-in).
            gather = response.gather(input="speech dtmf", action=f"{PATH}/gather", method="POST",
                                     language=cfg.language, num_digits=1, finish_on_key="",
                                     timeout=cfg.gather_timeout_s, speech_timeout="auto", barge_in=True,
                                     action_on_empty_result=True, hints=",".join(KEY_PHRASES))
            gather.say(step.text, language=cfg.language, **voice)
            # A gateway that ignores actionOnEmptyResult falls through to here: silence.
            response.redirect(f"{PATH}/gather", method="POST")
        elif step.action == "transfer":
            response.say(step.text, language=cfg.language, **voice)
            response.dial(step.number, action=f"{PATH}/dial", method="POST", answer_on_bridge=True)
        else:
            response.say(step.text, language=cfg.language, **voice)
            response.hangup()
        return str(response)


def _is_number(value) -> bool:
    try:
        float(value)
        return True
    except (TypeError, ValueError):
        return False
