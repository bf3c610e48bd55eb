"""Realistic sample cases for the embedded hall, across the stages of standard 9.2.5, so the
case-status path can be tried and tested without a real hall."""
from __future__ import annotations

from datetime import datetime, timedelta

from assistant.identity import id_check_char
from hall.store import Store


def _id(first17: str) -> str:
    return first17 + id_check_char(first17)


# (number, item code, item name, item type, case name, applicant, id (first 17), phone, dept,
#  days ago applied, [(stage, days after applying, handler, note)])
SAMPLES = [
    ("QR00120261102000101", "440300-001-QR-0001", "深圳市居住证申领（含签注）", "行政确认", "居住证申领", "陈晓明",
     "44030419900307281", "13800138001", "深圳市公安局福田分局", 25,
     [("申办", 0, "网上办事大厅", ""), ("受理", 1, "福田派出所户政窗口", ""), ("审批", 3, "福田分局户政科", ""),
      ("办结", 6, "福田分局户政科", "证件已制作完成"), ("领取登记", 9, "福田派出所户政窗口", "本人已领取")]),
    ("QR00120261118000102", "440300-001-QR-0002", "户籍迁入（人才引进）", "行政确认", "人才引进落户", "李娜",
     "44030519950612304", "13900139002", "深圳市公安局", 9,
     [("网上预受理", 0, "网上办事大厅", "材料预审通过"), ("申办", 1, "网上办事大厅", ""),
      ("受理", 2, "市公安局户政处", ""), ("审批", 5, "市公安局户政处", "审核中")]),
    ("XK01420261110000103", "440300-014-XK-0001", "食品经营许可", "行政许可", "深圳市南山区小满餐饮店食品经营许可",
     "王建国", "44030519801122451", "13600136003", "深圳市市场监督管理局南山监管局", 17,
     [("申办", 0, "网上办事大厅", ""), ("补正告知", 1, "南山监管局准入窗口", "请补充提交经营场所平面布局图"),
      ("补正受理", 4, "南山监管局准入窗口", ""), ("受理", 4, "南山监管局准入窗口", ""),
      ("审批", 8, "南山监管局", "现场核查中")]),
    ("QR01420261120000104", "440300-014-QR-0001", "公司设立登记", "行政确认", "深圳市前海启明科技有限公司设立登记",
     "赵敏", "44030619880815262", "13700137004", "深圳市市场监督管理局", 7,
     [("申办", 0, "开办企业一网通办平台", ""), ("受理", 0, "市市场监管局登记注册处", ""),
      ("审批", 1, "市市场监管局登记注册处", ""), ("办结", 1, "市市场监管局登记注册处", "已核发营业执照（电子）")]),
    ("GF00720261124000105", "440300-007-GF-0001", "住房公积金提取", "行政给付", "租房提取住房公积金", "陈晓明",
     "44030419900307281", "13800138001", "深圳市住房公积金管理中心", 3,
     [("申办", 0, "深圳公积金微信公众号", ""), ("受理", 0, "市住房公积金管理中心", "")]),
    ("XK00220261015000106", "440300-002-XK-0001", "机动车驾驶证期满换证", "行政许可", "驾驶证期满换证", "刘洋",
     "44030719751203163", "13500135006", "深圳市公安局交通警察局", 43,
     [("申办", 0, "交管12123", ""), ("受理", 0, "车管所", ""), ("特别程序申请", 2, "车管所", "申请邮寄送达"),
      ("特别程序结果", 3, "车管所", "同意邮寄"), ("审批", 3, "车管所", ""), ("办结", 4, "车管所", "已邮寄")]),
    ("QR00320261125000107", "440300-003-QR-0001", "内地居民结婚登记", "行政确认", "结婚登记", "周杰",
     "44030319920520371", "13300133007", "深圳市福田区民政局婚姻登记处", 2,
     [("申办", 0, "婚姻登记预约系统", "已预约")]),
]


def seed(store: Store, now: datetime | None = None) -> int:
    """Inserts the samples once; returns how many were added."""
    if store.count("SELECT COUNT(*) FROM cases"):
        return 0
    now = now or datetime.now()
    statements = []
    for number, code, name, typ, case_name, who, id17, phone, dept, ago, stages in SAMPLES:
        applied = now - timedelta(days=ago)
        statements.append(("INSERT INTO cases VALUES (?,?,?,?,?,?,?,?,?,?)",
                           (number, code, name, typ, case_name, who, _id(id17), phone, dept,
                            applied.isoformat(timespec="minutes"))))
        for seq, (stage, after, handler, note) in enumerate(stages):
            at = (applied + timedelta(days=after, hours=seq)).isoformat(timespec="minutes")
            statements.append(("INSERT INTO case_stages VALUES (?,?,?,?,?,?)", (number, seq, stage, at, handler, note)))
    store.transaction(statements)
    return len(SAMPLES)
