"""Staff accounts with the roles of standard 8.5.1.1: system administrator (admin), information
publisher (publisher), business handler / window staff (handler) and online inspector
(inspector). Passwords are hashed with scrypt (a memory-hard KDF) and a per-user salt.

    python -m staff.accounts add USERNAME --role handler --department 深圳市公安局 --name 张三
(the password is read from the terminal, or from STAFF_PASSWORD)."""
from __future__ import annotations

import argparse
import asyncio
import functools
import getpass
import hashlib
import hmac
import json
import os
import secrets
import sys

import redis.asyncio as aioredis

ROLES = {"admin": "系统管理员", "publisher": "信息发布员", "handler": "业务办理员", "inspector": "在线监察员"}
N, R, P = 2**14, 8, 1
MIN_PASSWORD = 10
# Accounts `make run` and the tests create when STAFF_DEV_ACCOUNTS=1 (never in production).
DEV_ACCOUNTS = [
    ("admin", "admin-dev-pass", "admin", "系统管理员", ["*"]),
    ("publisher", "publisher-dev-pass", "publisher", "信息发布员", ["*"]),
    ("inspector", "inspector-dev-pass", "inspector", "在线监察员", ["*"]),
    ("police1", "police1-dev-pass", "handler", "公安窗口一号", ["深圳市公安局", "综合窗口"]),
    ("police2", "police2-dev-pass", "handler", "公安窗口二号", ["深圳市公安局", "综合窗口"]),
    ("social1", "social1-dev-pass", "handler", "社保窗口一号", ["深圳市社会保险基金管理局", "深圳市人力资源和社会保障局", "综合窗口"]),
]


class AccountError(ValueError):
    pass


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=N, r=R, p=P, maxmem=64 * 1024 * 1024)
    return f"scrypt${N}${R}${P}${salt.hex()}${digest.hex()}"


def check_password(password: str, stored: str) -> bool:
    try:
        _, n, r, p, salt, digest = stored.split("$")
        got = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p),
                             maxmem=64 * 1024 * 1024)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got.hex(), digest)


@functools.lru_cache(maxsize=1)
def _unknown_user_hash() -> str:
    """What a login with an unknown name is checked against (it never matches an account)."""
    return hash_password(secrets.token_urlsafe(16))


def _key(username: str) -> str:
    return f"staff:user:{username}"


class Accounts:
    def __init__(self, redis: aioredis.Redis):
        self.redis = redis

    async def add(self, username: str, password: str, role: str, name: str, departments: list[str]) -> None:
        if role not in ROLES:
            raise AccountError(f"role must be one of {', '.join(ROLES)}")
        if len(password) < MIN_PASSWORD:
            raise AccountError(f"password must have at least {MIN_PASSWORD} characters")
        if not username.isascii() or not username.replace("_", "").replace(".", "").isalnum():
            raise AccountError("username: letters, digits, . and _ only")
        hashed = await asyncio.to_thread(hash_password, password)
        await self.redis.hset(_key(username), mapping={
            "password": hashed, "role": role, "name": name,
            "departments": json.dumps(departments, ensure_ascii=False), "disabled": "0"})
        await self.redis.sadd("staff:users", username)

    async def get(self, username: str) -> dict | None:
        raw = await self.redis.hgetall(_key(username))
        if not raw:
            return None
        row = {k.decode(): v.decode() for k, v in raw.items()}
        return {"username": username, "role": row["role"], "name": row["name"],
                "departments": json.loads(row["departments"]), "disabled": row.get("disabled") == "1",
                "password": row["password"]}

    async def verify(self, username: str, password: str) -> dict | None:
        account = await self.get(username)
        # Check against a hash even for unknown users (one scrypt either way), so response time
        # does not reveal which names exist; in a thread, as scrypt takes ~40 ms of CPU that
        # would otherwise stall every citizen's turn on the event loop.
        stored = account["password"] if account else await asyncio.to_thread(_unknown_user_hash)
        ok = await asyncio.to_thread(check_password, password, stored)
        return account if ok and account and not account["disabled"] else None

    async def all(self) -> list[dict]:
        names = sorted(u.decode() for u in await self.redis.smembers("staff:users"))
        return [{k: v for k, v in a.items() if k != "password"} for n in names if (a := await self.get(n))]

    async def ensure_dev_accounts(self) -> None:
        for username, password, role, name, departments in DEV_ACCOUNTS:
            if not await self.redis.exists(_key(username)):
                await self.add(username, password, role, name, departments)


def main() -> int:
    from common.config import settings
    ap = argparse.ArgumentParser(description="Manage staff accounts")
    sub = ap.add_subparsers(dest="cmd", required=True)
    add = sub.add_parser("add")
    add.add_argument("username")
    add.add_argument("--role", required=True, choices=sorted(ROLES))
    add.add_argument("--name", required=True)
    add.add_argument("--department", action="append", default=[])
    sub.add_parser("list")
    args = ap.parse_args()
    cfg = settings()

    async def run() -> int:
        redis = aioredis.Redis(host=cfg.redis_host, port=cfg.redis_port, db=cfg.redis_db)
        accounts = Accounts(redis)
        try:
            if args.cmd == "list":
                for a in await accounts.all():
                    print(a["username"], a["role"], a["name"], ",".join(a["departments"]))
                return 0
            password = os.environ.get("STAFF_PASSWORD") or getpass.getpass("password: ")
            await accounts.add(args.username, password, args.role, args.name, args.department or ["*"])
            print(f"added {args.username} ({args.role})")
            return 0
        except AccountError as exc:
            print(exc, file=sys.stderr)
            return 2
        finally:
            await redis.aclose()

    return asyncio.run(run())


if __name__ == "__main__":
    sys.exit(main())
