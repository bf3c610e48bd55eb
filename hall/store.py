"""The hall's records over the SQL layer (hall/db.py): cases (办件) with their stage history,
consultations, complaints, appointments, opinion collection, statistics, serial numbers and
idempotency keys. Every method is synchronous; the HTTP layer runs them in a thread pool."""
from __future__ import annotations

import hashlib
import json
from datetime import date, datetime
from typing import Callable

from common import records
from hall import schedule
from hall.db import Database, Tx
from hall.errors import HallError, conflict

# Standard 9.2.5: four required stages and six optional ones.
REQUIRED_STAGES = ("申办", "受理", "审批", "办结")
OPTIONAL_STAGES = ("网上预受理", "补正告知", "补正受理", "特别程序申请", "特别程序结果", "领取登记")

# Two-letter kinds of the acceptance number (README "Numbers").
KIND_CONSULTATION, KIND_COMPLAINT, KIND_APPOINTMENT, KIND_OPINION = (
    records.PREFIX[k] for k in (records.CONSULTATION, records.COMPLAINT, records.APPOINTMENT, records.OPINION))
MAX_SEQ = 999_999


def body_hash(body) -> str:
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def next_number(tx: Tx, kind: str, department_no: str, day: date) -> str:
    """`<TT><DDD><YYYYMMDD><NNNNNN>`: the sequence comes from one counter row, incremented by one
    atomic upsert inside the caller's transaction (its row lock is held until commit), so every
    process filing at once gets a different number; a rolled-back filing gives its number back."""
    seq = tx.scalar(
        "INSERT INTO serials (kind, department, day, last_seq) VALUES (?, ?, ?, 1) "
        "ON CONFLICT (kind, department, day) DO UPDATE SET last_seq = serials.last_seq + 1 RETURNING last_seq",
        (kind, department_no, day.isoformat()))
    if seq > MAX_SEQ:
        raise HallError(503, "sequence_exhausted", f"no {kind} numbers left for department {department_no} today")
    return f"{kind}{department_no}{day:%Y%m%d}{seq:06d}"


class Store:
    def __init__(self, db: Database, clock: Callable[[], datetime] = schedule.now):
        self.db = db
        self.clock = clock

    def now(self) -> datetime:
        return self.clock()

    def today(self) -> date:
        return self.clock().date()

    def close(self) -> None:
        self.db.close()

    # -- plain SQL (seed data, health check) --------------------------------------------------
    def execute(self, sql: str, params=()) -> list[dict]:
        return self.db.query(sql, params)

    def count(self, sql: str, params=()) -> int:
        return int(next(iter(self.db.query(sql, params)[0].values())))

    def transaction(self, statements: list[tuple[str, tuple]]) -> None:
        with self.db.transaction() as tx:
            for sql, params in statements:
                tx.execute(sql, params)

    # -- idempotent creation --------------------------------------------------------------------
    def create(self, scope: str, idem_key: str | None, body, make: Callable[[Tx, datetime], dict]) -> tuple[int, dict]:
        """Runs make(tx, now) once per (scope, Idempotency-Key): the key, a hash of the body and
        the response are stored in the same transaction as the record. The same key and body
        again -> (200, first response); the same key with another body -> 409."""
        digest = body_hash(body)

        def run(tx: Tx) -> tuple[int, dict]:
            now = self.clock()
            if idem_key:
                fresh = tx.one("INSERT INTO idempotency_keys (scope, idem_key, body_hash, created_at) "
                               "VALUES (?, ?, ?, ?) ON CONFLICT (scope, idem_key) DO NOTHING RETURNING idem_key",
                               (scope, idem_key, digest, now.isoformat()))
                if fresh is None:
                    prev = tx.one("SELECT body_hash, response FROM idempotency_keys WHERE scope = ? AND idem_key = ?",
                                  (scope, idem_key))
                    if prev["body_hash"] != digest:
                        raise conflict("idempotency_key_reused",
                                       "this Idempotency-Key was already used with a different body")
                    return 200, json.loads(prev["response"])
            result = make(tx, now)
            if idem_key:
                tx.execute("UPDATE idempotency_keys SET status = 201, response = ? WHERE scope = ? AND idem_key = ?",
                           (json.dumps(result, ensure_ascii=False), scope, idem_key))
            return 201, result

        return self.db.write(run)

    def purge_idempotency_keys(self, older_than: datetime) -> int:
        def run(tx: Tx) -> int:
            n = tx.scalar("SELECT COUNT(*) FROM idempotency_keys WHERE created_at < ?", (older_than.isoformat(),))
            tx.execute("DELETE FROM idempotency_keys WHERE created_at < ?", (older_than.isoformat(),))
            return int(n)
        return self.db.write(run)

    # -- cases (9.2.5) --------------------------------------------------------------------------
    def case(self, number: str) -> dict | None:
        with self.db.read() as tx:
            return _case(tx, number)

    def cases_for(self, id_number: str) -> list[dict]:
        with self.db.read() as tx:
            numbers = [r["number"] for r in tx.execute(
                "SELECT number FROM cases WHERE id_number = ? ORDER BY applied_at DESC", (id_number,))]
            return [_case(tx, n) for n in numbers]

    def booked_counts(self, hall: str, service_code: str, day: str) -> dict[str, int]:
        return {r["start"]: int(r["booked"]) for r in self.db.query(
            "SELECT start, booked FROM slot_bookings WHERE hall = ? AND service_code = ? AND day = ?",
            (hall, service_code, day))}

    # -- statistics (9.4.5) ----------------------------------------------------------------------
    def statistics(self) -> dict:
        """Received and completed today, this month and in total: cases (received when applied
        for, completed at 办结), consultations (completed when answered) and complaints
        (completed when the result is given)."""
        now = self.clock()
        today = now.date()
        periods = {"today": today.isoformat(), "month": today.replace(day=1).isoformat(), "total": ""}
        queries = {
            "cases": ("SELECT COUNT(*) AS n FROM cases WHERE applied_at >= ?",
                      "SELECT COUNT(DISTINCT number) AS n FROM case_stages WHERE stage = '办结' AND at >= ?"),
            "consultations": ("SELECT COUNT(*) AS n FROM consultations WHERE filed_at >= ?",
                              "SELECT COUNT(*) AS n FROM consultations WHERE answered_at >= ?"),
            "complaints": ("SELECT COUNT(*) AS n FROM complaints WHERE filed_at >= ?",
                           "SELECT COUNT(*) AS n FROM complaints WHERE completed_at >= ?"),
        }
        by_kind: dict[str, dict] = {}
        with self.db.read() as tx:
            for kind, (received_sql, completed_sql) in queries.items():
                by_kind[kind] = {period: {"received": int(tx.scalar(received_sql, (since,))),
                                          "completed": int(tx.scalar(completed_sql, (since,)))}
                                 for period, since in periods.items()}
        out: dict = {}
        for period in periods:
            out[period] = {k: sum(by_kind[kind][period][k] for kind in by_kind) for k in ("received", "completed")}
        out["by_kind"] = by_kind
        return out


def _case(tx: Tx, number: str) -> dict | None:
    case = tx.one("SELECT * FROM cases WHERE number = ?", (number,))
    if case is None:
        return None
    case["stages"] = tx.execute("SELECT stage, at, handler, note FROM case_stages WHERE number = ? ORDER BY seq",
                                (number,))
    return case
