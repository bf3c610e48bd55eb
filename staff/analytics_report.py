"""Writes a weekly, monthly or yearly analytics report to a folder: every chart as PNG, every
table as CSV and the whole report as JSON (the same numbers as the admin page). Reads the running
stack's Redis (REDIS_HOST, REDIS_PORT, REDIS_GATEWAY_DB, REDIS_TRACKER_DB); `make report` runs it.

    python -m staff.analytics_report --period week [--date 2026-11-27] --out var/reports"""
from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import sys
from pathlib import Path

import redis.asyncio as aioredis

from common import audit
from common.clock import today
from common.config import settings
from common.report_periods import KINDS, Period, parse_day
from staff import analytics, analytics_charts, analytics_csv


async def write_report(period: Period, out: Path) -> dict:
    cfg = settings()
    gateway = aioredis.Redis(host=cfg.redis_host, port=cfg.redis_port, db=cfg.redis_db)
    trackers = analytics.tracker_store(cfg, analytics.AnalyticsSettings())
    try:
        report = await analytics.compute(gateway, trackers, period)
        await audit.record(gateway, f"cli:{getpass.getuser()}", "system", "analytics_report", period.slug)
    finally:
        await gateway.aclose()
        await trackers.aclose()
    folder = out / period.slug
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "report.json").write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    for name in analytics_csv.TABLES:
        (folder / f"{name}.csv").write_text(analytics_csv.table(name, report), encoding="utf-8")
    for name in analytics_charts.CHARTS:
        (folder / f"{name}.png").write_bytes(analytics_charts.render(name, report))
    return report


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="生成运营统计报表（图表PNG、表格CSV、JSON）")
    ap.add_argument("--period", choices=sorted(KINDS), default="week", help="week 周报 | month 月报 | year 年报")
    ap.add_argument("--date", help="周期内的任一天，年-月-日（默认今天）")
    ap.add_argument("--out", default="var/reports", help="输出目录（在其下按周期建子目录）")
    args = ap.parse_args(argv)
    try:
        day = parse_day(args.date) if args.date else today()
    except ValueError:
        print("日期格式应为 年-月-日，例如 2026-11-27。", file=sys.stderr)
        return 2
    period = Period.containing(args.period, day)
    try:
        report = asyncio.run(write_report(period, Path(args.out)))
    except (aioredis.ConnectionError, OSError) as exc:
        print(f"无法读取统计数据（Redis 不可用：{exc}）。请先用 make run 启动系统。", file=sys.stderr)
        return 1
    s = report["summary"]
    print(f"{report['period']['label']}{KINDS[period.kind]}已生成：{Path(args.out) / period.slug}")
    print(f"会话{s['conversations']}个，用户{s['unique_users']}人，消息{s['messages']}条，"
          f"独立解决率{s['containment_rate']:.0%}，转人工{s['handoffs']}次，未能解答{s['unanswered']}次，"
          f"平均评分{s['avg_rating']}（{s['ratings']}次评价）")
    return 0


if __name__ == "__main__":
    sys.exit(main())
