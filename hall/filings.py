"""Consultations (standard 9.3.1), complaints (9.3.2) and opinion collection (9.3.3)."""
from __future__ import annotations

from datetime import date, datetime

from common.identity import mask_name, mask_phone, mask_text
from hall import schedule, validation as v
from hall.db import Tx
from hall.departments import department_no, from_item_code
from hall.errors import bad_request, conflict, found_or_404
from hall.store import KIND_COMPLAINT, KIND_CONSULTATION, KIND_OPINION, Store, next_number

# 9.3.1.3: offline consultations are answered regularly; the hall promises 3 working days.
CONSULTATION_ANSWER_DAYS = 3
# 9.3.2.3: the complaint's handling time limit, told to the citizen on filing.
COMPLAINT_TIME_LIMIT_DAYS = 5
CONTENT_MIN, CONTENT_MAX = 5, 2000
RECENT_MAX = 2000

CONSULTATION_STATUS = {"submitted": "已受理，待答复", "answered": "已答复"}
COMPLAINT_STATUS = {"accepted": "已受理，处理中", "completed": "已办结"}


def _attachments(tx: Tx, number: str) -> list[dict]:
    return tx.execute("SELECT name, content_type, url FROM attachments WHERE number = ? ORDER BY seq", (number,))


def _save_attachments(tx: Tx, number: str, items: list[dict]) -> None:
    for seq, a in enumerate(items):
        tx.execute("INSERT INTO attachments (number, seq, name, content_type, url) VALUES (?, ?, ?, ?, ?)",
                   (number, seq, a["name"], a["content_type"], a["url"]))


# -- consultations (9.3.1) ---------------------------------------------------------------------
def parse_consultation(body) -> dict:
    body = v.require_object(body)
    data = {
        "department": v.text(body, "department", max_len=60),
        "consultation_type": v.text(body, "consultation_type", max_len=20),
        "is_public": v.boolean(body, "public"),
        "subject": v.text(body, "subject", max_len=100),
        "content": v.text(body, "content", min_len=CONTENT_MIN, max_len=CONTENT_MAX, multiline=True),
        "attachments": v.attachments(body),
        "name": v.text(body, "name", max_len=40),
        "phone": v.phone(body),
        "id_number": v.id_number(body),
        "channel": v.channel(body),
        "item_code": v.item_code(body, "item_code", required=False),
    }
    return data


def consultation_out(row: dict, attachments: list[dict]) -> dict:
    answered = row["answered_at"] is not None
    return {
        "number": row["number"], "kind": "consultation",
        "department": row["department"], "department_no": row["department_no"],
        "consultation_type": row["consultation_type"], "public": bool(row["is_public"]),
        "subject": row["subject"], "content": row["content"], "item_code": row["item_code"],
        "attachments": attachments, "name": mask_name(row["name"]), "phone": mask_phone(row["phone"]),
        "channel": row["channel"], "status": row["status"], "status_text": CONSULTATION_STATUS[row["status"]],
        "filed_at": row["filed_at"], "answer_due": row["answer_due"],
        "answer_within_days": CONSULTATION_ANSWER_DAYS,
        "answer": {"text": row["answer"], "staff": row["answered_by"], "answered_at": row["answered_at"]}
        if answered else None,
        "updated_at": row["updated_at"],
    }


def file_consultation(store: Store, body, idem_key: str | None, scope: str) -> tuple[int, dict]:
    data = parse_consultation(body)

    def make(tx: Tx, now: datetime) -> dict:
        dept = from_item_code(data["item_code"]) or department_no(data["department"])
        number = next_number(tx, KIND_CONSULTATION, dept, now.date())
        due = schedule.add_working_days(now.date(), CONSULTATION_ANSWER_DAYS)
        tx.execute(
            "INSERT INTO consultations (number, department, department_no, consultation_type, is_public, subject, "
            "content, item_code, name, phone, id_number, channel, status, filed_at, answer_due, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'submitted', ?, ?, ?)",
            (number, data["department"], dept, data["consultation_type"], data["is_public"], data["subject"],
             data["content"], data["item_code"], data["name"], data["phone"], data["id_number"], data["channel"],
             now.isoformat(), due.isoformat(), now.isoformat()))
        _save_attachments(tx, number, data["attachments"])
        return _consultation(tx, number)

    return store.create(scope, idem_key, body, make)


def _consultation(tx: Tx, number: str) -> dict | None:
    row = tx.one("SELECT * FROM consultations WHERE number = ?", (number,))
    return consultation_out(row, _attachments(tx, number)) if row else None


def consultation(store: Store, number: str) -> dict:
    with store.db.read() as tx:
        return found_or_404(_consultation(tx, number), "no consultation with this number")


def recent_consultations(store: Store, since: str, limit: str) -> list[dict]:
    """What was asked since a day, newest first, for the assistant's knowledge upkeep (9.3.1.4):
    subject and content with ID and phone numbers masked, and no name, phone or ID number."""
    day = v.day(since, "since")
    try:
        count = int(limit or RECENT_MAX)
    except ValueError:
        count = 0
    if not 1 <= count <= RECENT_MAX:
        raise bad_request("bad_limit", f"limit must be 1-{RECENT_MAX}")
    rows = store.db.query(
        "SELECT number, department, consultation_type, is_public, subject, content, item_code, channel, filed_at "
        "FROM consultations WHERE filed_at >= ? ORDER BY filed_at DESC LIMIT ?", (day.isoformat(), count))
    return [{"number": r["number"], "department": r["department"], "consultation_type": r["consultation_type"],
             "public": bool(r["is_public"]), "subject": mask_text(r["subject"]), "content": mask_text(r["content"]),
             "item_code": r["item_code"], "channel": r["channel"], "filed_at": r["filed_at"]} for r in rows]


def set_consultation_public(store: Store, number: str, body) -> dict:
    """Whether the consultation may be shown publicly: the assistant files one whose text failed
    its content check as not public; a reviewer who clears it makes it public again (8.1.2)."""
    public = v.boolean(v.require_object(body), "public")

    def run(tx: Tx) -> dict:
        found_or_404(tx.one("SELECT number FROM consultations WHERE number = ?", (number,)),
                     "no consultation with this number")
        tx.execute("UPDATE consultations SET is_public = ?, updated_at = ? WHERE number = ?",
                   (public, store.now().isoformat(), number))
        return _consultation(tx, number)

    return store.db.write(run)


def answer_consultation(store: Store, number: str, body) -> dict:
    """Standard 9.3.1.3: the staff answer, given once (a second answer is a 409)."""
    body = v.require_object(body)
    answer = v.text(body, "answer", max_len=4000, multiline=True)
    staff = v.text(body, "staff", max_len=40)

    def run(tx: Tx) -> dict:
        row = found_or_404(tx.one("SELECT status FROM consultations WHERE number = ?", (number,)),
                           "no consultation with this number")
        if row["status"] == "answered":
            raise conflict("already_answered", "this consultation has already been answered")
        now = store.now().isoformat()
        tx.execute("UPDATE consultations SET status = 'answered', answer = ?, answered_by = ?, answered_at = ?, "
                   "updated_at = ? WHERE number = ?", (answer, staff, now, now, number))
        return _consultation(tx, number)

    return store.db.write(run)


# -- complaints (9.3.2) ------------------------------------------------------------------------
def parse_complaint(body) -> dict:
    body = v.require_object(body)
    return {
        "department": v.text(body, "department", max_len=60),
        "complaint_type": v.text(body, "complaint_type", max_len=20),
        "respondent_name": v.text(body, "respondent_name", max_len=30, required=False),
        "content": v.text(body, "content", min_len=CONTENT_MIN, max_len=CONTENT_MAX, multiline=True),
        "attachments": v.attachments(body),
        "name": v.text(body, "name", max_len=40),
        "phone": v.phone(body),
        "id_number": v.id_number(body),
        "channel": v.channel(body),
        "case_number": v.record_number(body, "case_number"),
    }


def complaint_out(row: dict, attachments: list[dict], today: date) -> dict:
    completed = row["completed_at"] is not None
    return {
        "number": row["number"], "kind": "complaint",
        "department": row["department"], "department_no": row["department_no"],
        "complaint_type": row["complaint_type"], "respondent_name": row["respondent_name"],
        "content": row["content"], "case_number": row["case_number"], "attachments": attachments,
        "name": mask_name(row["name"]), "phone": mask_phone(row["phone"]), "channel": row["channel"],
        "status": row["status"], "status_text": COMPLAINT_STATUS[row["status"]],
        "filed_at": row["filed_at"], "time_limit_days": int(row["time_limit_days"]), "due_date": row["due_date"],
        "overdue": not completed and today.isoformat() > row["due_date"],
        "result": {"text": row["result"], "measures": row["measures"] or "", "staff": row["handled_by"],
                   "completed_at": row["completed_at"]} if completed else None,
        "updated_at": row["updated_at"],
    }


def _complaint(tx: Tx, number: str, today: date) -> dict | None:
    row = tx.one("SELECT * FROM complaints WHERE number = ?", (number,))
    return complaint_out(row, _attachments(tx, number), today) if row else None


def file_complaint(store: Store, body, idem_key: str | None, scope: str) -> tuple[int, dict]:
    data = parse_complaint(body)

    def make(tx: Tx, now: datetime) -> dict:
        dept = department_no(data["department"])
        number = next_number(tx, KIND_COMPLAINT, dept, now.date())
        due = schedule.add_working_days(now.date(), COMPLAINT_TIME_LIMIT_DAYS)
        tx.execute(
            "INSERT INTO complaints (number, department, department_no, complaint_type, respondent_name, content, "
            "case_number, name, phone, id_number, channel, status, filed_at, time_limit_days, due_date, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'accepted', ?, ?, ?, ?)",
            (number, data["department"], dept, data["complaint_type"], data["respondent_name"], data["content"],
             data["case_number"], data["name"], data["phone"], data["id_number"], data["channel"], now.isoformat(),
             COMPLAINT_TIME_LIMIT_DAYS, due.isoformat(), now.isoformat()))
        _save_attachments(tx, number, data["attachments"])
        return _complaint(tx, number, now.date())

    return store.create(scope, idem_key, body, make)


def complaint(store: Store, number: str) -> dict:
    with store.db.read() as tx:
        return found_or_404(_complaint(tx, number, store.today()), "no complaint with this number")


def complaint_result(store: Store, number: str, body) -> dict:
    """Standard 9.3.2.4: the handling result and, where needed, the corrective measures."""
    body = v.require_object(body)
    result = v.text(body, "result", max_len=4000, multiline=True)
    staff = v.text(body, "staff", max_len=40)
    measures = v.text(body, "measures", max_len=2000, multiline=True, required=False)

    def run(tx: Tx) -> dict:
        row = found_or_404(tx.one("SELECT status FROM complaints WHERE number = ?", (number,)),
                           "no complaint with this number")
        if row["status"] == "completed":
            raise conflict("already_completed", "this complaint already has its result")
        now = store.now()
        tx.execute("UPDATE complaints SET status = 'completed', result = ?, measures = ?, handled_by = ?, "
                   "completed_at = ?, updated_at = ? WHERE number = ?",
                   (result, measures, staff, now.isoformat(), now.isoformat(), number))
        return _complaint(tx, number, now.date())

    return store.db.write(run)


# -- opinion collection (9.3.3) ------------------------------------------------------------------
def topic_out(row: dict) -> dict:
    return {"id": row["id"], "title": row["title"], "summary": row["summary"], "department": row["department"],
            "opened_on": row["opened_on"], "closes_on": row["closes_on"],
            "respond_within_days": int(row["respond_within_days"]), "opinion_count": int(row["opinion_count"])}


TOPIC_SQL = ("SELECT t.*, (SELECT COUNT(*) FROM opinions o WHERE o.topic_id = t.id) AS opinion_count "
             "FROM opinion_topics t")


def current_topics(store: Store) -> list[dict]:
    """Topics open today (9.3.3.1: the hall opens and closes topics as public concerns change)."""
    today = store.today().isoformat()
    rows = store.db.query(TOPIC_SQL + " WHERE t.opened_on <= ? AND t.closes_on >= ? ORDER BY t.opened_on DESC, t.id",
                          (today, today))
    return [topic_out(r) for r in rows]


def submit_opinion(store: Store, topic_id: str, body, idem_key: str | None, scope: str) -> tuple[int, dict]:
    body = v.require_object(body)
    data = {"content": v.text(body, "content", min_len=CONTENT_MIN, max_len=CONTENT_MAX, multiline=True),
            "name": v.text(body, "name", max_len=40, required=False),
            "phone": v.phone(body, required=False),
            "channel": v.channel(body)}

    def make(tx: Tx, now: datetime) -> dict:
        topic = found_or_404(tx.one("SELECT * FROM opinion_topics WHERE id = ?", (topic_id,)),
                             "no opinion topic with this id")
        today = now.date().isoformat()
        if not topic["opened_on"] <= today <= topic["closes_on"]:
            raise conflict("topic_closed", f"this topic takes opinions from {topic['opened_on']} "
                                           f"to {topic['closes_on']}")
        days = int(topic["respond_within_days"])
        respond_by = schedule.add_working_days(now.date(), days)
        number = next_number(tx, KIND_OPINION, topic["department_no"], now.date())
        tx.execute("INSERT INTO opinions (number, topic_id, content, name, phone, channel, filed_at, respond_by) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                   (number, topic_id, data["content"], data["name"], data["phone"], data["channel"],
                    now.isoformat(), respond_by.isoformat()))
        return {"number": number, "topic_id": topic_id, "topic_title": topic["title"], "status": "received",
                "filed_at": now.isoformat(), "respond_within_days": days, "respond_by": respond_by.isoformat()}

    return store.create(scope, idem_key, body, make)
