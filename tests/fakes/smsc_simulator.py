"""A carrier SMSC for development and tests: Kannel binds to it over real SMPP 3.4, exactly as
it would to a carrier's SMSC. PDUs are encoded and decoded with smpp34's codec.

smpp34's own Server brings no simulator behaviour and closes the connection on unbind without
an unbind_resp, which leaves Kannel's bearerbox spinning at shutdown; so the session layer here
is a small asyncio one that answers every PDU as the specification says. On top of it, the two
things a carrier does and a test needs to see:
  - MO: POST /mo {"source_addr", "text"} sends a citizen's message to the bound ESME as UCS-2
    (split with a concatenation UDH when long), or {"source_addr", "pdus": [{"data_coding",
    "esm_class", "short_message_hex"}]} sends exactly those deliver_sm PDUs;
  - MT: every submit_sm is accepted and kept; GET /mt lists them (optionally ?destination=).
GET /healthz answers 200 with the bound sessions.

    python tests/fakes/smsc_simulator.py --smpp-port 2775 --control-port 2776 \
        --system-id hallsms --password dev-smpp
"""
from __future__ import annotations

import argparse
import asyncio
import itertools
import logging
import os
import struct
import sys

import smpp34
from aiohttp import web

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)   # run as a script: the project's JSON logs, with numbers masked

from common.logs import setup_logging  # noqa: E402
from channels.phone import mask  # noqa: E402

log = logging.getLogger("smsc")

GENERIC_NACK, RESP = 0x80000000, 0x80000000
BIND_RECEIVER, BIND_TRANSMITTER, BIND_TRANSCEIVER = 0x01, 0x02, 0x09
SUBMIT_SM, DELIVER_SM, UNBIND, ENQUIRE_LINK = 0x04, 0x05, 0x06, 0x15
ESME_ROK, ESME_RINVBNDSTS, ESME_RINVCMDID, ESME_RALYBND, ESME_RINVPASWD = 0, 0x04, 0x03, 0x05, 0x0E
UCS2, UDHI = 0x08, 0x40
SINGLE_UCS2_UNITS, PART_UCS2_UNITS = 70, 67   # 140 octets; 134 after a 6-octet concatenation UDH


def pdu(command_id: int, sequence: int, body: bytes = b"", status: int = ESME_ROK) -> bytes:
    return struct.pack(">IIII", 16 + len(body), command_id, status, sequence) + body


def c_strings(body: bytes, count: int) -> list[str]:
    return [part.decode("latin-1") for part in body.split(b"\0", count)[:count]]


class Session:
    """One bound ESME (Kannel's bearerbox) on one TCP connection."""

    def __init__(self, sim: "Simulator", reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.sim, self.reader, self.writer = sim, reader, writer
        self.system_id, self.bind = "", 0
        self.sequence = itertools.count(1)
        self.waiting: dict[int, asyncio.Future] = {}

    @property
    def can_receive(self) -> bool:
        return self.bind in (BIND_RECEIVER, BIND_TRANSCEIVER)

    async def run(self) -> None:
        try:
            while True:
                header = await self.reader.readexactly(16)
                length, command_id, status, sequence = struct.unpack(">IIII", header)
                body = await self.reader.readexactly(length - 16)
                if not await self.handle(command_id, status, sequence, header + body):
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self.sim.sessions.discard(self)
            for future in self.waiting.values():
                future.cancel()
            self.writer.close()
            log.info("session of %s ended", self.system_id or "an unbound ESME")

    async def handle(self, command_id: int, status: int, sequence: int, raw: bytes) -> bool:
        """Answers one PDU; False ends the session."""
        if command_id in (BIND_RECEIVER, BIND_TRANSMITTER, BIND_TRANSCEIVER):
            system_id, password = c_strings(raw[16:], 2)
            ok = (system_id, password) == (self.sim.system_id, self.sim.password)
            code = ESME_RALYBND if self.bind else ESME_ROK if ok else ESME_RINVPASWD
            await self.send(pdu(command_id | RESP, sequence, b"HALLSIM\0", code))
            if code == ESME_ROK:
                self.system_id, self.bind = system_id, command_id
                self.sim.sessions.add(self)
                log.info("bound: %s (bind 0x%02x)", system_id, command_id)
            return code != ESME_RINVPASWD
        if command_id == ENQUIRE_LINK:
            await self.send(pdu(ENQUIRE_LINK | RESP, sequence))
        elif command_id == UNBIND:
            await self.send(pdu(UNBIND | RESP, sequence))
            return False
        elif command_id == SUBMIT_SM:
            if not self.bind:
                await self.send(pdu(SUBMIT_SM | RESP, sequence, b"\0", ESME_RINVBNDSTS))
                return True
            message_id = self.sim.record_mt(smpp34.decode(raw))
            await self.send(pdu(SUBMIT_SM | RESP, sequence, message_id.encode() + b"\0"))
        elif command_id & RESP:
            future = self.waiting.pop(sequence, None)
            if future is not None and not future.done():
                future.set_result(status)
        else:
            await self.send(pdu(GENERIC_NACK, sequence, status=ESME_RINVCMDID))
        return True

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def deliver(self, source: str, destination: str, short_message: bytes, data_coding: int,
                      esm_class: int, source_ton: int) -> int:
        """One deliver_sm; returns the ESME's command_status from deliver_sm_resp."""
        sequence = next(self.sequence)
        self.waiting[sequence] = asyncio.get_running_loop().create_future()
        await self.send(smpp34.DeliverSm(source, destination, short_message, data_coding=data_coding,
                                         esm_class=esm_class, source_addr_ton=source_ton, source_addr_npi=1,
                                         sequence_number=sequence).encode())
        return await asyncio.wait_for(self.waiting[sequence], timeout=30)


def readable(submit: smpp34.SubmitSm) -> str:
    """The part's text for a person reading /mt (tests reassemble the PDUs themselves)."""
    body = submit.short_message
    if submit.esm_class & UDHI and body:
        body = body[1 + body[0]:]
    return body.decode("utf-16-be" if submit.data_coding == UCS2 else "latin-1", errors="replace")


class Simulator:
    def __init__(self, system_id: str, password: str):
        self.system_id, self.password = system_id, password
        self.sessions: set[Session] = set()
        self.mt: list[dict] = []
        self.message_ids = itertools.count(1)
        self.references = itertools.count(1)

    async def accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await Session(self, reader, writer).run()

    def record_mt(self, submit: smpp34.SubmitSm) -> str:
        message_id = f"sim{next(self.message_ids):08d}"
        self.mt.append({"message_id": message_id, "source_addr": submit.source_addr,
                        "destination_addr": submit.destination_addr, "data_coding": submit.data_coding,
                        "esm_class": submit.esm_class, "registered_delivery": submit.registered_delivery,
                        "short_message_hex": submit.short_message.hex(), "text": readable(submit),
                        "tlvs": [{"tag": t.tag, "value_hex": t.value.hex()} for t in submit.tlvs]})
        log.info("MT %s to %s: %d octets, data_coding %d", message_id, mask(submit.destination_addr),
                 len(submit.short_message), submit.data_coding)
        return message_id

    def receiver(self) -> Session | None:
        return next((s for s in self.sessions if s.can_receive), None)


def text_pdus(text: str, reference: int) -> list[dict]:
    """Plain text as a handset sends it: UCS-2, split with a concatenation UDH when long."""
    body = text.encode("utf-16-be")
    if len(body) <= SINGLE_UCS2_UNITS * 2:
        return [{"data_coding": UCS2, "esm_class": 0, "short_message_hex": body.hex()}]
    size = PART_UCS2_UNITS * 2
    chunks = [body[i:i + size] for i in range(0, len(body), size)]
    return [{"data_coding": UCS2, "esm_class": UDHI,
             "short_message_hex": (bytes([5, 0, 3, reference % 256, len(chunks), n]) + chunk).hex()}
            for n, chunk in enumerate(chunks, 1)]


def control_app(sim: Simulator, service_number: str) -> web.Application:
    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"bound": [{"system_id": s.system_id, "can_receive": s.can_receive}
                                            for s in sim.sessions]})

    async def mo(request: web.Request) -> web.Response:
        body = await request.json()
        sender = str(body.get("source_addr") or "")
        if not sender:
            return web.json_response({"error": "source_addr is required"}, status=400)
        session = sim.receiver()
        if session is None:
            return web.json_response({"error": "no ESME bound to receive"}, status=503)
        pdus = body.get("pdus") or text_pdus(str(body.get("text") or ""), next(sim.references))
        statuses = [await session.deliver(sender, str(body.get("destination_addr") or service_number),
                                          bytes.fromhex(p["short_message_hex"]), int(p.get("data_coding", 0)),
                                          int(p.get("esm_class", 0)), int(body.get("source_addr_ton", 1)))
                    for p in pdus]
        log.info("MO from %s: %d PDU(s), statuses %s", mask(sender), len(pdus), statuses)
        return web.json_response({"delivered": all(s == ESME_ROK for s in statuses), "statuses": statuses})

    async def mt(request: web.Request) -> web.Response:
        destination = request.query.get("destination")
        return web.json_response([m for m in sim.mt if destination in (None, m["destination_addr"])])

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    app.router.add_post("/mo", mo)
    app.router.add_get("/mt", mt)
    return app


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--smpp-port", type=int, default=2775)
    ap.add_argument("--control-port", type=int, default=2776)
    ap.add_argument("--system-id", default="hallsms", help="the account the ESME must bind with")
    ap.add_argument("--password", default="dev-smpp")
    ap.add_argument("--service-number", default="1069012345", help="destination of MO messages by default")
    args = ap.parse_args()
    setup_logging("smsc")
    sim = Simulator(args.system_id, args.password)
    server = await asyncio.start_server(sim.accept, args.host, args.smpp_port)
    runner = web.AppRunner(control_app(sim, args.service_number), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, args.host, args.control_port).start()
    log.info("SMSC simulator: SMPP on %s:%d, control on %d", args.host, args.smpp_port, args.control_port)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
