"""The review workflow of knowledge changes (standard 9.3.1.4 knowledge upkeep; 8.5.1.1 roles):
draft → submitted → approved → published, a change being an FAQ entry (new or edited) or
some fields of a catalog item. The author edits and submits; someone else (an administrator
or a second publisher) approves or returns it; an approved change is published as the next
version of its entry. Every published version is kept with its author, reviewer and time,
and an entry can be rolled back to any earlier version or to the YAML base (version 0); a
rollback is itself a new version, so the history only grows.

Who may call what (roles) is checked by the gateway (staff/admin_knowledge.py); this
store enforces what holds whoever calls: states, "never the author", one open change per
entry (an administrator may withdraw anyone's draft or submitted change; an approved one can only
be published). Transitions are optimistic Redis transactions (WATCH), so two reviewers clicking at
once cannot both approve, and two publishes cannot take the same version number.

Redis layout besides knowledge/overlay.py's:
    kb:change:<id>                 JSON of one change (its fields, state and history)
    kb:changes                     sorted set of change ids by last update
    kb:open:<kind>:<target>        the id of the entry's unfinished change
    kb:versions:<kind>:<target>    list of JSON version records (1, 2, …)
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass

import redis.asyncio as aioredis
from redis.exceptions import WatchError

from common import sensitive
from knowledge import overlay
from knowledge.catalog import Catalog, Item
from knowledge.faq import FaqEntry
from knowledge.overlay import OverlayError, field_key

CHANGES = "kb:changes"
CHANGE_SEQ = "kb:change:seq"
FAQ_SEQ = "kb:faq:seq"
NEW_FAQ_PREFIX = "kb-"
STATES = {"draft": "草稿", "submitted": "待审核", "approved": "已审核待发布", "published": "已发布", "discarded": "已撤销"}
OPEN_STATES = ("draft", "submitted", "approved")
LIST_LIMIT = 500


def _change_key(change_id: str) -> str:
    return f"kb:change:{change_id}"


def _open_key(kind: str, target: str) -> str:
    return f"kb:open:{kind}:{target}"


def _versions_key(kind: str, target: str) -> str:
    return f"kb:versions:{kind}:{target}"


class WorkflowError(Exception):
    """A request the workflow refuses; `message` is shown to the staff member."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass(frozen=True)
class Actor:
    username: str
    name: str
    role: str


def item_fields(item: Item) -> dict:
    """An item's editable fields in the shape the editor and knowledge/overlay.py use."""
    return {"summary": item.summary, "acceptance_conditions": list(item.acceptance_conditions),
            "materials": [{"name": m.name, "originals": m.originals, "copies": m.copies, "required": m.required,
                           "note": m.note} for m in item.materials],
            "fees": {"charged": bool(item.fees.get("charged")), "standard": str(item.fees.get("standard") or ""),
                     "basis": str(item.fees.get("basis") or "")},
            "process": list(item.process), "promised_time_limit": item.promised_time_limit, "online": item.online,
            "hotline": item.hotline}


def faq_fields(entry: FaqEntry) -> dict:
    return {"question": entry.question, "alt_questions": list(entry.alt_questions), "answer": entry.answer,
            "item_code": entry.item_code, "tags": list(entry.tags)}


def _texts(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [t for v in value.values() for t in _texts(v)]
    if isinstance(value, list):
        return [t for v in value for t in _texts(v)]
    return []


class OverlayStore:
    def __init__(self, redis: aioredis.Redis, catalog: Catalog, faq: dict[str, FaqEntry]):
        self.redis, self.catalog, self.faq = redis, catalog, faq

    # --- what exists ------------------------------------------------------------------------
    def base_fields(self, kind: str, target: str) -> dict | None:
        if kind == "item":
            item = self.catalog.get(target)
            return item_fields(item) if item else None
        entry = self.faq.get(target)
        return faq_fields(entry) if entry else None

    async def published(self, kind: str, target: str) -> dict | None:
        raw = await self.redis.hget(overlay.PUBLISHED, field_key(kind, target))
        return json.loads(raw) if raw else None

    async def effective(self, kind: str, target: str) -> dict | None:
        """What the assistant answers with now: the base with the published fields over it."""
        base, published = self.base_fields(kind, target), await self.published(kind, target)
        if published is None:
            return base
        return {**(base or {}), **published["fields"]}

    async def exists(self, kind: str, target: str) -> bool:
        return self.base_fields(kind, target) is not None or await self.published(kind, target) is not None

    async def entries(self, kind: str, query: str = "", limit: int = 50) -> list[dict]:
        """Entries a publisher can open: FAQ entries (base and new) or catalog items."""
        published = {k.decode(): json.loads(v) for k, v in (await self.redis.hgetall(overlay.PUBLISHED)).items()}
        rows = []
        if kind == "item":
            for item in self.catalog.items.values():
                rows.append({"kind": "item", "target": item.code, "title": item.name,
                             "version": (published.get(field_key("item", item.code)) or {}).get("version", 0)})
        else:
            ids = list(self.faq) + sorted(k.split(":", 1)[1] for k in published if k.startswith("faq:")
                                          and k.split(":", 1)[1] not in self.faq)
            for entry_id in ids:
                record = published.get(field_key("faq", entry_id))
                fields = (record or {}).get("fields") or {}
                title = fields.get("question") or (self.faq[entry_id].question if entry_id in self.faq else entry_id)
                rows.append({"kind": "faq", "target": entry_id, "title": title, "version": (record or {}).get("version", 0),
                             "retired": bool(fields.get("retired")), "new": entry_id not in self.faq})
        query = query.strip()
        if query:
            rows = [r for r in rows if query in r["title"] or query in r["target"]]
        return rows[:limit]

    # --- changes ----------------------------------------------------------------------------
    def _clean(self, kind: str, target: str, fields) -> dict:
        try:
            cleaned = overlay.clean(kind, fields, set(self.catalog.items))
        except OverlayError as exc:
            raise WorkflowError(400, "invalid", str(exc)) from None
        if kind == "item":
            base = overlay.clean_item(self.base_fields(kind, target))
            cleaned = {k: v for k, v in cleaned.items() if v != base.get(k)}
            if not cleaned:
                raise WorkflowError(400, "unchanged", "内容与事项目录原文相同，没有需要发布的修改。")
        return cleaned

    async def get(self, change_id: str) -> dict:
        raw = await self.redis.get(_change_key(change_id))
        if raw is None:
            raise WorkflowError(404, "not_found", "没有找到这条修改。")
        return json.loads(raw)

    async def changes(self, state: str = "") -> list[dict]:
        ids = await self.redis.zrevrange(CHANGES, 0, LIST_LIMIT - 1)
        raws = await self.redis.mget([_change_key(i.decode()) for i in ids]) if ids else []
        rows = [json.loads(r) for r in raws if r]
        return [r for r in rows if not state or r["state"] == state]

    async def create(self, actor: Actor, kind: str, target: str, fields, candidate: str = "") -> dict:
        if kind not in overlay.KINDS:
            raise WorkflowError(400, "invalid", "只能修改常见问题（faq）或事项（item）。")
        target = (target or "").strip()
        if (target or kind == "item") and not await self.exists(kind, target):
            raise WorkflowError(404, "not_found", "没有找到要修改的条目。")
        cleaned = self._clean(kind, target, fields)
        if not target:                                   # a new FAQ entry gets the next free id
            target = f"{NEW_FAQ_PREFIX}{await self.redis.incr(FAQ_SEQ):04d}"
        change_id = str(await self.redis.incr(CHANGE_SEQ))
        if not await self.redis.set(_open_key(kind, target), change_id, nx=True):
            other = (await self.redis.get(_open_key(kind, target)) or b"").decode()
            raise WorkflowError(409, "open_change", f"该条目已有未完成的修改（编号{other}），请在那条修改上继续。")
        now = time.time()
        change = {"id": change_id, "kind": kind, "target": target, "state": "draft", "fields": cleaned,
                  "author": actor.username, "author_name": actor.name, "candidate": str(candidate or "")[:200],
                  "reviewer": "", "reviewer_name": "", "review_note": "", "version": 0,
                  "created_at": now, "updated_at": now, "history": [self._event(actor, "create", now)]}
        await self._save(change)
        return change

    async def edit(self, actor: Actor, change_id: str, fields) -> dict:
        async def step(pipe, change):
            self._require_author(actor, change, "只有起草人可以修改草稿。")
            self._require_state(change, ("draft",), "只有草稿可以修改；已提交的修改请先撤回或等待审核退回。")
            change["fields"] = self._clean(change["kind"], change["target"], fields)
            return self._queue_save(pipe, change, actor, "edit")
        return await self._transition(change_id, step)

    async def submit(self, actor: Actor, change_id: str) -> dict:
        async def step(pipe, change):
            self._require_author(actor, change, "只有起草人可以提交审核。")
            self._require_state(change, ("draft",), "只有草稿可以提交审核。")
            flagged = sensitive.default().find("\n".join(_texts(change["fields"])))
            if flagged:
                raise WorkflowError(400, "sensitive", f"内容含有敏感词（{sensitive.summary(flagged)}），请修改后再提交。")
            return self._queue_save(pipe, change, actor, "submit", state="submitted")
        return await self._transition(change_id, step)

    async def review(self, actor: Actor, change_id: str, approve: bool, note: str = "") -> dict:
        note = " ".join(str(note or "").split())[:500]

        async def step(pipe, change):
            if change["author"] == actor.username:
                raise WorkflowError(403, "own_change", "不能审核自己起草的修改，请由管理员或其他信息发布员审核。")
            self._require_state(change, ("submitted",), "只有待审核的修改可以审核。")
            if not approve and not note:
                raise WorkflowError(400, "note_required", "退回修改时请写明原因。")
            change.update(reviewer=actor.username, reviewer_name=actor.name, review_note=note, reviewed_at=time.time())
            return self._queue_save(pipe, change, actor, "approve" if approve else "return", note,
                                    state="approved" if approve else "draft")
        return await self._transition(change_id, step)

    async def discard(self, actor: Actor, change_id: str) -> dict:
        """The author withdraws a change; an administrator may too (a draft left by someone who
        moved on must not block its entry for ever)."""
        async def step(pipe, change):
            if actor.role != "admin":
                self._require_author(actor, change, "只有起草人或系统管理员可以撤销修改。")
            self._require_state(change, ("draft", "submitted"), "已审核或已发布的修改不能撤销。")
            result = self._queue_save(pipe, change, actor, "discard", state="discarded")
            pipe.delete(_open_key(change["kind"], change["target"]))
            return result
        return await self._transition(change_id, step)

    async def publish(self, actor: Actor, change_id: str) -> dict:
        async def step(pipe, change):
            self._require_state(change, ("approved",), "只有审核通过的修改可以发布。")
            kind, target = change["kind"], change["target"]
            versions_key = _versions_key(kind, target)
            await pipe.watch(versions_key)
            number = await pipe.llen(versions_key) + 1
            now = time.time()
            version = {"version": number, "fields": change["fields"], "author": change["author"],
                       "author_name": change["author_name"], "reviewer": change["reviewer"],
                       "reviewer_name": change["reviewer_name"], "published_by": actor.username,
                       "published_by_name": actor.name, "published_at": now, "change": change["id"], "rollback_of": None}
            change["version"] = number
            result = self._queue_save(pipe, change, actor, "publish", state="published")
            self._queue_version(pipe, kind, target, version)
            pipe.delete(_open_key(kind, target))
            return result
        return await self._transition(change_id, step)

    async def versions(self, kind: str, target: str) -> list[dict]:
        return [json.loads(v) for v in await self.redis.lrange(_versions_key(kind, target), 0, -1)]

    async def rollback(self, actor: Actor, kind: str, target: str, to_version: int) -> dict:
        """Publishes an earlier version's fields again (0: the YAML base, or no entry for a new
        FAQ entry) as the next version."""
        versions_key = _versions_key(kind, target)
        async with self.redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(versions_key)
                    history = [json.loads(v) for v in await pipe.lrange(versions_key, 0, -1)]
                    if not history:
                        raise WorkflowError(404, "no_versions", "该条目还没有发布过的版本。")
                    current = history[-1]["version"]
                    if not 0 <= to_version < current:
                        raise WorkflowError(400, "bad_version", f"请选择0到{current - 1}之间的版本（0为原始版本）。")
                    fields = history[to_version - 1]["fields"] if to_version else None
                    version = {"version": current + 1, "fields": fields, "author": actor.username,
                               "author_name": actor.name, "reviewer": "", "reviewer_name": "",
                               "published_by": actor.username, "published_by_name": actor.name,
                               "published_at": time.time(), "change": "", "rollback_of": to_version}
                    pipe.multi()
                    self._queue_version(pipe, kind, target, version)
                    await pipe.execute()
                    return version
                except WatchError:
                    continue

    # --- helpers ------------------------------------------------------------------------------
    @staticmethod
    def _event(actor: Actor, action: str, at: float, note: str = "") -> dict:
        return {"action": action, "by": actor.username, "name": actor.name, "role": actor.role, "at": at, "note": note}

    @staticmethod
    def _require_author(actor: Actor, change: dict, message: str) -> None:
        if change["author"] != actor.username:
            raise WorkflowError(403, "not_author", message)

    @staticmethod
    def _require_state(change: dict, states: tuple[str, ...], message: str) -> None:
        if change["state"] not in states:
            raise WorkflowError(409, "wrong_state", f"{message}（当前状态：{STATES[change['state']]}）")

    async def _save(self, change: dict) -> None:
        pipe = self.redis.pipeline(transaction=True)
        pipe.set(_change_key(change["id"]), json.dumps(change, ensure_ascii=False))
        pipe.zadd(CHANGES, {change["id"]: change["updated_at"]})
        await pipe.execute()

    def _queue_save(self, pipe, change: dict, actor: Actor, action: str, note: str = "", state: str = "") -> dict:
        """Ends the transaction's reads and queues the change's new state."""
        now = time.time()
        change["state"] = state or change["state"]
        change["updated_at"] = now
        change["history"].append(self._event(actor, action, now, note))
        pipe.multi()
        pipe.set(_change_key(change["id"]), json.dumps(change, ensure_ascii=False))
        pipe.zadd(CHANGES, {change["id"]: now})
        return change

    @staticmethod
    def _queue_version(pipe, kind: str, target: str, version: dict) -> None:
        key = field_key(kind, target)
        pipe.rpush(_versions_key(kind, target), json.dumps(version, ensure_ascii=False))
        if version["fields"] is None:
            pipe.hdel(overlay.PUBLISHED, key)
        else:
            pipe.hset(overlay.PUBLISHED, key, json.dumps({"version": version["version"], "fields": version["fields"]},
                                                          ensure_ascii=False))
        pipe.incr(overlay.VERSION)
        pipe.publish(overlay.CHANGED, key)

    async def _transition(self, change_id: str, step) -> dict:
        key = _change_key(change_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(key)
                    raw = await pipe.get(key)
                    if raw is None:
                        raise WorkflowError(404, "not_found", "没有找到这条修改。")
                    result = await step(pipe, json.loads(raw))
                    await pipe.execute()
                    return result
                except WatchError:
                    continue
