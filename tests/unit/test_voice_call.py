"""The voice channel's own checks that need no running stack: who is calling, the SMS of a
service's details, and jambonz's request authentication and gather payloads."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest
import yaml

from channels.voice_call import normalise_caller, sms_variables
from channels.voice_jambonz import basic_auth_valid, heard, signature_valid
from tests.conftest import ROOT

SECRET = "wh_secret_1"
NOW = 1_800_000_000


def jambonz_header(body: bytes, secret: str = SECRET, at: int = NOW) -> str:
    """Signed as jambonz's feature server does: HMAC-SHA256 of "<t>.<JSON body>", hex."""
    return f"t={at},v1=" + hmac.new(secret.encode(), f"{at}.".encode() + body, hashlib.sha256).hexdigest()


@pytest.mark.parametrize("raw, number", [
    ("+8613912345678", "13912345678"), ("008613912345678", "13912345678"), ("8613912345678", "13912345678"),
    ("13912345678", "13912345678"), ("+86 139-1234-5678", "13912345678"), ("sip:+8613912345678@10.0.0.1", "13912345678"),
    ("+8675584465000", "075584465000"), ("075584465000", "075584465000"), ("+85291234567", "+85291234567"),
    ("anonymous", ""), ("", ""), ("Restricted", ""),
])
def test_caller_numbers_are_normalised(raw, number):
    assert normalise_caller(raw) == number


def test_service_details_fill_the_registered_sms_template():
    templates = yaml.safe_load((ROOT / "channels" / "sms_templates.yaml").read_text(encoding="utf-8"))
    variables = sms_variables("440300-001-QR-0001")
    text = templates["service_details"].format(**variables)
    assert "深圳市居住证申领（含签注）（440300-001-QR-0001）所需材料：居民身份证（原件1份" in text
    assert "原居住证（如适用）" in text and "{" not in text
    assert sms_variables("440300-999-QR-9999") is None


def test_jambonz_signature_is_checked_against_body_secret_and_time():
    body = json.dumps({"call_sid": "c1", "from": "+8613912345678"}, separators=(",", ":")).encode()
    header = jambonz_header(body)
    assert signature_valid(header, body, (SECRET,), NOW)
    assert signature_valid(header, body, ("old_secret", SECRET), NOW + 299)          # rotation, in tolerance
    assert not signature_valid(header, body + b" ", (SECRET,), NOW)                   # body changed
    assert not signature_valid(header, body, ("another",), NOW)                       # wrong secret
    assert not signature_valid(header, body, (SECRET,), NOW + 301)                    # replayed too late
    assert not signature_valid(header.replace("v1=", "v0="), body, (SECRET,), NOW)    # unknown scheme
    assert not signature_valid("", body, (SECRET,), NOW)
    assert not signature_valid("t=abc,v1=00", body, (SECRET,), NOW)
    both = f"{header},v1={'0' * 64}"
    assert signature_valid(both, body, (SECRET,), NOW)


def test_jambonz_basic_auth():
    good = "Basic " + base64.b64encode(b"hall:pa55").decode()
    assert basic_auth_valid(good, "hall", "pa55")
    assert not basic_auth_valid(good, "hall", "other")
    assert not basic_auth_valid("Basic !!!", "hall", "pa55")
    assert not basic_auth_valid("Bearer abc", "hall", "pa55")
    assert not basic_auth_valid("", "hall", "pa55")


def test_jambonz_gather_payloads():
    speech = {"reason": "speechDetected", "speech": {"is_final": True, "language_code": "zh-CN",
                                                     "alternatives": [{"confidence": 0.42, "transcript": "半天坚度"}]}}
    assert heard(speech) == ("半天坚度", 0.42, "")
    nested = {"reason": "speechDetected", "speech": {"transcripts": [{"alternatives": [{"transcript": "你好"}]}]}}
    assert heard(nested) == ("你好", None, "")
    assert heard({"reason": "dtmfDetected", "digits": "0"}) == ("", None, "0")
    assert heard({"reason": "timeout"}) == ("", None, "")
    assert heard({"reason": "speechDetected", "speech": "garbage"}) == ("", None, "")
    for odd in ({"alternatives": {"a": 1}}, {"alternatives": "x"}, {"transcripts": 5}, {"alternatives": []}):
        assert heard({"reason": "speechDetected", "speech": odd}) == ("", None, "")
