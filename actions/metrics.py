"""Prometheus metrics of the action server: runs by action name and outcome, and run latency.
rasa-sdk serves Sanic without a way to add routes, so prometheus_client's own HTTP server
answers on ACTIONS_METRICS_PORT (5056 by default, 0 = off) in the action server's process, with
METRICS_TOKEN, when set, required as a bearer token like on the gateway and the hall.

Measuring wraps ActionExecutor.run, the one call every action goes through. The wrapper also
hands the intent of the turn to the gateway's audit trail (common/turn_intent.py)."""
from __future__ import annotations

import hmac
import logging
import os
import socket
import sys
import threading
import time
from typing import Callable
from wsgiref.simple_server import WSGIRequestHandler, make_server

import redis.asyncio as aioredis
from prometheus_client import Counter, Histogram, disable_created_metrics, make_wsgi_app
from prometheus_client.exposition import ThreadingWSGIServer
from rasa_sdk.executor import ActionExecutor

from common import turn_intent

log = logging.getLogger(__name__)
ACTION_RUNS = Counter("hall_action_runs", "Custom action runs, by action and outcome", ["action", "outcome"])
ACTION_SECONDS = Histogram("hall_action_seconds", "Time one custom action run took", ["action"],
                           buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10))


def _redis() -> aioredis.Redis:
    from actions.runtime import redis          # the action server's own client (created at import there)
    return redis()


def install(executor: type = ActionExecutor, redis: Callable[[], aioredis.Redis] = _redis) -> None:
    """Wraps executor.run once: counts, times and passes the turn's intent on."""
    original = executor.run
    if getattr(original, "measured", False):
        return

    async def run(self, action_call: dict):
        name = action_call.get("next_action") or ""
        label = name if name in self.actions else "unknown"     # no label per made-up name
        started, outcome = time.perf_counter(), "error"
        try:
            result = await original(self, action_call)
            outcome = "ok"
            return result
        finally:
            ACTION_RUNS.labels(label, outcome).inc()
            ACTION_SECONDS.labels(label).observe(time.perf_counter() - started)
            tracker = action_call.get("tracker") or {}
            intent = ((tracker.get("latest_message") or {}).get("intent") or {}).get("name") or ""
            if intent and tracker.get("sender_id"):
                try:
                    await turn_intent.remember(redis(), tracker["sender_id"], intent)
                except (aioredis.RedisError, OSError) as exc:
                    log.warning("turn intent not kept: %s", exc)

    run.measured = True
    executor.run = run


def _serving() -> bool:
    """True in `python -m rasa_sdk` (not when a test or a tool imports this module)."""
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    return bool(spec and spec.name in ("rasa_sdk.__main__", "rasa_sdk"))


def guarded(app: Callable, token: str) -> Callable:
    """The metrics WSGI app, answering 401 unless the bearer token is given (when one is set)."""
    expected = f"Bearer {token}".encode()

    def guarded_app(environ, start_response):
        if token and not hmac.compare_digest(environ.get("HTTP_AUTHORIZATION", "").encode(), expected):
            start_response("401 Unauthorized", [("Content-Type", "application/json; charset=utf-8")])
            return ['{"error": "unauthorized", "message": "需要监控令牌。"}'.encode()]
        return app(environ, start_response)
    return guarded_app


def serve() -> None:
    port = int(os.environ.get("ACTIONS_METRICS_PORT", "5056"))
    disable_created_metrics()
    install()
    if port:
        host = os.environ.get("ACTIONS_METRICS_HOST", "127.0.0.1")

        class Server(ThreadingWSGIServer):
            address_family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]     # also "::1"

        class Quiet(WSGIRequestHandler):
            def log_message(self, *args) -> None:         # no line per scrape
                pass

        app = guarded(make_wsgi_app(), os.environ.get("METRICS_TOKEN", ""))
        httpd = make_server(host, port, app, Server, handler_class=Quiet)
        threading.Thread(target=httpd.serve_forever, name="action-metrics", daemon=True).start()
        log.info("action metrics on port %d", port)


if _serving():          # rasa-sdk imports every module of the package before it serves
    serve()
