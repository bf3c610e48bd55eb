"""Fixtures of the hall tests: each runs on SQLite and on PostgreSQL (`backend`)."""
from __future__ import annotations

import os

import pytest
from aiohttp.test_utils import TestClient, TestServer

from hall.app import create_app
from tests.hall.common import Clock, KEY
from tests.hall.pg import Cluster, PostgresUnavailable


@pytest.fixture(scope="session")
def pg_cluster():
    if os.environ.get("HALL_SKIP_PG") == "1":
        pytest.skip("HALL_SKIP_PG=1: PostgreSQL tests skipped")
    try:
        cluster = Cluster()
    except PostgresUnavailable as exc:
        pytest.fail(f"cannot start a PostgreSQL test cluster: {exc}")
    yield cluster
    cluster.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request) -> str:
    return request.param


@pytest.fixture
def db_target(backend, tmp_path, request) -> str:
    """A fresh, empty database of the backend: a SQLite file path or a PostgreSQL DSN."""
    if backend == "sqlite":
        return str(tmp_path / "hall.db")
    return request.getfixturevalue("pg_cluster").new_database()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def hall(db_target, clock):
    """A test client of the hall on a fresh database, its clock fixed at FRIDAY."""
    async with TestClient(TestServer(create_app(db_target, KEY, clock=clock))) as client:
        yield client
