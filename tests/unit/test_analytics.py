"""Analytics on a real redis-server: report periods in Shenzhen time, the report's numbers from
records laid out exactly as the stack keeps them (Rasa's tracker JSON, transcripts, gateway
sessions, the handoff history, ratings and unanswered streams), hot questions and service
ranking, the handoff history written by common/handoff.py, CSV tables and PNG charts."""
from __future__ import annotations

import csv
import io
import json
import time
import warnings
from datetime import date, datetime

import pytest
import redis.asyncio as aioredis
from PIL import Image

from common import popularity, unanswered
from common.clock import today
from common.handoff import HISTORY, Handoff
from common.report_periods import Period, TZ, midnight
from staff import analytics, analytics_charts, analytics_csv
from staff.analytics_sources import TRACKER_PREFIX, split_sessions

pytest_plugins = ["tests.redis_server"]
GUIDE = "440300-001-QR-0001"          # 深圳市居住证申领（含签注）


@pytest.fixture
async def gateway(redis_port):
    client = aioredis.Redis(port=redis_port, db=0)
    await client.flushall()
    yield client
    await client.aclose()


@pytest.fixture
async def trackers(redis_port):
    client = aioredis.Redis(port=redis_port, db=1)
    yield client
    await client.aclose()


# --- Rasa's tracker format (RedisTrackerStore: json.dumps(tracker.as_dialogue().as_dict())) ------
def session_start(ts: float, carried: dict | None = None) -> list[dict]:
    """Rasa's ActionSessionStart; `carried`: slots of the previous session carried over."""
    meta = {"model_id": "m1", "assistant_id": "hall-assistant"}
    return [{"event": "slot", "timestamp": ts, "metadata": meta, "name": "session_started_metadata",
             "value": {"channel": "rest"}},
            {"event": "action", "timestamp": ts, "metadata": meta, "name": "action_session_start", "policy": None,
             "confidence": 1.0, "action_text": None, "hide_rule_turn": False},
            {"event": "session_started", "timestamp": ts, "metadata": meta},
            *({"event": "slot", "timestamp": ts, "metadata": {}, "name": k, "value": v} for k, v in (carried or {}).items()),
            {"event": "action", "timestamp": ts, "metadata": meta, "name": "action_listen", "policy": None,
             "confidence": None, "action_text": None, "hide_rule_turn": False}]


def turn(ts: float, text: str, intent: str, action: str, bot: list[str], slots: dict | None = None) -> list[dict]:
    events = [{"event": "user", "timestamp": ts, "metadata": {"channel": "rest"}, "text": text,
               "parse_data": {"intent": {"name": intent, "confidence": 0.97}, "entities": [], "text": text},
               "input_channel": "rest", "message_id": f"m{ts}"},
              {"event": "user_featurization", "timestamp": ts + 0.1, "use_text_for_featurization": False},
              {"event": "action", "timestamp": ts + 0.1, "name": action, "policy": "RulePolicy", "confidence": 1.0}]
    events += [{"event": "bot", "timestamp": ts + 0.2, "text": t, "data": {"buttons": None}, "metadata": {}} for t in bot]
    events += [{"event": "slot", "timestamp": ts + 0.2, "name": k, "value": v} for k, v in (slots or {}).items()]
    events.append({"event": "action", "timestamp": ts + 0.3, "name": "action_listen", "policy": "RulePolicy",
                   "confidence": 1.0})
    return events


async def save_tracker(trackers, conv: str, events: list[dict]) -> None:
    await trackers.set(TRACKER_PREFIX + conv, json.dumps({"events": events, "name": conv}))


async def say(gateway, conv: str, who: str, text: str, at: float) -> None:
    """A transcript line at a chosen time (transcript.append stamps the current time)."""
    await gateway.rpush(f"transcript:{conv}", json.dumps({"who": who, "text": text, "at": at,
                                                          "channel": conv.split("-")[0]}, ensure_ascii=False))


# --- periods -----------------------------------------------------------------------------------
def test_periods_follow_shenzhen_calendar():
    week = Period.containing("week", date(2026, 11, 27))           # a Friday
    assert (week.first, week.last) == (date(2026, 11, 23), date(2026, 11, 29))
    assert week.start == datetime(2026, 11, 23, tzinfo=TZ).timestamp()
    assert week.start == datetime.fromisoformat("2026-11-22T16:00:00+00:00").timestamp()   # 00:00 in UTC+8
    assert [b.label for b in week.buckets()][:2] == ["11月23日", "11月24日"] and len(week.buckets()) == 7
    assert week.label == "2026年第48周（11月23日—11月29日）"
    month = Period.containing("month", date(2026, 12, 31))
    assert (month.first, month.after, len(month.buckets())) == (date(2026, 12, 1), date(2027, 1, 1), 31)
    year = Period.containing("year", date(2024, 2, 29))
    assert [b.label for b in year.buckets()] == [f"{m}月" for m in range(1, 13)] and year.label == "2024年"
    with pytest.raises(ValueError):
        Period.containing("day", date(2026, 1, 1))


def test_tracker_sessions_without_a_user_message_are_not_conversations():
    events = session_start(1.0) + turn(2.0, "你好", "greet", "action_small_talk", ["您好"]) + session_start(9000.0)
    assert len(split_sessions(events)) == 1


# --- the report from seeded records ------------------------------------------------------------
async def seed(gateway, trackers, base: float) -> None:
    """Two citizens this period, one last period:
    - rest-aaa: greets, asks about the residence permit (a guide), 8 s.
    - wechat-bbb, first session: names 福田区; second session (two hours later, 福田区 carried
      over by Rasa, not named again): asks for a person, is queued, claimed after 90 s by staff who write twice, ended after 300 s, rates 5.
    - rest-old: a week earlier, outside the period."""
    a = "rest-aaa"
    await save_tracker(trackers, a, session_start(base) + turn(base, "你好", "greet", "action_small_talk", ["您好！"])
                       + turn(base + 8, "居住证怎么办", "ask_service_guide", "action_answer_question", ["【居住证】", "办完后"],
                              {"service_code": GUIDE}))
    await say(gateway, a, "citizen", "你好", base - 0.01)
    await say(gateway, a, "bot", "您好！", base + 0.3)
    await say(gateway, a, "citizen", "居住证怎么办", base + 7.99)
    for text in ("【居住证】", "办完后"):
        await say(gateway, a, "bot", text, base + 8.3)

    b, later = "wechat-bbb", base + 7200
    events = (session_start(base + 60) + turn(base + 60, "福田区大厅在哪", "ask_hall_info", "action_hall_info", ["福田区…"],
                                               {"district": "福田区"})
              + session_start(later, carried={"district": "福田区", "failed_turns": 0})
              + turn(later, "居住证签注", "ask_service_guide", "action_answer_question", ["【居住证】"],
                                            {"service_code": GUIDE})
              + turn(later + 20, "转人工", "request_human", "action_request_human", ["正在为您转接"]))
    await save_tracker(trackers, b, events)
    await say(gateway, b, "citizen", "福田区大厅在哪", base + 59.99)
    await say(gateway, b, "bot", "福田区…", base + 60.3)
    await say(gateway, b, "citizen", "居住证签注", later - 0.01)       # opens the second session
    await say(gateway, b, "bot", "【居住证】", later + 0.3)
    await say(gateway, b, "citizen", "转人工", later + 19.99)
    await say(gateway, b, "bot", "正在为您转接", later + 20.3)
    await say(gateway, b, "system", "公安窗口一号已接入", later + 110)
    await say(gateway, b, "citizen", "签注要多久", later + 130)        # with staff: never reached Rasa
    await say(gateway, b, "staff", "一般10个工作日", later + 150)
    await say(gateway, b, "staff", "还有别的问题吗", later + 300)
    await say(gateway, b, "system", "结束了人工服务", later + 410)
    for kind, at, staff in (("queued", later + 20.2, ""), ("claimed", later + 110.2, "police1"),
                            ("ended", later + 410.2, "police1")):
        await gateway.xadd(HISTORY, {"kind": kind, "conversation": b, "department": "深圳市公安局",
                                     "channel": "wechat", "staff": staff, "at": str(at)})
    await gateway.xadd("ratings", {"conversation": b, "rating": "5", "staff": "police1",
                                   "department": "深圳市公安局", "channel": "wechat"})

    old = base - 8 * 86400
    await save_tracker(trackers, "rest-old", session_start(old) + turn(old, "你好", "greet", "action_small_talk", ["您好"]))

    for conv, channel, first in ((a, "rest", base), (b, "wechat", base + 60), ("rest-old", "rest", old)):
        await gateway.hset(f"session:{conv}", mapping={"channel": channel, "user_id": "u", "first_seen": first,
                                                       "last_seen": first, "turns": 1})
    await unanswered.record(gateway, "我的手机13912345678收不到验证码", "rest-a1", "not_in_knowledge", "ask_faq")
    await unanswered.record(gateway, "我的手机 13912345678 收不到验证码", "wechat-b2", "not_understood", "nlu_fallback")


async def test_report_numbers_from_seeded_records(gateway, trackers):
    period = Period.containing("week", today())
    await seed(gateway, trackers, period.start + 3600)
    report = await analytics.compute(gateway, trackers, period)
    s = report["summary"]
    assert (s["conversations"], s["unique_users"], s["new_users"]) == (3, 2, 2)
    # rest-aaa 2+3, wechat-bbb 1+1 then 3 citizen + 2 bot + 2 staff (the transcript has them all)
    assert (s["citizen_messages"], s["bot_messages"], s["staff_messages"], s["messages"]) == (6, 6, 2, 14)
    assert s["avg_turns"] == 2.0
    # 8.31 s, 0.31 s, and from the opening message to the handoff's end 410.01 s
    assert s["avg_duration_s"] == round((8.31 + 0.31 + 410.01) / 3, 1)
    assert (s["escalated"], s["containment_rate"]) == (1, round(2 / 3, 4))
    assert (s["handoffs"], s["handoffs_claimed"], s["handoffs_abandoned"], s["handoff_rate"]) == (1, 1, 0, round(1 / 3, 4))
    assert (s["avg_wait_s"], s["max_wait_s"], s["avg_handling_s"]) == (90.0, 90.0, 300.0)
    assert (s["ratings"], s["avg_rating"], s["satisfied_rate"]) == (1, 5.0, 1.0)
    assert (s["unanswered"], s["unanswered_rate"]) == (2, round(2 / 6, 4))
    assert {r["channel"]: r["conversations"] for r in report["channels"]} == {"rest": 1, "wechat": 2}
    assert report["channels"][0]["name"] == "微信公众号"
    assert report["services"] == [{"service_code": GUIDE, "service_name": "深圳市居住证申领（含签注）",
                                   "department": "深圳市公安局", "conversations": 2}]
    assert report["regions"] == [{"district": "福田区", "conversations": 1}]
    assert {r["name"]: r["count"] for r in report["intents"]} == {"办事指南": 2, "问候": 1, "大厅信息": 1, "转人工": 1}
    assert report["ratings"]["distribution"][4] == {"score": 5, "count": 1}
    assert report["handoffs"]["departments"] == [{"department": "深圳市公安局", "queued": 1, "claimed": 1, "abandoned": 0,
                                                  "avg_wait_s": 90.0}]
    assert {w["bucket"]: w["count"] for w in report["handoffs"]["waits"]}["1-3分钟"] == 1
    # Grouped by their exact (whitespace-collapsed) text; the phone number is masked in both.
    texts = [u["question"] for u in report["unanswered"]]
    assert texts == ["我的手机 139****5678 收不到验证码", "我的手机139****5678收不到验证码"]
    assert "13912345678" not in json.dumps(report, ensure_ascii=False)
    trend = {t["label"]: t for t in report["trend"]}
    first_day = f"{period.first.month}月{period.first.day}日"
    assert trend[first_day]["conversations"] == 3 and trend[first_day]["handoffs"] == 1


async def test_an_abandoned_and_a_transferred_handoff(gateway):
    h = Handoff(gateway)
    await h.request("web-1", "深圳市公安局", "web", question="签注")
    await h.cancel("web-1")
    await h.request("web-2", "深圳市公安局", "web")
    assert await h.claim("web-2", "police1")
    assert await h.transfer("web-2", "police1", department="综合窗口", note="不属于公安")
    assert await h.claim("web-2", "social1")
    assert await h.end("web-2", "social1")
    rows = await gateway.xrange(HISTORY)
    kinds = [(f[b"kind"].decode(), f[b"conversation"].decode()) for _, f in rows]
    assert kinds == [("queued", "web-1"), ("cancelled", "web-1"), ("queued", "web-2"), ("claimed", "web-2"),
                     ("transferred", "web-2"), ("claimed", "web-2"), ("ended", "web-2")]
    history = [{**{k.decode(): v.decode() for k, v in f.items()}} for _, f in rows]
    for e in history:
        e["at"] = float(e["at"])
    outcomes = analytics.handoff_outcomes(history, 0, time.time() + 1)
    assert [(o["conversation"], o["department"], o["outcome"], o["requested"]) for o in outcomes] == [
        ("web-1", "深圳市公安局", "abandoned", True), ("web-2", "深圳市公安局", "claimed", True),
        ("web-2", "综合窗口", "claimed", False)]
    assert all(o["wait_s"] >= 0 for o in outcomes) and outcomes[2]["handling_s"] >= 0


# --- hot questions and ranking -----------------------------------------------------------------
async def test_hot_questions_and_service_ranking_by_day(gateway):
    noon = midnight(today()) + 12 * 3600
    faq = popularity.faq_title("申领深圳居住证需要什么条件？", GUIDE, "深圳市居住证申领（含签注）", "深圳市公安局")
    item = popularity.item_title("440300-014-QR-0001", "婚姻登记", "深圳市民政局")
    for _ in range(3):
        await popularity.count_answer(gateway, "faq:residence_permit-001", faq, now=noon)
    await popularity.count_answer(gateway, "item:440300-014-QR-0001", item, now=noon)
    await popularity.count_answer(gateway, "item:440300-014-QR-0001", item, now=noon - 86400)
    await popularity.count_answer(gateway, "item:440300-014-QR-0001", item, now=noon - 30 * 86400)   # too old
    await popularity.count_filing(gateway, "440300-014-QR-0001", "婚姻登记", "深圳市民政局", now=noon)
    await popularity.count_filing(gateway, "440300-014-QR-0001", "婚姻登记", "深圳市民政局", now=noon)

    hot = await popularity.hot_questions(gateway, *popularity.last_days(7, now=noon), limit=5)
    assert [(h["rank"], h["question"], h["count"]) for h in hot] == [
        (1, "申领深圳居住证需要什么条件？", 3), (2, "婚姻登记怎么办理？", 2)]
    assert hot[0]["payload"] == "申领深圳居住证需要什么条件？"
    assert hot[1]["payload"] == '/ask_service_guide{"service_code": "440300-014-QR-0001"}'
    today_only = await popularity.hot_questions(gateway, *popularity.last_days(1, now=noon))
    assert [h["count"] for h in today_only] == [3, 1]
    ranking = await popularity.service_ranking(gateway, *popularity.last_days(7, now=noon))
    assert [(r["service_code"], r["questions"], r["filings"], r["total"]) for r in ranking] == [
        ("440300-014-QR-0001", 2, 2, 4), (GUIDE, 3, 0, 3)]
    assert ranking[0]["service_name"] == "婚姻登记" and ranking[1]["department"] == "深圳市公安局"
    assert await gateway.ttl(popularity.questions_key(today().strftime("%Y%m%d"))) > 365 * 86400


# --- CSV and charts ----------------------------------------------------------------------------
@pytest.fixture
async def report(gateway, trackers):
    period = Period.containing("week", today())
    await seed(gateway, trackers, period.start + 3600)
    noon = midnight(today()) + 12 * 3600
    await popularity.count_answer(gateway, f"item:{GUIDE}", popularity.item_title(GUIDE, "深圳市居住证申领（含签注）",
                                                                                  "深圳市公安局"), now=noon)
    return await analytics.compute(gateway, trackers, period)


async def test_every_csv_table_has_chinese_headers_and_the_report_numbers(report):
    for name in analytics_csv.TABLES:
        text = analytics_csv.table(name, report)
        assert text.startswith("\ufeff")
        rows = list(csv.reader(io.StringIO(text[1:])))
        assert all("\u4e00" <= ch <= "\u9fff" for ch in rows[0][0][:1]), (name, rows[0])
        assert len({len(r) for r in rows}) == 1
    summary = dict(csv.reader(io.StringIO(analytics_csv.table("summary", report)[1:])))
    assert summary["会话数"] == "3" and summary["平均评分"] == "5.0" and summary["转人工次数"] == "1"
    unanswered_rows = list(csv.reader(io.StringIO(analytics_csv.table("unanswered", report)[1:])))
    assert unanswered_rows[1][:2] == ["我的手机 139****5678 收不到验证码", "1"]
    assert analytics_csv.filename("summary", report) == f"{report['period']['slug']}-summary.csv"


def png_checks(data: bytes) -> tuple[int, int]:
    image = Image.open(io.BytesIO(data))
    image.verify()                              # a whole, valid PNG
    image = Image.open(io.BytesIO(data)).convert("L")
    dark = sum(1 for p in image.getdata() if p < 128)
    return image.size[0] * image.size[1], dark


async def test_every_chart_is_a_non_blank_png_drawn_with_the_cjk_font(report):
    from matplotlib import font_manager
    from matplotlib.font_manager import FontProperties

    empty = {**report, "summary": {**report["summary"], "ratings": 0, "handoffs": 0},
             **{k: [] for k in ("trend", "channels", "services", "intents", "regions", "hot_questions")},
             "ratings": {"distribution": [{"score": s, "count": 0} for s in range(1, 6)], "departments": []},
             "handoffs": {"departments": [], "waits": [{"bucket": "1分钟内", "count": 0}]}}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for name in analytics_charts.CHARTS:
            for data in (analytics_charts.render(name, report), analytics_charts.render(name, empty)):
                assert data[:8] == b"\x89PNG\r\n\x1a\n"
                pixels, dark = png_checks(data)
                assert pixels >= 800 * 300 and dark > 0, name
    assert not [w for w in caught if "missing from" in str(w.message)], [str(w.message) for w in caught]
    assert font_manager.findfont(FontProperties(family=analytics_charts.FONT_NAME, weight="medium"),
                                 fallback_to_default=False) == str(analytics_charts.FONT_FILE)
    # A chart with data has more ink than the "no data" notice of the same chart.
    assert png_checks(analytics_charts.render("services", report))[1] > png_checks(
        analytics_charts.render("services", empty))[1]
    with pytest.raises(KeyError):
        analytics_charts.render("nothing", report)


def test_a_question_that_looks_like_a_formula_is_quoted_in_the_csv():
    report = {"unanswered": [{"question": "=HYPERLINK(\"http://x\",\"点我\")", "count": 2, "channels": "网页",
                              "reasons": "未能理解"}, {"question": "-1+1", "count": 1, "channels": "", "reasons": ""}]}
    rows = list(csv.reader(io.StringIO(analytics_csv.table("unanswered", report)[1:])))
    assert rows[1][0] == "'=HYPERLINK(\"http://x\",\"点我\")" and rows[1][1] == "2"
    assert rows[2][0] == "'-1+1"
