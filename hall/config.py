"""The reference hall's own settings: it is a separate service standing in for a city's hall, so
it reads only its own variables, never the assistant's.

- `HALL_HOST`, `HALL_PORT` (127.0.0.1, 8090): where it listens
- `HALL_API_KEY`: the service-to-service key callers send as X-Api-Key (the assistant's
  `HALL_API_KEY` must match it)
- `HALL_DB_DSN` (a PostgreSQL DSN such as `postgresql://hall:secret@db.internal:5432/hall`, or
  `sqlite:///path/hall.db`), else the SQLite file `HALL_DB`, else `$HALL_VAR/hall.db`."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from common.env import env, setting

ROOT = Path(__file__).resolve().parent.parent
DEV_API_KEY = "dev-hall-key-change-me"


@dataclass(frozen=True)
class HallSettings:
    host: str = setting("HALL_HOST", "127.0.0.1")
    port: int = setting("HALL_PORT", 8090)
    api_key: str = setting("HALL_API_KEY", DEV_API_KEY)
    var_dir: Path = setting("HALL_VAR", ROOT / "var")


def database_target() -> str:
    dsn = env("HALL_DB_DSN").strip()
    if dsn:
        return dsn
    if env("HALL_DB"):
        return env("HALL_DB")
    return str(HallSettings().var_dir / "hall.db")
