"""Prometheus metrics of the hall: requests by route (its pattern, never the concrete path with
a case number) and status, and latency; served at GET /metrics next to /healthz."""
from __future__ import annotations

import time

from aiohttp import web
from prometheus_client import Counter, Histogram

from common.metrics_http import MetricsSettings, exposition

REQUESTS = Counter("hall_api_requests", "Requests to the hall, by route and status", ["method", "route", "status"])
SECONDS = Histogram("hall_api_request_seconds", "Time the hall took for one request", ["method", "route"],
                    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))


def _route(request: web.Request) -> str:
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "unmatched"


@web.middleware
async def measure(request: web.Request, handler):
    if request.path == "/metrics":
        return await handler(request)
    started, status = time.perf_counter(), 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        route = _route(request)
        REQUESTS.labels(request.method, route, str(status)).inc()
        SECONDS.labels(request.method, route).observe(time.perf_counter() - started)


def routes(cfg: MetricsSettings | None = None) -> list[web.RouteDef]:
    cfg = cfg or MetricsSettings()

    async def metrics(request: web.Request) -> web.Response:
        return exposition(request, cfg)
    return [web.get("/metrics", metrics)]
