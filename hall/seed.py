"""Seed data of the embedded hall: realistic sample cases across the stages of standard 9.2.5
(so the case-status path can be tried and tested without a real hall), the halls that take
appointments (9.2.2) and the opinion-collection topics (9.3.3)."""
from __future__ import annotations

from datetime import datetime, timedelta

from common.identity import id_check_char
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


# Halls that take appointments (the city hall and the district centres of
# knowledge/catalog/hall.yaml); id = the administrative division code.
# (id, name, aliases, district, address, hours, phone, citizens per slot and service)
HALLS = [
    ("440300", "深圳市行政服务大厅", "市行政服务大厅|行政服务大厅|市民中心行政服务大厅|市民中心", "福田区",
     "深圳市福田区福中三路市民中心B区", "周一至周五 9:00-12:00，14:00-18:00（法定节假日除外）", "12345", 4),
    ("440303", "罗湖区政务服务中心", "罗湖区行政服务大厅|罗湖政务服务中心", "罗湖区",
     "深圳市罗湖区文锦中路1008号", "周一至周五 9:00-12:00，14:00-18:00（法定节假日除外）", "12345", 6),
    ("440305", "南山区政务服务中心", "南山区行政服务大厅|南山政务服务中心", "南山区",
     "深圳市南山区南头街道南山大道与桃园路交汇处附近", "周一至周五 9:00-12:00，14:00-18:00（法定节假日除外）", "12345", 6),
    ("440306", "宝安区政务服务中心", "宝安区行政服务大厅|宝安政务服务中心", "宝安区",
     "深圳市宝安区新安街道宝安中心区", "周一至周五 9:00-12:00，14:00-18:00（法定节假日除外）", "12345", 6),
    ("440307", "龙岗区政务服务中心", "龙岗区行政服务大厅|龙岗政务服务中心", "龙岗区",
     "深圳市龙岗区龙城街道龙翔大道", "周一至周五 9:00-12:00，14:00-18:00（法定节假日除外）", "12345", 6),
    ("440309", "龙华区政务服务中心", "龙华区行政服务大厅|龙华政务服务中心", "龙华区",
     "深圳市龙华区龙华街道", "周一至周五 9:00-12:00，14:00-18:00（法定节假日除外）", "12345", 6),
]

# Opinion-collection topics (standard 9.3.3), open relative to the day the hall is first
# started: (id, title, summary, department, department no., opened days ago, closes in days,
# response time in working days). The last one has closed already.
TOPICS = [
    ("T01", "深圳市政务服务“一网通办”提升措施（征求意见稿）",
     "围绕“高效办成一件事”，拟推行更多事项全程网上办、掌上办和跨区通办，减少材料提交和跑动次数。"
     "欢迎就网上办事体验、办事指南清晰度和线上线下衔接提出意见建议。",
     "深圳市政务服务和数据管理局", "000", 10, 30, 10),
    ("T02", "居住证“全城通办”和电子居住证推广应用",
     "拟实现居住证申领、签注在全市任一派出所户政窗口和网上办理，推广电子居住证在积分入学、"
     "公积金提取等场景中替代实体证件。欢迎就办理流程和使用场景提出意见。",
     "深圳市公安局", "001", 7, 21, 10),
    ("T03", "住房公积金租房提取额度和频次调整方案（征求意见稿）",
     "拟根据各区租金水平调整租房提取住房公积金的月度额度，并支持按月自动提取。欢迎缴存职工就额度标准、"
     "提取频次和办理渠道提出意见。",
     "深圳市住房公积金管理中心", "007", 5, 25, 15),
    ("T04", "义务教育阶段学位申请积分办法修订",
     "拟优化居住年限、社保缴纳年限等积分项目的计算方式，简化学位申请材料。欢迎家长就积分规则和"
     "申请材料提出意见建议。",
     "深圳市教育局", "008", 3, 27, 15),
    ("T05", "2026年度民生实事项目建议征集",
     "征集市民对教育、医疗、养老、住房、交通等领域民生实事项目的建议，已于征集期满后汇总研究。",
     "深圳市发展和改革委员会", "000", 60, -30, 20),
]


def seed(store: Store, now: datetime | None = None) -> int:
    """Inserts the samples once (safe when several processes start together); returns how many
    sample cases were added. Halls are added when missing; topics when there are none."""
    now = now or store.now().replace(tzinfo=None)
    added = 0
    with store.db.transaction() as tx:
        if not tx.scalar("SELECT COUNT(*) FROM cases"):
            for number, code, name, typ, case_name, who, id17, phone, dept, ago, stages in SAMPLES:
                applied = now - timedelta(days=ago)
                tx.execute("INSERT INTO cases VALUES (?,?,?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING",
                           (number, code, name, typ, case_name, who, _id(id17), phone, dept,
                            applied.isoformat(timespec="minutes")))
                for seq, (stage, after, handler, note) in enumerate(stages):
                    at = (applied + timedelta(days=after, hours=seq)).isoformat(timespec="minutes")
                    tx.execute("INSERT INTO case_stages VALUES (?,?,?,?,?,?) ON CONFLICT DO NOTHING",
                               (number, seq, stage, at, handler, note))
            added = len(SAMPLES)
        for row in HALLS:
            tx.execute("INSERT INTO halls (id, name, aliases, district, address, hours, phone, per_slot) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING", row)
        if not tx.scalar("SELECT COUNT(*) FROM opinion_topics"):
            today = now.date()
            for tid, title, summary, dept, dept_no, ago, closes_in, days in TOPICS:
                tx.execute("INSERT INTO opinion_topics (id, title, summary, department, department_no, opened_on, "
                           "closes_on, respond_within_days) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                           (tid, title, summary, dept, dept_no, (today - timedelta(days=ago)).isoformat(),
                            (today + timedelta(days=closes_in)).isoformat(), days))
    return added
