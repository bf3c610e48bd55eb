"""Backup and restore (ops/backup.py) into fresh instances: a hall database with filed records
(SQLite, and PostgreSQL in the throwaway cluster) and a real redis-server holding a conversation
session, a transcript, a scheduled reminder and an audit stream with its consumer-free entries;
the restored copies answer with the same data. Damaged backups and occupied targets are refused."""
from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
import redis.asyncio as aioredis

from common import audit, reminders, transcript
from common.sessions import Sessions, conversation_id
from hall.app import open_store
from hall.db import Database
from hall.filings import file_complaint
from ops import backup
from tests.conftest import PORT_BASE, ROOT
from tests.hall.common import COMPLAINT

pytest_plugins = ["tests.redis_server", "tests.hall.plugin"]


FRESH_REDIS_PORT = PORT_BASE + 20      # inside this test run's own port range


def start_redis(folder: Path) -> tuple[subprocess.Popen, int]:
    port = FRESH_REDIS_PORT
    proc = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", str(folder),
                             "--save", "", "--appendonly", "no"], stdout=subprocess.DEVNULL)
    for _ in range(100):
        try:
            if redis.Redis(port=port).ping():
                return proc, port
        except redis.ConnectionError:
            time.sleep(0.05)
    raise AssertionError("redis-server did not start")


@pytest.fixture
def fresh_redis(tmp_path):
    (tmp_path / "fresh-redis").mkdir()
    proc, port = start_redis(tmp_path / "fresh-redis")
    yield port
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture
def source_redis(redis_port):
    for db in (0, 1):
        redis.Redis(port=redis_port, db=db).flushdb()
    return redis_port


async def fill_redis(port: int) -> str:
    """A conversation as the gateway leaves it: session, transcript, reminder, audit entry,
    plus a Rasa tracker in db 1 (as Rasa's tracker store keeps it)."""
    client = aioredis.Redis(port=port)
    conv = conversation_id("rest", "citizen-7")
    await Sessions(client, 3600).touch("rest", "citizen-7", conv)
    await transcript.append(client, conv, "citizen", "居住证怎么办理", "rest")
    await reminders.schedule(client, time.time() + 30 * 86400, conv, "记得去领居住证")
    await audit.record(client, conv, "citizen", "turn", conv, "", channel="rest", text="居住证怎么办理")
    await client.aclose()
    redis.Redis(port=port, db=1).set(f"tracker:{conv}", json.dumps({"events": [{"event": "user"}]}))
    return conv


async def check_redis(port: int, conv: str) -> None:
    client = aioredis.Redis(port=port)
    try:
        assert [m["text"] for m in await transcript.read(client, conv)] == ["居住证怎么办理"]
        assert 0 < await client.ttl(f"transcript:{conv}") <= transcript.TTL_S
        assert await client.zcard(reminders.DUE) == 1
        [body] = await client.hvals(reminders.BODIES)
        assert "记得去领居住证" in body.decode()
        assert [r["action"] for r in await audit.search(client)] == ["turn"]
        assert await client.hget(f"session:{conv}", "user_id") == b"citizen-7"
    finally:
        await client.aclose()
    assert json.loads(redis.Redis(port=port, db=1).get(f"tracker:{conv}"))["events"] == [{"event": "user"}]


def file_records(target: str) -> list[str]:
    store = open_store(target)
    try:
        numbers = [file_complaint(store, {**COMPLAINT, "content": f"第{n}次投诉：窗口排队两个小时没人管。"}, None,
                                  "POST /api/v1/complaints")[1]["number"] for n in range(3)]
    finally:
        store.close()
    return numbers


def check_records(target: str, numbers: list[str]) -> None:
    db = Database(target)
    try:
        rows = db.query("SELECT number, content FROM complaints ORDER BY number")
    finally:
        db.close()
    assert [r["number"] for r in rows] == numbers
    assert rows[0]["content"] == "第0次投诉：窗口排队两个小时没人管。"


async def test_sqlite_and_redis_come_back_in_fresh_instances(tmp_path, source_redis, fresh_redis):
    numbers = file_records(str(tmp_path / "hall.db"))
    conv = await fill_redis(source_redis)
    folder = tmp_path / "backup"
    manifest = backup.create(folder, backup.Targets(str(tmp_path / "hall.db"), "127.0.0.1", source_redis))
    assert manifest["hall"]["kind"] == "sqlite" and manifest["redis"]["keys"]["1"] == 1
    fresh = backup.Targets(str(tmp_path / "restored" / "hall.db"), "127.0.0.1", fresh_redis)
    done = backup.restore(folder, fresh)
    assert done["redis_keys"] == sum(manifest["redis"]["keys"].values())
    check_records(fresh.hall_db, numbers)
    await check_redis(fresh_redis, conv)
    with pytest.raises(backup.BackupError, match="not empty"):
        backup.restore(folder, fresh)                                   # nothing is overwritten silently
    assert backup.restore(folder, fresh, force=True)["redis_keys"] == done["redis_keys"]
    check_records(fresh.hall_db, numbers)


async def test_a_damaged_backup_is_refused_before_anything_is_written(tmp_path, source_redis, fresh_redis):
    file_records(str(tmp_path / "hall.db"))
    await fill_redis(source_redis)
    folder = tmp_path / "backup"
    backup.create(folder, backup.Targets(str(tmp_path / "hall.db"), "127.0.0.1", source_redis))
    with (folder / backup.REDIS_FILE).open("a") as f:
        f.write("{}\n")
    fresh = backup.Targets(str(tmp_path / "restored.db"), "127.0.0.1", fresh_redis)
    with pytest.raises(backup.BackupError, match="damaged"):
        backup.restore(folder, fresh)
    assert not Path(fresh.hall_db).exists() and redis.Redis(port=fresh_redis).dbsize() == 0
    with pytest.raises(backup.BackupError, match="already holds a backup"):
        backup.create(folder, backup.Targets(str(tmp_path / "hall.db"), "127.0.0.1", source_redis))


async def test_postgresql_through_pg_dump_and_pg_restore(pg_cluster, tmp_path, source_redis, fresh_redis):
    import psycopg

    with psycopg.connect(pg_cluster.admin_dsn, autocommit=True) as conn:
        for name in ("hall_backup_src", "hall_backup_dst"):
            conn.execute(f"DROP DATABASE IF EXISTS {name}")
            conn.execute(f"CREATE DATABASE {name}")
    src = f"postgresql://postgres@127.0.0.1:{pg_cluster.port}/hall_backup_src"
    dst = f"postgresql://postgres@127.0.0.1:{pg_cluster.port}/hall_backup_dst"
    numbers = file_records(src)
    conv = await fill_redis(source_redis)
    folder = tmp_path / "backup"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PG_BIN", str(pg_cluster.bindir))            # the tools of the cluster's own version
        assert backup.create(folder, backup.Targets(src, "127.0.0.1", source_redis))["hall"]["kind"] == "postgresql"
        backup.restore(folder, backup.Targets(dst, "127.0.0.1", fresh_redis))
        check_records(dst, numbers)
        await check_redis(fresh_redis, conv)
        with pytest.raises(backup.BackupError, match="is of PostgreSQL"):
            backup.restore(folder, backup.Targets(str(tmp_path / "x.db"), "127.0.0.1", fresh_redis), force=True)


def test_the_command_line_reports_in_one_line(tmp_path, source_redis, fresh_redis):
    numbers = file_records(str(tmp_path / "hall.db"))
    asyncio.run(fill_redis(source_redis))
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "HALL_DB": str(tmp_path / "hall.db"),
           "REDIS_PORT": str(source_redis)}
    made = subprocess.run([sys.executable, "-m", "ops.backup", "create", str(tmp_path / "b")], env=env, cwd=ROOT,
                          capture_output=True, text=True)
    assert made.returncode == 0 and "backup written to" in made.stdout, made.stderr
    env.update(HALL_DB=str(tmp_path / "new.db"), REDIS_PORT=str(fresh_redis))
    back = subprocess.run([sys.executable, "-m", "ops.backup", "restore", str(tmp_path / "b")], env=env, cwd=ROOT,
                          capture_output=True, text=True)
    assert back.returncode == 0 and "restored from" in back.stdout, back.stderr
    check_records(str(tmp_path / "new.db"), numbers)
    again = subprocess.run([sys.executable, "-m", "ops.backup", "restore", str(tmp_path / "missing")], env=env,
                           cwd=ROOT, capture_output=True, text=True)
    assert again.returncode == 1 and "is not a backup" in again.stderr and "Traceback" not in again.stderr
