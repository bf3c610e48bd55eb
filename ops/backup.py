"""Backup and restore of the hall database and Redis.

    python -m ops.backup create [DIR]      (default: $HALL_VAR/backups/<time>)
    python -m ops.backup restore DIR [--force]

What goes into DIR:
- the hall database: SQLite copied page by page with sqlite3's online backup API (a consistent
  copy while the hall runs), or with `pg_dump --format=custom` when HALL_DB_DSN names PostgreSQL;
- Redis: every key of every database (conversation sessions, Rasa trackers, transcripts,
  reminders, queues, the audit trail, staff accounts) as DUMP payloads with their time to live,
  read with SCAN, so it works against a Redis on another machine and never blocks it;
- manifest.json: what was saved, counts, and a SHA-256 of each file, checked before a restore.

Restore goes into a fresh (empty) hall database and Redis; --force overwrites what is there.
Stop the hall and the gateway first, so nothing writes while the data is put back. The Redis copy
is taken key by key while the stack runs: keys changed during the copy may be from slightly
different moments (the hall's SQL copy is one consistent snapshot)."""
from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import redis

from hall.db import is_postgres_dsn

MANIFEST = "manifest.json"
SQLITE_FILE, PG_FILE, REDIS_FILE = "hall.db", "hall.pgdump", "redis.jsonl"
FORMAT = 1


class BackupError(Exception):
    """Something an operator must fix (message in English, for the terminal)."""


@dataclass(frozen=True)
class Targets:
    hall_db: str                    # SQLite path or PostgreSQL DSN
    redis_host: str
    redis_port: int

    @classmethod
    def from_env(cls) -> "Targets":
        from common.config import settings
        from hall.config import database_target
        cfg = settings()
        return cls(database_target(), cfg.redis_host, cfg.redis_port)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _pg_tool(name: str) -> str:
    """pg_dump/pg_restore: PG_BIN if set, else PATH (Debian's wrapper picks the server's version)."""
    folder = os.environ.get("PG_BIN")
    tool = str(Path(folder) / name) if folder else shutil.which(name)
    if not tool or not Path(tool).exists():
        raise BackupError(f"{name} not found: install postgresql-client or set PG_BIN")
    return tool


def _run(argv: list[str]) -> None:
    done = subprocess.run(argv, capture_output=True, text=True)
    if done.returncode != 0:
        raise BackupError(f"{Path(argv[0]).name} failed: {done.stderr.strip()[-2000:]}")


# --- hall database ------------------------------------------------------------------------------
def backup_hall(target: str, folder: Path) -> dict:
    if is_postgres_dsn(target):
        out = folder / PG_FILE
        _run([_pg_tool("pg_dump"), "--format=custom", "--no-owner", "--file", str(out), "--dbname", target])
        return {"kind": "postgresql", "file": PG_FILE}
    source_path = Path(target.removeprefix("sqlite://"))
    if not source_path.exists():
        raise BackupError(f"no hall database at {source_path}")
    source = sqlite3.connect(source_path, timeout=30)
    copy = sqlite3.connect(folder / SQLITE_FILE)
    try:
        source.backup(copy)             # online backup API: consistent even while the hall writes
    finally:
        copy.close()
        source.close()
    return {"kind": "sqlite", "file": SQLITE_FILE}


def restore_hall(target: str, folder: Path, saved: dict, force: bool) -> None:
    if saved["kind"] == "postgresql":
        if not is_postgres_dsn(target):
            raise BackupError("the backup is of PostgreSQL; set HALL_DB_DSN to the database to restore into")
        argv = [_pg_tool("pg_restore"), "--no-owner", "--exit-on-error", "--dbname", target]
        if force:
            argv += ["--clean", "--if-exists"]
        _run(argv + [str(folder / PG_FILE)])
        return
    if is_postgres_dsn(target):
        raise BackupError("the backup is of SQLite; unset HALL_DB_DSN (or move the data with a PostgreSQL dump)")
    dest_path = Path(target.removeprefix("sqlite://"))
    if dest_path.exists() and dest_path.stat().st_size and not force:
        raise BackupError(f"{dest_path} already exists: restore into a fresh place, or use --force")
    dest_path.parent.mkdir(parents=True, exist_ok=True)
    for stale in (dest_path.with_name(dest_path.name + "-wal"), dest_path.with_name(dest_path.name + "-shm")):
        if force and stale.exists():
            stale.unlink()
    source = sqlite3.connect(f"file:{folder / SQLITE_FILE}?mode=ro", uri=True)
    dest = sqlite3.connect(dest_path)
    try:
        source.backup(dest)
    finally:
        dest.close()
        source.close()


# --- redis --------------------------------------------------------------------------------------
def _databases(host: str, port: int) -> list[int]:
    with redis.Redis(host=host, port=port) as client:
        return sorted(int(name[2:]) for name in client.info("keyspace") if name.startswith("db"))


def redis_holds_data(host: str, port: int) -> bool:
    return bool(_databases(host, port))       # INFO keyspace lists only databases with keys


def backup_redis(host: str, port: int, folder: Path) -> dict:
    counts: dict[str, int] = {}
    with (folder / REDIS_FILE).open("w", encoding="ascii") as out:
        for db in _databases(host, port):
            client = redis.Redis(host=host, port=port, db=db)
            n = 0
            for key in client.scan_iter(count=1000):
                pipe = client.pipeline(transaction=False)
                pipe.dump(key)
                pipe.pttl(key)
                payload, ttl = pipe.execute()
                if payload is None:             # expired or deleted since the scan saw it
                    continue
                out.write(json.dumps({"db": db, "key": base64.b64encode(key).decode(),
                                      "ttl_ms": max(ttl, 0), "dump": base64.b64encode(payload).decode()}) + "\n")
                n += 1
            counts[str(db)] = n
            client.close()
    return {"file": REDIS_FILE, "keys": counts}


def restore_redis(host: str, port: int, folder: Path, force: bool) -> int:
    clients: dict[int, redis.Redis] = {}
    n = 0
    with (folder / REDIS_FILE).open(encoding="ascii") as lines:
        for line in lines:
            row = json.loads(line)
            client = clients.setdefault(row["db"], redis.Redis(host=host, port=port, db=row["db"]))
            client.restore(base64.b64decode(row["key"]), row["ttl_ms"], base64.b64decode(row["dump"]), replace=force)
            n += 1
    for client in clients.values():
        client.close()
    return n


# --- the two commands ---------------------------------------------------------------------------
def create(folder: Path, targets: Targets) -> dict:
    # Owner only: the copy holds every citizen's records, transcripts and the staff accounts.
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    if (folder / MANIFEST).exists():
        raise BackupError(f"{folder} already holds a backup")
    manifest = {"format": FORMAT, "created_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "hall": backup_hall(targets.hall_db, folder),
                "redis": backup_redis(targets.redis_host, targets.redis_port, folder)}
    manifest["sha256"] = {name: _sha256(folder / name) for name in (manifest["hall"]["file"], REDIS_FILE)}
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return manifest


def restore(folder: Path, targets: Targets, force: bool = False) -> dict:
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BackupError(f"{folder} is not a backup ({MANIFEST}: {exc})")
    if manifest.get("format") != FORMAT:
        raise BackupError(f"unknown backup format {manifest.get('format')!r}")
    for name, digest in manifest["sha256"].items():
        if not (folder / name).exists() or _sha256(folder / name) != digest:
            raise BackupError(f"{name} is missing or damaged (checksum differs)")
    # Check both places before writing to either: a half restore is worse than none.
    if not force and redis_holds_data(targets.redis_host, targets.redis_port):
        raise BackupError(f"Redis at {targets.redis_host}:{targets.redis_port} is not empty: "
                          "restore into a fresh one, or use --force")
    restore_hall(targets.hall_db, folder, manifest["hall"], force)
    restored = restore_redis(targets.redis_host, targets.redis_port, folder, force)
    return {"hall": manifest["hall"]["kind"], "redis_keys": restored}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m ops.backup", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    make = sub.add_parser("create", help="write a backup of the hall database and Redis into DIR")
    make.add_argument("dir", nargs="?", help="default: $HALL_VAR/backups/<time>")
    back = sub.add_parser("restore", help="put a backup back into a fresh hall database and Redis")
    back.add_argument("dir")
    back.add_argument("--force", action="store_true", help="overwrite a database and Redis that hold data")
    args = ap.parse_args(argv)
    targets = Targets.from_env()
    try:
        if args.cmd == "create":
            from common.config import settings
            folder = Path(args.dir) if args.dir else settings().var_dir / "backups" / time.strftime("%Y%m%d-%H%M%S")
            manifest = create(folder, targets)
            print(f"backup written to {folder}: hall ({manifest['hall']['kind']}), "
                  f"{sum(manifest['redis']['keys'].values())} Redis keys")
        else:
            done = restore(Path(args.dir), targets, args.force)
            print(f"restored from {args.dir}: hall ({done['hall']}), {done['redis_keys']} Redis keys")
        return 0
    except (BackupError, redis.RedisError, sqlite3.Error) as exc:
        print(f"backup {args.cmd} failed: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
