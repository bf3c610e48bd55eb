"""Appointments (9.2.2): halls, free slots, booking, rescheduling, cancelling and the capacity
of a slot, through the HTTP API on SQLite and on PostgreSQL. The hall's clock is fixed on
Friday 2026-11-27 10:00, so the booking window is Monday 30 November to Friday 11 December."""
import asyncio

import pytest

from common.clock import TZ
from hall import schedule
from tests.hall.common import BOOKING, H, MONDAY, PASSPORT, TUESDAY, get, post

pytest_plugins = ["tests.hall.plugin"]


def phone(i: int) -> str:
    return f"139{i:08d}"


async def slots(client, **params):
    params = {"service_code": PASSPORT, "date": MONDAY, **params}
    return await get(client, "/api/v1/appointments/slots", params)


async def test_halls_are_listed_and_named_every_way(hall):
    status, body = await get(hall, "/api/v1/halls")
    names = {h["name"] for h in body["halls"]}
    assert status == 200 and "深圳市行政服务大厅" in names and "南山区政务服务中心" in names
    city = next(h for h in body["halls"] if h["id"] == "440300")
    assert city["per_slot"] == schedule.PER_SLOT and "市行政服务大厅" in city["aliases"]
    for given in ("440300", "深圳市行政服务大厅", "市行政服务大厅", "行政服务大厅"):
        assert (await slots(hall, hall=given))[1]["hall"] == "深圳市行政服务大厅", given
    assert (await slots(hall))[1]["hall_id"] == "440300"                     # the city hall by default
    assert (await slots(hall, hall="南山区政务服务中心"))[1]["per_slot"] == 6
    status, body = await slots(hall, hall="火星政务中心")
    assert status == 400 and body["error"] == "unknown_hall"


async def test_booking_takes_a_place_and_gives_a_number(hall):
    before = {s["start"]: s["free"] for s in (await slots(hall))[1]["slots"]}
    status, appt, _ = await post(hall, "/api/v1/appointments", BOOKING, "a-1")
    assert status == 201
    assert appt["number"] == "YY00120261127000001"        # YY + 001 (the service's department) + filing date
    assert appt["status"] == "booked" and appt["date"] == MONDAY and appt["start"] == "09:30" and appt["end"] == "10:00"
    assert appt["hall"] == "深圳市行政服务大厅" and appt["hall_address"] and appt["service_name"] == "普通护照签发"
    assert appt["phone"] == "137****7004" and appt["name"] == "赵*"
    after = {s["start"]: s["free"] for s in (await slots(hall))[1]["slots"]}
    assert after["09:30"] == before["09:30"] - 1 and after["10:00"] == before["10:00"]
    status, found = await get(hall, f"/api/v1/appointments/{appt['number']}")
    assert status == 200 and found == appt
    assert (await post(hall, "/api/v1/appointments", BOOKING, "a-1"))[:2] == (200, appt)
    assert (await get(hall, "/api/v1/appointments/YY00120261127000999"))[0] == 404


async def test_a_full_slot_is_a_409_and_disappears_from_the_free_slots(hall):
    for i in range(schedule.PER_SLOT):
        assert (await post(hall, "/api/v1/appointments", {**BOOKING, "phone": phone(i)}))[0] == 201
    status, body, _ = await post(hall, "/api/v1/appointments", {**BOOKING, "phone": phone(99)})
    assert status == 409 and body["error"] == "slot_full"
    starts = [s["start"] for s in (await slots(hall))[1]["slots"]]
    assert "09:30" not in starts and "09:00" in starts
    # Other services and halls have their own places.
    assert (await post(hall, "/api/v1/appointments", {**BOOKING, "phone": phone(99),
                                                      "service_code": "440300-001-QR-0001"}))[0] == 201
    assert (await post(hall, "/api/v1/appointments", {**BOOKING, "phone": phone(98), "hall": "440305"}))[0] == 201


async def test_concurrent_requests_never_overbook(hall):
    """Twelve citizens at once for four places: exactly four bookings."""
    results = await asyncio.gather(*[post(hall, "/api/v1/appointments", {**BOOKING, "phone": phone(i)})
                                     for i in range(12)])
    statuses = sorted(r[0] for r in results)
    assert statuses == [201] * schedule.PER_SLOT + [409] * (12 - schedule.PER_SLOT)
    assert {r[1]["error"] for r in results if r[0] == 409} == {"slot_full"}


async def test_one_active_booking_per_person_service_and_day(hall):
    first = (await post(hall, "/api/v1/appointments", BOOKING))[1]
    status, body, _ = await post(hall, "/api/v1/appointments", {**BOOKING, "start": "14:00"})
    assert status == 409 and body["error"] == "already_booked" and body["number"] == first["number"]
    assert (await post(hall, "/api/v1/appointments", {**BOOKING, "date": TUESDAY}))[0] == 201


async def test_reschedule_moves_the_place(hall):
    appt = (await post(hall, "/api/v1/appointments", BOOKING))[1]
    number = appt["number"]
    resp = await hall.patch(f"/api/v1/appointments/{number}", json={"date": TUESDAY, "start": "15:00"}, headers=H)
    moved = await resp.json()
    assert resp.status == 200 and moved["date"] == TUESDAY and moved["start"] == "15:00" and moved["reschedules"] == 1
    assert moved["number"] == number
    monday = {s["start"]: s["free"] for s in (await slots(hall))[1]["slots"]}
    tuesday = {s["start"]: s["free"] for s in (await slots(hall, date=TUESDAY))[1]["slots"]}
    assert monday["09:30"] == schedule.PER_SLOT and tuesday["15:00"] == schedule.PER_SLOT - 1
    same = await hall.patch(f"/api/v1/appointments/{number}", json={"date": TUESDAY, "start": "15:00"}, headers=H)
    assert same.status == 200 and (await same.json())["reschedules"] == 1


async def test_reschedule_into_a_full_slot_keeps_the_old_one(hall):
    for i in range(schedule.PER_SLOT):
        await post(hall, "/api/v1/appointments", {**BOOKING, "start": "10:00", "phone": phone(i)})
    appt = (await post(hall, "/api/v1/appointments", BOOKING))[1]
    resp = await hall.patch(f"/api/v1/appointments/{appt['number']}", json={"date": MONDAY, "start": "10:00"},
                            headers=H)
    assert resp.status == 409 and (await resp.json())["error"] == "slot_full"
    kept = (await get(hall, f"/api/v1/appointments/{appt['number']}"))[1]
    assert kept["start"] == "09:30" and kept["reschedules"] == 0
    free = {s["start"]: s["free"] for s in (await slots(hall))[1]["slots"]}
    assert free["09:30"] == schedule.PER_SLOT - 1 and "10:00" not in free


async def test_cancel_frees_the_place_and_is_final(hall):
    appt = (await post(hall, "/api/v1/appointments", BOOKING))[1]
    resp = await hall.delete(f"/api/v1/appointments/{appt['number']}", headers=H)
    body = await resp.json()
    assert resp.status == 200 and body["status"] == "cancelled" and body["cancelled_at"].startswith("2026-11-27")
    free = {s["start"]: s["free"] for s in (await slots(hall))[1]["slots"]}
    assert free["09:30"] == schedule.PER_SLOT
    again = await hall.delete(f"/api/v1/appointments/{appt['number']}", headers=H)
    assert again.status == 200 and (await again.json())["status"] == "cancelled"
    free = {s["start"]: s["free"] for s in (await slots(hall))[1]["slots"]}
    assert free["09:30"] == schedule.PER_SLOT                         # not freed twice
    resp = await hall.patch(f"/api/v1/appointments/{appt['number']}", json={"date": TUESDAY, "start": "09:00"},
                            headers=H)
    assert resp.status == 409 and (await resp.json())["error"] == "not_active"
    assert (await post(hall, "/api/v1/appointments", BOOKING))[0] == 201   # the same person may book again
    assert (await hall.delete("/api/v1/appointments/YY00120261127000999", headers=H)).status == 404


async def test_past_appointments_cannot_be_changed(hall, clock):
    from datetime import datetime

    appt = (await post(hall, "/api/v1/appointments", BOOKING))[1]
    clock.set(datetime(2026, 12, 1, 9, 0, tzinfo=TZ))
    resp = await hall.delete(f"/api/v1/appointments/{appt['number']}", headers=H)
    assert resp.status == 409 and (await resp.json())["error"] == "past"


@pytest.mark.parametrize("change, code", [
    ({"date": "2026-11-28"}, "date_not_bookable"),       # a Saturday
    ({"date": "2026-11-27"}, "date_not_bookable"),       # today: from tomorrow on
    ({"date": "2026-12-14"}, "date_not_bookable"),       # beyond 14 days
    ({"date": "30/11/2026"}, "bad_date"),
    ({"start": "12:30"}, "bad_start"),                   # lunch break
    ({"start": "9:30"}, "bad_time"),
    ({"start": "09:15"}, "bad_start"),
    ({"service_code": "440300-001-QR-9999"}, "unknown_service"),
    ({"service_code": "passport"}, "bad_item_code"),
    ({"phone": "0755-88123456"}, "bad_phone"),           # the confirmation goes by SMS
    ({"hall": "火星政务中心"}, "unknown_hall"),
    ({"name": ""}, "missing_field"),
    ({"id_number": "123456789012345678"}, "bad_id_number"),
])
async def test_booking_fields_are_checked(hall, change, code):
    status, body, _ = await post(hall, "/api/v1/appointments", {**BOOKING, **change})
    assert status == 400 and body["error"] == code, body


async def test_a_closed_day_points_to_the_next_bookable_one(hall):
    status, body, _ = await post(hall, "/api/v1/appointments", {**BOOKING, "date": "2026-11-28"})
    assert body["next_open_day"] == MONDAY
    status, body = await slots(hall, date="2026-11-29")
    assert status == 200 and body["slots"] == [] and not body["open"] and body["next_open_day"] == MONDAY
    status, body = await slots(hall, date="2027-01-01")               # New Year's Day, beyond the window
    assert body["slots"] == [] and body["next_open_day"] == MONDAY
