"""Appointments (standard 9.2.2): free slots per hall and service, booking, rescheduling and
cancelling. The capacity of a slot is enforced by one guarded upsert on its row in
slot_bookings, inside the booking's transaction, so two processes taking the last place cannot
both win: the second finds the row full (or waits for the first's row lock and then finds it
full) and gets 409 slot_full."""
from __future__ import annotations

from datetime import date, datetime

from common.identity import mask_name, mask_phone
from hall import schedule, validation as v
from hall.db import Tx
from hall.departments import UNKNOWN, from_item_code
from hall.errors import bad_request, conflict, found_or_404
from hall.services import service
from hall.store import KIND_APPOINTMENT, Store, next_number

DEFAULT_HALL = "440300"
STATUS_TEXT = {"booked": "已预约", "cancelled": "已取消"}


# -- halls -------------------------------------------------------------------------------------
def hall_out(row: dict) -> dict:
    return {"id": row["id"], "name": row["name"], "aliases": [a for a in row["aliases"].split("|") if a],
            "district": row["district"], "address": row["address"], "hours": row["hours"], "phone": row["phone"],
            "per_slot": int(row["per_slot"])}


def halls(store: Store) -> list[dict]:
    return [hall_out(r) for r in store.db.query("SELECT * FROM halls ORDER BY id")]


def resolve_hall(tx: Tx, given: str | None) -> dict:
    """A hall by id, name or alias ("市行政服务大厅" is 深圳市行政服务大厅); the city hall when not given."""
    given = (given or "").strip() or DEFAULT_HALL
    rows = tx.execute("SELECT * FROM halls ORDER BY id")
    bare = given.removeprefix("深圳市")
    for row in rows:
        names = {row["id"], row["name"], row["name"].removeprefix("深圳市"),
                 *[a for a in row["aliases"].split("|") if a]}
        if given in names or bare in names:
            return row
    raise bad_request("unknown_hall", "hall: no such hall (GET /api/v1/halls lists them)", field="hall")


def _service(code: str, field: str = "service_code") -> dict:
    found = service(code)
    if found is None:
        raise bad_request("unknown_service", f"{field}: no such service in the hall's catalog", field=field)
    return found


def _check_slot(day: date, start: str, now: datetime) -> None:
    if not schedule.bookable(day, now):
        nxt = schedule.next_bookable_day(day, now)
        raise bad_request("date_not_bookable",
                          f"date: appointments are taken for working days from tomorrow to "
                          f"{schedule.BOOKABLE_DAYS} days ahead; the next bookable day is {nxt.isoformat()}",
                          field="date", next_open_day=nxt.isoformat())
    if start not in schedule.slot_starts(day):
        raise bad_request("bad_start", "start: not a slot of the day; slots start every "
                          f"{schedule.SLOT_MINUTES} minutes 09:00-11:30 and 14:00-17:30", field="start")


# -- slots ---------------------------------------------------------------------------------------
def free_slots(store: Store, service_code: str, day_text: str, hall_name: str | None) -> dict:
    day = v.day(day_text)
    if not service_code:
        raise bad_request("service_code_required", "service_code is required", field="service_code")
    if not v.ITEM_CODE_RE.fullmatch(service_code):
        raise bad_request("bad_item_code", "service_code: must be an item code such as 440300-001-QR-0001",
                          field="service_code")
    _service(service_code)
    now = store.now()
    with store.db.read() as tx:
        hall = resolve_hall(tx, hall_name)
        base = {"date": day.isoformat(), "hall": hall["name"], "hall_id": hall["id"], "service_code": service_code}
        if not schedule.bookable(day, now):
            return {**base, "open": schedule.is_open(day), "slots": [],
                    "next_open_day": schedule.next_bookable_day(day, now).isoformat()}
        booked = {r["start"]: int(r["booked"]) for r in tx.execute(
            "SELECT start, booked FROM slot_bookings WHERE hall = ? AND service_code = ? AND day = ?",
            (hall["name"], service_code, day.isoformat()))}
    per_slot = int(hall["per_slot"])
    free = [{"start": s, "end": schedule.slot_end(s), "free": per_slot - booked.get(s, 0)}
            for s in schedule.slot_starts(day) if booked.get(s, 0) < per_slot]
    return {**base, "open": True, "per_slot": per_slot, "slots": free}


# -- one appointment -----------------------------------------------------------------------------
def appointment_out(row: dict, hall: dict | None) -> dict:
    return {
        "number": row["number"], "status": row["status"], "status_text": STATUS_TEXT[row["status"]],
        "service_code": row["service_code"], "service_name": row["service_name"],
        "hall": row["hall"], "hall_id": hall["id"] if hall else "", "hall_address": hall["address"] if hall else "",
        "date": row["day"], "start": row["start"], "end": schedule.slot_end(row["start"]),
        "name": mask_name(row["name"]), "phone": mask_phone(row["phone"]), "channel": row["channel"],
        "filed_at": row["filed_at"], "updated_at": row["updated_at"], "cancelled_at": row["cancelled_at"],
        "reschedules": int(row["reschedules"]),
    }


def _appointment(tx: Tx, number: str) -> dict | None:
    row = tx.one("SELECT * FROM appointments WHERE number = ?", (number,))
    if row is None:
        return None
    hall = tx.one("SELECT * FROM halls WHERE name = ?", (row["hall"],))
    return appointment_out(row, hall)


def appointment(store: Store, number: str) -> dict:
    with store.db.read() as tx:
        return found_or_404(_appointment(tx, number), "no appointment with this number")


def _take_place(tx: Tx, hall: dict, service_code: str, day: str, start: str) -> None:
    row = tx.one("INSERT INTO slot_bookings (hall, service_code, day, start, booked) VALUES (?, ?, ?, ?, 1) "
                 "ON CONFLICT (hall, service_code, day, start) DO UPDATE SET booked = slot_bookings.booked + 1 "
                 "WHERE slot_bookings.booked < ? RETURNING booked",
                 (hall["name"], service_code, day, start, int(hall["per_slot"])))
    if row is None:
        raise conflict("slot_full", f"the {day} {start} slot is fully booked; choose another slot")


def _give_back_place(tx: Tx, hall_name: str, service_code: str, day: str, start: str) -> None:
    tx.execute("UPDATE slot_bookings SET booked = booked - 1 WHERE hall = ? AND service_code = ? AND day = ? "
               "AND start = ? AND booked > 0", (hall_name, service_code, day, start))


def _duplicate(tx: Tx, phone: str, service_code: str, day: str, number: str = "") -> None:
    other = tx.one("SELECT number FROM appointments WHERE phone = ? AND service_code = ? AND day = ? "
                   "AND status = 'booked' AND number <> ?", (phone, service_code, day, number))
    if other is not None:
        raise conflict("already_booked", f"this phone already has appointment {other['number']} for this "
                                         "service on that day", number=other["number"])


def book(store: Store, body, idem_key: str | None, scope: str) -> tuple[int, dict]:
    body = v.require_object(body)
    code = v.item_code(body, "service_code", required=True)
    svc = _service(code)
    day = v.day(body.get("date"))
    start = v.start(body.get("start"))
    name = v.text(body, "name", max_len=40)
    phone = v.phone(body, mobile_only=True)        # the confirmation goes out by SMS (9.2.2)
    id_number = v.id_number(body)
    channel = v.channel(body)
    hall_given = body.get("hall")
    if hall_given is not None and not isinstance(hall_given, str):
        raise bad_request("bad_type", "hall: must be a string", field="hall")

    def make(tx: Tx, now: datetime) -> dict:
        _check_slot(day, start, now)
        hall = resolve_hall(tx, hall_given)
        _duplicate(tx, phone, code, day.isoformat())
        _take_place(tx, hall, code, day.isoformat(), start)
        number = next_number(tx, KIND_APPOINTMENT, from_item_code(code) or UNKNOWN, now.date())
        try:
            tx.execute("INSERT INTO appointments (number, hall, service_code, day, start, name, phone, status, "
                       "service_name, id_number, channel, filed_at, updated_at) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?, 'booked', ?, ?, ?, ?, ?)",
                       (number, hall["name"], code, day.isoformat(), start, name, phone, svc["name"], id_number,
                        channel, now.isoformat(), now.isoformat()))
        except tx.db.integrity_errors:
            # A booking by the same phone committed between our check and insert.
            raise conflict("already_booked", "this phone already has an appointment for this service on that day")
        return _appointment(tx, number)

    return store.create(scope, idem_key, body, make)


def reschedule(store: Store, number: str, body) -> dict:
    body = v.require_object(body)
    day = v.day(body.get("date"))
    start = v.start(body.get("start"))

    def run(tx: Tx) -> dict:
        now = store.now()
        row = found_or_404(tx.one("SELECT * FROM appointments WHERE number = ?", (number,)),
                           "no appointment with this number")
        if row["status"] != "booked":
            raise conflict("not_active", "this appointment was cancelled")
        if row["day"] < now.date().isoformat():
            raise conflict("past", "this appointment's day has passed")
        if (row["day"], row["start"]) == (day.isoformat(), start):
            return _appointment(tx, number)
        _check_slot(day, start, now)
        hall = tx.one("SELECT * FROM halls WHERE name = ?", (row["hall"],))
        if hall is None:
            raise conflict("hall_closed", "the appointment's hall no longer takes appointments")
        _duplicate(tx, row["phone"], row["service_code"], day.isoformat(), number)
        # Both slot rows in a fixed order, so two opposite reschedules cannot deadlock.
        old, new = (row["day"], row["start"]), (day.isoformat(), start)
        for slot in sorted([old, new]):
            if slot == new:
                _take_place(tx, hall, row["service_code"], *new)
            else:
                _give_back_place(tx, row["hall"], row["service_code"], *old)
        try:
            tx.execute("UPDATE appointments SET day = ?, start = ?, updated_at = ?, reschedules = reschedules + 1 "
                       "WHERE number = ?", (day.isoformat(), start, now.isoformat(), number))
        except tx.db.integrity_errors:
            raise conflict("already_booked", "this phone already has an appointment for this service on that day")
        return _appointment(tx, number)

    return store.db.write(run)


def cancel(store: Store, number: str) -> dict:
    """Cancels and frees the place; cancelling a cancelled appointment changes nothing."""
    def run(tx: Tx) -> dict:
        now = store.now()
        row = found_or_404(tx.one("SELECT * FROM appointments WHERE number = ?", (number,)),
                           "no appointment with this number")
        if row["status"] == "cancelled":
            return _appointment(tx, number)
        if row["day"] < now.date().isoformat():
            raise conflict("past", "this appointment's day has passed")
        _give_back_place(tx, row["hall"], row["service_code"], row["day"], row["start"])
        tx.execute("UPDATE appointments SET status = 'cancelled', cancelled_at = ?, updated_at = ? WHERE number = ?",
                   (now.isoformat(), now.isoformat(), number))
        return _appointment(tx, number)

    return store.db.write(run)
