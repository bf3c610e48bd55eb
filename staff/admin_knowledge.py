"""Knowledge upkeep for information publishers (standard 9.3.1.4) under
/staff/api/admin/knowledge/: candidate FAQ entries from unanswered questions and frequent
consultations, changes to FAQ entries and catalog item fields with review before publishing,
every published version and rollback. The page is staff/static/admin/knowledge.html.

Roles (8.5.1.1): publishers draft, edit and submit; administrators and publishers other than
the author approve or return; approved changes are published by either; the author or an
administrator withdraws an unfinished change; inspectors read.
Every request is audited, refusals included."""
from __future__ import annotations

import asyncio
from functools import cached_property

from aiohttp import web

from common import audit
from knowledge.catalog import load_catalog
from knowledge.faq import load_faq
from knowledge.overlay_store import Actor, OverlayStore, STATES, WorkflowError
from staff import action_call
from staff.api import StaffApi
from staff.auth import StaffSession, client_ip, error

READ = {"publisher", "admin", "inspector"}
EDIT = {"publisher"}
REVIEW = {"publisher", "admin"}
API = "/api/admin/knowledge"          # below the staff application's /staff
PAGE = "/admin/knowledge"
CANDIDATES_TIMEOUT_S = 120


async def _json(request: web.Request) -> dict:
    try:
        body = await request.json()
    except ValueError:
        raise WorkflowError(400, "bad_request", "请求内容不是有效的JSON。") from None
    if not isinstance(body, dict):
        raise WorkflowError(400, "bad_request", "请求内容格式不正确。")
    return body


class AdminKnowledge:
    def __init__(self, staff: StaffApi, static_dir):
        self.staff, self.redis, self.static_dir = staff, staff.redis, static_dir

    @cached_property
    def store(self) -> OverlayStore:
        """The YAML base is read on first use, not at start: most gateway processes never need it."""
        catalog = load_catalog()
        return OverlayStore(self.redis, catalog, load_faq(known_codes=set(catalog.items)))

    def routes(self) -> list[web.RouteDef]:
        change = f"{API}/changes/{{id}}"
        entry = f"{API}/entries/{{kind}}/{{target}}"
        return [
            web.get(PAGE, self.page),
            web.get(f"{API}/candidates", self.candidates),
            web.get(f"{API}/changes", self.changes), web.post(f"{API}/changes", self.create),
            web.get(change, self.change), web.put(change, self.edit),
            web.post(f"{change}/submit", self.submit), web.post(f"{change}/approve", self.approve),
            web.post(f"{change}/return", self.return_), web.post(f"{change}/publish", self.publish),
            web.post(f"{change}/discard", self.discard),
            web.get(f"{API}/entries", self.entries), web.get(entry, self.entry),
            web.post(f"{entry}/rollback", self.rollback),
        ]

    async def page(self, request: web.Request) -> web.FileResponse:
        return web.FileResponse(self.static_dir / "admin" / "knowledge.html")

    # --- plumbing -------------------------------------------------------------------------------
    async def _run(self, request: web.Request, roles: set[str], action: str, work, write: bool = False,
                   target: str = "") -> web.Response:
        """Checks the role (and CSRF token for writes), runs `work(session)`, audits the outcome."""
        s = await self.staff.session(request, roles, write=write)
        if isinstance(s, web.Response):
            return s
        target = target or request.match_info.get("id", "") or "/".join(
            request.match_info.get(k, "") for k in ("kind", "target") if request.match_info.get(k))
        if "store" not in self.__dict__:
            # Reading the YAML base takes ~0.3 s: in a thread, not on the loop citizens' turns share.
            await asyncio.to_thread(lambda: self.store)
        try:
            body, details = await work(s)
        except WorkflowError as exc:
            await audit.record(self.redis, s.username, s.role, f"{action}_refused", target, client_ip(request),
                               reason=exc.code)
            return error(exc.status, exc.code, exc.message)
        await audit.record(self.redis, s.username, s.role, action, target or str(body.get("id", "")),
                           client_ip(request), **details)
        return web.json_response(body)

    @staticmethod
    def _actor(s: StaffSession) -> Actor:
        return Actor(s.username, s.name, s.role)

    # --- candidates -------------------------------------------------------------------------
    async def candidates(self, request: web.Request) -> web.Response:
        async def work(s):
            params = {k: request.query[k] for k in ("days", "min_size", "limit") if k in request.query}
            try:
                responses = await action_call.call(self.staff.action_url, "action_faq_candidates", f"staff-{s.username}",
                                                   metadata=params, timeout_s=CANDIDATES_TIMEOUT_S)
                found = responses[0]["custom"]
            except (action_call.ActionServerUnavailable, KeyError, IndexError, TypeError):
                raise WorkflowError(503, "unavailable", "知识库服务暂时无法访问，请稍后再试。") from None
            return found, {"candidates": len(found["candidates"]), **params}
        return await self._run(request, READ, "kb_candidates", work)

    # --- changes ----------------------------------------------------------------------------
    async def changes(self, request: web.Request) -> web.Response:
        state = request.query.get("state", "")

        async def work(s):
            if state and state not in STATES:
                raise WorkflowError(400, "bad_request", "没有这种状态。")
            return {"changes": [self._summary(c) for c in await self.store.changes(state)], "states": STATES}, {
                "state": state}
        return await self._run(request, READ, "kb_list_changes", work)

    @staticmethod
    def _summary(c: dict) -> dict:
        title = c["fields"].get("question") or c["target"]
        return {k: c[k] for k in ("id", "kind", "target", "state", "author", "author_name", "reviewer",
                                  "reviewer_name", "updated_at", "version", "candidate")} | {
            "title": title, "state_name": STATES[c["state"]]}

    async def change(self, request: web.Request) -> web.Response:
        async def work(s):
            c = await self.store.get(request.match_info["id"])
            return {**c, "state_name": STATES[c["state"]], "base": self.store.base_fields(c["kind"], c["target"]),
                    "published": await self.store.published(c["kind"], c["target"])}, {}
        return await self._run(request, READ, "kb_view_change", work)

    async def create(self, request: web.Request) -> web.Response:
        async def work(s):
            body = await _json(request)
            c = await self.store.create(self._actor(s), str(body.get("kind") or ""), str(body.get("target") or ""),
                                        body.get("fields"), str(body.get("candidate") or ""))
            return c, {"kind": c["kind"], "entry": c["target"], "candidate": c["candidate"]}
        return await self._run(request, EDIT, "kb_create", work, write=True)

    async def edit(self, request: web.Request) -> web.Response:
        async def work(s):
            body = await _json(request)
            c = await self.store.edit(self._actor(s), request.match_info["id"], body.get("fields"))
            return c, {"entry": c["target"]}
        return await self._run(request, EDIT, "kb_edit", work, write=True)

    async def _transition(self, request: web.Request, roles: set[str], action: str, call) -> web.Response:
        async def work(s):
            body = await _json(request) if request.can_read_body else {}
            c = await call(self._actor(s), request.match_info["id"], body)
            return c, {"entry": c["target"], "state": c["state"], **({"note": body["note"]} if body.get("note") else {})}
        return await self._run(request, roles, action, work, write=True)

    async def submit(self, request: web.Request) -> web.Response:
        return await self._transition(request, EDIT, "kb_submit", lambda a, i, b: self.store.submit(a, i))

    async def approve(self, request: web.Request) -> web.Response:
        return await self._transition(request, REVIEW, "kb_approve",
                                      lambda a, i, b: self.store.review(a, i, True, b.get("note", "")))

    async def return_(self, request: web.Request) -> web.Response:
        return await self._transition(request, REVIEW, "kb_return",
                                      lambda a, i, b: self.store.review(a, i, False, b.get("note", "")))

    async def publish(self, request: web.Request) -> web.Response:
        return await self._transition(request, REVIEW, "kb_publish", lambda a, i, b: self.store.publish(a, i))

    async def discard(self, request: web.Request) -> web.Response:
        return await self._transition(request, EDIT | {"admin"}, "kb_discard", lambda a, i, b: self.store.discard(a, i))

    # --- entries and versions ---------------------------------------------------------------
    async def entries(self, request: web.Request) -> web.Response:
        kind = request.query.get("kind", "faq")

        async def work(s):
            if kind not in ("faq", "item"):
                raise WorkflowError(400, "bad_request", "只能查看常见问题（faq）或事项（item）。")
            return {"entries": await self.store.entries(kind, request.query.get("q", ""))}, {"kind": kind}
        return await self._run(request, READ, "kb_list_entries", work)

    async def entry(self, request: web.Request) -> web.Response:
        kind, target = request.match_info["kind"], request.match_info["target"]

        async def work(s):
            if kind not in ("faq", "item") or not await self.store.exists(kind, target):
                raise WorkflowError(404, "not_found", "没有找到这个条目。")
            open_id = await self.redis.get(f"kb:open:{kind}:{target}")
            return {"kind": kind, "target": target, "base": self.store.base_fields(kind, target),
                    "published": await self.store.published(kind, target),
                    "effective": await self.store.effective(kind, target),
                    "versions": await self.store.versions(kind, target),
                    "open_change": open_id.decode() if open_id else None}, {}
        return await self._run(request, READ, "kb_view_entry", work)

    async def rollback(self, request: web.Request) -> web.Response:
        kind, target = request.match_info["kind"], request.match_info["target"]

        async def work(s):
            body = await _json(request)
            try:
                to_version = int(body.get("version"))
            except (TypeError, ValueError):
                raise WorkflowError(400, "bad_request", "请选择要回退到的版本号。") from None
            version = await self.store.rollback(self._actor(s), kind, target, to_version)
            return version, {"to_version": to_version, "new_version": version["version"]}
        return await self._run(request, REVIEW, "kb_rollback", work, write=True)
