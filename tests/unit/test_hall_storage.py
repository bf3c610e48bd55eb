"""The hall's storage on SQLite and PostgreSQL: migrations, the SQL layer, department numbers,
serial numbers, and concurrency between OS processes sharing one database (distinct numbers,
one filing per Idempotency-Key, no overbooking of the last place)."""
import multiprocessing
import re
import sqlite3
import time
from datetime import date
from pathlib import Path

import pytest

from hall import appointments, schedule
from hall.app import open_store
from hall.db import Database, split_statements, to_pyformat
from hall.departments import DEPARTMENTS, department_no
from hall.migrate import MIGRATIONS_DIR, MigrationError, migrate, migrations
from hall.store import next_number
from tests.hall import workers

pytest_plugins = ["tests.hall.plugin"]
ROOT = Path(__file__).resolve().parents[2]
TABLES = {"cases", "case_stages", "appointments", "serials", "idempotency_keys", "consultations", "complaints",
          "attachments", "halls", "slot_bookings", "opinion_topics", "opinions", "schema_migrations"}


def tables(db: Database) -> set[str]:
    if db.dialect == "sqlite":
        rows = db.query("SELECT name FROM sqlite_master WHERE type = 'table'")
    else:
        rows = db.query("SELECT table_name AS name FROM information_schema.tables "
                        "WHERE table_schema = current_schema()")
    return {r["name"] for r in rows}


# -- migrations ---------------------------------------------------------------------------------
def test_migrations_are_applied_in_order_once_and_recorded(db_target):
    db = Database(db_target)
    try:
        assert migrate(db) == ["001_initial", "002_interaction"]
        assert TABLES <= tables(db)
        rows = db.query("SELECT version, name, checksum FROM schema_migrations ORDER BY version")
        assert [(r["version"], r["name"]) for r in rows] == [(1, "initial"), (2, "interaction")]
        assert all(len(r["checksum"]) == 64 for r in rows)
        assert migrate(db) == []                                   # the next start-up has nothing to do
    finally:
        db.close()


def test_a_database_from_before_migrations_is_adopted(tmp_path):
    """The first hall created its tables without migrations; 001 adopts them, data kept."""
    path = tmp_path / "hall.db"
    old = sqlite3.connect(path)
    script = (MIGRATIONS_DIR / "001_initial.sql").read_text()
    old.executescript(script)
    old.execute("INSERT INTO appointments VALUES ('YY00120261120000001', '深圳市行政服务大厅', '440300-001-XK-0002', "
                "'2026-11-30', '09:30', '赵敏', '13700137004', 'booked')")
    old.commit()
    old.close()
    store = open_store(str(path))
    try:
        assert store.count("SELECT COUNT(*) FROM schema_migrations") == 2
        assert store.booked_counts("深圳市行政服务大厅", "440300-001-XK-0002", "2026-11-30") == {"09:30": 1}
        row = store.execute("SELECT status, reschedules, cancelled_at FROM appointments")[0]
        assert row == {"status": "booked", "reschedules": 0, "cancelled_at": None}
    finally:
        store.close()


def test_a_changed_migration_stops_the_start_up(tmp_path):
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "001_first.sql").write_text("CREATE TABLE a (x INTEGER);\n")
    db = Database(str(tmp_path / "m.db"))
    try:
        assert migrate(db, folder) == ["001_first"]
        (folder / "002_second.sql").write_text("-- a comment; not a statement\nCREATE TABLE b (y TEXT);\n"
                                               "INSERT INTO b VALUES ('a;b');\n")
        assert migrate(db, folder) == ["002_second"]
        assert db.query("SELECT y FROM b") == [{"y": "a;b"}]
        (folder / "001_first.sql").write_text("CREATE TABLE a (x INTEGER, z INTEGER);\n")
        with pytest.raises(MigrationError, match="changed after it was applied"):
            migrate(db, folder)
    finally:
        db.close()


def test_a_failing_migration_leaves_nothing_behind(db_target, tmp_path):
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "001_ok.sql").write_text("CREATE TABLE ok_table (x INTEGER);\n")
    (folder / "002_broken.sql").write_text("CREATE TABLE half (x INTEGER);\nCREATE TABLE broken (;\n")
    db = Database(db_target)
    try:
        with pytest.raises(Exception):
            migrate(db, folder)
        assert "ok_table" in tables(db) and "half" not in tables(db)
        assert [r["version"] for r in db.query("SELECT version FROM schema_migrations")] == [1]
    finally:
        db.close()


def test_a_dialect_specific_file_replaces_the_shared_one(tmp_path):
    for name in ("001_base.sql", "002_index.sql", "002_index.postgresql.sql", "003_x.sqlite.sql"):
        (tmp_path / name).write_text("SELECT 1;\n")
    assert [m.path.name for m in migrations("sqlite", tmp_path)] == ["001_base.sql", "002_index.sql", "003_x.sqlite.sql"]
    assert [m.path.name for m in migrations("postgresql", tmp_path)] == ["001_base.sql", "002_index.postgresql.sql"]
    (tmp_path / "4_bad.sql").write_text("SELECT 1;\n")
    with pytest.raises(MigrationError):
        migrations("sqlite", tmp_path)


# -- the SQL layer ------------------------------------------------------------------------------
def test_one_sql_text_for_both_dialects():
    assert to_pyformat("SELECT ? FROM t WHERE a LIKE '%?%' AND b = ? AND c % 2 = 0") == \
        "SELECT %s FROM t WHERE a LIKE '%%?%%' AND b = %s AND c %% 2 = 0"
    assert split_statements("-- c\nCREATE TABLE a (x TEXT DEFAULT ';');\n\nINSERT INTO a VALUES ('x');\n") == \
        ["CREATE TABLE a (x TEXT DEFAULT ';')", "INSERT INTO a VALUES ('x')"]


def test_the_layer_returns_dicts_and_maps_booleans(db_target):
    db = Database(db_target)
    try:
        migrate(db)
        with db.transaction() as tx:
            tx.execute("INSERT INTO halls (id, name, district, address, hours, phone, per_slot) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?)", ("x1", "测试大厅", "福田区", "地址", "工作日", "12345", True))
            assert tx.one("SELECT per_slot, name FROM halls WHERE id = ?", ("x1",)) == {"per_slot": 1, "name": "测试大厅"}
            assert tx.scalar("SELECT COUNT(*) FROM halls WHERE name LIKE '%大厅'") == 1
        with pytest.raises(db.integrity_errors):
            with db.transaction() as tx:
                tx.execute("INSERT INTO halls (id, name, district, address, hours, phone, per_slot) "
                           "VALUES ('x2', '测试大厅', '', '', '', '', 1)")
        assert db.query("SELECT COUNT(*) AS n FROM halls") == [{"n": 1}]     # the pool survived the error
        assert db.describe().startswith(db.dialect) and "@" not in db.describe().replace("***@", "")
    finally:
        db.close()


# -- numbers ------------------------------------------------------------------------------------
def test_department_numbers_are_those_of_the_catalog():
    table = (ROOT / "knowledge" / "catalog" / "README.md").read_text(encoding="utf-8")
    catalog = dict(re.findall(r"^\| (\d{3}) \| (\S+) \|$", table, re.M))
    assert catalog == DEPARTMENTS
    for number, name in DEPARTMENTS.items():
        assert department_no(name) == number
    cases = {"深圳市公安局福田分局": "001", "福田派出所户政窗口": "001", "深圳市公安局交通警察局车管所": "002",
             "车管所": "002", "深圳市社会保险基金管理局罗湖分局": "005", "罗湖区人力资源局": "004",
             "深圳市医疗保障局南山服务窗口": "006", "深圳市住房公积金管理中心龙华管理部": "007",
             "深圳市不动产登记中心南山登记所": "010", "国家税务总局深圳市南山区税务局": "011",
             "南山区市场监督管理局": "014", "深圳市福田区民政局婚姻登记处": "003", "龙岗区残疾人联合会": "012",
             "由大厅分派": "000", "未指明（由大厅核实）": "000", "": "000", None: "000"}
    for name, number in cases.items():
        assert department_no(name) == number, name


def test_sequences_run_per_kind_department_and_day(db_target):
    db = Database(db_target)
    try:
        migrate(db)
        day1, day2 = date(2026, 11, 27), date(2026, 11, 28)
        with db.transaction() as tx:
            got = [next_number(tx, "TS", "001", day1), next_number(tx, "TS", "001", day1),
                   next_number(tx, "TS", "014", day1), next_number(tx, "ZX", "001", day1),
                   next_number(tx, "TS", "001", day2)]
        assert got == ["TS00120261127000001", "TS00120261127000002", "TS01420261127000001",
                       "ZX00120261127000001", "TS00120261128000001"]
        with pytest.raises(RuntimeError):
            with db.transaction() as tx:
                next_number(tx, "TS", "001", day1)
                raise RuntimeError("the filing failed")
        with db.transaction() as tx:
            assert next_number(tx, "TS", "001", day1) == "TS00120261127000003"   # the rolled-back one is reused
    finally:
        db.close()


# -- concurrency between processes ------------------------------------------------------------------
def _run(target, fn, argsets: list[tuple]) -> list[tuple]:
    """Runs fn(target, worker_no, *args, barrier, results) in one OS process per argset; they all
    pass the barrier together. A fork server that has imported the hall once starts them fast
    (and forks from a clean single-threaded process, not from pytest's)."""
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["tests.hall.workers", "hall.filings", "hall.appointments", "hall.db"])
    barrier, results = ctx.Barrier(len(argsets)), ctx.Queue()
    procs = [ctx.Process(target=fn, args=(target, i, *args, barrier, results)) for i, args in enumerate(argsets)]
    for p in procs:
        p.start()
    out = [results.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    errors = [r[-1] for r in out if r[-1]]
    assert not errors, errors
    return out


PROCESSES, FILINGS_EACH = 6, 40


def test_processes_filing_at_once_get_distinct_numbers(db_target, backend):
    open_store(db_target).close()                        # migrated and seeded before the race
    out = _run(db_target, workers.file_many, [(FILINGS_EACH,)] * PROCESSES)
    numbers = [n for r in out for n in r[1]]
    assert len(numbers) == PROCESSES * FILINGS_EACH and len(set(numbers)) == len(numbers)
    for kind in ("TS", "ZX"):
        seqs = sorted(int(n[-6:]) for n in numbers if n.startswith(kind))
        assert seqs == list(range(1, PROCESSES * FILINGS_EACH // 2 + 1))    # no gaps, no duplicates
    elapsed = max(r[3] for r in out) - min(r[2] for r in out)
    print(f"\n{backend}: {len(numbers)} filings by {PROCESSES} processes at once in {elapsed:.2f}s "
          f"= {len(numbers) / elapsed:.0f} filings/s")
    store = open_store(db_target)
    try:
        assert store.count("SELECT COUNT(*) FROM complaints") + store.count("SELECT COUNT(*) FROM consultations") \
            == len(numbers)
    finally:
        store.close()


def test_the_same_key_from_several_processes_files_once(db_target):
    open_store(db_target).close()
    out = _run(db_target, workers.file_same_key, [()] * 5)
    assert len({r[2] for r in out}) == 1
    assert sorted(r[1] for r in out) == [200, 200, 200, 200, 201]
    store = open_store(db_target)
    try:
        assert store.count("SELECT COUNT(*) FROM complaints") == 1
    finally:
        store.close()


def test_two_processes_booking_the_last_place_one_wins(db_target):
    store = open_store(db_target)
    now = schedule.now()
    day = schedule.next_bookable_day(now.date(), now).isoformat()
    booking = {"service_code": "440300-001-XK-0002", "hall": "440300", "date": day, "start": "10:00",
               "name": "市民", "channel": "web"}
    try:
        for i in range(schedule.PER_SLOT - 1):
            appointments.book(store, {**booking, "phone": f"1370000000{i}"}, None, "s")
    finally:
        store.close()
    last = [({**booking, "phone": f"1380000000{i}"},) for i in range(2)]
    # At the same moment, eight more citizens race for the four places of an empty slot.
    empty = [({**booking, "start": "15:00", "phone": f"1390000000{i}"},) for i in range(8)]
    out = _run(db_target, workers.book_one, last + empty)
    by_worker = {r[0]: r for r in out}
    last_results = sorted((by_worker[i][1], by_worker[i][2] if by_worker[i][1] == 409 else "") for i in range(2))
    assert last_results == [(201, ""), (409, "slot_full")]
    empty_statuses = sorted(by_worker[i][1] for i in range(2, 10))
    assert empty_statuses == [201] * schedule.PER_SLOT + [409] * (8 - schedule.PER_SLOT)
    store = open_store(db_target)
    try:
        counts = store.booked_counts("深圳市行政服务大厅", "440300-001-XK-0002", day)
        assert counts == {"10:00": schedule.PER_SLOT, "15:00": schedule.PER_SLOT}
        assert store.count("SELECT COUNT(*) FROM appointments WHERE status = 'booked'") == 2 * schedule.PER_SLOT
    finally:
        store.close()


# -- the service as it runs ---------------------------------------------------------------------------
def test_python_m_hall_serves_from_the_configured_database(db_target, backend, tmp_path):
    """`python -m hall` with HALL_DB_DSN (PostgreSQL) or HALL_VAR (SQLite), as the stack runs it."""
    import json
    import os
    import socket
    import subprocess
    import sys
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HALL_PORT": str(port), "HALL_API_KEY": "k",
           "HALL_VAR": str(tmp_path / "var")}
    env.pop("HALL_DB", None)
    if backend == "postgresql":
        env["HALL_DB_DSN"] = db_target
    else:
        env.pop("HALL_DB_DSN", None)
    proc = subprocess.Popen([sys.executable, "-m", "hall"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as resp:
                    health = json.loads(resp.read())
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, proc.stdout.read().decode()
                time.sleep(0.1)
        assert health == {"status": "ok", "database": backend}
        req = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1/statistics", headers={"X-Hall-Key": "k"})
        with urllib.request.urlopen(req, timeout=5) as resp:
            assert json.loads(resp.read())["by_kind"]["cases"]["total"]["received"] > 0
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert (tmp_path / "var" / "hall.db").exists() == (backend == "sqlite")


# -- when the database is in trouble ------------------------------------------------------------------
async def test_a_locked_database_is_a_503_not_a_crash(tmp_path, monkeypatch):
    from aiohttp.test_utils import TestClient, TestServer

    from hall import db as db_module
    from hall.app import create_app
    from tests.hall.common import COMPLAINT, KEY, post

    monkeypatch.setattr(db_module, "SQLITE_BUSY_TIMEOUT_S", 0.2)
    path = tmp_path / "hall.db"
    async with TestClient(TestServer(create_app(path, KEY))) as client:
        blocker = sqlite3.connect(path, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")                    # another process holds the write lock
        try:
            status, body, _ = await post(client, "/api/v1/complaints", COMPLAINT)
            assert status == 503 and body["error"] == "unavailable"
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        assert (await post(client, "/api/v1/complaints", COMPLAINT))[0] == 201


def test_the_pool_reconnects_after_postgresql_drops_its_connections(pg_cluster):
    import psycopg

    from hall import filings
    from tests.hall.common import COMPLAINT

    dsn = pg_cluster.new_database()
    store = open_store(dsn)
    try:
        assert store.statistics()["total"]["received"] > 0
        with psycopg.connect(pg_cluster.admin_dsn, autocommit=True) as admin:   # as a server restart would
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                          "WHERE pid <> pg_backend_pid() AND datname = 'postgres' AND backend_type = 'client backend'")
        assert store.statistics()["total"]["received"] > 0
        assert filings.file_complaint(store, COMPLAINT, None, "s")[0] == 201
    finally:
        store.close()
