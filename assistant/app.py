"""The gateway process (aiohttp): mounts the channels, the staff application under /staff
(staff/app.py), the health check, metrics, the public hot-search API and the web chat page, and
runs the background workers every gateway process shares through Redis."""
from __future__ import annotations

import asyncio
import logging
import time

import redis.asyncio as aioredis
from aiohttp import web

from assistant import health
from assistant.access_audit import access_audit
from assistant.audit_retention import AuditExpiry, AuditSettings
from assistant.engine import RasaEngine
from assistant.filing_worker import FilingWorker
from assistant.gateway import Gateway
from assistant.metrics import GatewayMetrics
from assistant.notification_worker import NotificationWorker
from assistant.popular_api import PopularApi
from assistant.queue_updates import QueueUpdates
from assistant.reminder_scheduler import ReminderScheduler
import channels
from common.config import ROOT, Settings, settings
from common.delivery import Delivery
from common.hall_client import HallClient
from common.logs import setup_logging
from common.sessions import Sessions
from staff.accounts import Accounts
from staff.api import StaffApi
from staff.app import PREFIX as STAFF_PREFIX, create_staff_app

log = logging.getLogger(__name__)
STATIC = ROOT / "assistant" / "static"          # the web chat page and widget
ENGINE = web.AppKey("engine", RasaEngine)
REDIS = web.AppKey("redis", aioredis.Redis)
HALL = web.AppKey("hall", HallClient)
SETTINGS = web.AppKey("settings", Settings)
WORKERS = web.AppKey("workers", list)
DELIVERY = web.AppKey("delivery", Delivery)
STAFF = web.AppKey("staff_api", StaffApi)
STAFF_APP = web.AppKey("staff_app", web.Application)


# aiohttp's own refusals (no such route, wrong method, body over client_max_size, not a
# websocket) carry English text; every handler of ours answers errors itself, in Chinese.
HTTP_REFUSALS = {400: "请求格式不正确。", 403: "无权访问。", 404: "没有找到您要访问的页面或接口。",
                 405: "不支持这种请求方式。", 413: "请求内容太大。"}


@web.middleware
async def no_leaks(request: web.Request, handler):
    """An unexpected error becomes a plain Chinese 500, and aiohttp's own refusals a Chinese
    message with their status: no stack trace or English text reaches a channel."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise                                   # redirects
        headers = {k: v for k, v in exc.headers.items() if k in ("Allow",)}
        return web.json_response({"error": "http_%d" % exc.status,
                                  "message": HTTP_REFUSALS.get(exc.status, "请求无法处理，请稍后再试。")},
                                 status=exc.status, headers=headers)
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return web.json_response({"error": "internal", "message": "抱歉，系统出现异常，请稍后再试。"}, status=500)


async def healthz(request: web.Request) -> web.Response:
    app = request.app
    parts = await health.check(app[ENGINE], app[SETTINGS].action_url, app[REDIS], app[HALL])
    return web.json_response({"status": "ok" if all(parts.values()) else "degraded", "parts": parts},
                             status=200 if all(parts.values()) else 503)


async def index(request: web.Request) -> web.Response:
    raise web.HTTPFound("/chat/")


async def chat_page(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "chat.html")


def create_app(cfg: Settings | None = None) -> web.Application:
    cfg = cfg or settings()
    audit_cfg = AuditSettings()             # refuses a retention under six months at start
    redis = aioredis.Redis(host=cfg.redis_host, port=cfg.redis_port, db=cfg.redis_db)
    app = web.Application(middlewares=[access_audit(redis), no_leaks], client_max_size=256 * 1024)
    app[SETTINGS] = cfg
    app[ENGINE] = RasaEngine(cfg.rasa_url, cfg.engine_timeout_s, cfg.rasa_token)
    app[REDIS] = redis
    app[HALL] = HallClient(cfg.hall_url, cfg.hall_api_key, cfg.hall_timeout_s)
    gateway = Gateway(app[ENGINE], Sessions(app[REDIS], cfg.session_ttl_s), cfg.max_message_chars,
                      cfg.rate_limit_per_minute)
    mounted = channels.enabled(gateway, cfg)
    app[DELIVERY] = Delivery(app[REDIS], {c.name: c for c in mounted})
    for channel in mounted:
        channel.delivery = app[DELIVERY]
        app.router.add_routes(channel.routes())
    app[STAFF_APP], app[STAFF] = create_staff_app(app[REDIS], app[DELIVERY], app[HALL], cfg)
    app.add_subapp(STAFF_PREFIX, app[STAFF_APP])
    app.router.add_routes(GatewayMetrics(app[REDIS], lambda: len(app[STAFF].sockets)).routes())
    app.router.add_routes(PopularApi(app[REDIS]).routes())
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/", index)
    app.router.add_get("/chat/", chat_page)
    app.router.add_static("/static/", STATIC)

    async def start_worker(app: web.Application) -> None:
        # Every gateway process shares the queued filings, notifications and due reminders.
        clock = lambda: time.time() + cfg.reminder_clock_offset_s  # noqa: E731
        app[WORKERS] = [asyncio.create_task(w.run()) for w in (
            FilingWorker(app[REDIS], app[HALL], app[DELIVERY]), NotificationWorker(app[REDIS], app[DELIVERY]),
            ReminderScheduler(app[REDIS], clock), QueueUpdates(app[REDIS], gateway, app[DELIVERY]),
            AuditExpiry(app[REDIS], audit_cfg))]
        await app[STAFF].start()
        if cfg.staff_dev_accounts:
            await Accounts(app[REDIS]).ensure_dev_accounts()
        for channel in mounted:
            await channel.start()

    async def stop_channels(app: web.Application) -> None:
        # Before the server waits for open requests: an open chat or console socket would hold it.
        for channel in mounted:
            await channel.stop()
        await app[STAFF].stop()

    async def close(app: web.Application) -> None:
        for worker in app[WORKERS]:
            worker.cancel()
        await app[ENGINE].close()
        await app[HALL].close()
        await app[REDIS].aclose()

    app.on_startup.append(start_worker)
    app.on_shutdown.append(stop_channels)
    app.on_cleanup.append(close)
    return app


def main() -> None:
    setup_logging("gateway")
    cfg = settings()
    web.run_app(create_app(cfg), host=cfg.gateway_host, port=cfg.gateway_port, print=None)


if __name__ == "__main__":
    main()
