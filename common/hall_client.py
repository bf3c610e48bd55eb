"""Client of the hall APIs (the embedded reference hall or a city's own, by URL and key)."""
from __future__ import annotations

import asyncio
from datetime import date

import aiohttp


class HallUnavailable(Exception):
    """The hall did not answer in time or answered with a server error."""


class HallRejected(Exception):
    """The hall refused the request (4xx): bad data, a full slot, an unknown number."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message = status, code, message


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

    async def _get(self, path: str, params: dict | None = None) -> tuple[int, dict]:
        try:
            async with self._http().get(self.base_url + path, params=params) as resp:
                if resp.status >= 500:
                    raise HallUnavailable(f"hall answered {resp.status}")
                return resp.status, await resp.json()
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            raise HallUnavailable(str(exc) or type(exc).__name__) from exc

    async def _send(self, method: str, path: str, body: dict | None = None,
                    idempotency_key: str | None = None) -> dict:
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        try:
            async with self._http().request(method, self.base_url + path, json=body, headers=headers) as resp:
                if resp.status >= 500:
                    raise HallUnavailable(f"hall answered {resp.status}")
                data = await resp.json()
                if resp.status >= 400:
                    raise HallRejected(resp.status, data.get("error", ""), data.get("message", ""))
                return data
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            raise HallUnavailable(str(exc) or type(exc).__name__) from exc

    async def file(self, kind: str, record: dict, idempotency_key: str) -> dict:
        """Files a complaint, consultation, appointment or opinion; safe to repeat with the same key."""
        if kind == "opinion":                  # opinions are filed under their topic
            body = {k: v for k, v in record.items() if k != "topic_id"}
            return await self._send("POST", f"/api/v1/opinion-topics/{record['topic_id']}/opinions", body,
                                    idempotency_key)
        paths = {"complaint": "/api/v1/complaints", "consultation": "/api/v1/consultations",
                 "appointment": "/api/v1/appointments"}
        return await self._send("POST", paths[kind], record, idempotency_key)

    async def opinion_topics(self) -> list[dict]:
        """Current opinion-collection topics (standard 9.3.3)."""
        return (await self._send("GET", "/api/v1/opinion-topics"))["topics"]

    async def record(self, kind: str, number: str) -> dict | None:
        paths = {"complaint": "/api/v1/complaints/", "consultation": "/api/v1/consultations/",
                 "appointment": "/api/v1/appointments/"}
        try:
            return await self._send("GET", paths[kind] + number)
        except HallRejected as exc:
            if exc.status == 404:
                return None
            raise

    async def consultations(self, since: date, limit: int = 2000) -> list[dict]:
        """Consultations filed since a day, without personal data (for knowledge upkeep)."""
        status, body = await self._get("/api/v1/consultations", {"since": since.isoformat(), "limit": str(limit)})
        if status != 200:
            raise HallRejected(status, body.get("error", ""), body.get("message", ""))
        return body["consultations"]

    async def set_consultation_public(self, number: str, public: bool) -> dict:
        return await self._send("PATCH", f"/api/v1/consultations/{number}", {"public": public})

    async def reschedule(self, number: str, day: str, start: str) -> dict:
        return await self._send("PATCH", f"/api/v1/appointments/{number}", {"date": day, "start": start})

    async def cancel_appointment(self, number: str) -> dict:
        return await self._send("DELETE", f"/api/v1/appointments/{number}")

    async def health(self) -> bool:
        try:
            async with self._http().get(self.base_url + "/healthz") as resp:
                return resp.status == 200
        except (aiohttp.ClientError, asyncio.TimeoutError):
            return False

    async def case(self, number: str) -> dict | None:
        status, body = await self._get(f"/api/v1/cases/{number}")
        return body if status == 200 else None

    async def cases_by_identity(self, id_number: str, phone: str = "", name: str = "") -> list[dict]:
        params = {"id_number": id_number, **({"phone": phone} if phone else {}), **({"name": name} if name else {})}
        status, body = await self._get("/api/v1/cases", params)
        return body.get("cases", []) if status == 200 else []

    async def free_slots(self, service_code: str, day: date, hall: str = "市行政服务大厅") -> dict:
        status, body = await self._get("/api/v1/appointments/slots",
                                       {"service_code": service_code, "date": day.isoformat(), "hall": hall})
        if status != 200:
            raise ValueError(body.get("message", "bad request"))
        return body

    async def statistics(self) -> dict:
        return (await self._get("/api/v1/statistics"))[1]

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
