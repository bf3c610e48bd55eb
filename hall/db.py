"""The hall's one SQL layer: SQLite (default) or PostgreSQL (when a DSN is given), the same SQL
text for both. Statements are written with `?` placeholders; for PostgreSQL they become `%s`.

What both dialects share and the hall relies on: TEXT/INTEGER columns, `INSERT ... ON CONFLICT
... DO UPDATE/NOTHING ... RETURNING`, partial unique indexes. Booleans are stored as 0/1.

Write transactions are serialised where it matters:
- SQLite: `BEGIN IMMEDIATE` takes the database's write lock at once (other processes wait up to
  `busy_timeout`), so read-then-write inside one transaction is safe across processes.
- PostgreSQL: READ COMMITTED; the hall's counters are single rows changed with one atomic
  upsert, whose row lock is held until commit.

Connections are pooled (one per worker thread at a time); the aiohttp app runs every database
call in a small thread pool so a waiting lock never blocks the event loop."""
from __future__ import annotations

import logging
import re
import sqlite3
import threading
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Iterator, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")

SQLITE_BUSY_TIMEOUT_S = 30.0
TRANSIENT_RETRIES = 3


class DatabaseUnavailable(Exception):
    """The database could not be reached or stayed locked too long (the API answers 503)."""


def is_postgres_dsn(target: str) -> bool:
    return target.startswith(("postgresql://", "postgres://"))


@lru_cache(maxsize=512)
def to_pyformat(sql: str) -> str:
    """`?` -> `%s` and `%` -> `%%`, outside quoted literals and identifiers."""
    out, quote = [], None
    for ch in sql:
        if quote:
            out.append("%%" if ch == "%" else ch)
            if ch == quote:
                quote = None
        elif ch in ("'", '"'):
            quote = ch
            out.append(ch)
        elif ch == "?":
            out.append("%s")
        elif ch == "%":
            out.append("%%")
        else:
            out.append(ch)
    return "".join(out)


def split_statements(script: str) -> list[str]:
    """Splits a migration file into statements (`;` at the end of a line; `--` comments dropped).
    Migrations must not put a `;` at a line end inside a string literal."""
    statements, current = [], []
    for line in script.splitlines():
        if line.strip().startswith("--"):
            continue
        stripped = re.sub(r"--.*$", "", line) if "'" not in line else line
        if not stripped.strip():
            continue
        current.append(stripped)
        if stripped.rstrip().endswith(";"):
            statements.append("\n".join(current).rstrip().rstrip(";").strip())
            current = []
    if "".join(current).strip():
        statements.append("\n".join(current).strip())
    return statements


class Tx:
    """One connection inside a transaction (or in autocommit for plain reads)."""

    def __init__(self, db: "Database", conn):
        self.db, self._conn = db, conn

    def execute(self, sql: str, params: tuple | list = ()) -> list[dict]:
        params = tuple(int(p) if isinstance(p, bool) else p for p in params)
        if self.db.dialect == "postgresql":
            cur = self._conn.execute(to_pyformat(sql), params) if params else self._conn.execute(sql)
            return list(cur.fetchall()) if cur.description else []
        cur = self._conn.execute(sql, params)
        if cur.description is None:
            return []
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row)) for row in cur.fetchall()]

    def one(self, sql: str, params: tuple | list = ()) -> dict | None:
        rows = self.execute(sql, params)
        return rows[0] if rows else None

    def scalar(self, sql: str, params: tuple | list = ()) -> Any:
        row = self.one(sql, params)
        return None if row is None else next(iter(row.values()))


class Database:
    def __init__(self, target: str | Path, pool_size: int = 8):
        target = str(target)
        if target.startswith("sqlite:///"):
            target = target[len("sqlite://"):]
        self.target = target
        self.dialect = "postgresql" if is_postgres_dsn(target) else "sqlite"
        self.pool_size = pool_size
        self._idle: list = []
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(pool_size)
        self._closed = False
        if self.dialect == "postgresql":
            import psycopg  # only needed when a DSN is configured
            self._psycopg = psycopg
            self.integrity_errors: tuple = (psycopg.errors.IntegrityError,)
            self._transient: tuple = (psycopg.errors.DeadlockDetected, psycopg.errors.SerializationFailure)
            self._unavailable: tuple = (psycopg.OperationalError, psycopg.InterfaceError)
        else:
            Path(target).parent.mkdir(parents=True, exist_ok=True)
            self.integrity_errors = (sqlite3.IntegrityError,)
            self._transient = ()
            self._unavailable = (sqlite3.OperationalError,)
        # Fail early on a wrong DSN or an unwritable file.
        with self.read() as tx:
            tx.execute("SELECT 1")

    def describe(self) -> str:
        """Where the data lives, without any password."""
        if self.dialect == "sqlite":
            return f"sqlite:{self.target}"
        return "postgresql:" + re.sub(r"//[^@/]*@", "//***@", self.target)

    # -- connections -------------------------------------------------------------------------
    def _connect(self):
        if self.dialect == "postgresql":
            from psycopg.rows import dict_row
            return self._psycopg.connect(self.target, autocommit=True, row_factory=dict_row, connect_timeout=10)
        conn = sqlite3.connect(self.target, timeout=SQLITE_BUSY_TIMEOUT_S, isolation_level=None,
                               check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA foreign_keys=ON")
        return conn

    def _healthy(self, conn) -> bool:
        try:
            if self.dialect == "postgresql":
                return not conn.closed and conn.info.transaction_status == self._psycopg.pq.TransactionStatus.IDLE
            return not conn.in_transaction
        except Exception:       # closed sqlite connection
            return False

    @contextmanager
    def _connection(self) -> Iterator[Any]:
        if self._closed:
            raise DatabaseUnavailable("database closed")
        self._slots.acquire()
        conn = None
        try:
            with self._lock:
                conn = self._idle.pop() if self._idle else None
            if conn is None:
                try:
                    conn = self._connect()
                except self._unavailable as exc:
                    raise DatabaseUnavailable(str(exc)) from exc
            yield conn
        finally:
            if conn is not None:
                if self._healthy(conn) and not self._closed:
                    with self._lock:
                        self._idle.append(conn)
                else:
                    _close_quietly(conn)
            self._slots.release()

    # -- transactions ------------------------------------------------------------------------
    @contextmanager
    def _begun(self, begin: str) -> Iterator[Any]:
        """A pooled connection inside `begin`. When BEGIN fails on PostgreSQL the pooled
        connections are likely dead (a server restart): they are dropped and a fresh one tried."""
        for attempt in (1, 2):
            with self._connection() as conn:
                try:
                    conn.execute(begin)
                except self._unavailable as exc:
                    _close_quietly(conn)
                    if attempt == 1 and self.dialect == "postgresql":
                        self._drop_idle()
                        continue
                    raise DatabaseUnavailable(str(exc)) from exc
                yield conn
                return

    def _drop_idle(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            _close_quietly(conn)

    @contextmanager
    def transaction(self) -> Iterator[Tx]:
        """A write transaction (see the module docstring for the locking)."""
        with self._begun("BEGIN IMMEDIATE" if self.dialect == "sqlite" else "BEGIN") as conn:
            try:
                yield Tx(self, conn)
            except BaseException:
                try:
                    conn.execute("ROLLBACK")
                except Exception:       # the connection is gone; the pool drops it
                    pass
                raise
            conn.execute("COMMIT")

    @contextmanager
    def read(self) -> Iterator[Tx]:
        """A read-only snapshot: every statement inside sees the same committed state."""
        begin = "BEGIN" if self.dialect == "sqlite" else "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
        with self._begun(begin) as conn:
            try:
                yield Tx(self, conn)
            finally:
                try:
                    conn.execute("COMMIT")
                except Exception:
                    pass

    def write(self, fn: Callable[[Tx], T]) -> T:
        """Runs fn in a write transaction; again after a PostgreSQL deadlock or serialisation
        failure (the hall orders its row locks, so these are rare)."""
        for attempt in range(1, TRANSIENT_RETRIES + 1):
            try:
                with self.transaction() as tx:
                    return fn(tx)
            except self._transient as exc:
                if attempt == TRANSIENT_RETRIES:
                    raise DatabaseUnavailable(str(exc)) from exc
                log.info("retrying a transaction after %s", type(exc).__name__)
            except Exception as exc:
                if self.unavailable(exc) and not isinstance(exc, DatabaseUnavailable):
                    raise DatabaseUnavailable(str(exc)) from exc
                raise
        raise AssertionError("unreachable")

    def unavailable(self, exc: BaseException) -> bool:
        """Whether an error means the database cannot be used right now (-> 503), not a bug."""
        if isinstance(exc, DatabaseUnavailable):
            return True
        if self.dialect == "postgresql":
            return isinstance(exc, self._unavailable)
        return isinstance(exc, sqlite3.OperationalError) and ("locked" in str(exc) or "busy" in str(exc))

    def query(self, sql: str, params: tuple | list = ()) -> list[dict]:
        with self.read() as tx:
            return tx.execute(sql, params)

    def close(self) -> None:
        self._closed = True
        self._drop_idle()


def _close_quietly(conn) -> None:
    try:
        conn.close()
    except Exception:
        pass
