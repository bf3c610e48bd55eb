"""Department numbers for acceptance numbers (standard 6.3.3.3): the 3-digit implementing-
department numbers of the item code rule (knowledge/catalog/README.md). A consultation or
complaint names its department in words, often a district branch or a window ("深圳市公安局
福田分局", "南山区市场监督管理局", "车管所"); it is numbered after the municipal line department
it belongs to, and 000 when the department cannot be told (e.g. "由大厅分派")."""
from __future__ import annotations

import re

UNKNOWN = "000"

DEPARTMENTS = {
    "001": "深圳市公安局",
    "002": "深圳市公安局交通警察局",
    "003": "深圳市民政局",
    "004": "深圳市人力资源和社会保障局",
    "005": "深圳市社会保险基金管理局",
    "006": "深圳市医疗保障局",
    "007": "深圳市住房公积金管理中心",
    "008": "深圳市教育局",
    "009": "深圳市卫生健康委员会",
    "010": "深圳市规划和自然资源局",
    "011": "国家税务总局深圳市税务局",
    "012": "深圳市残疾人联合会",
    "013": "深圳市司法局",
    "014": "深圳市市场监督管理局",
    "015": "深圳市住房和建设局",
    "016": "深圳市人民政府征兵办公室",
}

# Words that identify a line department in a branch's or window's name. Checked in this
# order: the more specific line first (交警 before 公安, 社保基金 before 人社, 公积金 before 住建).
KEYWORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("002", ("交通警察", "交警", "车管所", "车辆管理所", "交管")),
    ("001", ("公安", "派出所", "户政", "出入境", "警察")),
    ("005", ("社会保险基金", "社保基金", "社保局", "社保")),
    ("006", ("医疗保障", "医保")),
    ("004", ("人力资源", "人社", "劳动监察", "劳动保障", "就业")),
    ("007", ("公积金",)),
    ("003", ("民政", "婚姻登记", "殡葬")),
    ("008", ("教育",)),
    ("009", ("卫生健康", "卫健委", "卫健")),
    ("010", ("规划和自然资源", "规划自然资源", "自然资源", "规自", "不动产登记")),
    ("011", ("税务",)),
    ("012", ("残疾人联合会", "残联")),
    ("013", ("司法", "公证处", "法律援助")),
    ("014", ("市场监督", "市场监管", "市监")),
    ("015", ("住房和建设", "住建", "保障性住房", "公租房")),
    ("016", ("征兵", "兵役")),
)

_BY_NAME = {name: number for number, name in DEPARTMENTS.items()}


def department_no(name: str | None) -> str:
    """The 3-digit number of a department named in words; "000" when unknown."""
    name = re.sub(r"\s+", "", name or "")
    if not name:
        return UNKNOWN
    if name in _BY_NAME:
        return _BY_NAME[name]
    for number, words in KEYWORDS:
        if any(w in name for w in words):
            return number
    return UNKNOWN


def from_item_code(code: str) -> str | None:
    """The department number inside an item code (440300-DDD-TT-NNNN), if well-formed."""
    m = re.fullmatch(r"\d{6}-(\d{3})-[A-Z]{2}-\d{4}", code or "")
    return m[1] if m else None
