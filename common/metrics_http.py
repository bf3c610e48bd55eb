"""Serving Prometheus metrics over aiohttp, shared by the gateway and the hall: the text format,
and an optional bearer token (`METRICS_TOKEN`; metrics hold no personal data, but need not be
public). Defines no metric itself, so each process shows only its own."""
from __future__ import annotations

import hmac
from dataclasses import dataclass

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, disable_created_metrics, generate_latest

from common.env import setting

disable_created_metrics()       # the *_created series only double the output


@dataclass(frozen=True)
class MetricsSettings:
    token: str = setting("METRICS_TOKEN", "")

    def allows(self, request: web.Request) -> bool:
        given = request.headers.get("Authorization", "").encode()
        return not self.token or hmac.compare_digest(given, f"Bearer {self.token}".encode())


def exposition(request: web.Request, cfg: MetricsSettings) -> web.Response:
    """The text format Prometheus scrapes, or 401 when a token is configured and not given."""
    if not cfg.allows(request):
        return web.json_response({"error": "unauthorized", "message": "需要监控令牌。"}, status=401)
    return web.Response(body=generate_latest(), headers={"Content-Type": CONTENT_TYPE_LATEST})
