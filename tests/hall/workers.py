"""Functions run in separate OS processes (multiprocessing) by the concurrency tests:
each opens its own connection to the same database and files at the same moment."""
from __future__ import annotations

import time


def _store(target: str):
    from hall.db import Database
    from hall.store import Store

    return Store(Database(target, pool_size=1))


def file_many(target: str, worker: int, count: int, barrier, results) -> None:
    """Files `count` complaints and consultations alternately as fast as it can."""
    from hall import filings

    store = _store(target)
    complaint = {"department": "深圳市公安局", "complaint_type": "服务态度", "respondent_name": "",
                 "content": "窗口工作人员态度冷淡，不解释材料要求。", "name": "测试市民", "phone": "13800138000",
                 "channel": "web"}
    consultation = {"department": "深圳市公安局", "consultation_type": "办事咨询", "public": True,
                    "subject": "居住证", "content": "居住证签注可以网上办理吗？", "name": "测试市民",
                    "phone": "13800138000", "channel": "web"}
    numbers = []
    try:
        barrier.wait(timeout=60)
        started = time.perf_counter()
        for i in range(count):
            if i % 2:
                numbers.append(filings.file_consultation(store, consultation, None, "POST /api/v1/consultations")[1]
                               ["number"])
            else:
                numbers.append(filings.file_complaint(store, complaint, None, "POST /api/v1/complaints")[1]["number"])
        results.put((worker, numbers, started, time.perf_counter(), None))
    except Exception as exc:          # reported to the test, which fails with it
        results.put((worker, numbers, 0.0, 0.0, repr(exc)))
    finally:
        store.close()


def file_same_key(target: str, worker: int, barrier, results) -> None:
    """Every process files the same complaint with the same Idempotency-Key at once."""
    from hall import filings

    store = _store(target)
    complaint = {"department": "深圳市民政局", "complaint_type": "推诿刁难", "respondent_name": "",
                 "content": "婚姻登记处让我来回跑了三趟。", "name": "周杰", "phone": "13300133007", "channel": "web"}
    try:
        barrier.wait(timeout=60)
        status, body = filings.file_complaint(store, complaint, "same-key-everywhere", "POST /api/v1/complaints")
        results.put((worker, status, body["number"], None))
    except Exception as exc:
        results.put((worker, 0, "", repr(exc)))
    finally:
        store.close()


def book_one(target: str, worker: int, booking: dict, barrier, results) -> None:
    """Books one place at the moment every other process does."""
    from hall import appointments
    from hall.errors import HallError

    store = _store(target)
    try:
        barrier.wait(timeout=60)
        try:
            status, body = appointments.book(store, booking, None, "POST /api/v1/appointments")
            results.put((worker, status, body["number"], None))
        except HallError as exc:
            results.put((worker, exc.status, exc.code, None))
    except Exception as exc:
        results.put((worker, 0, "", repr(exc)))
    finally:
        store.close()
