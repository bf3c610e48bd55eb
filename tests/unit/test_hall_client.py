"""The hall client's one error contract (common/hall_client.py) against a server answering each
status a hall can give: found, not found, refused key, bad request, server error, not JSON, slow."""
from __future__ import annotations

import asyncio

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from common.hall_client import (HallClient, HallError, HallNotFound, HallRejected, HallUnauthorized,
                                HallUnavailable)


async def _answer(request: web.Request) -> web.StreamResponse:
    what = request.match_info["number"]
    if what == "slow":
        await asyncio.Event().wait()           # never answers; the client's deadline ends it
    if what == "text":
        return web.Response(text="<html>gateway</html>", status=200)
    status = {"found": 200, "missing": 404, "key": 401, "forbidden": 403, "bad": 400, "boom": 503}[what]
    return web.json_response({"number": what, "error": f"e{status}", "message": "说明"}, status=status)


@pytest.fixture
async def hall():
    app = web.Application()
    app.router.add_get("/api/v1/cases/{number}", _answer)
    server = TestServer(app)
    await server.start_server()
    client = HallClient(str(server.make_url("")).rstrip("/"), "key", timeout_s=0.5)
    yield client
    await client.close()
    await server.close()


async def test_a_found_case_is_returned(hall):
    assert (await hall.case("found"))["number"] == "found"


@pytest.mark.parametrize("number, error, status", [
    ("missing", HallNotFound, 404), ("bad", HallRejected, 400)])
async def test_refusals_carry_the_halls_status_code_and_message(hall, number, error, status):
    with pytest.raises(error) as caught:
        await hall.case(number)
    assert type(caught.value) is error
    assert (caught.value.status, caught.value.code, caught.value.message) == (status, f"e{status}", "说明")


@pytest.mark.parametrize("number", ["key", "forbidden"])
async def test_a_refused_key_is_unauthorized_and_counts_as_unavailable(hall, number):
    with pytest.raises(HallUnauthorized):
        await hall.case(number)
    assert issubclass(HallUnauthorized, HallUnavailable)


@pytest.mark.parametrize("number", ["boom", "text", "slow"])
async def test_server_errors_non_json_and_timeouts_are_unavailable(hall, number):
    with pytest.raises(HallUnavailable) as caught:
        await hall.case(number)
    assert type(caught.value) is HallUnavailable


async def test_nothing_reachable_is_unavailable():
    client = HallClient("http://127.0.0.1:9", "key", timeout_s=0.5)
    try:
        with pytest.raises(HallUnavailable):
            await client.case("found")
    finally:
        await client.close()
    assert issubclass(HallRejected, HallError) and issubclass(HallUnavailable, HallError)
