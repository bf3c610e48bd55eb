"""The hall branch nearest to a location a citizen shares on WeChat (a location message), by
great-circle distance to the branch coordinates in knowledge/catalog/hall.yaml."""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import yaml

from common.config import ROOT

HALL_FILE = ROOT / "knowledge" / "catalog" / "hall.yaml"
EARTH_RADIUS_KM = 6371.0


@dataclass(frozen=True)
class Nearest:
    branch: dict
    km: float


def great_circle_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Haversine distance; plenty precise for telling branches kilometres apart."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def load_branches(path: Path = HALL_FILE) -> list[dict]:
    """The branches that have coordinates (a branch without them cannot be ranked)."""
    hall = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [b for b in hall.get("branches") or [] if "latitude" in b and "longitude" in b]


def nearest(branches: list[dict], latitude: float, longitude: float) -> Nearest | None:
    """The closest branch, or None when the point is not a valid coordinate or no branch has one."""
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180) or not branches:
        return None
    ranked = [Nearest(b, great_circle_km(latitude, longitude, float(b["latitude"]), float(b["longitude"])))
              for b in branches]
    return min(ranked, key=lambda n: n.km)


def describe(found: Nearest) -> str:
    b = found.branch
    lines = [f"离您最近的是{b['name']}（直线距离约{found.km:.1f}公里）。", f"地址：{b['address']}",
             f"办公时间：{b['hours']}"]
    if b.get("transport"):
        lines.append("交通：" + "；".join(b["transport"]))
    if b.get("phone"):
        lines.append(f"电话：{b['phone']}")
    return "\n".join(lines)
