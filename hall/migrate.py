"""Schema migrations: numbered SQL files in hall/migrations/ (`NNN_name.sql`), applied in order
at start-up and recorded in `schema_migrations` (version, name, checksum, applied_at).

- A migration runs in one transaction with its record, so it is applied entirely or not at all.
- Several processes starting at once apply each migration once: SQLite's `BEGIN IMMEDIATE`
  and a PostgreSQL advisory lock serialise the runners.
- `NNN_name.sqlite.sql` / `NNN_name.postgresql.sql` replace `NNN_name.sql` for one dialect
  when a step cannot be written in the SQL both share.
- An applied migration must never change: a checksum mismatch stops the start-up.

`python -m hall.migrate` applies pending migrations and prints the schema's state."""
from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from pathlib import Path

from hall import schedule
from hall.db import Database, Tx, split_statements

log = logging.getLogger(__name__)
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
ADVISORY_LOCK_ID = 179_2016_633   # any constant shared by every hall process
FILE_RE = re.compile(r"^(\d{3})_([a-z0-9_]+?)(?:\.(sqlite|postgresql))?\.sql$")


class MigrationError(Exception):
    pass


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    path: Path

    @property
    def sql(self) -> str:
        return self.path.read_text(encoding="utf-8")

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def migrations(dialect: str, folder: Path = MIGRATIONS_DIR) -> list[Migration]:
    chosen: dict[int, tuple[str, Path, bool]] = {}
    for path in sorted(folder.glob("*.sql")):
        m = FILE_RE.match(path.name)
        if not m:
            raise MigrationError(f"migration file name not NNN_name[.dialect].sql: {path.name}")
        version, name, only = int(m[1]), m[2], m[3]
        if only and only != dialect:
            continue
        if version in chosen and chosen[version][0] != name:
            raise MigrationError(f"two migrations numbered {version:03d}")
        if version not in chosen or only:
            chosen[version] = (name, path, bool(only))
    return [Migration(v, name, path) for v, (name, path, _) in sorted(chosen.items())]


def _lock(tx: Tx) -> None:
    if tx.db.dialect == "postgresql":
        tx.execute("SELECT pg_advisory_xact_lock(?)", (ADVISORY_LOCK_ID,))


def migrate(db: Database, folder: Path = MIGRATIONS_DIR) -> list[str]:
    """Applies the pending migrations; returns the names of those applied now."""
    with db.transaction() as tx:
        _lock(tx)
        tx.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
                   "checksum TEXT NOT NULL, applied_at TEXT NOT NULL)")
    applied_now = []
    for migration in migrations(db.dialect, folder):
        with db.transaction() as tx:
            _lock(tx)
            row = tx.one("SELECT name, checksum FROM schema_migrations WHERE version = ?", (migration.version,))
            if row is not None:
                if row["checksum"] != migration.checksum:
                    raise MigrationError(f"migration {migration.version:03d}_{migration.name} was changed after "
                                         "it was applied; add a new migration instead")
                continue
            for statement in split_statements(migration.sql):
                tx.execute(statement)
            tx.execute("INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (?, ?, ?, ?)",
                       (migration.version, migration.name, migration.checksum,
                        schedule.now().isoformat()))
        applied_now.append(f"{migration.version:03d}_{migration.name}")
        log.info("applied migration %03d_%s on %s", migration.version, migration.name, db.describe())
    return applied_now


def applied(db: Database) -> list[dict]:
    return db.query("SELECT version, name, applied_at FROM schema_migrations ORDER BY version")


def main() -> None:
    from hall.config import database_target

    db = Database(database_target())
    try:
        now = migrate(db)
        print(f"{db.describe()}: applied {len(now)} migration(s) now")
        for row in applied(db):
            print(f"  {row['version']:03d}_{row['name']}  {row['applied_at']}")
    finally:
        db.close()


if __name__ == "__main__":
    main()
