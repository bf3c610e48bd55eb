"""What the citizen is told once a filing has landed: its number, the time limit and how to
check the result. Shared by the action that files directly and the queue that files later."""
from __future__ import annotations


def filed_text(kind: str, result: dict) -> str:
    number = result.get("number", "")
    if kind == "complaint":
        return (f"您的投诉已受理，受理编号：{number}。我们将在{result.get('time_limit_days', 5)}个工作日内"
                f"（{result.get('due_date', '')}前）处理并答复您。凭受理编号可随时查询处理结果，"
                f"例如发送“查询{number}”。")
    if kind == "consultation":
        return (f"您的咨询已提交，受理编号：{number}。工作人员将在{result.get('answer_due', '3个工作日内')}前答复，"
                f"答复后会短信通知您，也可发送“查询{number}”查看答复。")
    if kind == "appointment":
        return (f"预约成功！预约编号：{number}。{result.get('date', '')} {result.get('start', '')}，"
                f"{result.get('hall', '')}，办理{result.get('service_name') or result.get('service_code', '')}。"
                f"请携带所需材料提前10分钟到达。如需改约或取消，请发送“改约{number}”或“取消预约{number}”。")
    if kind == "opinion":
        return (f"感谢您的意见！已提交至“{result.get('topic_title', '')}”，编号：{number}。"
                f"相关部门将在{result.get('respond_within_days', 10)}个工作日内（{result.get('respond_by', '')}前）"
                f"汇总研究并公开反馈。")
    return f"已受理，编号：{number}。"
