"""Loads and validates the service catalog: one YAML file per item (办事指南) plus hall.yaml."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from knowledge.classification import FACETS

CATALOG_DIR = Path(__file__).parent / "catalog"
CODE_RE = re.compile(r"^440300-\d{3}-(XK|QR|GF|ZS|GG|QT)-\d{4}$")
ITEM_TYPES = {"XK": "行政许可", "QR": "行政确认", "GF": "行政给付", "ZS": "行政征收", "GG": "公共服务", "QT": "其他行政权力"}
REQUIRED = (
    "code name aliases summary item_type audience classification department handling_unit "
    "acceptance_conditions legal_basis legal_time_limit promised_time_limit materials fees process "
    "locations online hotline supervision_hotline result forms faq pre_items post_items"
).split()


class CatalogError(ValueError):
    """A catalog file breaks the schema in knowledge/catalog/README.md."""


@dataclass(frozen=True)
class Material:
    name: str
    originals: int
    copies: int
    required: bool
    note: str = ""

    def describe(self) -> str:
        counts = []
        if self.originals:
            counts.append(f"原件{self.originals}份")
        if self.copies:
            counts.append(f"复印件{self.copies}份")
        extra = "，".join(counts + ([self.note] if self.note else []))
        flag = "" if self.required else "（如适用）"
        return f"{self.name}{flag}" + (f"（{extra}）" if extra else "")


@dataclass(frozen=True)
class Item:
    code: str
    name: str
    aliases: tuple[str, ...]
    summary: str
    item_type: str
    audience: str
    classification: dict[str, tuple[str, ...]]
    department: str
    handling_unit: str
    acceptance_conditions: tuple[str, ...]
    legal_basis: tuple[dict, ...]
    legal_time_limit: str
    promised_time_limit: str
    materials: tuple[Material, ...]
    fees: dict
    process: tuple[str, ...]
    locations: tuple[dict, ...]
    online: str
    hotline: str
    supervision_hotline: str
    result: str
    forms: tuple[dict, ...]
    faq: tuple[dict, ...]
    pre_items: tuple[str, ...]
    post_items: tuple[str, ...]

    @property
    def department_no(self) -> str:
        return self.code.split("-")[1]

    def fee_text(self) -> str:
        standard = str(self.fees.get("standard") or ("收费" if self.fees.get("charged") else "不收费"))
        basis = self.fees.get("basis") or ""
        return standard + (f"（依据：{basis}）" if basis else "")


@dataclass
class Catalog:
    items: dict[str, Item]
    hall: dict
    by_alias: dict[str, str] = field(default_factory=dict)

    def __post_init__(self):
        for item in self.items.values():
            for name in (item.name, *item.aliases):
                self.by_alias.setdefault(name, item.code)

    def get(self, code: str) -> Item | None:
        return self.items.get(code)

    def in_facet(self, audience: str, facet: str, value: str) -> list[Item]:
        return [i for i in self.items.values()
                if i.audience == audience and value in i.classification.get(facet, ())]

    def facet_values(self, audience: str, facet: str) -> list[str]:
        """Values of one facet that at least one item uses, in the standard's order."""
        used = {v for i in self.items.values() if i.audience == audience for v in i.classification.get(facet, ())}
        return [v for v in FACETS[(audience, facet)] if v in used]

    def find_category(self, text: str) -> list[tuple[str, str, str]]:
        """(audience, facet, value) triples whose value is named in text, longest value first."""
        hits = []
        for (audience, facet), values in FACETS.items():
            for v in values:
                if v != "其他" and v in text and self.in_facet(audience, facet, v):
                    hits.append((audience, facet, v))
        return sorted(hits, key=lambda h: -len(h[2]))


def _require(cond: bool, path: Path, msg: str):
    if not cond:
        raise CatalogError(f"{path.name}: {msg}")


def _as_tuple(v) -> tuple:
    return tuple(v or ())


def parse_item(path: Path) -> Item:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    _require(isinstance(raw, dict), path, "not a mapping")
    missing = [k for k in REQUIRED if k not in raw]
    _require(not missing, path, f"missing fields {missing}")
    code = str(raw["code"])
    _require(bool(CODE_RE.match(code)), path, f"bad item code {code!r}")
    _require(path.stem == code, path, "file name must equal the item code")
    _require(raw["item_type"] == ITEM_TYPES[code.split("-")[2]], path,
             f"item_type {raw['item_type']!r} does not match code type")
    _require(raw["audience"] in ("personal", "enterprise"), path, "audience must be personal|enterprise")
    cls = {k: _as_tuple(v) for k, v in (raw["classification"] or {}).items()}
    for facet, values in cls.items():
        allowed = FACETS.get((raw["audience"], facet))
        _require(allowed is not None or not values, path, f"facet {facet} not allowed for {raw['audience']}")
        bad = [v for v in values if allowed is not None and v not in allowed]
        _require(not bad, path, f"{facet}: values not in standard 9.1.3: {bad}")
    _require(bool(cls.get("topics")), path, "needs at least one topic")
    for key in ("aliases", "acceptance_conditions", "legal_basis", "materials", "process", "locations", "faq"):
        _require(bool(raw[key]), path, f"{key} must not be empty")
    materials = []
    for m in raw["materials"]:
        _require(isinstance(m, dict) and m.get("name"), path, f"bad material {m!r}")
        materials.append(Material(str(m["name"]), int(m.get("originals", 0)), int(m.get("copies", 0)),
                                  bool(m.get("required", True)), str(m.get("note") or "")))
    fees = raw["fees"] or {}
    _require(not fees.get("charged") or bool(fees.get("basis")), path, "charged fees need a basis (收费依据)")
    for faq in raw["faq"]:
        _require(isinstance(faq, dict) and faq.get("q") and faq.get("a"), path, f"bad faq {faq!r}")
    return Item(
        code=code, name=str(raw["name"]), aliases=tuple(str(a) for a in raw["aliases"]),
        summary=str(raw["summary"]), item_type=raw["item_type"], audience=raw["audience"],
        classification=cls, department=str(raw["department"]), handling_unit=str(raw["handling_unit"]),
        acceptance_conditions=tuple(map(str, raw["acceptance_conditions"])),
        legal_basis=_as_tuple(raw["legal_basis"]), legal_time_limit=str(raw["legal_time_limit"]),
        promised_time_limit=str(raw["promised_time_limit"]), materials=tuple(materials), fees=fees,
        process=tuple(map(str, raw["process"])), locations=_as_tuple(raw["locations"]),
        online=str(raw["online"] or ""), hotline=str(raw["hotline"]), supervision_hotline=str(raw["supervision_hotline"]),
        result=str(raw["result"]), forms=_as_tuple(raw["forms"]), faq=_as_tuple(raw["faq"]),
        pre_items=tuple(map(str, raw["pre_items"] or ())), post_items=tuple(map(str, raw["post_items"] or ())),
    )


def load_catalog(directory: Path = CATALOG_DIR) -> Catalog:
    items = {}
    for path in sorted((directory / "items").glob("*.yaml")):
        item = parse_item(path)
        items[item.code] = item
    for item in items.values():
        for ref in item.pre_items + item.post_items:
            if ref not in items:
                raise CatalogError(f"{item.code}.yaml: pre/post item {ref} is not in the catalog")
    hall = yaml.safe_load((directory / "hall.yaml").read_text(encoding="utf-8"))
    for key in ("name", "hotline", "branches"):
        if not hall.get(key):
            raise CatalogError(f"hall.yaml: missing {key}")
    return Catalog(items=items, hall=hall)
