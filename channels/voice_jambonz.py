"""Hotline voice over the jambonz webhook contract: jambonz POSTs the call as JSON (call_sid,
from, and for a gather's actionHook: reason, speech.alternatives[].transcript/confidence,
digits) and gets back a JSON array of verbs (gather with a nested say, say, dial or sip:refer,
hangup).

Authentication is jambonz's own: the Jambonz-Signature header "t=<unix time>,v1=<hex>", where
v1 is HMAC-SHA256 of "<t>.<raw body>" under the account's webhook secret (several v1 values or
secrets may be current during a rotation; requests older than five minutes are refused), and/or
HTTP basic auth when the application's hooks carry a username and password.

Routes (the application's calling webhook is the first, its call status webhook the last):
  POST /webhooks/voice/jambonz          a call comes in
  POST /webhooks/voice/jambonz/gather   actionHook of gather
  POST /webhooks/voice/jambonz/dial     actionHook of dial / sip:refer
  POST /webhooks/voice/jambonz/status   call status changes"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass, field

from aiohttp import web

from channels.asr_repair import KEY_PHRASES
from channels.base import Gateway
from channels.voice_call import BadCall, Step, VoiceSettings
from channels.voice_channel import VoiceChannel
from common.env import env

PATH = "/webhooks/voice/jambonz"
SIGNATURE_HEADER = "Jambonz-Signature"
SIGNATURE_SCHEME = "v1"
ENDED = ("completed", "failed", "no-answer", "busy")



@dataclass(frozen=True)
class JambonzSettings:
    # The account's webhook signing secret(s), comma-separated while rotating; empty: no signature.
    webhook_secrets: tuple[str, ...] = field(default_factory=lambda: tuple(
        s.strip() for s in env("VOICE_JAMBONZ_WEBHOOK_SECRET", "dev-jambonz-secret-change-me").split(",") if s.strip()))
    # Basic auth the application's hooks are configured with; empty: not required.
    username: str = field(default_factory=lambda: env("VOICE_JAMBONZ_USERNAME", ""))
    password: str = field(default_factory=lambda: env("VOICE_JAMBONZ_PASSWORD", ""))
    # How staff take the call: "dial" bridges a new leg; "refer" hands the call back to the
    # SIP trunk (REFER), for PBXs that queue it themselves.
    transfer: str = field(default_factory=lambda: env("VOICE_JAMBONZ_TRANSFER", "dial"))
    tolerance_s: int = 300


def signature_valid(header: str, body: bytes, secrets: tuple[str, ...], now: float, tolerance_s: int = 300) -> bool:
    """True when one v1 signature of the Jambonz-Signature header matches the body under one of
    the secrets and its timestamp is within the tolerance."""
    timestamp, signatures = None, []
    for item in (header or "").split(","):
        key, _, value = item.strip().partition("=")
        if key == "t":
            timestamp = value
        elif key == SIGNATURE_SCHEME and value:
            signatures.append(value)
    if not timestamp or not timestamp.isdigit() or not signatures or abs(now - int(timestamp)) > tolerance_s:
        return False
    signed = timestamp.encode() + b"." + body
    expected = [hmac.new(s.encode(), signed, hashlib.sha256).hexdigest() for s in secrets]
    return any(hmac.compare_digest(e, s) for e in expected for s in signatures)


def basic_auth_valid(header: str, username: str, password: str) -> bool:
    scheme, _, encoded = (header or "").partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        given = base64.b64decode(encoded.strip(), validate=True)
    except ValueError:
        return False
    return hmac.compare_digest(given, f"{username}:{password}".encode())


def _json_error(status: int, error: str, message: str) -> web.Response:
    return web.json_response({"error": error, "message": message}, status=status)


def heard(payload: dict) -> tuple[str, float | None, str]:
    """(transcript, confidence, digits) of a gather actionHook; all empty on a timeout."""
    reason = payload.get("reason", "")
    if reason == "dtmfDetected":
        return "", None, str(payload.get("digits") or "")
    if reason != "speechDetected":
        return "", None, ""
    speech = payload.get("speech") if isinstance(payload.get("speech"), dict) else {}
    transcripts = speech.get("transcripts") if isinstance(speech.get("transcripts"), list) else []
    alternatives = speech.get("alternatives") or next(
        (t.get("alternatives") for t in transcripts if isinstance(t, dict)), None)
    # Parsed before the call flow's guard: a malformed payload must not become a 500 (an error tone).
    best = alternatives[0] if isinstance(alternatives, list) and alternatives and isinstance(alternatives[0], dict) else {}
    confidence = best.get("confidence")
    return str(best.get("transcript") or ""), float(confidence) if isinstance(confidence, (int, float)) else None, ""


class JambonzVoiceChannel(VoiceChannel):
    name = "voice_jambonz"
    path = PATH

    def __init__(self, gateway: Gateway, cfg: JambonzSettings | None = None, voice: VoiceSettings | None = None):
        super().__init__(gateway, voice)
        self.cfg = cfg or JambonzSettings()

    # --- requests ------------------------------------------------------------------------
    async def incoming(self, request: web.Request) -> web.Response:
        return await self._handle(request, lambda p: self.calls.start(p.get("call_sid", ""), p.get("from", "")))

    async def gathered(self, request: web.Request) -> web.Response:
        def hear(p):
            speech, confidence, digits = heard(p)
            return self.calls.hear(p.get("call_sid", ""), p.get("from", ""), speech=speech, confidence=confidence,
                                   digits=digits, delivery=self.delivery)
        return await self._handle(request, hear)

    async def dialled(self, request: web.Request) -> web.Response:
        def ended(p):
            if "refer_status" in p:
                connected = p.get("refer_status") == 202 and p.get("final_referred_call_status") in (None, 200)
            else:
                connected = p.get("dial_call_status") == "completed"
            return self.calls.transfer_ended(p.get("call_sid", ""), connected)
        return await self._handle(request, ended)

    async def status(self, request: web.Request) -> web.Response:
        payload = await self._verified(request)
        if isinstance(payload, web.Response):
            return payload
        if payload.get("call_status") in ENDED:
            try:
                await self.calls.end(payload.get("call_sid", ""))
            except BadCall:
                return _json_error(400, "bad_request", "请求格式错误：缺少有效的 call_sid")
        return web.json_response([])

    async def _handle(self, request: web.Request, step_of) -> web.Response:
        payload = await self._verified(request)
        if isinstance(payload, web.Response):
            return payload
        try:
            step = await self.calls.guarded(step_of(payload))
        except BadCall:
            return _json_error(400, "bad_request", "请求格式错误：缺少有效的 call_sid")
        return web.json_response(self.verbs(step))

    async def _verified(self, request: web.Request) -> dict | web.Response:
        """The JSON payload of an authenticated request, or the error response."""
        body = await request.read()
        if not self._authenticated(request, body):
            return _json_error(403, "forbidden", "签名校验失败")
        try:
            payload = json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError):
            return _json_error(400, "bad_request", "请求格式错误：需要 JSON")
        if not isinstance(payload, dict):
            return _json_error(400, "bad_request", "请求格式错误：需要 JSON 对象")
        return payload

    def _authenticated(self, request: web.Request, body: bytes) -> bool:
        if not self.cfg.webhook_secrets and not self.cfg.username:
            return False    # nothing configured to check against: refuse rather than run open
        if self.cfg.username and not basic_auth_valid(request.headers.get("Authorization", ""),
                                                      self.cfg.username, self.cfg.password):
            return False
        return not self.cfg.webhook_secrets or signature_valid(
            request.headers.get(SIGNATURE_HEADER, ""), body, self.cfg.webhook_secrets, time.time(), self.cfg.tolerance_s)

    # --- verbs ---------------------------------------------------------------------------
    def verbs(self, step: Step) -> list[dict]:
        language = self.calls.cfg.language
        say = {"text": step.text, "synthesizer": {"language": language}}
        if step.action == "listen":
            # One key ends the gather; speech or a key cuts the prompt short (barge-in).
            return [{"verb": "gather", "input": ["speech", "digits"], "actionHook": f"{PATH}/gather",
                     "numDigits": 1, "timeout": self.calls.cfg.gather_timeout_s, "bargein": True, "dtmfBargein": True,
                     "listenDuringPrompt": True, "recognizer": {"language": language, "hints": list(KEY_PHRASES)},
                     "say": say}]
        if step.action == "transfer" and self.cfg.transfer == "refer":
            return [{"verb": "say", **say}, {"verb": "sip:refer", "referTo": step.number, "actionHook": f"{PATH}/dial"}]
        if step.action == "transfer":
            return [{"verb": "say", **say}, {"verb": "dial", "target": [{"type": "phone", "number": step.number}],
                                             "actionHook": f"{PATH}/dial", "answerOnBridge": True}]
        return [{"verb": "say", **say}, {"verb": "hangup"}]
