"""The audit trail for system administrators (standard 8.1.3, 9.4.6): search by actor, action,
target and time range, and export as CSV. Administrators only; every search and export is itself
audited. Personal data in the trail is already masked (common/audit.py).

    GET /staff/api/admin/audit?actor=&action=&target=&since=&until=&before=&limit=
    GET /staff/api/admin/audit.csv?actor=&action=&target=&since=&until=
since/until: a date ("2026-03-01") or a date and time ("2026-03-01T09:30"), China time; a bare
`until` date includes that whole day. `before`: the `next` of the previous page."""
from __future__ import annotations

import csv
import io
import json
import re
import time
from dataclasses import dataclass
from datetime import datetime, timedelta


from aiohttp import web

from common import audit
from common.clock import TZ
from staff.analytics_csv import safe_cell
from staff.api import StaffApi
from staff.auth import StaffSession, client_ip, error

ADMINS = {"admin"}
MAX_PAGE = 500
ENTRY_ID_RE = re.compile(r"\d{1,20}-\d{1,20}")
CSV_COLUMNS = [("id", "编号"), ("time", "时间"), ("actor", "操作人"), ("role", "角色"), ("action", "操作"),
               ("target", "对象"), ("ip", "来源地址"), ("details", "详情")]


class BadQuery(ValueError):
    """A filter the administrator typed that cannot be used; the message is Chinese."""


@dataclass(frozen=True)
class Query:
    actor: str = ""
    action: str = ""
    target: str = ""
    since: float = 0
    until: float = 0
    before: str = ""
    limit: int = 100

    def filters(self) -> dict:
        return {"actor": self.actor, "action": self.action, "target": self.target, "since": self.since,
                "until": self.until}


def parse_time(text: str, end_of_day: bool = False) -> float:
    """A date or date-time in China time -> epoch seconds (0 for empty)."""
    text = text.strip()
    if not text:
        return 0
    try:
        when = datetime.fromisoformat(text.replace(" ", "T"))
    except ValueError:
        raise BadQuery(f"时间格式不正确：{text[:40]}，请使用如 2026-03-01 或 2026-03-01T09:30 的格式。")
    if end_of_day and len(text) <= 10:
        when += timedelta(days=1)
    return (when.replace(tzinfo=TZ) if when.tzinfo is None else when).timestamp()


def parse_query(q) -> Query:
    since, until = parse_time(q.get("since", "")), parse_time(q.get("until", ""), end_of_day=True)
    if since and until and since >= until:
        raise BadQuery("开始时间应早于结束时间。")
    before = q.get("before", "").strip()
    if before and not ENTRY_ID_RE.fullmatch(before):
        raise BadQuery("翻页参数不正确，请重新查询。")
    try:
        limit = int(q.get("limit", "100"))
    except ValueError:
        raise BadQuery("每页条数应为数字。")
    if not 1 <= limit <= MAX_PAGE:
        raise BadQuery(f"每页条数应在1到{MAX_PAGE}之间。")
    return Query(q.get("actor", "").strip()[:100], q.get("action", "").strip()[:50], q.get("target", "").strip()[:200],
                 since, until, before, limit)


def local_time(at: str) -> str:
    return datetime.fromtimestamp(float(at), TZ).strftime("%Y-%m-%d %H:%M:%S")


class AdminAudit:
    def __init__(self, staff: StaffApi):
        self.staff, self.redis = staff, staff.redis

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/api/admin/audit", self.search), web.get("/api/admin/audit.csv", self.export)]

    async def _admin(self, request: web.Request) -> tuple[StaffSession, Query] | web.Response:
        s = await self.staff.session(request, ADMINS)
        if isinstance(s, web.Response):
            return s
        try:
            return s, parse_query(request.query)
        except BadQuery as exc:
            return error(400, "bad_query", str(exc))

    async def search(self, request: web.Request) -> web.Response:
        got = await self._admin(request)
        if isinstance(got, web.Response):
            return got
        s, q = got
        rows = await audit.search(self.redis, q.actor, q.action, q.target, q.since, q.until, q.before, q.limit)
        await audit.record(self.redis, s.username, s.role, "audit_search", "audit", client_ip(request),
                           found=len(rows), filters=q.filters())
        return web.json_response({"entries": [{**r, "time": local_time(r["at"])} for r in rows],
                                  "next": rows[-1]["id"] if len(rows) == q.limit else ""})

    async def export(self, request: web.Request) -> web.StreamResponse:
        got = await self._admin(request)
        if isinstance(got, web.Response):
            return got
        s, q = got
        await audit.record(self.redis, s.username, s.role, "audit_export", "audit", client_ip(request), filters=q.filters())
        name = time.strftime("audit-%Y%m%d-%H%M%S.csv")
        resp = web.StreamResponse(headers={"Content-Type": "text/csv; charset=utf-8",
                                           "Content-Disposition": f'attachment; filename="{name}"'})
        await resp.prepare(request)
        buf = io.StringIO()
        out = csv.writer(buf)
        buf.write("\ufeff")                                   # Excel opens UTF-8 with a BOM correctly
        out.writerow([title for _, title in CSV_COLUMNS])
        n = 0
        async for row in audit.entries(self.redis, q.actor, q.action, q.target, q.since, q.until):
            row = {**row, "time": local_time(row["at"]), "details": json.dumps(row["details"], ensure_ascii=False)}
            out.writerow([safe_cell(str(row.get(key, ""))) for key, _ in CSV_COLUMNS])
            n += 1
            if n % 500 == 0:
                await resp.write(buf.getvalue().encode())
                buf.seek(0)
                buf.truncate()
        await resp.write(buf.getvalue().encode())
        await resp.write_eof()
        return resp
