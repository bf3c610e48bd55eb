"""The analytics report as CSV tables with Chinese headers, UTF-8 with a byte-order mark so that
spreadsheet programs open the Chinese text correctly."""
from __future__ import annotations

import csv
import io

SUMMARY = {
    "conversations": "会话数", "unique_users": "用户数", "new_users": "新用户数", "messages": "消息总数",
    "citizen_messages": "市民消息数", "bot_messages": "智能助手消息数", "staff_messages": "人工消息数",
    "avg_duration_s": "平均会话时长（秒）", "avg_turns": "平均每会话轮次", "escalated": "请求人工的会话数",
    "containment_rate": "智能助手独立解决率", "handoffs": "转人工次数", "handoff_rate": "转人工会话比例",
    "handoffs_claimed": "人工接入次数", "handoffs_abandoned": "排队放弃次数", "handoffs_waiting": "仍在排队",
    "avg_wait_s": "平均等待时间（秒）", "p90_wait_s": "90%等待时间（秒）", "max_wait_s": "最长等待时间（秒）",
    "avg_handling_s": "平均人工处理时长（秒）", "unanswered": "未能解答次数", "unanswered_rate": "未能解答比例",
    "ratings": "评价次数", "avg_rating": "平均评分", "satisfied_rate": "满意率（4分及以上）",
}
# table -> (file title, [(column key, header)], rows from the report)
TABLES = {
    "summary": ("总体指标", [("metric", "指标"), ("value", "数值")],
                lambda r: [{"metric": SUMMARY[k], "value": v} for k, v in r["summary"].items()]),
    "trend": ("会话量趋势", [("label", "时间"), ("conversations", "会话数"), ("users", "用户数"),
                          ("citizen_messages", "市民消息数"), ("handoffs", "转人工次数"), ("unanswered", "未能解答次数")],
              lambda r: r["trend"]),
    "channels": ("渠道分布", [("name", "渠道"), ("conversations", "会话数"), ("users", "用户数"),
                          ("new_users", "新用户数"), ("citizen_messages", "市民消息数"), ("share", "会话占比")],
                 lambda r: r["channels"]),
    "services": ("热门事项", [("service_code", "事项编码"), ("service_name", "事项名称"), ("department", "实施主体"),
                          ("conversations", "会话数")], lambda r: r["services"]),
    "intents": ("诉求类型", [("name", "诉求类型"), ("intent", "意图标识"), ("count", "消息数")], lambda r: r["intents"]),
    "regions": ("用户区域", [("district", "区"), ("conversations", "会话数")], lambda r: r["regions"]),
    "ratings": ("满意度评价", [("score", "评分"), ("count", "次数")], lambda r: r["ratings"]["distribution"]),
    "rating_departments": ("各部门满意度", [("department", "部门"), ("ratings", "评价次数"), ("avg_rating", "平均评分")],
                           lambda r: r["ratings"]["departments"]),
    "handoffs": ("转人工", [("department", "部门"), ("queued", "排队次数"), ("claimed", "接入次数"),
                         ("abandoned", "放弃次数"), ("avg_wait_s", "平均等待（秒）")],
                 lambda r: r["handoffs"]["departments"]),
    "handoff_waits": ("转人工等待时间", [("bucket", "等待时间"), ("count", "次数")], lambda r: r["handoffs"]["waits"]),
    "unanswered": ("未能解答的问题", [("question", "问题（已脱敏）"), ("count", "次数"), ("channels", "渠道"),
                                ("reasons", "原因")], lambda r: r["unanswered"]),
    "hot_questions": ("大家都在问", [("rank", "排名"), ("question", "问题"), ("service_name", "相关事项"),
                                 ("count", "提问次数")], lambda r: r["hot_questions"]),
    "service_ranking": ("服务排行", [("rank", "排名"), ("service_code", "事项编码"), ("service_name", "事项名称"),
                                ("department", "实施主体"), ("questions", "解答提问数"), ("filings", "申请提交数"),
                                ("total", "合计")], lambda r: r["service_ranking"]),
}


def safe_cell(value):
    """Spreadsheets run a text cell starting with = + - @ (or a tab or carriage return before
    one) as a formula: such text is quoted. Used for every CSV the gateway writes (this one and
    the audit export), as cells may hold what a citizen typed."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def table(name: str, report: dict) -> str:
    """One table as CSV text (with the BOM); KeyError for an unknown table."""
    _, columns, rows = TABLES[name]
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([header for _, header in columns])
    for row in rows(report):
        writer.writerow([safe_cell(row.get(key, "")) for key, _ in columns])
    return out.getvalue()


def filename(name: str, report: dict) -> str:
    return f"{report['period']['slug']}-{name}.csv"
