"""The services the reference hall takes appointments for: the items of the service catalog
(knowledge/catalog/items/*.yaml, read once). A city's own hall has its own list."""
from __future__ import annotations

from common.env import env
import re
from functools import lru_cache
from pathlib import Path

import yaml

CATALOG_DIR = Path(__file__).resolve().parent.parent / "knowledge" / "catalog" / "items"
CODE_RE = re.compile(r"440300-(\d{3})-(XK|QR|GF|ZS|GG|QT)-\d{4}")


@lru_cache(maxsize=4)
def _load(folder: str) -> dict[str, dict]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    services = {}
    for path in sorted(Path(folder).glob("*.yaml")):
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=loader) or {}
        code = str(raw.get("code") or path.stem)
        services[code] = {"code": code, "name": str(raw.get("name") or code),
                          "department": str(raw.get("department") or "")}
    return services


def services() -> dict[str, dict]:
    """code -> {code, name, department}; empty when there is no catalog (any code is taken)."""
    return _load(env("HALL_CATALOG_DIR", str(CATALOG_DIR)))


def service(code: str) -> dict | None:
    known = services()
    if not known:
        return {"code": code, "name": code, "department": ""} if CODE_RE.fullmatch(code) else None
    return known.get(code)
