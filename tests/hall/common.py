"""Constants and helpers shared by the hall tests."""
from __future__ import annotations

from datetime import datetime

from common.clock import TZ
from hall.seed import SAMPLES

KEY = "test-key"
H = {"X-Hall-Key": KEY}
# A Friday morning in Shenzhen: due dates and the booking window are known in advance.
FRIDAY = datetime(2026, 11, 27, 10, 0, tzinfo=TZ)

# Valid bodies of the hall's creating POSTs (the tests change one field at a time).
CONSULTATION = {
    "department": "深圳市公安局", "consultation_type": "办事咨询", "public": False,
    "subject": "居住证签注需要本人到场吗", "content": "我的居住证明年到期，签注可以网上办理吗？需要本人去派出所吗？",
    "attachments": [], "name": "陈晓明", "phone": "13800138001", "channel": "web",
    "item_code": "440300-001-QR-0001",
}
COMPLAINT = {
    "department": "深圳市市场监督管理局南山监管局", "complaint_type": "办理超时", "respondent_name": "",
    "content": "食品经营许可申请已经受理二十多天，一直显示审核中，电话也没人接。", "name": "王建国",
    "phone": "13600136003", "channel": "wechat", "case_number": SAMPLES[2][0],
    "attachments": [{"name": "受理回执.pdf", "content_type": "application/pdf",
                     "url": "https://files.example.cn/upload/2026/11/receipt.pdf"}],
}
# With the clock at FRIDAY the booking window runs from Monday 30 November to Friday 11 December.
MONDAY, TUESDAY = "2026-11-30", "2026-12-01"
PASSPORT = "440300-001-XK-0002"
BOOKING = {"service_code": PASSPORT, "hall": "市行政服务大厅", "date": MONDAY, "start": "09:30",
           "name": "赵敏", "phone": "13700137004", "channel": "web"}


class Clock:
    """A settable clock for the hall (store.clock)."""

    def __init__(self, now: datetime = FRIDAY):
        self.value = now

    def __call__(self) -> datetime:
        return self.value

    def set(self, now: datetime) -> None:
        self.value = now


async def post(client, path: str, body, key: str | None = None):
    """(status, JSON body, headers) of a POST with the service key (and an Idempotency-Key)."""
    headers = {**H, **({"Idempotency-Key": key} if key else {})}
    resp = await client.post(path, json=body, headers=headers)
    return resp.status, await resp.json(), resp.headers


async def get(client, path: str, params: dict | None = None):
    resp = await client.get(path, params=params, headers=H)
    return resp.status, await resp.json()
