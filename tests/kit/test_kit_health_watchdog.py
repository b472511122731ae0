"""Health says NOT_SERVING while a service cannot reach its database, SERVING once it can.

A real echo process (the kit's bootstrap, as every service uses it) with a fast watchdog.
On SQLite another process takes the database's write lock (the service can read but not
write); on PostgreSQL the service's database stops accepting connections and its open
ones are terminated. Health turns NOT_SERVING (the server itself still answers), then
SERVING again once the database is back, and a write goes through.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from contextlib import contextmanager

import asyncpg
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from sqlalchemy.engine import make_url

from medpay.echo.v1 import echo_pb2, echo_pb2_grpc
from support.harness import POSTGRES_ENV

pytestmark = pytest.mark.db

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


def health_of(stack, service: str = "") -> int:
    stub = health_pb2_grpc.HealthStub(stack.channel("echo"))
    return stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=5).status


def wait_for_health(stack, status: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if health_of(stack) == status:
            return
        time.sleep(0.1)
    raise AssertionError(f"health never became {health_pb2.HealthCheckResponse.ServingStatus.Name(status)}")


@contextmanager
def sqlite_write_lock_taken(url: str):
    other = sqlite3.connect(make_url(url).database, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        other.execute("ROLLBACK")
        other.close()


@contextmanager
def postgres_connections_refused(url: str):
    import os

    name = make_url(url).database
    admin = os.environ[POSTGRES_ENV].replace("postgresql+asyncpg://", "postgresql://")

    async def run(*sql: str) -> None:
        conn = await asyncpg.connect(admin)
        try:
            for statement in sql:
                await conn.execute(statement)
        finally:
            await conn.close()

    asyncio.run(run(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false',
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    f"WHERE datname = '{name}' AND pid <> pg_backend_pid()"))
    try:
        yield
    finally:
        asyncio.run(run(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))


def test_health_follows_the_database(stack, db_backend):
    echo = stack.start("echo", health_interval_s="0.2", health_timeout_s="1")
    url = echo.env["MEDPAY_ECHO_DATABASE_URL"]
    operator = echo_pb2_grpc.EchoServiceStub(stack.channel("echo", token=stack.operator_token))
    assert operator.Echo(echo_pb2.EchoRequest(payload=b"a", request_id="before"),
                         timeout=10).served_count == 1
    assert health_of(stack) == SERVING

    outage = sqlite_write_lock_taken(url) if db_backend == "sqlite" else postgres_connections_refused(url)
    with outage:
        wait_for_health(stack, NOT_SERVING)
        assert health_of(stack, "medpay.echo.v1.EchoService") == NOT_SERVING
    wait_for_health(stack, SERVING)
    assert health_of(stack, "medpay.echo.v1.EchoService") == SERVING
    reply = operator.Echo(echo_pb2.EchoRequest(payload=b"b", request_id="after"), timeout=10)
    assert reply.served_count == 2
    logs = echo.logs()
    assert '"status": "NOT_SERVING"' in logs and '"failed_check": "database"' in logs
