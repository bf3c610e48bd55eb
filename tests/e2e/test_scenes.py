"""Scene-mode guided services through the real stack: every scene walked on every branch (each
option of each question taken at least once), the personalised plan checked against the scene's
data, and back / change / restart / leave-and-resume, a question in between, recommendations,
and a reminder that fires from a gateway process started after it was set."""
from __future__ import annotations

import re
import time
import uuid
from datetime import date, timedelta

import pytest
import redis

from common.sessions import conversation_id
from knowledge.catalog import load_catalog
from scenes import runner
from scenes.scene import load_all
from tests.conftest import extra_gateway, reply_text

pytestmark = pytest.mark.e2e
CATALOG = load_catalog()
SCENES = load_all(set(CATALOG.items))
CITED = re.compile(r"\d+\. .+?（事项编码 (440300-\d{3}-[A-Z]{2}-\d{4})）")
CODE = re.compile(r"CJ\d{6}")
# Dates answered a few days back, so every deadline (30 days and more) is still ahead.
ANSWER_DATE = (date.today() - timedelta(days=5)).isoformat()


def fresh() -> str:
    return "s-" + uuid.uuid4().hex[:12]


def start(stack, me: str, scene_id: str) -> list[dict]:
    return stack.say(me, '/start_scene{"scene":"%s"}' % scene_id)


def said_for(scene, qid: str, value: str) -> str:
    q = scene.question(qid)
    return ANSWER_DATE if q.type == "date" else q.option(value).label


def walk(stack, me: str, scene, path: dict[str, str]) -> str:
    """Answers the scene along `path`, checking each question and its progress; returns the plan."""
    replies = start(stack, me, scene.id)
    answers: dict[str, str] = {}
    while (q := runner.next_question(scene, answers)) is not None:
        text = reply_text(replies)
        progress = runner.progress(scene, answers)
        assert q.ask in text and f"第{progress.step}步/共{progress.total}步" in text, (scene.id, q.id, text)
        answers[q.id] = ANSWER_DATE if q.type == "date" else path[q.id]
        replies = stack.say(me, said_for(scene, q.id, path[q.id]))
    return reply_text(replies)


CASES = [(s.id, n, p) for s in SCENES.values() for n, p in enumerate(runner.covering_paths(s))]


@pytest.mark.parametrize("scene_id,n,path", CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_scene_branch_gives_the_plan_of_its_answers(stack, scene_id, n, path):
    scene = SCENES[scene_id]
    text = walk(stack, fresh(), scene, path)
    expected = [s.item for s in runner.plan(scene, {k: (ANSWER_DATE if scene.question(k).type == "date" else v)
                                                    for k, v in path.items()})]
    assert CITED.findall(text) == expected, text
    assert "所需材料" in text and "办理地点" in text and CODE.search(text)
    for step in runner.plan(scene, path):
        if step.deadline:
            assert step.deadline.label in text


def test_life_event_questions_start_their_scene(stack):
    assert "生小孩一件事" in reply_text(stack.say(fresh(), "生孩子要办什么手续"))
    company = next(s for s in SCENES.values() if s.classification == "开办企业" and "公司" in s.title)
    assert f"{company.title}一件事" in reply_text(stack.say(fresh(), "我要开公司"))


def test_back_change_restart_and_a_question_in_between(stack):
    baby, me = SCENES["baby"], fresh()
    start(stack, me, "baby")
    stack.say(me, "深户")
    text = reply_text(stack.say(me, "上一步"))
    assert "第1步" in text and baby.question("hukou").ask in text
    stack.say(me, "都不是深圳户籍")
    text = reply_text(stack.say(me, "出生医学证明要带什么材料"))
    assert "440300-009-GG-0002" in text and baby.question("mother_insured").ask in text
    stack.say(me, "有参保")
    text = reply_text(stack.say(me, "修改户籍情况"))
    assert baby.question("hukou").ask in text
    text = reply_text(stack.say(me, "有一方是深圳户籍"))
    assert baby.question("birth_date").ask in text           # the other answers were kept
    text = reply_text(stack.say(me, '/scene_control{"scene_op":"restart"}'))
    assert "第1步" in text and baby.question("hukou").ask in text


def test_unrecognised_answers_and_dates_are_asked_again(stack):
    me = fresh()
    start(stack, me, "baby")
    assert "没能识别您的选择" in reply_text(stack.say(me, "嗯嗯"))
    stack.say(me, "深户")
    stack.say(me, "没参保")
    assert "没能识别这个日期" in reply_text(stack.say(me, "前阵子吧"))


def test_leave_and_resume_from_another_channel_user(stack):
    baby, me = SCENES["baby"], fresh()
    start(stack, me, "baby")
    stack.say(me, "深户")
    text = reply_text(stack.say(me, "稍后再办"))
    code = CODE.search(text).group(0)
    text = reply_text(stack.say(fresh(), f"继续办理{code}"))
    assert "已恢复" in text and baby.question("mother_insured").ask in text and "第2步" in text
    assert "没有找到" in reply_text(stack.say(fresh(), "继续办理CJ000000"))


def test_service_answers_recommend_the_scene_and_browsing_offers_it(stack):
    replies = stack.say(fresh(), "新生儿怎么上户口")
    assert any(b["payload"] == '/start_scene{"scene": "baby"}' for r in replies for b in r.get("buttons", []))
    text = reply_text(stack.say(fresh(), '/browse_catalog{"category":"生小孩"}'))
    assert "生小孩一件事" in text


def test_reminder_fires_from_a_gateway_started_after_it_was_set(stack):
    baby, me = SCENES["baby"], fresh()
    text = walk(stack, me, baby, {"hukou": "sz", "mother_insured": "yes", "birth_date": ANSWER_DATE})
    assert "到期前提醒我" in text
    step = next(n for n, s in enumerate(runner.plan(baby, {"hukou": "sz", "mother_insured": "yes"}), 1)
                if s.item == "440300-006-GF-0001")
    text = reply_text(stack.say(me, '/set_reminder{"reminder_step":"%d"}' % step))
    assert "提醒您" in text and "生育津贴申领" in text
    r = redis.Redis(port=stack.redis_port)
    assert r.zcard("reminders:due") >= 1
    # A gateway whose clock reads 400 days on: the stored reminder is due for it.
    with extra_gateway(stack, stack.base + 21, REMINDER_CLOCK_OFFSET_S=str(400 * 86400)) as later:
        waiting = f"outbox:{conversation_id('rest', me)}"     # REST cannot push: it waits there
        for _ in range(120):
            if r.llen(waiting):
                break
            time.sleep(0.5)
        text = reply_text(later.say(me, "你好"))
    assert "办事提醒" in text and "生育津贴申领" in text
