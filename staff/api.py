"""The staff console's JSON API under /staff/api/ and its websocket (standard 9.3.1.2: online
consultations answered by the department's window staff).

Roles (8.5.1.1): handlers claim, reply, transfer and end conversations of their departments;
inspectors see every queue and conversation but cannot act; administrators can do both. Every
state-changing request needs the session's CSRF token, and every action is audited. Console
pages in several gateway processes get live events through Redis pub/sub."""
from __future__ import annotations

import asyncio
import json
import logging
import time
import weakref

import aiohttp
import redis.asyncio as aioredis
from aiohttp import web

from common import audit, filings, records, transcript
from common.delivery import Delivery
from common.hall_client import HallClient, HallError
from common.handoff import EVENTS, Handoff
from common.identity import mask_phone, mask_text
from common.reply import Reply
from common.reply_filter import ReplyFilter
from staff import action_call
from staff.accounts import Accounts, ROLES
from staff.auth import ABSOLUTE_S, COOKIE, SessionStore, StaffSession, client_ip, error

log = logging.getLogger(__name__)
ACTING = {"handler", "admin"}           # may claim, reply, transfer and end
WATCHING = {"handler", "admin", "inspector"}
MAX_REPLY_CHARS = 1000
SESSION_ENDED = 4401                    # websocket close code: the staff session is no longer valid
RATING_BUTTONS = [{"title": f"{n}分{label}", "payload": '/rate_service{"rating":"%d"}' % n}
                  for n, label in ((5, "（非常满意）"), (4, "（满意）"), (3, "（一般）"), (2, "（不满意）"), (1, "（非常不满意）"))]


def handoff_ended_reply() -> Reply:
    return Reply("本次人工服务已结束，智能助手继续为您服务。请为本次人工服务评分：", RATING_BUTTONS)


class StaffApi:
    def __init__(self, redis: aioredis.Redis, delivery: Delivery, hall: HallClient, action_url: str):
        self.redis, self.delivery, self.hall = redis, delivery, hall
        self.action_url = action_url.rstrip("/")
        self.accounts, self.sessions, self.handoff = Accounts(redis), SessionStore(redis), Handoff(redis)
        self.reply_filter = ReplyFilter(redis)
        self.sockets: weakref.WeakKeyDictionary[web.WebSocketResponse, StaffSession] = weakref.WeakKeyDictionary()
        self._fanout: asyncio.Task | None = None

    def routes(self) -> list[web.RouteDef]:
        api = "/api"            # below the staff application's /staff
        return [
            web.post(f"{api}/login", self.login), web.post(f"{api}/logout", self.logout), web.get(f"{api}/me", self.me),
            web.get(f"{api}/queue", self.queue), web.get(f"{api}/conversations", self.conversations),
            web.get(f"{api}/conversations/{{conv}}", self.conversation),
            web.get(f"{api}/conversations/{{conv}}/suggestions", self.suggestions),
            web.post(f"{api}/conversations/{{conv}}/claim", self.claim),
            web.post(f"{api}/conversations/{{conv}}/reply", self.reply),
            web.post(f"{api}/conversations/{{conv}}/transfer", self.transfer),
            web.post(f"{api}/conversations/{{conv}}/end", self.end),
            web.get(f"{api}/phone-calls", self.phone_calls),
            web.post(f"{api}/heartbeat", self.heartbeat), web.get(f"{api}/staff", self.staff_list),
            web.get(f"{api}/ws", self.websocket),
        ]

    # --- sessions -------------------------------------------------------------------------
    async def session(self, request: web.Request, roles: set[str], write: bool = False) -> StaffSession | web.Response:
        session = await self.sessions.get(request.cookies.get(COOKIE))
        if session is None:
            return error(401, "unauthenticated", "请先登录。")
        if write and request.headers.get("X-CSRF-Token") != session.csrf:
            return error(403, "csrf", "请求校验失败，请刷新页面后重试。")
        if session.role not in roles:
            await audit.record(self.redis, session.username, session.role, "denied", request.path, client_ip(request))
            return error(403, "forbidden", "您的角色无权进行此操作。")
        return session

    async def login(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
            username, password = str(body["username"]), str(body["password"])
        except (ValueError, KeyError, TypeError):
            return error(400, "bad_request", "请输入用户名和密码。")
        ip = client_ip(request)
        if await self.sessions.throttled(username, ip):
            return error(429, "throttled", "登录失败次数过多，请15分钟后再试。")
        account = await self.accounts.verify(username, password)
        if account is None:
            await self.sessions.failed(username, ip)
            await audit.record(self.redis, username, "", "login_failed", "", ip)
            return error(401, "bad_credentials", "用户名或密码错误。")
        session = await self.sessions.create(account)
        await audit.record(self.redis, username, account["role"], "login", "", ip)
        resp = web.json_response(self._me(session))
        # The cookie lasts as long as a session can (12 h); Redis enforces the sliding 30-minute
        # idle limit. A cookie of IDLE_S would log out a handler 30 minutes after login however busy.
        resp.set_cookie(COOKIE, session.token, httponly=True, samesite="Strict", max_age=ABSOLUTE_S, path="/staff",
                        secure=request.secure)
        return resp

    @staticmethod
    def _me(s: StaffSession) -> dict:
        return {"username": s.username, "name": s.name, "role": s.role, "role_name": ROLES[s.role],
                "departments": s.departments, "csrf": s.csrf, "can_act": s.role in ACTING}

    async def logout(self, request: web.Request) -> web.Response:
        s = await self.session(request, set(ROLES), write=True)
        if isinstance(s, web.Response):
            return s
        await self.sessions.end(s.token)
        await self.handoff.offline(s.username, s.departments)
        await audit.record(self.redis, s.username, s.role, "logout", "", client_ip(request))
        resp = web.json_response({"ok": True})
        resp.del_cookie(COOKIE, path="/staff")
        return resp

    async def me(self, request: web.Request) -> web.Response:
        s = await self.session(request, set(ROLES))
        return s if isinstance(s, web.Response) else web.json_response(self._me(s))

    # --- queues and conversations ---------------------------------------------------------
    async def _departments(self, s: StaffSession) -> list[str]:
        if "*" not in s.departments:
            return s.departments
        return sorted(await self.handoff.departments_queued() | {"综合窗口"})

    async def queue(self, request: web.Request) -> web.Response:
        s = await self.session(request, WATCHING)
        if isinstance(s, web.Response):
            return s
        now = time.time()
        out = {}
        for dept in await self._departments(s):
            rows = await self.handoff.queue(dept)
            out[dept] = [self._row(r, now, s) for r in rows]
        return web.json_response({"queues": out, "online": {d: await self.handoff.online(d) for d in out}})

    def _row(self, r: dict, now: float, s: StaffSession) -> dict:
        return {"conversation": r["conversation"], "state": r.get("state"), "department": r.get("department"),
                "channel": r.get("channel"), "staff": r.get("staff", ""), "intent": r.get("intent", ""),
                "service_code": r.get("service_code", ""), "note": self._shown(r.get("note", ""), s),
                "question": self._shown(r.get("question", ""), s),
                "waiting_s": round(now - float(r.get("queued_at") or now))}

    @staticmethod
    def _shown(text: str, s: StaffSession) -> str:
        """Inspectors watch with personal data masked; handlers see what the citizen wrote."""
        return mask_text(text) if s.role == "inspector" else text

    @staticmethod
    def _shown_number(number: str, s: StaffSession) -> str:
        """A caller's number (a mobile or a landline) for an inspector: masked whole."""
        return mask_phone(number) if s.role == "inspector" else number

    async def conversations(self, request: web.Request) -> web.Response:
        s = await self.session(request, WATCHING)
        if isinstance(s, web.Response):
            return s
        rows = await self.handoff.held_by(s.username) if s.role == "handler" else await self.handoff.everything()
        now = time.time()
        return web.json_response({"conversations": [self._row(r, now, s) for r in rows]})

    async def phone_calls(self, request: web.Request) -> web.Response:
        """Hotline calls put through to the staff phones: open one for its transcript."""
        s = await self.session(request, WATCHING)
        if isinstance(s, web.Response):
            return s
        # The caller's number is both the call's number and its user id (channels/voice_call.py).
        return web.json_response({"calls": [{**c, "number": self._shown_number(c.get("number", ""), s),
                                             "user_id": self._shown_number(c.get("user_id", ""), s)}
                                            for c in await self.handoff.phone_calls()]})

    async def _visible(self, s: StaffSession, conv: str) -> dict | web.Response:
        info = await self.handoff.status(conv)
        if not info and (call := await self.handoff.phone_call(conv)):
            return {"state": "phone", "department": "热线电话", **call}
        if not info or not s.serves(info.get("department", "")):
            return error(404, "not_found", "没有找到这个会话，或不属于您的部门。")
        return info

    async def conversation(self, request: web.Request) -> web.Response:
        got = await self._target(request, WATCHING)
        if isinstance(got, web.Response):
            return got
        s, conv, info = got
        messages = [{**m, "text": self._shown(m["text"], s)} for m in await transcript.read(self.redis, conv)]
        records = await self._records(conv, s)
        await audit.record(self.redis, s.username, s.role, "view_conversation", conv, client_ip(request))
        return web.json_response({"conversation": conv, **self._row({"conversation": conv, **info}, time.time(), s),
                                  "transcript": messages, "records": records})

    async def _records(self, conv: str, s: StaffSession) -> list[dict]:
        out = []
        for number in await filings.numbers(self.redis, conv, last=10):
            kind = records.kind_of(number)
            try:
                record = await self.hall.record(kind, number) if kind else None
            except HallError:
                record = None
            if record and s.role == "inspector":
                record = audit.masked(record)       # the hall masks name and phone; free text may hold more
            out.append(record or {"number": number, "unavailable": True})
        return out

    async def suggestions(self, request: web.Request) -> web.Response:
        """Agent assist: the knowledge base's answers to the citizen's last question."""
        got = await self._target(request, WATCHING)
        if isinstance(got, web.Response):
            return got
        s, conv, _ = got
        said = [m["text"] for m in await transcript.read(self.redis, conv, 30) if m["who"] == "citizen"]
        question = next((t for t in reversed(said) if len(t) >= 4 and not t.startswith("/")), said[-1] if said else "")
        try:
            responses = await action_call.call(self.action_url, "action_suggest_answers", conv, question)
        except action_call.ActionServerUnavailable:
            return error(503, "unavailable", "知识库暂时无法访问。")
        items = [{"text": r.get("text", ""), **(r.get("custom") or {})} for r in responses]
        return web.json_response({"question": self._shown(question, s), "suggestions": items})

    # --- actions --------------------------------------------------------------------------
    async def _target(self, request: web.Request, roles: set[str], write: bool = False
                      ) -> tuple[StaffSession, str, dict] | web.Response:
        """The session, the conversation in the path and what is known of it — or the error."""
        s = await self.session(request, roles, write=write)
        if isinstance(s, web.Response):
            return s
        conv = request.match_info["conv"]
        info = await self._visible(s, conv)
        if isinstance(info, web.Response):
            return info
        return s, conv, info

    async def _acting(self, request: web.Request) -> tuple[StaffSession, str, dict] | web.Response:
        return await self._target(request, ACTING, write=True)

    async def claim(self, request: web.Request) -> web.Response:
        got = await self._acting(request)
        if isinstance(got, web.Response):
            return got
        s, conv, info = got
        if not await self.handoff.claim(conv, s.username):
            return error(409, "taken", "该会话已被其他工作人员接入或已离开队列。")
        await audit.record(self.redis, s.username, s.role, "claim", conv, client_ip(request))
        await transcript.append(self.redis, conv, "system", f"{s.name}已接入", info.get("channel", ""))
        await self.delivery.send(conv, [Reply(f"您好，我是{info.get('department', '')}的工作人员{s.name}，请问有什么可以帮您？")])
        return web.json_response({"ok": True})

    async def reply(self, request: web.Request) -> web.Response:
        got = await self._acting(request)
        if isinstance(got, web.Response):
            return got
        s, conv, info = got
        if info.get("state") != "active" or info.get("staff") != s.username:
            return error(409, "not_yours", "请先接入该会话。")
        try:
            text = str((await request.json())["text"]).strip()
        except (ValueError, KeyError, TypeError):
            return error(400, "bad_request", "请输入回复内容。")
        if not text or len(text) > MAX_REPLY_CHARS:
            return error(400, "bad_request", f"回复内容应为1到{MAX_REPLY_CHARS}个字。")
        if words := await self.reply_filter.flagged(conv, text):     # standard 8.1.2, staff replies too
            await audit.record(self.redis, s.username, s.role, "reply_refused", conv, client_ip(request), words=words)
            return error(400, "sensitive", f"回复中含有敏感词（{'、'.join(words)}），请修改后再发送。")
        how = await self.delivery.send(conv, [Reply(f"【{s.name}】{text}")])
        await transcript.append(self.redis, conv, "staff", text, info.get("channel", ""), staff=s.username)
        await self.handoff.publish("message", conversation=conv, department=info["department"], who="staff")
        await audit.record(self.redis, s.username, s.role, "reply", conv, client_ip(request), delivered=how)
        return web.json_response({"ok": True, "delivered": how})

    async def transfer(self, request: web.Request) -> web.Response:
        got = await self._acting(request)
        if isinstance(got, web.Response):
            return got
        s, conv, info = got
        try:
            body = await request.json()
        except ValueError:
            body = {}
        body = body if isinstance(body, dict) else {}
        department, staff, note = str(body.get("department") or ""), str(body.get("staff") or ""), str(body.get("note") or "")[:200]
        colleague = await self.accounts.get(staff) if staff else None
        if staff and (colleague or {}).get("role") not in ACTING:
            return error(400, "bad_request", "没有这位工作人员。")
        if colleague and not {"*", info["department"]} & set(colleague["departments"]):
            # They could not even see it: the conversation would be stranded.
            return error(400, "bad_request", "这位工作人员不负责该部门的业务，请转给对应部门。")
        if not staff and not department:
            return error(400, "bad_request", "请选择要转给的部门或工作人员。")
        if department and department not in await self._served_departments():
            return error(400, "bad_request", "没有工作人员负责这个部门，请选择其他部门。")
        if not await self.handoff.transfer(conv, s.username, department=department, staff=staff, note=note):
            return error(409, "not_yours", "只能转出您正在处理的会话。")
        await audit.record(self.redis, s.username, s.role, "transfer", conv, client_ip(request),
                           department=department, staff=staff, note=note)
        to = colleague["name"] if colleague else department
        await transcript.append(self.redis, conv, "system", f"{s.name}转给{to}" + (f"：{note}" if note else ""),
                                info.get("channel", ""))
        await self.delivery.send(conv, [Reply(f"已为您转接{'其他工作人员' if staff else department}，请稍候。")])
        return web.json_response({"ok": True})

    async def end(self, request: web.Request) -> web.Response:
        got = await self._acting(request)
        if isinstance(got, web.Response):
            return got
        s, conv, info = got
        ended = await self.handoff.end(conv, s.username)
        if ended is None:
            return error(409, "not_yours", "只能结束您正在处理的会话。")
        await transcript.append(self.redis, conv, "system", f"{s.name}结束了人工服务", info.get("channel", ""))
        await self.delivery.send(conv, [handoff_ended_reply()])
        await audit.record(self.redis, s.username, s.role, "end", conv, client_ip(request))
        return web.json_response({"ok": True})

    async def heartbeat(self, request: web.Request) -> web.Response:
        s = await self.session(request, ACTING, write=True)
        if isinstance(s, web.Response):
            return s
        await self.handoff.heartbeat(s.username, s.departments)
        return web.json_response({"ok": True})

    async def _served_departments(self) -> set[str]:
        """Departments some handler serves: a transfer anywhere else would strand the citizen."""
        return {d for a in await self.accounts.all() if a["role"] in ACTING for d in a["departments"] if d != "*"}

    async def staff_list(self, request: web.Request) -> web.Response:
        """Colleagues to transfer to: handlers and whether they are online."""
        s = await self.session(request, WATCHING)
        if isinstance(s, web.Response):
            return s
        rows = [a for a in await self.accounts.all() if a["role"] in ACTING]
        return web.json_response({"staff": [{"username": a["username"], "name": a["name"], "departments": a["departments"]}
                                            for a in rows]})

    # --- live events ----------------------------------------------------------------------
    async def websocket(self, request: web.Request) -> web.WebSocketResponse | web.Response:
        s = await self.session(request, WATCHING)
        if isinstance(s, web.Response):
            return s
        ws = web.WebSocketResponse(heartbeat=20)
        if s.role in ACTING:        # online before the console hears it is connected
            await self.handoff.heartbeat(s.username, s.departments)
        await ws.prepare(request)
        self.sockets[ws] = s
        try:
            async for msg in ws:
                if msg.type != aiohttp.WSMsgType.TEXT:
                    continue
                if not await self.sessions.alive(s):
                    # Logged out, idle or expired: no more events, and no presence that would
                    # queue citizens for a desk nobody is signed in at. The console then asks
                    # /me, gets 401 and shows its login form.
                    await ws.close(code=SESSION_ENDED, message="登录已过期".encode())
                    break
                if s.role in ACTING:
                    await self.handoff.heartbeat(s.username, s.departments)     # any frame keeps presence
        finally:
            self.sockets.pop(ws, None)
        return ws

    async def start(self) -> None:
        self._fanout = asyncio.create_task(self._forward_events())

    async def stop(self) -> None:
        if self._fanout:
            self._fanout.cancel()
        for ws in list(self.sockets):
            await ws.close(code=aiohttp.WSCloseCode.GOING_AWAY, message="服务重启，请稍候".encode())

    async def _forward_events(self) -> None:
        """Every process subscribes and forwards to its own console sockets."""
        while True:
            pubsub = self.redis.pubsub()
            try:
                await pubsub.subscribe(EVENTS)
                async for message in pubsub.listen():
                    if message["type"] != "message":
                        continue
                    event = json.loads(message["data"])
                    for ws, s in list(self.sockets.items()):
                        if (event.get("department") == "*" or s.serves(event.get("department", ""))) and not ws.closed:
                            try:
                                await ws.send_json(event)
                            except (ConnectionError, RuntimeError):    # that console just left: not the others' problem
                                self.sockets.pop(ws, None)
            except asyncio.CancelledError:
                raise
            except (aioredis.RedisError, OSError) as exc:
                log.warning("staff events unavailable: %s", exc)
                await asyncio.sleep(1)
            finally:
                # Its own connection goes back, or every Redis hiccup (and each stop) would leak one.
                try:
                    await pubsub.aclose()
                except (aioredis.RedisError, OSError):
                    pass
