"""Client of the hall APIs (standard 6.4, 9.2, 9.3: the embedded reference hall or a city's own,
by URL and key).

Error contract — every method either returns what its docstring says or raises one of:
- `HallUnavailable`: no answer within the timeout, a connection failure, a 5xx or an answer that
  is not JSON. Nothing is known to have happened; a filing may be retried with its idempotency key.
- `HallUnauthorized` (a `HallUnavailable`): the hall refused our key (401/403). A deployment
  fault, logged loudly; to a citizen it is the same as the hall being down.
- `HallNotFound` (a `HallRejected`): no record, case or topic with that number (404).
- `HallRejected`: any other refusal (4xx) with the hall's `code` and Chinese `message`: bad data,
  a full slot, an appointment that can no longer be moved.
No method returns None for "not found" and none swallows an error status."""
from __future__ import annotations

import asyncio
import logging
from datetime import date

import aiohttp

log = logging.getLogger(__name__)


class HallError(Exception):
    """Anything the hall client raises."""


class HallUnavailable(HallError):
    """The hall did not answer in time, could not be reached or answered with a server error."""


class HallUnauthorized(HallUnavailable):
    """The hall refused the service key (401/403): HALL_API_KEY differs from the hall's."""


class HallRejected(HallError):
    """The hall refused the request (4xx): bad data, a full slot, an unknown number."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message = status, code, message


class HallNotFound(HallRejected):
    """No such record (404)."""


class HallClient:
    def __init__(self, base_url: str, api_key: str, timeout_s: float = 5.0):
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session: aiohttp.ClientSession | None = None

    def _http(self) -> aiohttp.ClientSession:
        # Created lazily inside the running loop (rasa-sdk and aiohttp each own their loop).
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self.timeout, headers={"X-Hall-Key": self.api_key})
        return self._session

    async def _call(self, method: str, path: str, body: dict | None = None, params: dict | None = None,
                    idempotency_key: str | None = None) -> dict:
        """The JSON answer of a 2xx; otherwise raises by the contract above."""
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        try:
            async with self._http().request(method, self.base_url + path, json=body, params=params,
                                            headers=headers) as resp:
                if resp.status >= 500:
                    raise HallUnavailable(f"hall answered {resp.status}")
                try:
                    data = await resp.json(content_type=None)
                except ValueError as exc:
                    raise HallUnavailable(f"hall answered {resp.status} without JSON") from exc
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            raise HallUnavailable(str(exc) or type(exc).__name__) from exc
        if resp.status in (401, 403):
            log.error("the hall refused our key (%s %s answered %d): check HALL_API_KEY", method, path, resp.status)
            raise HallUnauthorized(f"hall answered {resp.status}")
        if resp.status >= 400:
            data = data if isinstance(data, dict) else {}
            error = HallNotFound if resp.status == 404 else HallRejected
            raise error(resp.status, str(data.get("error", "")), str(data.get("message", "")))
        return data

    async def file(self, kind: str, record: dict, idempotency_key: str) -> dict:
        """Files a complaint, consultation, appointment or opinion; safe to repeat with the same key."""
        if kind == "opinion":                  # opinions are filed under their topic
            body = {k: v for k, v in record.items() if k != "topic_id"}
            return await self._call("POST", f"/api/v1/opinion-topics/{record['topic_id']}/opinions", body,
                                    idempotency_key=idempotency_key)
        paths = {"complaint": "/api/v1/complaints", "consultation": "/api/v1/consultations",
                 "appointment": "/api/v1/appointments"}
        return await self._call("POST", paths[kind], record, idempotency_key=idempotency_key)

    async def opinion_topics(self) -> list[dict]:
        """Current opinion-collection topics (standard 9.3.3)."""
        return (await self._call("GET", "/api/v1/opinion-topics"))["topics"]

    async def record(self, kind: str, number: str) -> dict:
        """A complaint, consultation or appointment by its number (HallNotFound when unknown)."""
        paths = {"complaint": "/api/v1/complaints/", "consultation": "/api/v1/consultations/",
                 "appointment": "/api/v1/appointments/"}
        return await self._call("GET", paths[kind] + number)

    async def consultations(self, since: date, limit: int = 2000) -> list[dict]:
        """Consultations filed since a day, without personal data (for knowledge upkeep)."""
        body = await self._call("GET", "/api/v1/consultations", params={"since": since.isoformat(), "limit": str(limit)})
        return body["consultations"]

    async def set_consultation_public(self, number: str, public: bool) -> dict:
        return await self._call("PATCH", f"/api/v1/consultations/{number}", {"public": public})

    async def reschedule(self, number: str, day: str, start: str) -> dict:
        return await self._call("PATCH", f"/api/v1/appointments/{number}", {"date": day, "start": start})

    async def cancel_appointment(self, number: str) -> dict:
        return await self._call("DELETE", f"/api/v1/appointments/{number}")

    async def health(self) -> bool:
        try:
            async with self._http().get(self.base_url + "/healthz") as resp:
                return resp.status == 200
        except (aiohttp.ClientError, asyncio.TimeoutError):
            return False

    async def case(self, number: str) -> dict:
        """A case (办件) and its stages by acceptance number (HallNotFound when unknown)."""
        return await self._call("GET", f"/api/v1/cases/{number}")

    async def cases_by_identity(self, id_number: str, phone: str = "", name: str = "") -> list[dict]:
        """The cases of an applicant whose ID number and phone (or name) match; [] when none do."""
        params = {"id_number": id_number, **({"phone": phone} if phone else {}), **({"name": name} if name else {})}
        return (await self._call("GET", "/api/v1/cases", params=params)).get("cases", [])

    async def free_slots(self, service_code: str, day: date, hall: str = "市行政服务大厅") -> dict:
        """Bookable slots of a service on a day (HallRejected for a day or service not bookable)."""
        return await self._call("GET", "/api/v1/appointments/slots",
                                params={"service_code": service_code, "date": day.isoformat(), "hall": hall})

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
