"""The content review queue (standard 8.1.2) under /staff/api/admin/safety/: held public
consultations and withheld assistant replies, for administrators and inspectors to approve or
reject. Approving a held consultation makes it public in the hall; rejecting keeps it private.
Every request is audited. The page is staff/static/admin/safety.html."""
from __future__ import annotations

from aiohttp import web

from common import audit, safety_review
from common.hall_client import HallRejected, HallUnavailable
from staff.api import StaffApi
from staff.auth import client_ip, error

REVIEWERS = {"admin", "inspector"}
API = "/api/admin/safety"          # below the staff application's /staff
PAGE = "/admin/safety"


class AdminSafety:
    def __init__(self, staff: StaffApi, static_dir):
        self.staff, self.redis, self.static_dir = staff, staff.redis, static_dir

    def routes(self) -> list[web.RouteDef]:
        return [web.get(PAGE, self.page), web.get(f"{API}/review", self.queue),
                web.post(f"{API}/review/{{id}}/approve", self.approve),
                web.post(f"{API}/review/{{id}}/reject", self.reject)]

    async def page(self, request: web.Request) -> web.FileResponse:
        return web.FileResponse(self.static_dir / "admin" / "safety.html")

    async def queue(self, request: web.Request) -> web.Response:
        s = await self.staff.session(request, REVIEWERS)
        if isinstance(s, web.Response):
            return s
        state = request.query.get("state", "pending")
        if state not in ("pending", "decided", "all"):
            return error(400, "bad_request", "状态只能是待审核、已审核或全部。")
        rows = await safety_review.entries(self.redis, state)
        await audit.record(self.redis, s.username, s.role, "safety_list", state, client_ip(request), count=len(rows))
        return web.json_response({"entries": rows, "kinds": safety_review.KINDS, "decisions": safety_review.DECISIONS})

    async def approve(self, request: web.Request) -> web.Response:
        return await self._decide(request, "approved")

    async def reject(self, request: web.Request) -> web.Response:
        return await self._decide(request, "rejected")

    async def _decide(self, request: web.Request, decision: str) -> web.Response:
        s = await self.staff.session(request, REVIEWERS, write=True)
        if isinstance(s, web.Response):
            return s
        entry_id = request.match_info["id"]
        try:
            note = str((await request.json() if request.can_read_body else {}).get("note") or "").strip()
        except (ValueError, AttributeError):
            return error(400, "bad_request", "请求内容格式不正确。")
        entry = await safety_review.get(self.redis, entry_id)
        if entry is None:
            return error(404, "not_found", "没有找到这条审核记录。")
        if not await safety_review.decide(self.redis, entry_id, decision, s.username, s.role, note):
            return error(409, "decided", "这条内容已经审核过了。")
        if decision == "approved" and entry["kind"] == "consultation" and entry.get("number"):
            try:
                await self.staff.hall.set_consultation_public(entry["number"], True)
            except (HallUnavailable, HallRejected):
                await safety_review.undo(self.redis, entry_id)
                return error(503, "hall_unavailable", "办事大厅系统暂时无法访问，未能公开这条咨询，请稍后再试。")
        await audit.record(self.redis, s.username, s.role, f"safety_{decision}", entry_id, client_ip(request),
                           kind=entry["kind"], number=entry.get("number", ""), note=note)
        return web.json_response({"ok": True, "decision": decision})
