"""Where the hall keeps its data: `HALL_DB_DSN` (a PostgreSQL DSN such as
`postgresql://hall:secret@db.internal:5432/hall`, or `sqlite:///path/hall.db`), else the
SQLite file `HALL_DB`, else `$HALL_VAR/hall.db`."""
from __future__ import annotations

import os
from pathlib import Path


def database_target() -> str:
    dsn = os.environ.get("HALL_DB_DSN", "").strip()
    if dsn:
        return dsn
    if os.environ.get("HALL_DB"):
        return os.environ["HALL_DB"]
    from assistant.config import settings

    return str(Path(settings().var_dir) / "hall.db")
