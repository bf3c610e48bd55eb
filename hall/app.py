"""The reference hall's HTTP API (aiohttp). Every /api route needs the service key: the hall
holds citizens' data and answers only the assistant, never anonymous callers."""
from __future__ import annotations

import hmac
import os
from datetime import date, datetime
from pathlib import Path

from aiohttp import web

from assistant.identity import valid_id_number
from hall import schedule
from hall.seed import seed
from hall.store import Store

STORE = web.AppKey("store", Store)
API_KEY = web.AppKey("api_key", str)


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": code, "message": message}, status=status)


@web.middleware
async def require_key(request: web.Request, handler):
    if request.path.startswith("/api/"):
        given = request.headers.get("X-Hall-Key", "")
        if not hmac.compare_digest(given.encode(), request.app[API_KEY].encode()):
            return _error(401, "unauthorized", "missing or wrong X-Hall-Key")
    return await handler(request)


async def healthz(request: web.Request) -> web.Response:
    request.app[STORE].count("SELECT 1")
    return web.json_response({"status": "ok"})


async def get_case(request: web.Request) -> web.Response:
    case = request.app[STORE].case(request.match_info["number"].upper())
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
    cases = [c for c in request.app[STORE].cases_for(id_number)
             if (phone and c["phone"] == phone) or (name and c["applicant_name"] == name)]
    return web.json_response({"cases": [_public(c) for c in cases]})


def _public(case: dict) -> dict:
    """What the hall tells about a case: no ID number or phone goes back out."""
    keys = ("number", "item_code", "item_name", "item_type", "case_name", "department", "applied_at", "stages")
    out = {k: case[k] for k in keys}
    out["applicant_name"] = case["applicant_name"][:1] + "*" * (len(case["applicant_name"]) - 1)
    return out


async def slots(request: web.Request) -> web.Response:
    q = request.query
    service_code, hall = q.get("service_code", ""), q.get("hall", "市行政服务大厅")
    try:
        day = date.fromisoformat(q.get("date", ""))
    except ValueError:
        return _error(400, "bad_date", "date must be YYYY-MM-DD")
    if not service_code:
        return _error(400, "service_code_required", "service_code is required")
    if not schedule.bookable(day, datetime.now()):
        return web.json_response({"date": day.isoformat(), "open": schedule.is_open(day), "slots": [],
                                  "next_open_day": schedule.next_open_day(max(day, date.today())).isoformat()})
    booked = request.app[STORE].booked_counts(hall, service_code, day.isoformat())
    free = [{"start": s, "free": schedule.PER_SLOT - booked.get(s, 0)} for s in schedule.slot_starts(day)
            if booked.get(s, 0) < schedule.PER_SLOT]
    return web.json_response({"date": day.isoformat(), "open": True, "hall": hall, "slots": free})


async def statistics(request: web.Request) -> web.Response:
    """Standard 9.4.5: cases received and completed today, this month and in total."""
    store, today = request.app[STORE], date.today()
    month = today.replace(day=1).isoformat()

    def counts(since: str) -> dict:
        received = store.count("SELECT COUNT(*) FROM cases WHERE applied_at >= ?", (since,))
        done = store.count("SELECT COUNT(DISTINCT number) FROM case_stages WHERE stage = '办结' AND at >= ?", (since,))
        return {"received": received, "completed": done}

    return web.json_response({"today": counts(today.isoformat()), "month": counts(month), "total": counts("")})


def create_app(db_path: Path, api_key: str) -> web.Application:
    app = web.Application(middlewares=[require_key], client_max_size=2 * 1024 * 1024)
    store = Store(db_path)
    seed(store)
    app[STORE], app[API_KEY] = store, api_key
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/api/v1/cases", find_cases)
    app.router.add_get("/api/v1/cases/{number}", get_case)
    app.router.add_get("/api/v1/appointments/slots", slots)
    app.router.add_get("/api/v1/statistics", statistics)
    return app


def main() -> None:
    from assistant.config import settings
    from assistant.logs import setup_logging

    setup_logging("hall")
    cfg = settings()
    port = int(os.environ.get("HALL_PORT", cfg.hall_url.rsplit(":", 1)[-1]))
    db = Path(os.environ.get("HALL_DB", str(cfg.var_dir / "hall.db")))
    web.run_app(create_app(db, cfg.hall_api_key), host="127.0.0.1", port=port, print=None)


if __name__ == "__main__":
    main()
