"""Composition root of the echo service."""

from __future__ import annotations

import grpc
from pydantic_settings import SettingsConfigDict
from sqlalchemy import Column, Integer, MetaData, Table, select, update

from medpay.echo.v1 import echo_pb2, echo_pb2_grpc
from medpay_echo.access import ACCESS
from medpay_kit.auth import CallerKind, current_caller, static_resolver
from medpay_kit.config import ServiceSettings
from medpay_kit.db import Database, new_metadata
from medpay_kit.errors import DomainError
from medpay_kit.idempotency import IdempotencyStore, idempotency_table
from medpay_kit.server import App, Runtime, Servicer

metadata: MetaData = new_metadata()
idempotency = idempotency_table(metadata)
counter = Table("served_counter", metadata,
                Column("id", Integer, primary_key=True), Column("count", Integer, nullable=False))

SERVICE = "medpay.echo.v1.EchoService"


class EchoSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="MEDPAY_ECHO_", extra="ignore", frozen=True)
    port: int = 50059
    database_url: str = "sqlite+aiosqlite:///var/echo.db"


class EchoServicer(echo_pb2_grpc.EchoServiceServicer):
    """Echo without a request id is pure transport; with one it is an idempotent mutation."""

    def __init__(self, db: Database, *, bare: bool = False) -> None:
        self._db = db
        self._store = IdempotencyStore(idempotency)
        self._bare = bare

    async def Echo(self, request: echo_pb2.EchoRequest, context: grpc.aio.ServicerContext):
        if self._bare:  # benchmark only: no interceptor ran, so there is no caller
            return echo_pb2.EchoResponse(payload=request.payload)
        caller = current_caller()
        if request.fail_with_reason:
            raise DomainError(request.fail_with_reason, "failure requested by the caller",
                              echo="yes")
        if not request.request_id:
            return echo_pb2.EchoResponse(payload=request.payload, caller_kind=caller.kind.value,
                                         caller_scope=caller.scope)

        async def work(session) -> echo_pb2.EchoResponse:  # type: ignore[no-untyped-def]
            await session.execute(update(counter).values(count=counter.c.count + 1))
            count = (await session.execute(select(counter.c.count))).scalar_one()
            return echo_pb2.EchoResponse(payload=request.payload, caller_kind=caller.kind.value,
                                         caller_scope=caller.scope, served_count=count)

        return await self._store.run(self._db, caller.key, "Echo", request,
                                     echo_pb2.EchoResponse, work)


async def build(runtime: Runtime) -> App:
    db = await runtime.database("medpay_echo")
    return App(
        servicers=[Servicer(echo_pb2_grpc.add_EchoServiceServicer_to_server,
                            EchoServicer(db, bare=runtime.settings.bare), SERVICE)],
        access=ACCESS,
        resolvers={"app": static_resolver(CallerKind.APP, "app",
                                          runtime.settings.pki_dir / "app.token")},
    )
