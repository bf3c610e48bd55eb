"""The reference hall's HTTP API (aiohttp). Every /api route needs the service key: the hall
holds citizens' data and answers only the assistant, never anonymous callers. The contract is
hall/README.md and the OpenAPI document hall/openapi.yaml (served at /openapi.json).

Database work is synchronous (hall/db.py) and runs in a small thread pool, one pooled
connection per worker, so a transaction waiting for a lock never blocks the event loop."""
from __future__ import annotations

import asyncio
import hmac
import json
import logging
import re
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from functools import lru_cache, partial
from pathlib import Path
from typing import Callable

import yaml
from aiohttp import web

from common.identity import valid_id_number
from hall import appointments, filings, metrics
from hall.db import Database, DatabaseUnavailable
from hall.errors import HallError, bad_request, not_found
from hall.migrate import migrate
from hall.seed import seed
from hall.store import Store
from hall.validation import NUMBER_RE

log = logging.getLogger(__name__)
STORE = web.AppKey("store", Store)
API_KEY = web.AppKey("api_key", str)
EXECUTOR = web.AppKey("executor", ThreadPoolExecutor)
OPENAPI_PATH = Path(__file__).resolve().parent / "openapi.yaml"
IDEMPOTENCY_KEY_RE = re.compile(r"[\x21-\x7e]{1,200}")
IDEMPOTENCY_KEEP_DAYS = 90


def _error(status: int, code: str, message: str, **extra) -> web.Response:
    return web.json_response({"error": code, "message": message, **extra}, status=status)


@web.middleware
async def errors(request: web.Request, handler):
    """Every failure as JSON {"error", "message"}."""
    try:
        return await handler(request)
    except HallError as exc:
        return web.json_response(exc.body(), status=exc.status)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = {404: "not_found", 405: "method_not_allowed", 413: "too_large"}.get(exc.status, "http_error")
        return _error(exc.status, code, exc.reason)
    except Exception as exc:
        if isinstance(exc, DatabaseUnavailable) or request.app[STORE].db.unavailable(exc):
            log.warning("database unavailable: %s", exc)
            return _error(503, "unavailable", "the hall's database is unavailable; try again later")
        log.exception("unhandled error on %s %s", request.method, request.path)
        return _error(500, "internal", "internal error")


@web.middleware
async def require_key(request: web.Request, handler):
    if request.path.startswith("/api/"):
        given = request.headers.get("X-Hall-Key", "")
        if not hmac.compare_digest(given.encode(), request.app[API_KEY].encode()):
            return _error(401, "unauthorized", "missing or wrong X-Hall-Key")
    return await handler(request)


async def _run(request: web.Request, fn: Callable, *args):
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(request.app[EXECUTOR], partial(fn, *args))


async def _body(request: web.Request):
    raw = await request.read()
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise bad_request("bad_json", "the body must be a UTF-8 JSON object")


def _idempotency_key(request: web.Request) -> str | None:
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    if not IDEMPOTENCY_KEY_RE.fullmatch(key):
        raise bad_request("bad_idempotency_key", "Idempotency-Key must be 1-200 printable ASCII characters")
    return key


def _number(request: web.Request) -> str:
    number = request.match_info["number"].upper()
    if not NUMBER_RE.fullmatch(number):
        raise not_found("not an acceptance number (2 letters and 17 digits)")
    return number


def _created(status: int, body: dict) -> web.Response:
    headers = {"Idempotent-Replayed": "true"} if status == 200 else {}
    return web.json_response(body, status=status, headers=headers)


async def _create(request: web.Request, fn: Callable, *args) -> web.Response:
    body = await _body(request)
    key = _idempotency_key(request)
    scope = f"POST {request.path}"
    status, result = await _run(request, fn, request.app[STORE], *args, body, key, scope)
    return _created(status, result)


# -- health and contract -------------------------------------------------------------------------
async def healthz(request: web.Request) -> web.Response:
    await _run(request, request.app[STORE].count, "SELECT 1")
    return web.json_response({"status": "ok", "database": request.app[STORE].db.dialect})


@lru_cache(maxsize=1)
def openapi_document() -> dict:
    return yaml.safe_load(OPENAPI_PATH.read_text(encoding="utf-8"))


async def openapi(request: web.Request) -> web.Response:
    return web.json_response(openapi_document())


# -- cases (9.2.5) -------------------------------------------------------------------------------
async def get_case(request: web.Request) -> web.Response:
    case = await _run(request, request.app[STORE].case, request.match_info["number"].upper())
    if case is None:
        return _error(404, "not_found", "no case with this acceptance number")
    return web.json_response(_public(case))


async def find_cases(request: web.Request) -> web.Response:
    """By ID number, only with a matching phone or name (standard 9.2.5 identity check)."""
    id_number = request.query.get("id_number", "").upper()
    phone, name = request.query.get("phone", ""), request.query.get("name", "")
    if not valid_id_number(id_number):
        return _error(400, "bad_id_number", "id_number is not a valid resident ID number")
    if not (phone or name):
        return _error(400, "identity_check_required", "give the phone or name registered with the case")
    found = await _run(request, request.app[STORE].cases_for, id_number)
    cases = [c for c in found if (phone and c["phone"] == phone) or (name and c["applicant_name"] == name)]
    return web.json_response({"cases": [_public(c) for c in cases]})


def _public(case: dict) -> dict:
    """What the hall tells about a case: no ID number or phone goes back out."""
    keys = ("number", "item_code", "item_name", "item_type", "case_name", "department", "applied_at", "stages")
    out = {k: case[k] for k in keys}
    out["applicant_name"] = case["applicant_name"][:1] + "*" * (len(case["applicant_name"]) - 1)
    return out


# -- consultations (9.3.1) and complaints (9.3.2) --------------------------------------------------
async def file_consultation(request: web.Request) -> web.Response:
    return await _create(request, filings.file_consultation)


async def get_consultation(request: web.Request) -> web.Response:
    return web.json_response(await _run(request, filings.consultation, request.app[STORE], _number(request)))


async def recent_consultations(request: web.Request) -> web.Response:
    q = request.query
    found = await _run(request, filings.recent_consultations, request.app[STORE], q.get("since", ""), q.get("limit", ""))
    return web.json_response({"consultations": found})


async def consultation_visibility(request: web.Request) -> web.Response:
    number, body = _number(request), await _body(request)
    return web.json_response(await _run(request, filings.set_consultation_public, request.app[STORE], number, body))


async def answer_consultation(request: web.Request) -> web.Response:
    number, body = _number(request), await _body(request)
    return web.json_response(await _run(request, filings.answer_consultation, request.app[STORE], number, body))


async def file_complaint(request: web.Request) -> web.Response:
    return await _create(request, filings.file_complaint)


async def get_complaint(request: web.Request) -> web.Response:
    return web.json_response(await _run(request, filings.complaint, request.app[STORE], _number(request)))


async def complaint_result(request: web.Request) -> web.Response:
    number, body = _number(request), await _body(request)
    return web.json_response(await _run(request, filings.complaint_result, request.app[STORE], number, body))


# -- appointments (9.2.2) ------------------------------------------------------------------------
async def list_halls(request: web.Request) -> web.Response:
    return web.json_response({"halls": await _run(request, appointments.halls, request.app[STORE])})


async def slots(request: web.Request) -> web.Response:
    q = request.query
    return web.json_response(await _run(request, appointments.free_slots, request.app[STORE],
                                         q.get("service_code", ""), q.get("date", ""), q.get("hall")))


async def book(request: web.Request) -> web.Response:
    return await _create(request, appointments.book)


async def get_appointment(request: web.Request) -> web.Response:
    return web.json_response(await _run(request, appointments.appointment, request.app[STORE], _number(request)))


async def reschedule(request: web.Request) -> web.Response:
    number, body = _number(request), await _body(request)
    return web.json_response(await _run(request, appointments.reschedule, request.app[STORE], number, body))


async def cancel(request: web.Request) -> web.Response:
    return web.json_response(await _run(request, appointments.cancel, request.app[STORE], _number(request)))


# -- opinion collection (9.3.3) and statistics (9.4.5) -----------------------------------------------
async def opinion_topics(request: web.Request) -> web.Response:
    return web.json_response({"topics": await _run(request, filings.current_topics, request.app[STORE])})


async def submit_opinion(request: web.Request) -> web.Response:
    return await _create(request, _submit_opinion, request.match_info["id"])


def _submit_opinion(store: Store, topic_id: str, body, key, scope):
    return filings.submit_opinion(store, topic_id, body, key, scope)


async def statistics(request: web.Request) -> web.Response:
    """Standard 9.4.5: received and completed today, this month and in total."""
    return web.json_response(await _run(request, request.app[STORE].statistics))


# -- the application -----------------------------------------------------------------------------
def open_store(target: Path | str | Database, clock: Callable[[], datetime] | None = None) -> Store:
    """Opens the database, applies pending migrations and the seed data."""
    db = target if isinstance(target, Database) else Database(target)
    store = Store(db, clock) if clock else Store(db)
    migrate(db)
    seed(store)
    store.purge_idempotency_keys(store.now() - timedelta(days=IDEMPOTENCY_KEEP_DAYS))
    return store


def create_app(db: Path | str | Database, api_key: str, clock: Callable[[], datetime] | None = None) -> web.Application:
    app = web.Application(middlewares=[metrics.measure, errors, require_key], client_max_size=2 * 1024 * 1024)
    store = open_store(db, clock)
    app[STORE], app[API_KEY] = store, api_key
    app[EXECUTOR] = ThreadPoolExecutor(max_workers=store.db.pool_size, thread_name_prefix="hall-db")

    async def close(app: web.Application) -> None:
        app[EXECUTOR].shutdown(wait=True)
        app[STORE].close()

    app.on_cleanup.append(close)
    r = app.router
    r.add_get("/healthz", healthz)
    r.add_get("/openapi.json", openapi)
    r.add_routes(metrics.routes())
    r.add_get("/api/v1/cases", find_cases)
    r.add_get("/api/v1/cases/{number}", get_case)
    r.add_post("/api/v1/consultations", file_consultation)
    r.add_get("/api/v1/consultations", recent_consultations)
    r.add_get("/api/v1/consultations/{number}", get_consultation)
    r.add_patch("/api/v1/consultations/{number}", consultation_visibility)
    r.add_post("/api/v1/consultations/{number}/answer", answer_consultation)
    r.add_post("/api/v1/complaints", file_complaint)
    r.add_get("/api/v1/complaints/{number}", get_complaint)
    r.add_post("/api/v1/complaints/{number}/result", complaint_result)
    r.add_get("/api/v1/halls", list_halls)
    r.add_get("/api/v1/appointments/slots", slots)     # before /appointments/{number}
    r.add_post("/api/v1/appointments", book)
    r.add_get("/api/v1/appointments/{number}", get_appointment)
    r.add_patch("/api/v1/appointments/{number}", reschedule)
    r.add_delete("/api/v1/appointments/{number}", cancel)
    r.add_get("/api/v1/opinion-topics", opinion_topics)
    r.add_post("/api/v1/opinion-topics/{id}/opinions", submit_opinion)
    r.add_get("/api/v1/statistics", statistics)
    return app


def main() -> None:
    from common.logs import setup_logging
    from hall.config import HallSettings, database_target

    setup_logging("hall")
    cfg = HallSettings()
    app = create_app(database_target(), cfg.api_key)
    log.info("hall data in %s", app[STORE].db.describe())
    web.run_app(app, host=cfg.host, port=cfg.port, print=None)


if __name__ == "__main__":
    main()
