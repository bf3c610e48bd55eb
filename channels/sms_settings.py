"""Settings of the SMS channel and of the Kannel it talks through, from the environment with the
dev defaults of `make run` (Kannel and the SMSC simulator started by scripts/stack.py).

The same object configures both ends: scripts/stack.py generates kannel.conf from it
(channels/kannel_config.py) and the gateway's SMS adapter uses it, so the shared secret and
the sendsms credentials can never disagree."""
from __future__ import annotations

from dataclasses import dataclass, field

from common.env import env



@dataclass(frozen=True)
class SmsSettings:
    # Off only when a deployment has no SMS gateway at all.
    enabled: bool = field(default_factory=lambda: env("SMS_ENABLED", "1") not in ("0", "false", "no"))
    kannel_host: str = field(default_factory=lambda: env("KANNEL_HOST", "127.0.0.1"))
    admin_port: int = field(default_factory=lambda: int(env("KANNEL_ADMIN_PORT", "13000")))
    admin_password: str = field(default_factory=lambda: env("KANNEL_ADMIN_PASSWORD", "dev-kannel-admin-change-me"))
    smsbox_port: int = field(default_factory=lambda: int(env("KANNEL_SMSBOX_PORT", "13001")))
    sendsms_port: int = field(default_factory=lambda: int(env("KANNEL_SENDSMS_PORT", "13013")))
    sendsms_user: str = field(default_factory=lambda: env("KANNEL_SENDSMS_USER", "hall-assistant"))
    sendsms_password: str = field(default_factory=lambda: env("KANNEL_SENDSMS_PASSWORD", "dev-sendsms-change-me"))
    # The carrier's SMSC (the embedded simulator by default) and the account Kannel binds with.
    smsc_host: str = field(default_factory=lambda: env("SMSC_HOST", "127.0.0.1"))
    smsc_port: int = field(default_factory=lambda: int(env("SMSC_PORT", "2775")))
    smsc_system_id: str = field(default_factory=lambda: env("SMSC_SYSTEM_ID", "hallsms"))
    smsc_password: str = field(default_factory=lambda: env("SMSC_PASSWORD", "dev-smpp"))
    # Charset of MO messages with data_coding 0: Chinese carriers send GB18030 there
    # (SZDB/Z 179-2016 6.3.2.1); it is a superset of ASCII, so plain digits still read right.
    smsc_default_charset: str = field(default_factory=lambda: env("SMSC_DEFAULT_CHARSET", "GB18030"))
    # Simulator's control port (inject MO, list MT); only the embedded SMSC has one.
    smsc_control_port: int = field(default_factory=lambda: int(env("SMSC_CONTROL_PORT", "2776")))
    # Kannel's get-url carries this secret; the gateway refuses inbound requests without it.
    inbound_secret: str = field(default_factory=lambda: env("SMS_INBOUND_SECRET", "dev-sms-secret-change-me"))
    # Addresses the inbound endpoint accepts requests from (where smsbox runs).
    allowed_ips: tuple[str, ...] = field(default_factory=lambda: tuple(
        ip.strip() for ip in env("SMS_ALLOWED_IPS", "127.0.0.1,::1").split(",") if ip.strip()))
    # The registered service number citizens text and receive from.
    sender: str = field(default_factory=lambda: env("SMS_SENDER", "1069012345"))
    # Longest conversational reply, in SMS segments; the rest waits for "更多".
    max_segments: int = field(default_factory=lambda: int(env("SMS_MAX_SEGMENTS", "3")))
    # Longest message Kannel will send at all (templated notifications may not be cut).
    kannel_max_segments: int = field(default_factory=lambda: int(env("KANNEL_MAX_MESSAGES", "6")))
    sendsms_timeout_s: float = field(default_factory=lambda: float(env("KANNEL_SENDSMS_TIMEOUT_S", "10")))

    @property
    def sendsms_url(self) -> str:
        return f"http://{self.kannel_host}:{self.sendsms_port}/cgi-bin/sendsms"
