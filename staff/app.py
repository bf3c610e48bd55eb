"""The staff and admin web side (standard 9.3.1.2 online staff, 8.5.1.1 roles, 9.4.5
statistics, 8.1.2 content review, 8.1.3 audit) as its own aiohttp application, mounted by the
gateway under /staff (it runs in the gateway process, beside the channels):

    /staff/                  the window staff's console (static/console/)
    /staff/api/…             the console's JSON API and websocket (staff/api.py)
    /staff/api/admin/…       analytics, audit, knowledge upkeep and content review APIs
    /staff/admin/…           their pages (static/admin/)
    /staff/static/…          the pages' scripts and styles

Every route here answers errors in one way: a handler raises `StaffError` (staff/auth.py) and
`staff_errors` turns it into the JSON error body."""
from __future__ import annotations

from pathlib import Path

import redis.asyncio as aioredis
from aiohttp import web

from common.config import Settings
from common.delivery import Delivery
from common.hall_client import HallClient
from staff import admin_analytics
from staff.admin_audit import AdminAudit
from staff.admin_knowledge import AdminKnowledge
from staff.admin_safety import AdminSafety
from staff.api import StaffApi

STATIC = Path(__file__).resolve().parent / "static"
PREFIX = "/staff"


async def console(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "console" / "index.html")


def create_staff_app(redis: aioredis.Redis, delivery: Delivery, hall: HallClient,
                     cfg: Settings) -> tuple[web.Application, StaffApi]:
    """The application to mount at PREFIX, and its API (the gateway starts and stops its
    console sockets with its own life cycle)."""
    app = web.Application()
    api = StaffApi(redis, delivery, hall, cfg.action_url)
    app.router.add_routes(api.routes())
    app.router.add_routes(AdminAudit(api).routes())
    admin_analytics.mount(app, api, redis, cfg)
    app.router.add_routes(AdminKnowledge(api, STATIC).routes() + AdminSafety(api, STATIC).routes())
    app.router.add_get("/", console)
    app.router.add_static("/static/", STATIC)
    return app, api
