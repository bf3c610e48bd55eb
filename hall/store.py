"""Hall storage on SQLite: cases (办件) with their stage history, and appointment capacity."""
from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS cases (
    number TEXT PRIMARY KEY,          -- acceptance number (受理编号)
    item_code TEXT NOT NULL,
    item_name TEXT NOT NULL,
    item_type TEXT NOT NULL,
    case_name TEXT NOT NULL,
    applicant_name TEXT NOT NULL,
    id_number TEXT NOT NULL,
    phone TEXT NOT NULL,
    department TEXT NOT NULL,
    applied_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS cases_by_id ON cases(id_number);
CREATE TABLE IF NOT EXISTS case_stages (
    number TEXT NOT NULL REFERENCES cases(number),
    seq INTEGER NOT NULL,
    stage TEXT NOT NULL,              -- one of STAGES
    at TEXT NOT NULL,
    handler TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (number, seq)
);
CREATE TABLE IF NOT EXISTS appointments (
    number TEXT PRIMARY KEY,
    hall TEXT NOT NULL,
    service_code TEXT NOT NULL,
    day TEXT NOT NULL,
    start TEXT NOT NULL,
    name TEXT NOT NULL,
    phone TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'booked'   -- booked | cancelled
);
CREATE INDEX IF NOT EXISTS appointments_by_slot ON appointments(hall, service_code, day, start);
"""

# Standard 9.2.5: four required stages and six optional ones.
REQUIRED_STAGES = ("申办", "受理", "审批", "办结")
OPTIONAL_STAGES = ("网上预受理", "补正告知", "补正受理", "特别程序申请", "特别程序结果", "领取登记")


class Store:
    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(SCHEMA)
        self._lock = threading.Lock()

    def execute(self, sql: str, params=()) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    def transaction(self, statements: list[tuple[str, tuple]]):
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for sql, params in statements:
                    self._db.execute(sql, params)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def case(self, number: str) -> dict | None:
        rows = self.execute("SELECT * FROM cases WHERE number = ?", (number,))
        if not rows:
            return None
        case = dict(rows[0])
        case["stages"] = [dict(r) for r in self.execute(
            "SELECT stage, at, handler, note FROM case_stages WHERE number = ? ORDER BY seq", (number,))]
        return case

    def cases_for(self, id_number: str) -> list[dict]:
        numbers = [r["number"] for r in self.execute(
            "SELECT number FROM cases WHERE id_number = ? ORDER BY applied_at DESC", (id_number,))]
        return [self.case(n) for n in numbers]

    def booked_counts(self, hall: str, service_code: str, day: str) -> dict[str, int]:
        return {r["start"]: r["n"] for r in self.execute(
            "SELECT start, COUNT(*) AS n FROM appointments WHERE hall = ? AND service_code = ? AND day = ? "
            "AND status = 'booked' GROUP BY start", (hall, service_code, day))}

    def count(self, sql: str, params=()) -> int:
        return int(self.execute(sql, params)[0][0])
