"""How a scene looks in the conversation: a question with where the citizen is (standard
6.1.2.3: step k of n and what is left), and the personalised plan, one message per service."""
from __future__ import annotations

from datetime import date, timedelta

from actions import render
from actions.dates import beijing_today
from knowledge.catalog import Item
from scenes import runner
from scenes.scene import Question, Scene, Step

CONTROL_HINT = "（可随时说“上一步”“修改{name}”“重新开始”或“稍后再办”）"


def control(op: str) -> str:
    return render.payload("scene_control", scene_op=op)


def intro(scene: Scene) -> str:
    count = len(runner.progress(scene, {}).remaining)
    return (f"【{scene.title}一件事】{scene.summary}\n我先问您{count}个左右的问题，"
            "然后为您生成专属的办事清单：办哪些事、先后顺序、带什么材料、去哪里办。")


def question(scene: Scene, q: Question, answers: dict[str, str]) -> tuple[str, list[dict]]:
    p = runner.progress(scene, answers)
    later = [n for n in p.remaining if n != q.name]
    where = f"第{p.step}步/共{p.total}步" + (f"，之后还有：{'、'.join(later)}" if later else "，这是最后一步")
    text = f"{where}\n{q.ask}"
    if q.type == "date":
        text += "\n请按“2026-11-01”或“11月1日”的格式回复。"
    buttons = [{"title": o.label, "payload": o.label} for o in q.options]
    if answers:
        buttons.append({"title": "上一步", "payload": control("back")})
    buttons.append({"title": "稍后再办", "payload": control("leave")})
    return text + "\n" + CONTROL_HINT.format(name=q.name), buttons


def answered(scene: Scene, answers: dict[str, str]) -> str:
    shown = []
    for q in scene.questions:
        if q.id in runner.relevant_answers(scene, answers):
            value = answers[q.id]
            shown.append(f"{q.name}：{q.option(value).label if q.type == 'choice' else value}")
    return "；".join(shown)


def due_date(step: Step, answers: dict[str, str]) -> date | None:
    if step.deadline is None or step.deadline.after not in answers:
        return None
    return date.fromisoformat(answers[step.deadline.after]) + timedelta(days=step.deadline.days)


def plan_step(n: int, step: Step, item: Item, answers: dict[str, str], today: date,
              items: dict[str, Item]) -> str:
    lines = [f"{n}. {item.name}（事项编码 {item.code}）"]
    if step.note:
        lines.append(f"提示：{step.note}")
    lines += [render.materials(item), render.locations(item), render.time_limits(item), render.fee(item)]
    if item.forms:
        lines.append(render.forms(item))
    for label, codes in (("前置事项", item.pre_items), ("后续事项", item.post_items)):
        names = [items[c].name for c in codes if c in items]
        if names:
            lines.append(f"{label}：{'、'.join(names)}")
    if due := due_date(step, answers):
        late = "（已超过期限，请尽快办理或咨询窗口）" if due < today else ""
        lines.append(f"办理期限：{due.isoformat()}前——{step.deadline.label}{late}")
    return "\n".join(lines)


def plan(scene: Scene, answers: dict[str, str], items: dict[str, Item], code: str,
         today: date | None = None) -> list[tuple[str, list[dict]]]:
    """The plan as messages (text, buttons): a heading, one message per service, and the choices
    that follow (reminders for dated steps, booking the first service, restarting)."""
    today = today or beijing_today()
    steps = runner.plan(scene, answers)
    order = "→".join(items[s.item].name for s in steps)
    out = [(f"根据您的情况（{answered(scene, answers)}），“{scene.title}”需要按顺序办理以下{len(steps)}项：\n{order}", [])]
    for n, step in enumerate(steps, 1):
        out.append((plan_step(n, step, items[step.item], answers, today, items), [render.item_button(items[step.item], "查看详细指南")]))
    buttons = []
    for n, step in enumerate(steps, 1):
        due = due_date(step, answers)
        if due and due > today:
            buttons.append({"title": f"到期前提醒我：{items[step.item].name}",
                            "payload": render.payload("set_reminder", reminder_step=str(n))})
    first = items[steps[0].item]
    buttons.append({"title": f"预约办理：{first.name}", "payload": render.payload("book_appointment", service_code=first.code)})
    buttons.append({"title": "重新开始本场景", "payload": control("restart")})
    out.append((f"清单已保存，恢复码：{code}（在任何渠道发送“继续办理{code}”即可再次查看或修改）。"
                + ("\n需要的话，我可以在办理期限前提醒您。" if len(buttons) > 2 else ""), buttons))
    return out
